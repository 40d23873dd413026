"""Bugs the layer checks once passed, each now caught: a 0-d array with a NaN in it, a change in
place that a second call repeats to no effect, and a tie between the input and a parameter."""

from __future__ import annotations

import numpy as np
import pytest

import nnlite as nl
from nnlite.testing import checks
from nnlite.testing.gradcheck import require_finite, require_finite_input

X = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])


def test_a_nan_in_a_0d_array_is_found() -> None:
    with pytest.raises(AssertionError, match=r"the loss is not finite: nan at index \(\)"):
        require_finite(np.array(np.nan), "MSELoss()", "the loss")
    with pytest.raises(ValueError, match=r"x holds inf at index \(\)"):
        require_finite_input(np.array(np.inf), "check", "x")


class StableShift(nl.Layer):
    """y = x - max(x) per row, computed in place in the caller's x: a second call changes nothing
    more, so comparing with the check's own (already shifted) copy saw no change."""

    def forward(self, x):
        x -= x.max(axis=1, keepdims=True)
        return x.copy()

    def backward(self, grad_y):
        return grad_y.copy()  # (not the gradient; no_mutation is the check under test)


class ClipsItsWeight(nl.Layer):
    """y = x * w, with w clipped to [-1, 1] in place at every forward."""

    def __init__(self, n_features: int) -> None:
        self.weight = nl.Parameter(np.linspace(-2.0, 2.0, n_features))

    def forward(self, x):
        np.clip(self.weight.data, -1.0, 1.0, out=self.weight.data)
        self.x = x
        return x * self.weight.data

    def backward(self, grad_y):
        self.weight.grad += (grad_y * self.x).sum(axis=0)
        return grad_y * self.weight.data


def test_a_change_in_place_that_a_second_forward_repeats_is_caught() -> None:
    with pytest.raises(AssertionError, match="forward modified its input x in place"):
        checks.check_no_mutation(StableShift(), X)
    with pytest.raises(AssertionError, match="modified parameter 'weight' in place"):
        checks.check_no_mutation(ClipsItsWeight(3), X)


class MinimumWith(nl.Layer):
    """y = min(x, w), w a parameter per feature; at x == w the gradient goes to both (wrong for a
    joint move: moving x and w together moves y once, not twice)."""

    def __init__(self, w) -> None:
        self.weight = nl.Parameter(w)

    def forward(self, x):
        self.x = x
        return np.minimum(x, self.weight.data)

    def backward(self, grad_y):
        self.weight.grad += (grad_y * (self.weight.data <= self.x)).sum(axis=0)
        return grad_y * (self.x <= self.weight.data)


def test_a_tie_between_the_input_and_a_parameter_is_caught_by_directional() -> None:
    tied = MinimumWith(X[0])  # row 0 of x equals w everywhere
    checks.check_gradients(tied, X)  # each element alone: either one-sided slope is accepted
    with pytest.raises(AssertionError, match=r"^check_directional\(MinimumWith\(\)\) failed"):
        checks.check_directional(tied, X)
