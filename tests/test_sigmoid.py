"""Sigmoid: stable at every finite input, accurate in both tails, the derivation's y (1 - y)."""

from __future__ import annotations

import numpy as np
import pytest

import nnlite as nl
from nnlite.testing import check_layer

STRICT = {"over": "raise", "invalid": "raise", "divide": "raise"}  # underflow to 0 is fine


def test_gradients() -> None:
    check_layer(lambda n: nl.Sigmoid(), checks="gradients")


def test_gradients_on_a_wide_range() -> None:
    """Saturated inputs too: the derivative there is tiny but must still be right."""
    check_layer(lambda n: nl.Sigmoid(), max_magnitude=40.0, checks="gradients")


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


def exact_derivative(h: nl.FloatArray) -> nl.FloatArray:
    """sigma'(h) = e / (1 + e)^2 with e = exp(-|h|): written from h, so accurate in both tails."""
    e = np.exp(-np.abs(h))
    result: nl.FloatArray = e / (1 + e) ** 2
    return result


def derivative_from_backward(h: nl.FloatArray) -> nl.FloatArray:
    layer = nl.Sigmoid()
    layer(h)
    return layer.backward(np.ones_like(h))


def test_derivative_is_accurate_relative_to_its_value_up_to_the_positive_tail() -> None:
    """y (1 - y) from the output: 1 - y keeps its digits while y is not close to 1 (h <= 8)."""
    h = np.concatenate([-np.linspace(8.0, 700.0, 300), np.linspace(-8.0, 8.0, 401)])
    np.testing.assert_allclose(derivative_from_backward(h), exact_derivative(h), rtol=1e-11)


def test_derivative_is_within_epsilon_everywhere() -> None:
    """In the positive tail 1 - y loses digits and, beyond h ~ 37, rounds to 0: as in PyTorch, an
    absolute error below the float's epsilon, never a relative one above it where it matters."""
    for dtype, extreme in ((np.float64, 745.0), (np.float32, 104.0)):
        h: nl.FloatArray = np.linspace(-extreme, extreme, 3001).astype(dtype)
        derivative = derivative_from_backward(h)
        assert derivative.dtype == dtype
        exact = exact_derivative(h.astype(np.float64))
        assert np.max(np.abs(derivative - exact)) <= np.finfo(dtype).eps
    assert np.all(derivative_from_backward(np.array([37.0, 100.0, 700.0])) == 0.0)


def test_derivative_is_the_derivations_y_times_one_minus_y() -> None:
    x = np.linspace(-30, 30, 601)
    y = 1 / (1 + np.exp(-x))
    np.testing.assert_array_equal(derivative_from_backward(x), y * (1 - y))


def test_any_shape_is_elementwise() -> None:
    x = np.arange(24.0).reshape(2, 3, 4) - 12
    np.testing.assert_array_equal(nl.Sigmoid()(x), nl.Sigmoid()(x.ravel()).reshape(2, 3, 4))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_zero_dimensional_input_gives_arrays(dtype: type) -> None:
    layer = nl.Sigmoid()
    y = layer(np.array(0.5, dtype=dtype))
    assert isinstance(y, np.ndarray)
    assert y.shape == ()
    assert y.dtype == dtype
    np.testing.assert_allclose(y, 1 / (1 + np.exp(-0.5)), rtol=1e-6)
    grad_x = layer.backward(np.array(2.0, dtype=dtype))
    assert isinstance(grad_x, np.ndarray)
    assert grad_x.dtype == dtype
    np.testing.assert_allclose(grad_x, 2 * y * (1 - y), rtol=1e-6)
