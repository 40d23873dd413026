"""What the tests of Dropout, BatchNorm1d, LayerNorm, Softmax and LogSoftmax share: PyTorch's
autograd as a reference, onnxruntime on an exported file, and a save/load round trip."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nnlite as nl
from nnlite import interop

Array = nl.FloatArray

RTOL = 1e-12
"""Forward and gradients against PyTorch in float64, relative to the largest value compared."""


def assert_relative(
    actual: Any, expected: Any, what: str, rtol: float = RTOL, scale: float = 0.0
) -> None:
    """|actual - expected| <= rtol * max(max |expected|, scale), and the same shape. ``scale``:
    the size of the terms that were summed, where they cancel to a smaller result."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    scale = max(float(np.max(np.abs(expected), initial=0.0)), scale) or 1.0
    error = float(np.max(np.abs(actual - expected), initial=0.0))
    assert error <= rtol * scale, f"{what}: error {error:.3g}, allowed {rtol * scale:.3g}"


def autograd(module: Any, x: Array, grad_y: Array) -> tuple[Array, Array, dict[str, Array]]:
    """PyTorch's y, dL/dx and dL/d(parameter) for L = sum(grad_y * module(x)); ``module`` a
    torch module or a function of tensors."""
    torch = pytest.importorskip("torch")
    x_tensor = torch.tensor(x, requires_grad=True)
    y = module(x_tensor)
    y.backward(torch.from_numpy(grad_y))
    parameters = module.named_parameters() if hasattr(module, "named_parameters") else []
    grads = {name: p.grad.numpy() for name, p in parameters}
    return y.detach().numpy(), x_tensor.grad.numpy(), grads


def assert_matches_torch(
    layer: nl.Layer, module: Any, x: Array, grad_y: Array, grad_x_scale: float = 0.0
) -> None:
    """nnlite's forward, dL/dx and parameter gradients equal autograd's on ``module``;
    ``grad_x_scale`` the size of the terms dL/dx sums (see :func:`assert_relative`)."""
    layer.zero_grad()
    y = layer(x)
    grad_x = layer.backward(grad_y)
    torch_y, torch_grad_x, torch_grads = autograd(module, x, grad_y)
    assert_relative(y, torch_y, "y")
    assert_relative(grad_x, torch_grad_x, "dL/dx", scale=grad_x_scale)
    assert sorted(torch_grads) == sorted(name for name, _ in layer.named_parameters())
    for name, parameter in layer.named_parameters():
        assert_relative(parameter.grad, torch_grads[name], f"dL/d{name}")


def onnx_output(model: nl.Layer, x: Array, path: Path) -> Array:
    """What onnxruntime computes on ``to_onnx(model)`` for ``x``."""
    ort = pytest.importorskip("onnxruntime")
    interop.to_onnx(model, path, dtype=x.dtype)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (y,) = session.run(None, {"x": x})
    return np.asarray(y)


def round_trip(model: nl.Layer, path: Path) -> nl.Layer:
    """``nl.load(path)`` after ``nl.save(model, path)``, with every parameter and buffer bit for
    bit."""
    nl.save(model, path)
    loaded = nl.load(path)
    expected, actual = model.state_dict(), loaded.state_dict()
    assert sorted(actual) == sorted(expected)
    for name, values in expected.items():
        assert actual[name].dtype == values.dtype, name
        assert actual[name].tobytes() == values.tobytes(), name
    return loaded
