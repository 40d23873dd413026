"""The dtype rule: float64 by default, float32 kept, lists and ints converted, the rest refused."""

from __future__ import annotations

import numpy as np
import pytest

import nnlite as nl


def test_float64_by_default() -> None:
    model = nl.two_layer_network(2, 3, rng=0)
    assert all(p.dtype == np.float64 for p in model.parameters())
    assert model([[0.0, 1.0]]).dtype == np.float64


def _float32_network() -> nl.Sequential:
    return nl.Sequential(
        nl.Linear(2, 3, bias=False, dtype=np.float32, rng=0),
        nl.Sigmoid(),
        nl.BiasAppend(),
        nl.Linear(4, 1, bias=False, dtype=np.float32, rng=1),
        nl.Sigmoid(),
    )


def test_float32_stays_float32_through_forward_loss_and_backward() -> None:
    model = _float32_network()
    x = np.ones((5, 2), dtype=np.float32)
    y_hat = model(x)
    assert y_hat.dtype == np.float32
    loss = nl.MSELoss()
    loss(y_hat, np.zeros((5, 1)))  # a float64 target is cast to the prediction's dtype
    grad = loss.backward()
    assert grad.dtype == np.float32
    assert model.backward(grad).dtype == np.float32
    assert all(p.grad.dtype == np.float32 for p in model.parameters())


def test_float32_arrays_are_not_copied() -> None:
    x = np.ones((2, 2), dtype=np.float32)
    assert nl.as_float_array(x) is x


@pytest.mark.parametrize(
    ("value", "dtype"),
    [
        ([[1, 2]], np.float64),
        ([[1.5, 2.0]], np.float64),
        (((1, 2),), np.float64),
        (np.array([[1, 2]], dtype=np.int32), np.float64),
        (np.array([[True, False]]), np.float64),
        (np.array([[1, 2]], dtype=np.float16), np.float64),
        (3, np.float64),
    ],
)
def test_conversion_rule(value: object, dtype: type) -> None:
    converted = nl.as_float_array(value)
    assert converted.dtype == dtype
    np.testing.assert_array_equal(converted, np.asarray(value, dtype=np.float64))


def test_lists_and_integers_work_as_layer_input() -> None:
    layer = nl.Linear(2, 1, rng=0)
    np.testing.assert_array_equal(layer([[1, 2]]), layer(np.array([[1.0, 2.0]])))


@pytest.mark.parametrize(
    ("value", "what"),
    [
        ("abc", "a str"),
        (None, "None"),
        (np.array([[1 + 2j]]), "complex128"),
        ([[1.0], [2.0, 3.0]], "numpy cannot read"),
        (np.array([["a"]]), "<U1"),
        ({"x": 1}, "dict"),
    ],
)
def test_anything_else_is_a_type_error_naming_the_layer(value: object, what: str) -> None:
    with pytest.raises(
        TypeError, match=r"Linear\(in_features=2, out_features=1\) expects input"
    ) as info:
        nl.Linear(2, 1, rng=0)(value)  # type: ignore[arg-type]
    assert what in str(info.value)


@pytest.mark.parametrize(
    ("value", "what", "dtype"),
    [
        (np.array([[1 + 2j, 3]]), "an array of dtype complex128 and shape (1, 2)", "complex128"),
        ([[1 + 2j, 3]], "a list that numpy reads as complex128", "complex128"),
        (np.array([["a", "b"]]), "an array of dtype <U1 and shape (1, 2)", "<U1"),
    ],
)
def test_a_wrong_dtype_is_named_once(value: object, what: str, dtype: str) -> None:
    with pytest.raises(TypeError) as info:
        nl.Linear(2, 1, rng=0)(value)  # type: ignore[arg-type]
    assert str(info.value).endswith(f"; got {what}")
    assert str(info.value).count(dtype) == 1


def test_a_bad_gradient_type_is_named_as_grad_y() -> None:
    layer = nl.Sigmoid()
    layer(np.zeros((1, 1)))
    with pytest.raises(TypeError, match=r"Sigmoid\(\) expects grad_y"):
        layer.backward("nope")  # type: ignore[arg-type]


def test_mixed_precision_follows_numpy_promotion() -> None:
    """A float64 input to a float32 layer computes in float64; the float32 grads stay float32."""
    layer = nl.Linear(2, 2, dtype=np.float32, rng=0)
    y = layer(np.ones((1, 2)))
    assert y.dtype == np.float64
    layer.backward(np.ones((1, 2)))
    assert layer.weight.grad.dtype == np.float32
