"""Sequential's constructor messages and its layer count, pinned in full where mutation testing
found them unpinned: each message names the call, what was expected, what came and where."""

from __future__ import annotations

import pytest

import nnlite as nl

REUSE = "a layer caches its input for backward, so each use needs its own layer"


def test_a_class_for_a_layer_is_named_with_the_likely_slip() -> None:
    with pytest.raises(TypeError) as caught:
        nl.Sequential(nl.Sigmoid)  # type: ignore[arg-type]  # the class, not an instance
    assert str(caught.value) == (
        "Sequential expects Layer instances, got a type at position 0 "
        "(a class: did you forget the ()?)"
    )


def test_a_value_that_is_no_layer_is_named_by_its_position() -> None:
    with pytest.raises(TypeError) as caught:
        nl.Sequential(nl.Sigmoid(), 3)  # type: ignore[arg-type]
    assert str(caught.value) == "Sequential expects Layer instances, got an int at position 1"


def test_a_layer_used_twice_is_named_at_both_places() -> None:
    sigmoid = nl.Sigmoid()
    with pytest.raises(ValueError, match="got the same") as caught:
        nl.Sequential(sigmoid, nl.Sequential(nl.Tanh(), sigmoid))
    assert str(caught.value) == (
        f"Sequential got the same Sigmoid object at position 0 and at position 1.1: {REUSE}"
    )


def test_a_sequential_appended_to_itself_is_refused() -> None:
    model = nl.Sequential(nl.Tanh())
    with pytest.raises(ValueError, match="got the same") as caught:
        model.append(model)
    assert str(caught.value) == (
        "Sequential.insert(1, ...) got the same Sequential object at the Sequential itself and "
        f"at position 1: {REUSE}"
    )


@pytest.mark.parametrize(("count", "text"), [(0, "0 layers"), (1, "1 layer"), (2, "2 layers")])
def test_extra_repr_counts_the_layers(count: int, text: str) -> None:
    model = nl.Sequential(*[nl.Tanh() for _ in range(count)])
    assert model.extra_repr() == text
