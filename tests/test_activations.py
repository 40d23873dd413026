"""ReLU, LeakyReLU, Tanh and Identity: gradients, values, extreme inputs, dtypes, errors, config."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nnlite as nl
from nnlite.interop import LayerKind, layer_kinds
from nnlite.layers.activations import tanh_derivative
from nnlite.testing import check_gradients, check_layer
from nnlite.testing import strategies as nst

STRICT = {"over": "raise", "invalid": "raise", "divide": "raise"}  # underflow to 0 is fine

NEW_LAYERS: list[Callable[[], nl.Layer]] = [
    nl.ReLU,
    nl.LeakyReLU,
    lambda: nl.LeakyReLU(2.5),
    nl.Tanh,
    nl.Identity,
]
NEW_LAYER_IDS = ["ReLU", "LeakyReLU", "LeakyReLU(2.5)", "Tanh", "Identity"]

# --------------------------------------------------------------------------------------------------
# Gradients: the generic checker over every new layer
# --------------------------------------------------------------------------------------------------


def test_relu_gradients() -> None:
    """Drawn inputs include exact zeros: at the kink either one-sided slope is accepted."""
    check_layer(lambda n: nl.ReLU(), checks="gradients")


def test_leaky_relu_gradients() -> None:
    check_layer(lambda n: nl.LeakyReLU(), checks="gradients")


@given(negative_slope=st.floats(min_value=0.0, max_value=5.0), x=nst.arrays(nst.batch_shapes()))
def test_leaky_relu_gradients_for_drawn_slopes(negative_slope: float, x: nl.FloatArray) -> None:
    check_gradients(nl.LeakyReLU(negative_slope), x)


def test_tanh_gradients() -> None:
    check_layer(lambda n: nl.Tanh(), checks="gradients")


def test_tanh_gradients_on_a_wide_range() -> None:
    """Saturated inputs too: the derivative there is tiny but must still be right."""
    check_layer(lambda n: nl.Tanh(), max_magnitude=40.0, checks="gradients")


def test_identity_gradients() -> None:
    """Identity returns its input array itself: the checker must not be fooled by that."""
    check_layer(lambda n: nl.Identity(), checks="gradients")


def test_identity_inside_a_network_gradients() -> None:
    """Identity as a placeholder between layers, where its output is not the network's output."""
    check_layer(lambda n: nl.Sequential(nl.Linear(n, 3, rng=n), nl.Identity(), nl.Sigmoid()))


@pytest.mark.parametrize("layer_class", [nl.ReLU, nl.LeakyReLU])
def test_kinked_layers_pass_at_and_near_the_kink(layer_class: type[nl.Layer]) -> None:
    """0, and points one and two finite-difference steps (2^-13) from 0, on both sides."""
    near = [0.0, 1e-9, 2.0**-13, 2.0**-12, 3e-4]
    check_gradients(layer_class(), np.array([near + [-v for v in near]]))


# --------------------------------------------------------------------------------------------------
# A deliberately wrong backward is caught
# --------------------------------------------------------------------------------------------------


class TanhWithoutSquare(nl.Tanh):
    """Backward uses 1 - tanh(x) where the derivative is 1 - tanh(x)^2."""

    def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        return grad_y * (1 - np.tanh(self.x))


class LeakyReLUWithReLUBackward(nl.LeakyReLU):
    """Backward forgets the slope: 0 instead of negative_slope for x <= 0."""

    def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        return grad_y * self.positive


class IdentityWithZeroBackward(nl.Identity):
    """Backward returns 0 where the derivative of y = x is 1 (and forward returns x itself)."""

    def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        return np.zeros_like(grad_y)


@pytest.mark.parametrize(
    "broken",
    [TanhWithoutSquare, LeakyReLUWithReLUBackward, IdentityWithZeroBackward],
    ids=lambda cls: cls.__name__,
)
def test_check_layer_catches_a_wrong_backward(broken: type[nl.Layer]) -> None:
    with pytest.raises(AssertionError, match="gradient of the input is wrong"):
        check_layer(lambda n: broken(), max_features=3, max_batch=3, checks="gradients")


# --------------------------------------------------------------------------------------------------
# Values and derivatives against the textbook formulas, written out independently
# --------------------------------------------------------------------------------------------------


