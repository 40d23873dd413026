"""BatchNorm1d: each feature normalized by its mean and variance over the batch."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import DTypeLike

from nnlite._constraints import FloatDtype, Integer, Real
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
from nnlite.parameter import Buffer, Parameter
from nnlite.typing import FloatArray

if TYPE_CHECKING:
    from nnlite.interop.onnx import OnnxGraph


class BatchNorm1d(Layer):
    """y = (x - mu) / sqrt(sigma^2 + eps) * weight + bias per feature, mu, sigma^2 over the batch.

    In training mode mu and sigma^2 are the batch's mean and biased variance for each feature (over
    N, or over N and L for (N, C, L) input: m values each), and the running statistics are updated
    as PyTorch's are::

        running_mean = (1 - momentum) * running_mean + momentum * mu
        running_var  = (1 - momentum) * running_var  + momentum * sigma^2 * m / (m - 1)

    the running variance being the unbiased one. In evaluation mode mu and sigma^2 are the running
    statistics, constants: each row is then normalized on its own. ``num_batches_tracked`` counts
    the training batches, as PyTorch's does (in the layer's dtype: exact up to 2^24 batches in
    float32).

    Args:
        num_features: C, the number of features (channels).
        eps: added to the variance, a number > 0 (default 1e-5).
        momentum: the weight of the batch in the running statistics, in [0, 1] (default 0.1).
        dtype: float64 (default) or float32: the parameters' and buffers' dtype.

    Shape:
        x: (N, C) or (N, C, L) -> y: the same shape.

    Attributes:
        weight: Parameter (C,), the gain, ones at first. bias: Parameter (C,), zeros.
        running_mean: Buffer (C,), zeros at first. running_var: Buffer (C,), ones.
        num_batches_tracked: Buffer (), 0 at first.

    Raises:
        ArgumentValueError, ArgumentTypeError: an argument outside its rule.
        ShapeError: (at forward) x is not (N, C) or (N, C, L); or in training mode it has one
            value per feature (N = 1 for (N, C)), which has no batch variance.

    Examples:
        >>> layer = nl.BatchNorm1d(2)
        >>> layer(np.array([[1.0, 10.0], [3.0, 30.0]]))
        array([[-0.999995  , -0.99999995],
               [ 0.999995  ,  0.99999995]])
        >>> layer.running_mean.data, layer.running_var.data
        (array([0.2, 2. ]), array([ 1.1, 20.9]))
    """

    mixes_rows = True
    stateful = True
    min_training_batch = 2

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float = 0.1,
        *,
        dtype: DTypeLike = np.float64,
    ) -> None:
        super().__init__()
        self.num_features = Integer(low=1).check("BatchNorm1d", "num_features", num_features)
        self.eps = Real(low=0, closed="neither").check("BatchNorm1d", "eps", eps)
        self.momentum = Real(low=0, high=1).check("BatchNorm1d", "momentum", momentum)
        self.dtype = FloatDtype().check("BatchNorm1d", "dtype", dtype)
        self.weight = Parameter(np.ones(num_features, self.dtype))
        self.bias = Parameter(np.zeros(num_features, self.dtype))
        self.running_mean = Buffer(np.zeros(num_features, self.dtype))
        self.running_var = Buffer(np.ones(num_features, self.dtype))
        self.num_batches_tracked = Buffer(np.zeros((), self.dtype))

    def forward(self, x: FloatArray) -> FloatArray:
        """y = x_hat * weight + bias, x_hat = (x - mu) / sqrt(sigma^2 + eps)."""
        if x.ndim not in (2, 3) or x.shape[1] != self.num_features:
            raise ShapeError(
                f"{label(self)} expects input of shape (N, {self.num_features}) or "
                f"(N, {self.num_features}, L), got {x.shape}"
            )
        self.axes = (0, 2) if x.ndim == 3 else (0,)  # every axis but the features'
        self.batch_statistics = self.training  # which of the two backwards applies
        if self.training:
            mean, var = moments(x, self.axes)  # the batch's mu and sigma^2, per feature
            self._track(mean.ravel(), var.ravel(), x.size // self.num_features)
        else:
            mean, var = (
                self._per_feature(self.running_mean, x),
                self._per_feature(self.running_var, x),
            )
        self.inv_std: FloatArray = 1 / np.sqrt(var + self.eps)
        self.x_hat: FloatArray = (x - mean) * self.inv_std
        y: FloatArray = self.x_hat * self._per_feature(self.weight, x)
        return y + self._per_feature(self.bias, x)

    def backward(self, grad_y: FloatArray) -> FloatArray:
        """dL/dweight += sum dL/dy * x_hat, dL/dbias += sum dL/dy, and dL/dx through x_hat.

        With the batch's statistics, dL/dx is :func:`normalization_backward` (mu and sigma^2
        depend on every row); with the running ones, constants, dL/dx = dL/dx_hat /
        sqrt(running_var + eps).
        """
        self.weight.grad += np.sum(grad_y * self.x_hat, axis=self.axes)
        self.bias.grad += np.sum(grad_y, axis=self.axes)
        grad_x_hat = grad_y * self._per_feature(self.weight, grad_y)  # dL/dx_hat
        if not self.batch_statistics:
            grad_x: FloatArray = grad_x_hat * self.inv_std  # the statistics are constants
            return grad_x
        return normalization_backward(grad_x_hat, self.x_hat, self.inv_std, self.axes)

    def _track(self, mean: FloatArray, var: FloatArray, m: int) -> None:
        """Update the running statistics with the batch's mu and sigma^2 over m values, in place
        (the buffers keep their arrays)."""
        if m < 2:
            raise ShapeError(
                f"{label(self)} in training mode needs more than one value per feature, got an "
                "input of one row (a batch of one has no variance); use more rows, or eval() "
                "to normalize by the running statistics"
            )
        self.running_mean.data *= 1 - self.momentum
        self.running_mean.data += self.momentum * mean
        self.running_var.data *= 1 - self.momentum
        self.running_var.data += self.momentum * (var * (m / (m - 1)))  # the unbiased variance
        self.num_batches_tracked.data += 1

    @staticmethod
    def _per_feature(values: Parameter | Buffer, x: FloatArray) -> FloatArray:
        """One value per feature, shaped to broadcast against x: (C,) or (C, 1) for (N, C, L)."""
        return values.data.reshape(values.data.shape + (1,) * (x.ndim - 2))

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, for saving."""
        return {
            "num_features": self.num_features,
            "eps": self.eps,
            "momentum": self.momentum,
            "dtype": str(self.dtype),
        }

    def extra_repr(self) -> str:
        text = f"{self.num_features}"
        if self.eps != 1e-5:
            text += f", eps={self.eps!r}"
        if self.momentum != 0.1:
            text += f", momentum={self.momentum!r}"
        if self.dtype != np.float64:
            text += f", dtype={self.dtype}"
        return text


