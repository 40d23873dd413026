"""The optimizers' checks of their parameters, their messages, the state they keep and the
scratch they hold, and their rules at a weight decay of exactly 1, pinned where mutation testing
found them unpinned. Every expected value is worked by hand from the rule written out."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import nnlite as nl
from nnlite.optim import SGD, Adam, AdamW, Optimizer, RMSprop

ADVICE = "update data and grad in place, or create a new optimizer"
SGD_REPR = "SGD(lr=0.1, momentum=0.0, nesterov=False, weight_decay=0.0)"

# --- a parameter's arrays swapped -------------------------------------------------------------


def test_data_swapped_for_another_dtype_is_named_in_full() -> None:
    w = nl.Parameter(np.ones(3))
    optimizer = SGD([w], lr=0.1)
    w.data = np.ones(3, dtype=np.float32)
    with pytest.raises(nl.DTypeError) as caught:
        optimizer.step()
    assert str(caught.value) == (
        f"{SGD_REPR}: parameter 0 ({w!r}) has data an array of dtype float32 and shape (3,), "
        f"expected dtype float64: {ADVICE}"
    )


def test_data_and_grad_swapped_together_for_another_dtype_are_refused() -> None:
    """Both arrays agree with each other, not with the dtype the state was made for."""
    w = nl.Parameter(np.ones(3))
    optimizer = SGD([w], lr=0.1)
    w.data, w.grad = np.ones(3, dtype=np.float32), np.zeros(3, dtype=np.float32)
    with pytest.raises(nl.DTypeError, match="has data an array of dtype float32"):
        optimizer.step()


def test_data_and_grad_swapped_together_for_another_shape_are_refused() -> None:
    w = nl.Parameter(np.ones(3))
    optimizer = SGD([w], lr=0.1)
    w.data, w.grad = np.ones(4), np.zeros(4)
    with pytest.raises(nl.ShapeError) as caught:
        optimizer.step()
    assert str(caught.value) == (
        f"{SGD_REPR}: parameter 0 ({w!r}) has data of shape (4,), expected (3,): {ADVICE}"
    )


# --- weight decay of exactly 1 ---------------------------------------------------------------

W0, GRAD = np.array([1.0, -2.0]), np.array([0.5, 0.5])


def _one_step(make: Callable[[list[nl.Parameter]], Optimizer]) -> np.ndarray[Any, Any]:
    w = nl.Parameter(W0.copy())
    w.grad[...] = GRAD
    make([w]).step()
    return w.data


def test_adam_adds_a_weight_decay_of_one_to_the_gradient() -> None:
    """First step, bias-corrected: m_hat = g, v_hat = g^2, so w -= lr g / (|g| + eps), with
    g = grad + 1 * w = [1.5, -1.5]."""
    g = GRAD + W0
    expected = W0 - 0.1 * g / (np.abs(g) + 1e-8)
    np.testing.assert_allclose(
        _one_step(lambda ps: Adam(ps, lr=0.1, weight_decay=1.0)), expected, rtol=1e-15
    )


def test_adamw_decays_the_weights_by_lr_times_one() -> None:
    """Decoupled: w = w (1 - lr * 1), then the Adam step of the gradient alone."""
    expected = W0 * (1 - 0.1) - 0.1 * GRAD / (np.abs(GRAD) + 1e-8)
    np.testing.assert_allclose(
        _one_step(lambda ps: AdamW(ps, lr=0.1, weight_decay=1.0)), expected, rtol=1e-15
    )


def test_rmsprop_adds_a_weight_decay_of_one_to_the_gradient() -> None:
    """s = (1 - alpha) g^2 from zero; w -= lr g / (sqrt(s) + eps), g = grad + 1 * w."""
    g = GRAD + W0
    expected = W0 - 0.01 * g / (np.sqrt(0.01 * g * g) + 1e-8)
    np.testing.assert_allclose(
        _one_step(lambda ps: RMSprop(ps, lr=0.01, weight_decay=1.0)), expected, rtol=1e-14
    )


# --- RMSprop's state ---------------------------------------------------------------------------


def test_rmsprop_counts_its_steps_from_zero() -> None:
    w = nl.Parameter(W0.copy())
    optimizer = RMSprop([w])
    assert optimizer.step_count == 0
    optimizer.step()
    optimizer.step()
    assert optimizer.step_count == 2


@pytest.mark.parametrize(
    ("settings", "names"),
    [
        ({}, ["lr", "square_avg.0", "step_count"]),
        ({"centered": True}, ["grad_avg.0", "lr", "square_avg.0", "step_count"]),
        ({"momentum": 0.5}, ["lr", "momentum_buffer.0", "square_avg.0", "step_count"]),
    ],
    ids=["plain", "centered", "momentum"],
)
def test_rmsprop_keeps_only_the_state_its_rule_uses(
    settings: dict[str, Any], names: list[str]
) -> None:
    optimizer = RMSprop([nl.Parameter(W0.copy())], **settings)
    assert sorted(optimizer.state_dict()) == names


def test_rmsprop_centered_keeps_the_average_gradient() -> None:
    """a = alpha a + (1 - alpha) g from zero: after one step, (1 - 0.99) g."""
    w = nl.Parameter(W0.copy())
    w.grad[...] = GRAD
    optimizer = RMSprop([w], centered=True)
    optimizer.step()
    np.testing.assert_allclose(optimizer.state_dict()["grad_avg.0"], 0.01 * GRAD, rtol=1e-15)


def test_rmsprop_names_a_bad_weight_decay() -> None:
    with pytest.raises(nl.errors.ArgumentValueError) as caught:
        RMSprop([nl.Parameter(W0.copy())], weight_decay=-1.0)
    assert str(caught.value) == "RMSprop: weight_decay must be a finite number >= 0, got -1.0"


# --- the arrays SGD holds ----------------------------------------------------------------------

LARGE = 100_000  # a float64 array of this size is 800 kB


@pytest.mark.parametrize(
    ("settings", "arrays"),
    [
        ({}, 0),
        ({"momentum": 0.9}, 1),  # the velocity
        ({"momentum": 0.9, "dampening": 0.5}, 2),  # the velocity and a scratch array
        ({"momentum": 0.9, "nesterov": True}, 2),
        ({"weight_decay": 0.1}, 2),  # two scratch arrays
    ],
    ids=["plain", "momentum", "dampening", "nesterov", "weight-decay"],
)
def test_sgd_holds_only_the_arrays_its_rule_uses(settings: dict[str, Any], arrays: int) -> None:
    """Made once, at construction: the velocity with momentum, and scratch for the intermediates
    of dampening, Nesterov and weight decay (two with weight decay), each the size of the largest
    parameter; plain SGD holds none (its update makes one temporary, freed at once)."""
    parameters = [nl.Parameter(np.ones(LARGE)), nl.Parameter(np.ones(10))]
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        optimizer = SGD(parameters, lr=0.1, **settings)
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert arrays * 8 * LARGE <= held < arrays * 8 * LARGE + 8 * LARGE // 2, optimizer


# --- the base class ----------------------------------------------------------------------------


class Still(Optimizer):
    """An optimizer of one's own with no hyperparameters: it leaves the weights as they are."""

    def step(self) -> None:
        self._check_parameters()


def test_an_optimizer_without_hyperparameters_shows_none() -> None:
    assert repr(Still([nl.Parameter(W0.copy())])) == "Still()"