@given(x=nst.arrays(nst.batch_shapes()), data=st.data())
def test_relu_values_and_derivative(x: nl.FloatArray, data: st.DataObject) -> None:
    grad_y = data.draw(nst.arrays(x.shape))
    layer = nl.ReLU()
    y = layer(x)
    grad_x = layer.backward(grad_y)
    rows, cols = x.shape
    expected_y = [[x[i, j] if x[i, j] > 0 else 0.0 for j in range(cols)] for i in range(rows)]
    expected_grad = [
        [grad_y[i, j] if x[i, j] > 0 else 0.0 for j in range(cols)] for i in range(rows)
    ]
    np.testing.assert_array_equal(y, expected_y)
    np.testing.assert_array_equal(grad_x, expected_grad)


@given(
    negative_slope=st.floats(min_value=0.0, max_value=5.0),
    x=nst.arrays(nst.batch_shapes()),
    data=st.data(),
)
def test_leaky_relu_values_and_derivative(
    negative_slope: float, x: nl.FloatArray, data: st.DataObject
) -> None:
    grad_y = data.draw(nst.arrays(x.shape))
    layer = nl.LeakyReLU(negative_slope)
    y = layer(x)
    grad_x = layer.backward(grad_y)
    rows, cols = x.shape
    s = negative_slope
    expected_y = [
        [x[i, j] if x[i, j] > 0 else s * x[i, j] for j in range(cols)] for i in range(rows)
    ]
    expected_grad = [
        [grad_y[i, j] if x[i, j] > 0 else s * grad_y[i, j] for j in range(cols)]
        for i in range(rows)
    ]
    np.testing.assert_array_equal(y, expected_y)
    np.testing.assert_array_equal(grad_x, expected_grad)


def test_subgradients_at_zero_are_the_documented_ones() -> None:
    """ReLU takes 0 at x = 0, LeakyReLU its negative_slope."""
    x = np.zeros((1, 2))
    relu, leaky = nl.ReLU(), nl.LeakyReLU(0.25)
    relu(x)
    leaky(x)
    np.testing.assert_array_equal(relu.backward(np.ones((1, 2))), [[0.0, 0.0]])
    np.testing.assert_array_equal(leaky.backward(np.ones((1, 2))), [[0.25, 0.25]])


def test_tanh_values_match_the_textbook_formula() -> None:
    x = np.linspace(-20, 20, 401)
    textbook = (np.exp(x) - np.exp(-x)) / (np.exp(x) + np.exp(-x))
    np.testing.assert_allclose(nl.Tanh()(x), textbook, rtol=1e-13, atol=0)


def test_tanh_derivative_matches_the_textbook_form_in_the_middle() -> None:
    x = np.linspace(-5, 5, 401)  # where 1 - tanh^2 >= 1.8e-4 keeps all but ~4 of its digits
    y = np.tanh(x)
    layer = nl.Tanh()
    layer(x)
    np.testing.assert_allclose(layer.backward(np.ones_like(x)), 1 - y**2, rtol=1e-11)


def test_tanh_tail_derivative_matches_4_exp_minus_2_abs_x() -> None:
    """tanh'(x) = 4 exp(-2|x|) (1 + O(exp(-2|x|))): 1 - y^2 would give exactly 0 here."""
    x = np.concatenate([np.linspace(20.0, 350.0, 200), -np.linspace(20.0, 350.0, 200)])
    layer = nl.Tanh()
    layer(x)
    np.testing.assert_allclose(
        layer.backward(np.ones_like(x)), 4 * np.exp(-2 * np.abs(x)), rtol=1e-12
    )
    np.testing.assert_array_equal(tanh_derivative(x), layer.backward(np.ones_like(x)))
    assert np.all(1 - np.tanh(x) ** 2 == 0)  # the collapse the cached-input form avoids


@given(x=nst.arrays(nst.batch_shapes()), data=st.data())
def test_identity_values_and_derivative(x: nl.FloatArray, data: st.DataObject) -> None:
    grad_y = data.draw(nst.arrays(x.shape))
    layer = nl.Identity()
    assert layer(x) is x  # documented: no copy
    np.testing.assert_array_equal(layer.backward(grad_y), grad_y)


ANY_SHAPE = [kind for kind in layer_kinds() if kind.any_shape]


