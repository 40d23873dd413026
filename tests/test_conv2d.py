"""Conv2d: its formula against a direct sum, its weight layout, initialisation and errors.

Its backward is checked against finite differences here and by the conformance suite
(tests/test_builtin_conformance.py), and against PyTorch's autograd in
tests/test_interop_images.py.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nnlite as nl
from nnlite.errors import ArgumentTypeError, ArgumentValueError
from nnlite.interop import layer_kind
from nnlite.testing import check_gradients
from nnlite.testing import strategies as nst
from tests.image_networks import conv2ds, image_sizes


def direct(layer: nl.Conv2d, x: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """y[n, o, i, j] = b[o] + sum_{c, u, v} x_padded[n, c, s_h i + u, s_w j + v] W[c, u, v, o],
    one output pixel at a time: the docstring's formula, written out."""
    (p_h, p_w), (s_h, s_w), (k_h, k_w) = layer.padding, layer.stride, layer.kernel_size
    padded = np.pad(x, ((0, 0), (0, 0), (p_h, p_h), (p_w, p_w)))
    rows = (padded.shape[2] - k_h) // s_h + 1
    columns = (padded.shape[3] - k_w) // s_w + 1
    y = np.zeros((x.shape[0], layer.out_channels, rows, columns))
    for n, o, i, j in np.ndindex(*y.shape):
        window = padded[n, :, s_h * i : s_h * i + k_h, s_w * j : s_w * j + k_w]
        y[n, o, i, j] = np.sum(window * layer.weight.data[..., o])
        if layer.bias is not None:
            y[n, o, i, j] += layer.bias.data[o]
    return y


@st.composite
def conv_cases(draw: st.DrawFn) -> tuple[nl.Conv2d, np.ndarray[Any, Any]]:
    channels, size = draw(st.integers(1, 3)), draw(image_sizes(1, 6))
    layer = draw(conv2ds(channels, size))
    x = draw(nst.arrays((draw(nst.batch_sizes(max_batch=3)), channels, *size)))
    return layer, x


@given(case=conv_cases())
def test_the_forward_is_the_formula(case: tuple[nl.Conv2d, np.ndarray[Any, Any]]) -> None:
    layer, x = case
    y = layer(x)
    expected = direct(layer, x)
    assert y.shape == expected.shape
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12 * (1 + np.abs(expected).max()))


@given(case=conv_cases())
def test_the_gradients_match_finite_differences(
    case: tuple[nl.Conv2d, np.ndarray[Any, Any]],
) -> None:
    """Drawn kernels, strides and paddings: the conformance suite runs the registry's example."""
    layer, x = case
    check_gradients(layer, x)


def test_the_weight_reshaped_is_a_linears() -> None:
    """The layout (in, kh, kw, out): a 1 x 1 kernel on 1 x 1 images is Linear with the weight
    reshaped to (in, out), and the bias the same."""
    conv = nl.Conv2d(3, 2, 1, rng=0)
    linear = nl.Linear(3, 2, rng=1)
    linear.weight.data[...] = conv.weight.data.reshape(3, 2)
    linear.bias.data[...] = conv.bias.data  # type: ignore[union-attr]
    x = np.random.default_rng(2).standard_normal((4, 3))
    np.testing.assert_allclose(conv(x.reshape(4, 3, 1, 1)).reshape(4, 2), linear(x), rtol=1e-15)


def test_padding_and_stride_give_pytorchs_output_size() -> None:
    layer = nl.Conv2d(1, 1, (3, 2), stride=(2, 3), padding=(1, 2), rng=0)
    # floor((7 + 2 - 3) / 2) + 1 = 4 rows, floor((6 + 4 - 2) / 3) + 1 = 3 columns
    assert layer(np.ones((2, 1, 7, 6))).shape == (2, 1, 4, 3)


