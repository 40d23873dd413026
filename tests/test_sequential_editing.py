"""Sequential.append and insert: the constructor's checks, list.insert's positions, and the next
batch runs the new layer list (a plan made for the old one is not used)."""

from __future__ import annotations

import numpy as np
import pytest

import nnlite as nl
from nnlite.errors import ArgumentTypeError

X = np.linspace(-1, 1, 8).reshape(4, 2)


def test_append_adds_at_the_end_and_the_next_batch_runs_it() -> None:
    model = nl.Sequential(nl.Linear(2, 3, rng=0))
    for _ in range(3):
        model(X)  # a plan for the one-layer list
    last = nl.Sigmoid()
    model.append(last)
    assert model.layers[-1] is last
    assert len(model) == 2
    expected = last(nl.Sequential(model.layers[0])(X))
    assert np.array_equal(model(X), expected)
    assert np.array_equal(model(X), expected)


@pytest.mark.parametrize("index", [0, 1, 2, -1, -5, 10])
def test_insert_puts_the_layer_where_list_insert_would(index: int) -> None:
    layers: list[nl.Layer] = [nl.Linear(2, 2, rng=0), nl.Tanh()]
    model = nl.Sequential(*layers)
    model(X)
    model(X)
    new = nl.ReLU()
    model.insert(index, new)
    layers.insert(index, new)
    assert model.layers == layers
    assert np.array_equal(model(X), nl.Sequential(*layers)(X))


def test_a_layer_inserted_after_the_plan_is_trained() -> None:
    """The first layer holding a parameter is found again: an inserted first Linear gets its
    gradient from backward_parameters."""
    model = nl.Sequential(nl.Sigmoid(), nl.Linear(2, 1, rng=0))
    for _ in range(3):
        model.backward_parameters(model(X))
    first = nl.Linear(2, 2, rng=1)
    model.insert(0, first)
    model.zero_grad()
    model.backward_parameters(model(X))
    reference = nl.Sequential(nl.Linear(2, 2, rng=1), nl.Sigmoid(), nl.Linear(2, 1, rng=0))
    reference.backward(reference(X))
    assert first.weight.grad.any()
    for ours, theirs in zip(model.parameters(), reference.parameters(), strict=True):
        assert np.array_equal(ours.grad, theirs.grad)


@pytest.mark.parametrize("method", ["append", "insert"])
def test_a_non_layer_is_a_type_error_naming_the_method(method: str) -> None:
    model = nl.Sequential(nl.Sigmoid())
    add = model.append if method == "append" else lambda layer: model.insert(0, layer)
    with pytest.raises(TypeError, match=r"^Sequential\.insert\(\d, \.\.\.\) expects Layer"):
        add(np.ones(3))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="did you forget the"):
        add(nl.Sigmoid)  # type: ignore[arg-type]
    assert len(model) == 1


def test_a_layer_already_held_is_a_value_error_and_changes_nothing() -> None:
    inner = nl.Sequential(nl.Tanh())
    model = nl.Sequential(nl.Sigmoid(), inner)
    for layer, where in [
        (model.layers[0], "position 0"),
        (inner.layers[0], r"position 1\.0"),
        (inner, "position 1"),
    ]:
        with pytest.raises(ValueError, match=f"same .* object at {where} and"):
            model.append(layer)
    with pytest.raises(ValueError, match="the Sequential itself"):
        model.insert(0, model)
    assert model.layers == [model.layers[0], inner]


def test_insert_needs_an_int_index() -> None:
    model = nl.Sequential(nl.Sigmoid())
    with pytest.raises(ArgumentTypeError, match=r"^Sequential\.insert: index must be an int"):
        model.insert(1.0, nl.Tanh())  # type: ignore[arg-type]
    assert len(model) == 1
