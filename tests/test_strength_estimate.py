"""The finite-difference estimates behind check_gradients, at values worked out by hand.

Each test pins a part of ``nnlite/testing/_estimate.py`` that mutation testing found unpinned: the
rounding estimate's three terms (the size of the outputs, the underflow floor, the measured
noise), the precision taken from the output's dtype, and the interval of the one-sided
estimates. The functions differenced are polynomials at a step h = 2^-13, so every value on the
stencil, and every difference, is exact in binary.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from numpy.typing import ArrayLike

import nnlite as nl
from nnlite.testing import _estimate, check_gradients

H = 2.0**-13  # the step at |v| <= 8192 in float64: a power of two near eps^(1/4)
F64_EPS = 2.0**-52
F32_EPS = 2.0**-23
SUBNORMAL = 2.0**-1074


def estimate_of(f: Callable[[float], ArrayLike], weights: nl.FloatArray) -> _estimate._Estimates:
    """The estimates of d sum(weights * f(v)) / dv at v = 0, for f of one number."""
    v = np.zeros(1)

    def evaluate() -> nl.FloatArray:
        return np.asarray(f(float(v[0])))

    return _estimate._estimate_tensor(v, evaluate, weights, evaluate())


@pytest.mark.parametrize("weight", [2.0, -2.0])
def test_the_estimates_of_an_even_quartic_at_its_minimum(weight: float) -> None:
    """f = 1 + v^4 at v = 0, weight w = +-2: f on the stencil is 1 + 16 h^4, 1 + h^4, 1,
    1 + h^4, 1 + 16 h^4.

    - Both central differences are 0 (f is even): the value and the truncation error are 0.
    - The one-sided estimates are w (4 (f(h) - f(0)) - (f(2h) - f(0))) / 2h = -6 w h^3 (F) and
      w (4 (f(0) - f(-h)) - (f(0) - f(-2h))) / 2h = 6 w h^3 (B): the interval is [-12 h^3,
      12 h^3], with F its low end at w = 2 and its high end at w = -2.
    - The rounding estimate, over h: eps |w| max |f| (eps 2 (1 + 16 h^4)), the underflow floor
      (one output: the smallest subnormal), and the measured noise, the fourth difference
      |w (16 h^4 + 16 h^4 - 4 (h^4 + h^4))| = 48 h^4 scaled by 0.95 / 8.4.
    """
    estimates = estimate_of(lambda v: [1.0 + v**4], np.array([weight]))
    assert (estimates.value[0], estimates.truncation[0]) == (0.0, 0.0)
    assert (estimates.low[0], estimates.high[0]) == (-12 * H**3, 12 * H**3)
    assert (estimates.step[0], estimates.eps) == (H, F64_EPS)
    noise = 48 * H**4 * 0.95 / 8.4
    rounding = (F64_EPS * 2 * (1 + 16 * H**4) + SUBNORMAL + noise) / H
    assert estimates.rounding[0] == pytest.approx(rounding, rel=1e-14)


def test_the_rounding_of_outputs_that_do_not_move_is_the_underflow_floor() -> None:
    """Three outputs, all 0 at every point of the stencil: no size and no noise, so the rounding
    estimate is the absolute floor alone, each output off by the smallest subnormal step:
    3 2^-1074 / h, exactly."""
    estimates = estimate_of(lambda v: [0.0, 0.0, 0.0], np.ones(3))
    assert estimates.rounding[0] == 3 * SUBNORMAL / H
    assert (estimates.value[0], estimates.low[0], estimates.high[0]) == (0.0, 0.0, 0.0)


@pytest.mark.parametrize(
    ("dtype", "eps", "step"),
    [
        # float64: eps 2^-52, eps^(1/4) = 2^-13.
        (np.float64, F64_EPS, 2.0**-13),
        # float32 (a layer that computes in float32 whatever its input): eps 2^-23, and the
        # power of two nearest eps^(1/4) = 2^-5.75 is 2^-6.
        (np.float32, F32_EPS, 2.0**-6),
        # Integers are exact and have no eps: the differences are float64 arithmetic.
        (np.int64, F64_EPS, 2.0**-13),
    ],
)
def test_the_precision_is_that_of_the_outputs_dtype(dtype: type, eps: float, step: float) -> None:
    """eps, and the step from it, are those of the arithmetic that produced the outputs."""
    estimates = estimate_of(lambda v: np.array([v > 1.0, 1.0], dtype=dtype), np.ones(2))
    assert (estimates.eps, estimates.step[0]) == (eps, step)


class Floor(nl.Layer):
    """y = floor(x) as integers: a step function, whose gradient is 0 away from the steps."""

    def forward(self, x: nl.FloatArray) -> nl.FloatArray:
        return np.floor(x).astype(np.int64)

    def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        return np.zeros_like(grad_y)


def test_a_layer_with_integer_outputs_is_checked() -> None:
    """forward may return any ndarray: integers too, whose zero gradient between the steps (the
    stencil, 2 h = 2^-12 wide, crosses none here) is right."""
    report = check_gradients(Floor(), np.array([[0.3, 1.5, -0.7]]))
    assert report.passed
    assert (report["input"].numeric, report["input"].max_abs_error) == (0.0, 0.0)