def test_the_initial_values_are_pytorchs_bound() -> None:
    """U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = C kh kw, for the weight and the bias."""
    layer = nl.Conv2d(4, 50, (3, 5), rng=0)
    bound = 1 / math.sqrt(4 * 3 * 5)
    for values in (layer.weight.data, layer.bias.data):  # type: ignore[union-attr]
        assert np.all(np.abs(values) <= bound)
        assert np.max(np.abs(values)) > 0.9 * bound  # the whole range is used
    assert abs(float(np.mean(layer.weight.data))) < 0.05 * bound


def test_the_same_seed_gives_the_same_layer_and_float32_is_it_rounded() -> None:
    first, second = nl.Conv2d(2, 3, 3, rng=7), nl.Conv2d(2, 3, 3, rng=7)
    np.testing.assert_array_equal(first.weight.data, second.weight.data)
    rounded = nl.Conv2d(2, 3, 3, rng=7, dtype=np.float32)
    assert rounded.weight.data.dtype == np.float32
    np.testing.assert_array_equal(rounded.weight.data, first.weight.data.astype(np.float32))
    assert not np.array_equal(nl.Conv2d(2, 3, 3, rng=8).weight.data, first.weight.data)


def test_without_bias_there_is_only_the_weight() -> None:
    layer = nl.Conv2d(2, 3, 3, bias=False, rng=0)
    assert [name for name, _ in layer.named_parameters()] == ["weight"]
    assert repr(layer) == "Conv2d(2, 3, kernel_size=(3, 3), bias=False)"


def test_backward_parameters_adds_what_backward_adds() -> None:
    layer = nl.Conv2d(2, 3, 2, stride=2, padding=1, rng=0)
    rng = np.random.default_rng(1)
    x, grad_y = rng.standard_normal((3, 2, 5, 4)), rng.standard_normal((3, 3, 3, 3))
    layer(x)
    layer.backward_parameters(grad_y)
    halves = [p.grad.copy() for p in layer.parameters()]
    layer.zero_grad()
    layer.backward(grad_y)
    for half, parameter in zip(halves, layer.parameters(), strict=True):
        np.testing.assert_array_equal(half, parameter.grad)


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"in_channels": 0}, ArgumentValueError, "in_channels must be an int >= 1, got 0"),
        ({"out_channels": "4"}, ArgumentTypeError, "out_channels must be an int >= 1, got '4'"),
        ({"kernel_size": 0}, ArgumentValueError, "kernel_size must be an int >= 1 or a pair of"),
        ({"kernel_size": (3, 3, 3)}, ArgumentValueError, r"kernel_size .* got \(3, 3, 3\)"),
        ({"kernel_size": 2.5}, ArgumentTypeError, "kernel_size must be an int >= 1 or a pair"),
        ({"stride": (1, 0)}, ArgumentValueError, r"stride must be an int >= 1 or a pair of them"),
        ({"padding": -1}, ArgumentValueError, "padding must be an int >= 0 or a pair of them"),
        ({"bias": 1}, ArgumentTypeError, "bias must be a bool, got 1"),
        ({"dtype": np.int32}, ArgumentTypeError, "dtype must be float32 or float64"),
    ],
    ids=["channels", "str", "kernel", "triple", "float", "stride", "padding", "bias", "dtype"],
)
def test_bad_arguments_are_named(arguments: dict[str, Any], error: type, message: str) -> None:
    given_arguments = {"in_channels": 1, "out_channels": 2, "kernel_size": 3, **arguments}
    with pytest.raises(error, match=f"^Conv2d: {message}"):
        nl.Conv2d(**given_arguments)


def test_input_of_the_wrong_shape_is_named() -> None:
    layer = nl.Conv2d(1, 4, 3, rng=0)
    with pytest.raises(
        nl.ShapeError, match=r"expects input of shape \(N, 1, H, W\), got \(2, 64\)"
    ):
        layer(np.zeros((2, 64)))
    with pytest.raises(nl.ShapeError, match=r"\(N, 1, H, W\), got \(2, 3, 8, 8\)"):
        layer(np.zeros((2, 3, 8, 8)))
    with pytest.raises(nl.ShapeError, match="images of at least 3x3 pixels, the kernel's size"):
        layer(np.zeros((2, 1, 2, 8)))
    padded = nl.Conv2d(1, 1, 3, padding=1, rng=0)
    assert padded(np.zeros((1, 1, 1, 1))).shape == (1, 1, 1, 1)  # 1 + 2 padding fits 3