def test_the_activations_say_they_take_any_shape() -> None:
    assert {kind.layer for kind in ANY_SHAPE} >= {nl.ReLU, nl.LeakyReLU, nl.Tanh, nl.Identity}


@pytest.mark.parametrize("kind", ANY_SHAPE, ids=lambda kind: kind.name)
def test_any_shape_is_elementwise(kind: LayerKind) -> None:
    """Every kind that declares any_shape: a 3-d input is the flattened one, reshaped."""
    x = np.arange(24.0).reshape(2, 3, 4) - 12
    expected = kind.example(24)(x.ravel()).reshape(2, 3, 4)
    np.testing.assert_array_equal(kind.example(4)(x), expected)


ACTIVATIONS = [kind for kind in ANY_SHAPE if kind.layer.__module__ == "nnlite.layers.activations"]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kind", ACTIVATIONS, ids=lambda kind: kind.name)
def test_a_zero_dimensional_input_gives_zero_dimensional_arrays(
    kind: LayerKind, dtype: type
) -> None:
    """``nl.Tanh()(0.5)``: forward and backward of a 0-d input are 0-d arrays of its dtype, the
    values those of the same element in a 1-element batch."""
    for value in (-0.5, 0.0, 0.5):
        reference = kind.example(1)
        expected_y = reference(np.array([value], dtype=dtype))
        expected_grad = reference.backward(np.array([2.0], dtype=dtype))
        layer = kind.example(1)
        y = layer(np.array(value, dtype=dtype))
        grad_x = layer.backward(np.array(2.0, dtype=dtype))
        for got, expected in ((y, expected_y), (grad_x, expected_grad)):
            assert isinstance(got, np.ndarray), (kind.name, type(got))
            assert got.shape == ()
            assert got.dtype == dtype
            np.testing.assert_array_equal(got, expected[0])
    y = kind.example(1)(0.5)  # a Python float: a 0-d float64 array
    assert isinstance(y, np.ndarray)
    assert y.shape == ()


# --------------------------------------------------------------------------------------------------
# Extreme inputs and dtypes
# --------------------------------------------------------------------------------------------------

EXTREME_CASES = [
    # (layer, y / big at x / big = [-1, -1/2, 0, 1/2, 1], dy/dx there)
    (nl.ReLU, [0.0, 0.0, 0.0, 0.5, 1.0], [0.0, 0.0, 0.0, 1.0, 1.0]),
    (nl.LeakyReLU, [-0.01, -0.005, 0.0, 0.5, 1.0], [0.01, 0.01, 0.01, 1.0, 1.0]),
    (nl.Tanh, None, [0.0, 0.0, 1.0, 0.0, 0.0]),
    (nl.Identity, [-1.0, -0.5, 0.0, 0.5, 1.0], [1.0, 1.0, 1.0, 1.0, 1.0]),
]


@pytest.mark.parametrize(("dtype", "big"), [(np.float64, 1e308), (np.float32, 3e38)])
@pytest.mark.parametrize(
    ("layer_class", "scaled_y", "derivative"),
    EXTREME_CASES,
    ids=[case[0].__name__ for case in EXTREME_CASES],
)
def test_extreme_inputs_raise_no_floating_point_error(
    dtype: type,
    big: float,
    layer_class: type[nl.Layer],
    scaled_y: list[float] | None,
    derivative: list[float],
) -> None:
    x: nl.FloatArray = np.array([[-big, -big / 2, 0.0, big / 2, big]], dtype=dtype)
    layer = layer_class()
    with np.errstate(**STRICT):  # type: ignore[arg-type]
        y = layer(x)
        grad_x = layer.backward(np.ones_like(x))
    assert y.dtype == dtype
    assert grad_x.dtype == dtype
    assert np.all(np.isfinite(y))
    assert np.all(np.isfinite(grad_x))
    if scaled_y is None:  # Tanh saturates
        np.testing.assert_array_equal(y, [[-1.0, -1.0, 0.0, 1.0, 1.0]])
    else:
        np.testing.assert_allclose(y, big * np.array([scaled_y], dtype=dtype), rtol=1e-6)
    np.testing.assert_allclose(grad_x, [derivative], rtol=1e-6, atol=0)


