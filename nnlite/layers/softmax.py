"""Softmax and LogSoftmax along one axis, stable for every finite input, accurate in the tails."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np

from nnlite._constraints import Integer
from nnlite._kinds import LayerKind, TorchConversion, register
from nnlite._validation import label
from nnlite.errors import ShapeError
from nnlite.layer import Layer
from nnlite.typing import FloatArray

if TYPE_CHECKING:
    from nnlite.interop.onnx import OnnxGraph

Indices: TypeAlias = "np.ndarray[Any, np.dtype[np.intp]]"
"""Indices along an axis, kept as an axis of length 1 (``np.argmax(..., keepdims=True)``)."""


def shifted_exp(x: FloatArray, axis: int) -> tuple[FloatArray, FloatArray, Indices]:
    """x - m, e = exp(x - m), and the index of the maximum m along ``axis`` (the first of ties),
    the index kept as an axis of length 1.

    Every exp is of a number <= 0, exactly 1 at the maximum, so nothing overflows and the sum of
    e along the axis lies in [1, C]. Where x - m is below -max float (x = -1e308 beside
    m = 1e308) the subtraction overflows to -inf, the correctly rounded value, whose exp is the
    right 0: that overflow is expected, so it is not reported.
    """
    top = np.argmax(x, axis=axis, keepdims=True)
    with np.errstate(over="ignore"):
        shifted = x - np.take_along_axis(x, top, axis)  # x - m <= 0
    return shifted, np.exp(shifted), top


def without_top(values: FloatArray, top: Indices, axis: int) -> FloatArray:
    """The sum along ``axis`` of every value but the one at index ``top``: a sum of the others,
    not the whole sum minus one, which would round away what is small beside it."""
    others = values.copy()
    np.put_along_axis(others, top, 0, axis)
    summed: FloatArray = others.sum(axis=axis, keepdims=True)
    return summed


class _AlongAxis(Layer):
    """What Softmax and LogSoftmax share: the axis, checked, and its place in messages."""

    def __init__(self, axis: int = -1) -> None:
        super().__init__()
        self.axis = Integer().check(type(self).__name__, "axis", axis)

    def _check_axis(self, x: FloatArray) -> None:
        if not -x.ndim <= self.axis < x.ndim or x.shape[self.axis] == 0:
            raise ShapeError(
                f"{label(self)} expects input with an axis {self.axis} of length >= 1, "
                f"got shape {x.shape}"
            )

    def get_config(self) -> dict[str, Any]:
        """The constructor argument, for saving: ``{"axis": ...}``."""
        return {"axis": self.axis}

    def extra_repr(self) -> str:
        return "" if self.axis == -1 else f"axis={self.axis}"


class Softmax(_AlongAxis):
    """y_j = exp(x_j) / sum_k exp(x_k), along ``axis`` (the last, by default).

    Computed as exp(x_j - m) / sum_k exp(x_k - m) with m the maximum (see :func:`shifted_exp`):
    the same value, with no overflow for any finite x.

    Args:
        axis: the axis the probabilities sum to 1 along (default -1, the last).

    Shape:
        x: any shape with that axis -> y: the same shape.

    Raises:
        ArgumentTypeError: (a TypeError) axis is not an int. ShapeError: (at forward) x has no
            such axis, or it has length 0.

    Examples:
        >>> nl.Softmax()(np.array([[0.0, np.log(3.0)], [-1e308, 1e308]]))
        array([[0.25, 0.75],
               [0.  , 1.  ]])
    """

    def forward(self, x: FloatArray) -> FloatArray:
        """y = exp(x - m) / sum exp(x - m)."""
        self._check_axis(x)
        _, e, self.top = shifted_exp(x, self.axis)
        y: FloatArray = e / e.sum(axis=self.axis, keepdims=True)
        self.y = y  # backward needs only y, and where it is largest
        return y

    def backward(self, grad_y: FloatArray) -> FloatArray:
        """dL/dx_j = y_j (g_j - sum_k g_k y_k), g = dL/dy, computed with g shifted by its value
        at the largest y: the same value (the y_k sum to 1), without the cancellation of
        g_j - sum_k g_k y_k where one y is near 1."""
        g = grad_y - np.take_along_axis(grad_y, self.top, self.axis)  # g - g_top, 0 at the top
        grad_x: FloatArray = self.y * (g - np.sum(g * self.y, axis=self.axis, keepdims=True))
        return grad_x


class LogSoftmax(_AlongAxis):
    """y_j = log softmax(x)_j = x_j - log sum_k exp(x_k), along ``axis`` (the last, by default).

    Computed as (x_j - m) - log1p(r), with m the maximum and r = sum over the other k of
    exp(x_k - m) (see :func:`shifted_exp`): nothing overflows for finite x, and log(1 + r) is
    log1p(r), which keeps a tiny r that 1 + r would round away (x = (0, 40) gives
    log softmax = (-40, -exp(-40)), not (-40, 0)).

    Args:
        axis: the axis normalized along (default -1, the last).

    Shape:
        x: any shape with that axis -> y: the same shape.

    Raises:
        ArgumentTypeError: (a TypeError) axis is not an int. ShapeError: (at forward) x has no
            such axis, or it has length 0.

    Examples:
        >>> nl.LogSoftmax()(np.array([[0.0, 40.0], [-1e308, 1e308]]))
        array([[-4.00000000e+01, -4.24835426e-18],
               [           -inf,  0.00000000e+00]])
    """

    def forward(self, x: FloatArray) -> FloatArray:
        """y = (x - m) - log1p(r), r = sum of exp(x_k - m) over k other than the maximum."""
        self._check_axis(x)
        shifted, e, self.top = shifted_exp(x, self.axis)
        rest = without_top(e, self.top, self.axis)  # r: the sum of e is 1 + r
        self.softmax = e / (1 + rest)  # p = exp(y), for backward
        self.top_complement = rest / (1 + rest)  # 1 - p at the top, formed without subtracting
        y: FloatArray = shifted - np.log1p(rest)
        return y

    def backward(self, grad_y: FloatArray) -> FloatArray:
        """dL/dx_j = g_j - p_j sum_k g_k, g = dL/dy, p = softmax(x).

        At the largest p, where p is near 1 and g_j - p_j sum_k g_k would cancel, the same value
        is formed as (1 - p_j) sum_k g_k - sum_{k != j} g_k, with 1 - p_j kept from forward.
        """
        total = np.sum(grad_y, axis=self.axis, keepdims=True)  # sum_k g_k
        grad_x: FloatArray = grad_y - self.softmax * total
        at_top = self.top_complement * total - without_top(grad_y, self.top, self.axis)
        np.put_along_axis(grad_x, self.top, at_top, self.axis)
        return grad_x


# --- What the rest of nnlite knows of these layers (nnlite._kinds): saving, the command, the
# tests, and PyTorch (torch.nn.Softmax and LogSoftmax, whose dim is nnlite's axis) and ONNX (one
# node each, with the axis). torch is handed to the converters, never imported here.


def _to_torch(torch: Any, layer: _AlongAxis) -> Any:
    """``torch.nn.Softmax(dim=axis)``, or LogSoftmax: the class of the layer's name."""
    return getattr(torch.nn, type(layer).__name__)(dim=layer.axis)


def _from_torch(cls: type[_AlongAxis], torch: Any, module: Any) -> Layer:
    """``cls(axis=dim)`` of a torch Softmax or LogSoftmax, ``cls`` its namesake."""
    if module.dim is None:
        raise ValueError(
            "its dim is None (PyTorch then picks the axis from the input's rank); give dim"
        )
    return cls(axis=module.dim)


def _to_onnx(graph: OnnxGraph, layer: _AlongAxis, x: str) -> str:
    """One node, ``Softmax`` or ``LogSoftmax``, with the axis."""
    return graph.node(type(layer).__name__, [x], axis=layer.axis)


register(
    LayerKind(
        Softmax,
        example=lambda n: Softmax(),
        torch=TorchConversion(
            lambda torch: torch.nn.Softmax,
            to_torch=_to_torch,
            from_torch=functools.partial(_from_torch, Softmax),
        ),
        onnx=_to_onnx,
    )
)
register(
    LayerKind(
        LogSoftmax,
        example=lambda n: LogSoftmax(),
        torch=TorchConversion(
            lambda torch: torch.nn.LogSoftmax,
            to_torch=_to_torch,
            from_torch=functools.partial(_from_torch, LogSoftmax),
        ),
        onnx=_to_onnx,
    )
)
