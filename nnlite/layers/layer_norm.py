"""LayerNorm: each sample normalized by its own mean and variance over its trailing axes."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import DTypeLike

from nnlite._constraints import FloatDtype, Real, Shape
from nnlite._kinds import LayerKind, TorchConversion, register
from nnlite._validation import label
from nnlite.errors import ShapeError
from nnlite.layer import Layer
from nnlite.layers.normalization import (
    copy_from_torch,
    copy_to_torch,
    moments,
    normalization_backward,
    torch_dtype,
)
from nnlite.parameter import Parameter
from nnlite.typing import FloatArray

if TYPE_CHECKING:
    from nnlite.interop.onnx import OnnxGraph


class LayerNorm(Layer):
    """y = (x - mu) / sqrt(sigma^2 + eps) * weight + bias, mu and sigma^2 over each sample's
    trailing ``normalized_shape`` axes.

    Each sample (each row, for (N, d) input and ``normalized_shape=d``) is normalized by its own
    mean and biased variance, in both modes, then scaled by a learned gain ``weight`` and shifted
    by ``bias`` of shape ``normalized_shape`` (PyTorch's ``elementwise_affine``). No batch
    statistics: the rows of a batch stay independent.

    Args:
        normalized_shape: the shape of the trailing axes normalized over: an int d, or a tuple.
        eps: added to the variance, a number > 0 (default 1e-5).
        dtype: float64 (default) or float32: the parameters' dtype.

    Shape:
        x: (..., *normalized_shape) -> y: the same shape.

    Attributes:
        weight: Parameter of shape ``normalized_shape``, the gain, ones at first.
        bias: Parameter of shape ``normalized_shape``, zeros at first.

    Raises:
        ArgumentValueError, ArgumentTypeError: an argument outside its rule.
        ShapeError: (at forward) x does not end with ``normalized_shape``.

    Examples:
        >>> nl.LayerNorm(3)(np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 30.0]]))
        array([[-1.22473...,  0.        ,  1.22473...],
               [-0.70710..., -0.70710...,  1.41421...]])
    """

    def __init__(
        self,
        normalized_shape: int | tuple[int, ...],
        eps: float = 1e-5,
        *,
        dtype: DTypeLike = np.float64,
    ) -> None:
        super().__init__()
        self.normalized_shape = Shape().check("LayerNorm", "normalized_shape", normalized_shape)
        self.eps = Real(low=0, closed="neither").check("LayerNorm", "eps", eps)
        self.dtype = FloatDtype().check("LayerNorm", "dtype", dtype)
        self.weight = Parameter(np.ones(self.normalized_shape, self.dtype))
        self.bias = Parameter(np.zeros(self.normalized_shape, self.dtype))

    def forward(self, x: FloatArray) -> FloatArray:
        """y = x_hat * weight + bias, x_hat = (x - mu) / sqrt(sigma^2 + eps) per sample."""
        k = len(self.normalized_shape)
        if x.shape[x.ndim - k :] != self.normalized_shape or x.ndim < k:
            raise ShapeError(
                f"{label(self)} expects input of shape (..., "
                f"{', '.join(map(str, self.normalized_shape))}), got {x.shape}"
            )
        self.axes = tuple(range(x.ndim - k, x.ndim))  # the normalized axes, the trailing k
        mean, var = moments(x, self.axes)  # each sample's mu and sigma^2
        self.inv_std: FloatArray = 1 / np.sqrt(var + self.eps)
        self.x_hat: FloatArray = (x - mean) * self.inv_std
        y: FloatArray = self.x_hat * self.weight.data + self.bias.data
        return y

    def backward(self, grad_y: FloatArray) -> FloatArray:
        """dL/dweight += sum dL/dy * x_hat, dL/dbias += sum dL/dy (over the leading axes), and
        dL/dx = :func:`normalization_backward` of dL/dx_hat = dL/dy * weight."""
        leading = tuple(range(grad_y.ndim - len(self.normalized_shape)))
        self.weight.grad += np.sum(grad_y * self.x_hat, axis=leading)
        self.bias.grad += np.sum(grad_y, axis=leading)
        grad_x_hat = grad_y * self.weight.data  # dL/dx_hat
        return normalization_backward(grad_x_hat, self.x_hat, self.inv_std, self.axes)

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, for saving (``normalized_shape`` as a list)."""
        return {
            "normalized_shape": list(self.normalized_shape),
            "eps": self.eps,
            "dtype": str(self.dtype),
        }

    def extra_repr(self) -> str:
        shape = self.normalized_shape
        text = f"{shape[0]}" if len(shape) == 1 else f"{shape}"
        if self.eps != 1e-5:
            text += f", eps={self.eps!r}"
        if self.dtype != np.float64:
            text += f", dtype={self.dtype}"
        return text