def test_leaky_relu_with_a_slope_above_one_does_not_overflow_on_large_positive_inputs() -> None:
    """The slope multiplies only min(x, 0); y = x for x > 0 whatever the slope."""
    layer = nl.LeakyReLU(4.0)
    with np.errstate(**STRICT):  # type: ignore[arg-type]
        y = layer(np.array([[1e308, 0.0, -1.0]]))
    np.testing.assert_array_equal(y, [[1e308, 0.0, -4.0]])


@pytest.mark.parametrize("make", NEW_LAYERS, ids=NEW_LAYER_IDS)
def test_float32_in_float32_out(make: Callable[[], nl.Layer]) -> None:
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    layer = make()
    assert layer(x).dtype == np.float32
    assert layer.backward(np.ones((4, 3), dtype=np.float32)).dtype == np.float32


@pytest.mark.parametrize("slope", [np.float64(0.1), np.float32(0.1), np.int64(2)])
def test_numpy_scalar_slope_keeps_float32(slope: float) -> None:
    """A numpy float64 slope would promote float32 arrays: it is stored as a Python float."""
    layer = nl.LeakyReLU(slope)
    assert type(layer.negative_slope) is float
    x = np.array([[-1.0, 1.0]], dtype=np.float32)
    assert layer(x).dtype == np.float32
    assert layer.backward(np.ones_like(x)).dtype == np.float32


# --------------------------------------------------------------------------------------------------
# Constructor arguments, repr, config, errors
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [-0.01, -1, math.nan, math.inf, -math.inf])
def test_a_negative_or_infinite_slope_is_a_value_error(bad: object) -> None:
    message = f"LeakyReLU: negative_slope must be a finite number >= 0, got {bad!r}"
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        nl.LeakyReLU(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["0.1", None, True, [0.1], 1j])
def test_a_slope_that_is_not_a_number_is_a_type_error(bad: object) -> None:
    message = f"LeakyReLU: negative_slope must be a number >= 0, got {bad!r}"
    with pytest.raises(TypeError, match=f"^{re.escape(message)}$"):
        nl.LeakyReLU(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("make", "text"),
    [
        (nl.ReLU, "ReLU()"),
        (nl.Tanh, "Tanh()"),
        (nl.Identity, "Identity()"),
        (nl.LeakyReLU, "LeakyReLU(negative_slope=0.01)"),
        (lambda: nl.LeakyReLU(0), "LeakyReLU(negative_slope=0.0)"),
        (lambda: nl.LeakyReLU(negative_slope=0.2), "LeakyReLU(negative_slope=0.2)"),
    ],
)
def test_repr(make: Callable[[], nl.Layer], text: str) -> None:
    assert repr(make()) == text


@given(negative_slope=st.floats(min_value=0.0, max_value=1e6), x=nst.arrays(nst.batch_shapes()))
def test_leaky_relu_config_round_trips(negative_slope: float, x: nl.FloatArray) -> None:
    layer = nl.LeakyReLU(negative_slope)
    config = layer.get_config()
    assert config == {"negative_slope": negative_slope}
    rebuilt = nl.LeakyReLU(**json.loads(json.dumps(config)))  # as saved to and read from a file
    assert repr(rebuilt) == repr(layer)
    np.testing.assert_array_equal(rebuilt(x), layer(x))
    grad_y = np.ones_like(x)
    np.testing.assert_array_equal(rebuilt.backward(grad_y), layer.backward(grad_y))


@pytest.mark.parametrize("layer_class", [nl.ReLU, nl.Tanh, nl.Identity])
def test_layers_without_arguments_have_an_empty_config(layer_class: type[nl.Layer]) -> None:
    assert layer_class().get_config() == {}


@pytest.mark.parametrize("make", NEW_LAYERS, ids=NEW_LAYER_IDS)
def test_backward_before_forward(make: Callable[[], nl.Layer]) -> None:
    layer = make()
    with pytest.raises(nl.StateError, match=re.escape(f"{layer!r}.backward() was called before")):
        layer.backward(np.ones((1, 2)))


@pytest.mark.parametrize("make", NEW_LAYERS, ids=NEW_LAYER_IDS)
def test_grad_y_of_the_wrong_shape(make: Callable[[], nl.Layer]) -> None:
    layer = make()
    layer(np.ones((2, 3)))
    with pytest.raises(nl.ShapeError, match=r"expects grad_y of the output's shape \(2, 3\)"):
        layer.backward(np.ones((3, 2)))