# --- What the rest of nnlite knows of BatchNorm1d (nnlite._kinds): saving, the command, the
# tests, and PyTorch (torch.nn.BatchNorm1d, the same names for parameters and buffers) and ONNX
# (the model in evaluation mode, in nnlite's own order of operations: ONNX's BatchNormalization
# takes eps as a float32 attribute, which would round 1e-5 in a float64 graph). torch is handed
# to the converters, never imported here.


def _batch_norm_to_torch(torch: Any, layer: BatchNorm1d) -> Any:
    """``torch.nn.BatchNorm1d`` with the same arguments, parameters and running statistics."""
    module = torch.nn.BatchNorm1d(
        layer.num_features,
        eps=layer.eps,
        momentum=layer.momentum,
        dtype=getattr(torch, str(layer.dtype)),
    )
    return copy_to_torch(torch, layer, module)


def _batch_norm_from_torch(torch: Any, module: Any) -> BatchNorm1d:
    dtype = torch_dtype(torch, module)
    if not module.track_running_stats or module.momentum is None:
        raise ValueError(
            "it keeps no running statistics or a cumulative average of them (momentum=None); "
            "nnlite's BatchNorm1d keeps exponential averages"
        )
    layer = BatchNorm1d(module.num_features, module.eps, module.momentum, dtype=dtype)
    copy_from_torch(module, layer)
    return layer


def _batch_norm_to_onnx(graph: OnnxGraph, layer: BatchNorm1d, x: str) -> str:
    """(x - running_mean) * inv_std * weight + bias, inv_std computed here as evaluation mode's
    forward computes it."""
    inv_std = 1 / np.sqrt(layer.running_var.data + layer.eps)
    centered = graph.node("Sub", [x, graph.constant("running_mean", layer.running_mean.data)])
    x_hat = graph.node("Mul", [centered, graph.constant("inv_std", inv_std)])
    scaled = graph.node("Mul", [x_hat, graph.constant("weight", layer.weight.data)])
    return graph.node("Add", [scaled, graph.constant("bias", layer.bias.data)])


def _batch_norm_state_size(config: Mapping[str, Any]) -> int:
    """Weight, bias, running mean and variance of C values each, and the count: 4 C + 1."""
    n = config.get("num_features")
    if type(n) is not int or n < 1:
        return 0  # its constructor refuses it, before allocating anything
    return 4 * n + 1


register(
    LayerKind(
        BatchNorm1d,
        example=lambda n: BatchNorm1d(n),
        input_width=lambda layer: layer.num_features,
        state_size=_batch_norm_state_size,
        torch=TorchConversion(
            lambda torch: torch.nn.BatchNorm1d,
            to_torch=_batch_norm_to_torch,
            from_torch=_batch_norm_from_torch,
        ),
        onnx=_batch_norm_to_onnx,
    )
)
