"""LayerNorm: each sample's own statistics, gain and bias, PyTorch, ONNX, saving, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nnlite as nl
from nnlite import interop
from nnlite.errors import ArgumentTypeError, ArgumentValueError
from nnlite.testing import check_layer
from tests.layer_references import assert_matches_torch, assert_relative, onnx_output, round_trip


def test_each_row_is_normalized_by_its_own_mean_and_biased_variance() -> None:
    x = np.array([[1.0, 2.0, 6.0], [-3.0, 0.5, 0.25]])
    layer = nl.LayerNorm(3, eps=1e-3)
    layer.weight.data[...] = [1.0, 2.0, -0.5]
    layer.bias.data[...] = [0.0, 0.1, 0.2]
    y = layer(x)
    for i, row in enumerate(x):
        mean = sum(row) / 3
        var = sum((v - mean) ** 2 for v in row) / 3
        expected = [
            (v - mean) / (var + 1e-3) ** 0.5 * w + b
            for v, w, b in zip(row, layer.weight.data, layer.bias.data, strict=True)
        ]
        assert_relative(y[i], expected, "y", rtol=1e-14)
    assert_relative(layer(x[1:]), y[1:], "a row alone", rtol=0)  # no batch statistics


def test_the_input_gradient_is_the_formula_of_the_derivation_page() -> None:
    """dL/dx = (g - mean(g) - x_hat mean(g x_hat)) / sqrt(var + eps), g = dL/dy * weight, for
    one row, against its Jacobian written out: dx_hat_i/dx_j = (delta_ij - 1/d - x_hat_i x_hat_j
    / d) / sigma."""
    x = np.array([[0.5, -1.0, 2.0, 3.0]])
    grad_y = np.array([[1.0, -2.0, 0.5, 0.25]])
    layer = nl.LayerNorm(4)
    layer.weight.data[...] = [1.5, -1.0, 0.5, 2.0]
    layer(x)
    grad_x = layer.backward(grad_y)
    d = 4
    sigma = np.sqrt(x.var() + 1e-5)
    x_hat = (x[0] - x.mean()) / sigma
    jacobian = (np.eye(d) - 1 / d - np.outer(x_hat, x_hat) / d) / sigma
    assert_relative(grad_x[0], jacobian.T @ (grad_y[0] * layer.weight.data), "dL/dx", 1e-14)
    assert_relative(layer.weight.grad, grad_y[0] * x_hat, "dL/dweight", 1e-14)
    assert_relative(layer.bias.grad, grad_y[0], "dL/dbias", 0)


def test_a_normalized_shape_of_two_axes_passes_the_conformance_suite() -> None:
    check_layer(lambda: nl.LayerNorm((2, 3)), input_shape=(2, 3))


@given(
    case=st.sampled_from([((5, 4), 4), ((3, 2, 4), (2, 4)), ((2, 3, 4), 4)]),
    seed=st.integers(0, 2**32 - 1),
)
def test_forward_and_gradients_equal_torch(
    case: tuple[tuple[int, ...], int | tuple[int, ...]], seed: int
) -> None:
    """Standard normal inputs, whose samples' spread is bounded away from 0."""
    torch = pytest.importorskip("torch")
    shape, normalized = case
    rng = np.random.default_rng(seed)
    layer = nl.LayerNorm(normalized, eps=1e-4)
    layer.weight.data[...] = rng.uniform(0.5, 2.0, layer.weight.data.shape)
    layer.bias.data[...] = rng.standard_normal(layer.bias.data.shape)
    module = interop.to_torch(layer)
    assert type(module) is torch.nn.LayerNorm
    assert module.eps == 1e-4
    reference = torch.nn.LayerNorm(normalized, eps=1e-4, dtype=torch.float64)
    with torch.no_grad():
        reference.weight.copy_(torch.from_numpy(layer.weight.data))
        reference.bias.copy_(torch.from_numpy(layer.bias.data))
    x = rng.standard_normal(shape)
    assert_matches_torch(layer, reference, x, rng.standard_normal(shape))


def test_converts_to_torch_and_back_bit_for_bit() -> None:
    torch = pytest.importorskip("torch")
    for dtype in (np.float64, np.float32):
        layer = nl.LayerNorm((2, 3), eps=1e-6, dtype=dtype)
        layer.weight.data[...] = np.arange(6).reshape(2, 3) / 7
        back = interop.from_torch(interop.to_torch(layer))
        assert isinstance(back, nl.LayerNorm)
        assert back.normalized_shape == (2, 3)
        assert back.eps == 1e-6
        assert back.dtype == dtype
        for name, values in layer.state_dict().items():
            assert back.state_dict()[name].tobytes() == values.tobytes(), name
    with pytest.raises(nl.ConversionError, match="no weight and bias"):
        interop.from_torch(torch.nn.LayerNorm(3, elementwise_affine=False))
    with pytest.raises(nl.ConversionError, match="no bias"):
        interop.from_torch(torch.nn.LayerNorm(3, bias=False))


def test_onnxruntime_computes_the_same(tmp_path: Path) -> None:
    x = np.random.default_rng(0).standard_normal((4, 3)) * 3
    for dtype, rtol in ((np.float64, 1e-12), (np.float32, 1e-5)):
        layer = nl.LayerNorm(3, dtype=dtype)
        layer.weight.data[...] = [0.5, 2.0, -1.0]
        layer.bias.data[...] = [0.0, 1.0, -2.0]
        rows: nl.FloatArray = x.astype(dtype)
        model = nl.Sequential(layer)
        assert_relative(onnx_output(model, rows, tmp_path / "ln.onnx"), model(rows), "y", rtol)


def test_saving_keeps_the_shape_and_parameters(tmp_path: Path) -> None:
    layer = nl.LayerNorm((2, 3), eps=1e-3)
    layer.bias.data[...] = 0.25
    loaded = round_trip(layer, tmp_path / "ln.npz")
    assert isinstance(loaded, nl.LayerNorm)
    assert loaded.normalized_shape == (2, 3)


def test_float32_stays_float32() -> None:
    layer = nl.LayerNorm(2, dtype=np.float32)
    x = np.array([[1.0, 3.0]], dtype=np.float32)
    assert layer(x).dtype == np.float32
    assert layer.backward(x).dtype == np.float32


def test_bad_arguments_and_inputs_are_clear_errors() -> None:
    with pytest.raises(ArgumentValueError, match="LayerNorm: normalized_shape must be an int >= 1"):
        nl.LayerNorm(0)
    with pytest.raises(ArgumentValueError, match="LayerNorm: normalized_shape must be"):
        nl.LayerNorm(())
    with pytest.raises(ArgumentTypeError, match="LayerNorm: normalized_shape must be"):
        nl.LayerNorm(2.5)  # type: ignore[arg-type]
    with pytest.raises(ArgumentValueError, match="LayerNorm: eps must be"):
        nl.LayerNorm(2, eps=-1.0)
    with pytest.raises(
        nl.ShapeError, match=r"expects input of shape \(\.\.\., 2, 3\), got \(2, 3, 2\)"
    ):
        nl.LayerNorm((2, 3))(np.zeros((2, 3, 2)))
