"""Sigmoid: stable at every finite input, and an accurate derivative in the tails."""

from __future__ import annotations

import numpy as np
import pytest

import nnlite as nl
from nnlite.layers.activations import sigmoid_derivative
from nnlite.testing import check_layer

STRICT = {"over": "raise", "invalid": "raise", "divide": "raise"}  # underflow to 0 is fine


def test_gradients() -> None:
    check_layer(lambda n: nl.Sigmoid())


def test_gradients_on_a_wide_range() -> None:
    """Saturated inputs too: the derivative there is tiny but must still be right."""
    check_layer(lambda n: nl.Sigmoid(), max_magnitude=40.0)


@pytest.mark.parametrize(("dtype", "extreme"), [(np.float64, 1000.0), (np.float32, 100.0)])
def test_extreme_inputs_raise_no_floating_point_error(dtype: type, extreme: float) -> None:
    x: nl.FloatArray = np.array([[-extreme, -extreme / 2, 0.0, extreme / 2, extreme]], dtype=dtype)
    layer = nl.Sigmoid()
    with np.errstate(**STRICT):  # type: ignore[arg-type]
        y = layer(x)
        grad_x = layer.backward(np.ones_like(x))
    assert y.dtype == dtype
    assert grad_x.dtype == dtype
    assert 0.0 <= y[0, 0] < 1e-40  # exp(-100) is a float32 subnormal, exp(-1000) rounds to 0
    assert y[0, 2] == 0.5
    assert y[0, -1] == 1.0
    assert np.all(np.isfinite(grad_x))
    assert np.all(grad_x >= 0)


def test_values_match_the_textbook_formula_where_it_is_safe() -> None:
    x = np.linspace(-30, 30, 601)
    np.testing.assert_allclose(nl.Sigmoid()(x), 1 / (1 + np.exp(-x)), rtol=1e-15, atol=0)


def test_tail_values_are_accurate_relative_to_exp() -> None:
    """sigma(-h) = exp(-h) / (1 + exp(-h)) ~ exp(-h) far in the negative tail, to full precision."""
    h = np.linspace(40.0, 700.0, 200)
    np.testing.assert_allclose(nl.Sigmoid()(-h), np.exp(-h), rtol=1e-10)


def test_tail_derivative_matches_exp_minus_abs_h() -> None:
    """sigma'(h) = exp(-|h|) (1 + O(exp(-|h|))): y (1 - y) would give exactly 0 here."""
    h = np.concatenate([np.linspace(37.0, 700.0, 300), -np.linspace(37.0, 700.0, 300)])
    layer = nl.Sigmoid()
    layer(h)
    np.testing.assert_allclose(layer.backward(np.ones_like(h)), np.exp(-np.abs(h)), rtol=1e-10)
    y = layer(h[h > 0])
    assert np.all(y * (1 - y) == 0)  # the collapse the cached-input form avoids


def test_derivative_matches_the_textbook_form_in_the_middle() -> None:
    x = np.linspace(-8, 8, 401)  # where 1 - s keeps all but ~3 of its digits (1 - s >= 3e-4)
    s = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(sigmoid_derivative(x), s * (1 - s), rtol=1e-11)


def test_any_shape_is_elementwise() -> None:
    x = np.arange(24.0).reshape(2, 3, 4) - 12
    np.testing.assert_array_equal(nl.Sigmoid()(x), nl.Sigmoid()(x.ravel()).reshape(2, 3, 4))