# --- What the rest of nnlite knows of LayerNorm (nnlite._kinds): saving, the command, the
# tests, and PyTorch (torch.nn.LayerNorm, the same names for its parameters) and ONNX (forward's
# steps: ONNX's LayerNormalization takes eps as a float32 attribute, which would round 1e-5 in a
# float64 graph). torch is handed to the converters, never imported here.


def _layer_norm_to_torch(torch: Any, layer: LayerNorm) -> Any:
    """``torch.nn.LayerNorm`` with the same shape, eps, weight and bias."""
    module = torch.nn.LayerNorm(
        layer.normalized_shape, eps=layer.eps, dtype=getattr(torch, str(layer.dtype))
    )
    return copy_to_torch(torch, layer, module)


def _layer_norm_from_torch(torch: Any, module: Any) -> LayerNorm:
    dtype = torch_dtype(torch, module)
    if module.bias is None:
        raise TypeError("it has no bias (bias=False), which nnlite's LayerNorm always has")
    layer = LayerNorm(tuple(module.normalized_shape), module.eps, dtype=dtype)
    copy_from_torch(module, layer)
    return layer


def _layer_norm_to_onnx(graph: OnnxGraph, layer: LayerNorm, x: str) -> str:
    """forward's steps: ReduceMean, Sub, the mean of squares, 1 / Sqrt(. + eps), Mul, Add."""
    axes = list(range(-len(layer.normalized_shape), 0))
    mean = graph.node("ReduceMean", [x], axes=axes, keepdims=1)
    centered = graph.node("Sub", [x, mean])
    var = graph.node("ReduceMean", [graph.node("Mul", [centered, centered])], axes=axes, keepdims=1)
    eps = graph.constant("eps", np.array(layer.eps, graph.dtype))
    inv_std = graph.node("Reciprocal", [graph.node("Sqrt", [graph.node("Add", [var, eps])])])
    x_hat = graph.node("Mul", [centered, inv_std])
    scaled = graph.node("Mul", [x_hat, graph.constant("weight", layer.weight.data)])
    return graph.node("Add", [scaled, graph.constant("bias", layer.bias.data)])


def _layer_norm_state_size(config: Mapping[str, Any]) -> int:
    """Weight and bias of ``normalized_shape`` each."""
    try:
        shape = Shape().convert(config.get("normalized_shape"))
    except (TypeError, ValueError):
        return 0  # its constructor refuses it, before allocating anything
    return 2 * math.prod(shape)


register(
    LayerKind(
        LayerNorm,
        example=lambda n: LayerNorm(n),
        input_width=lambda layer: (
            layer.normalized_shape[0] if len(layer.normalized_shape) == 1 else None
        ),
        state_size=_layer_norm_state_size,
        torch=TorchConversion(
            lambda torch: torch.nn.LayerNorm,
            to_torch=_layer_norm_to_torch,
            from_torch=_layer_norm_from_torch,
        ),
        onnx=_layer_norm_to_onnx,
    )
)