@given(
    channels=st.integers(1, 40),
    outputs=st.integers(1, 40),
    kernel=st.one_of(st.integers(1, 5), st.tuples(st.integers(1, 5), st.integers(1, 5))),
    bias=st.booleans(),
)
def test_the_size_check_counts_what_conv2d_allocates(
    channels: int, outputs: int, kernel: Any, bias: bool
) -> None:
    kind = layer_kind(nl.Conv2d)
    assert kind is not None
    assert kind.state_size is not None
    layer = nl.Conv2d(channels, outputs, kernel, bias=bias, rng=0)
    assert kind.state_size(layer.get_config()) == layer.num_parameters()


def test_a_config_conv2d_refuses_counts_as_nothing() -> None:
    kind = layer_kind(nl.Conv2d)
    assert kind is not None
    assert kind.state_size is not None
    configs: list[dict[str, Any]] = [
        {"in_channels": -1000, "out_channels": 1000, "kernel_size": 3},
        {"in_channels": 10, "out_channels": 10, "kernel_size": [3, 3, 3]},
        {"in_channels": 10, "out_channels": 10, "kernel_size": "3"},
        {"in_channels": 10, "out_channels": 10},
    ]
    for config in configs:
        assert kind.state_size(config) == 0


def test_a_conv_large_enough_for_blocks_of_rows_is_the_formula_and_its_gradients_einsums() -> None:
    """The tutorial's sizes: 8 images of 8 x 8 make 512 patch rows, more than one block of
    nnlite.layers._products, so forward and both backward products run block by block (the
    drawn layers above are too small to). References: the direct sum, and einsum over the
    windows for dL/dW and dL/db, and a scatter of every window's gradient for dL/dx."""
    from nnlite.layers._products import ONE_THREAD

    layer = nl.Conv2d(4, 32, 3, padding=1, rng=0)
    assert 2 * ONE_THREAD < 8 * 8 * 8 * 4 * 9 * 32  # at least three blocks
    rng = np.random.default_rng(1)
    x, grad_y = rng.standard_normal((8, 4, 8, 8)), rng.standard_normal((8, 32, 8, 8))
    np.testing.assert_allclose(layer(x), direct(layer, x), rtol=1e-12, atol=1e-12)
    grad_x = layer.backward(grad_y)
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (3, 3), axis=(2, 3))
    expected_weight = np.einsum("ncijuv,noij->cuvo", windows, grad_y)
    np.testing.assert_allclose(layer.weight.grad, expected_weight, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.bias.grad, grad_y.sum(axis=(0, 2, 3)), rtol=1e-12)  # type: ignore[union-attr]
    expected_x = np.zeros_like(padded)
    for u, v in np.ndindex(3, 3):  # window (i, j) read pixel (i + u, j + v) with W[:, u, v, :]
        expected_x[:, :, u : u + 8, v : v + 8] += np.einsum(
            "noij,co->ncij", grad_y, layer.weight.data[:, u, v, :]
        )
    np.testing.assert_allclose(grad_x, expected_x[:, :, 1:-1, 1:-1], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("rows", [1, 7, 1000, 1001])
def test_the_products_in_blocks_are_the_products(rows: int) -> None:
    from nnlite.layers._products import product, transposed_product

    rng = np.random.default_rng(rows)
    a, b, c = (
        rng.standard_normal((rows, 300)),
        rng.standard_normal((300, 40)),
        rng.standard_normal((rows, 40)),
    )
    np.testing.assert_allclose(product(a, b), a @ b, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(transposed_product(a, c), a.T @ c, rtol=1e-12, atol=1e-12)
    assert product(a.astype(np.float32), b.astype(np.float32)).dtype == np.float32
