"""check_gradients with a bound on its work (max_elements), its progress, and bad parameters."""

from __future__ import annotations

import math

import numpy as np
import pytest

import nnlite as nl
from nnlite.errors import ArgumentValueError
from nnlite.testing import check_gradients


def network() -> nl.Sequential:
    return nl.two_layer_network(6, 20, 3, rng=0)  # 120 + 63 parameters


X = np.random.default_rng(5).normal(size=(4, 6))  # 24 input elements: 207 in all


class WrongEverywhere(nl.Linear):
    """A weight gradient twice the truth: every element of it is wrong."""

    def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        grad_x = super().backward(grad_y)
        self.weight.grad *= 2
        return grad_x


def test_a_bound_above_the_element_count_checks_every_element() -> None:
    full = check_gradients(network(), X)
    bounded = check_gradients(network(), X, max_elements=207)
    assert bounded == full
    assert all(tensor.n_checked is None for tensor in bounded.tensors)
    assert "checked" not in str(bounded)


def test_a_bound_checks_a_share_of_each_tensor_and_says_so() -> None:
    report = check_gradients(network(), X, max_elements=50)
    sizes = {tensor.name: math.prod(tensor.shape) for tensor in report.tensors}
    checked = {tensor.name: tensor.n_checked for tensor in report.tensors}
    assert sizes == {"input": 24, "0.weight": 120, "3.weight": 63}
    assert checked == {
        "input": 50 * 24 // 207,
        "0.weight": 50 * 120 // 207,
        "3.weight": 50 * 63 // 207,
    }
    assert sum(n for n in checked.values() if n is not None) <= 50
    assert "(28 of 120 elements checked)" in str(report)


def test_every_tensor_gets_at_least_one_element() -> None:
    report = check_gradients(network(), X, max_elements=3)
    assert [tensor.n_checked for tensor in report.tensors] == [1, 1, 1]


def test_the_subset_comes_from_rng_and_keeps_grad_y() -> None:
    """The same seed, the same subset; grad_y is drawn first, so the full check is unchanged."""
    first = check_gradients(network(), X, max_elements=20, rng=3)
    assert check_gradients(network(), X, max_elements=20, rng=3) == first
    assert check_gradients(network(), X, max_elements=20, rng=4) != first


def test_a_wrong_gradient_is_caught_on_a_subset() -> None:
    model = nl.Sequential(WrongEverywhere(6, 20, rng=0), nl.Sigmoid())
    with pytest.raises(
        AssertionError,
        match=r"parameter '0\.weight' is wrong: \d+ of \d+ checked \(of 120\) elements differ",
    ):
        check_gradients(model, X, max_elements=10)


def test_progress_counts_every_element_estimated() -> None:
    calls: list[tuple[int, int]] = []
    report = check_gradients(network(), X, max_elements=30, progress=lambda *c: calls.append(c))
    total = sum(tensor.n_checked or 0 for tensor in report.tensors)
    assert calls == [(done, total) for done in range(1, total + 1)]
    calls.clear()
    check_gradients(network(), X, progress=lambda *c: calls.append(c))
    assert calls[-1] == (207, 207)
    assert len(calls) == 207


@pytest.mark.parametrize("bad", [0, -1])
def test_the_bound_must_be_a_positive_int(bad: int) -> None:
    with pytest.raises(ArgumentValueError, match="check_gradients: max_elements must be None or"):
        check_gradients(network(), X, max_elements=bad)


def test_a_loss_takes_no_bound() -> None:
    with pytest.raises(TypeError, match="takes no max_elements or progress"):
        check_gradients(nl.MSELoss(), np.zeros((2, 1)), np.ones((2, 1)), max_elements=3)  # type: ignore[call-overload]


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_a_parameter_that_is_not_finite_is_a_value_error_naming_it(bad: float) -> None:
    """Finite differences of inf mean nothing (the step size overflowed before)."""
    model = network()
    model[3].weight.data[2, 1] = bad  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match=r"parameter '3\.weight' holds .* at index \(2, 1\)"):
        check_gradients(model, X)
