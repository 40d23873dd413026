"""MaxPool2d and AvgPool2d: the largest and the mean value of every window of a batch of images."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from nnlite._constraints import Integer, Optional, Pair
from nnlite._kinds import LayerKind, TorchConversion, register
from nnlite.layer import Layer
from nnlite.layers._windows import check_images, fold, onnx_windows, sliding_windows
from nnlite.typing import FloatArray, Floats4d

if TYPE_CHECKING:
    from nnlite.interop.onnx import OnnxGraph


class _Pool2d(Layer):
    """What the two pools share: the windows' size and stride, and their config."""

    def __init__(
        self, kernel_size: int | tuple[int, int], stride: int | tuple[int, int] | None = None
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        self.kernel_size = Pair(Integer(low=1)).check(owner, "kernel_size", kernel_size)
        given = Optional(Pair(Integer(low=1))).check(owner, "stride", stride)
        self.stride = self.kernel_size if given is None else given

    def _windows(self, x: Floats4d) -> FloatArray:
        """The windows of x, (N, C, OH, OW, kh, kw), a view, once x is checked."""
        check_images(self, x, None, self.kernel_size)
        self.x_shape = x.shape  # backward folds the gradient back into an input of this shape
        return sliding_windows(x, self.kernel_size, self.stride)

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, for saving (pairs as lists)."""
        return {"kernel_size": list(self.kernel_size), "stride": list(self.stride)}

    def extra_repr(self) -> str:
        text = f"kernel_size={self.kernel_size}"
        return text if self.stride == self.kernel_size else f"{text}, stride={self.stride}"


class MaxPool2d(_Pool2d):
    """y[n, c, i, j] = max_{u, v} x[n, c, s_h i + u, s_w j + v]: the largest value of each
    kh x kw window, channel by channel.

    The gradient of a window's maximum goes to the element that is the maximum; where several
    elements of a window tie for it, to the **first** of them, in row-major order within the window
    (the smallest u, then the smallest v), as PyTorch does. Giving every tied element the full
    gradient would be wrong: moving the tied elements together moves the maximum by as much as
    moving one, so their gradients must add up to one window's gradient
    (``nnlite.testing.checks.check_directional`` checks exactly this). Where windows overlap
    (stride below the kernel size), an element that is the maximum of several windows gets the sum
    of their gradients. There, at a tie between windows, the rule is still PyTorch's, but no
    longer always a one-sided derivative: when an element shared by two windows ties in both and
    is the first maximum of one only, raising it alone raises both maxima, and lowering it
    changes neither.

    Args:
        kernel_size: kh x kw, an int for a square window or a pair (kh, kw).
        stride: (s_h, s_w), the step between windows: an int or a pair; default (None) the
            kernel size, so that the windows tile the image.

    Shape:
        x: (N, C, H, W) -> y: (N, C, OH, OW), with OH = floor((H - kh) / s_h) + 1 and
        OW = floor((W - kw) / s_w) + 1 (rows and columns left over are dropped, as in PyTorch).

    Raises:
        ArgumentValueError: (a ValueError) a kernel size or stride below 1, or a pair of other
            than two. ArgumentTypeError: (a TypeError) one is not an int or a pair of ints.
        ShapeError: (at forward) x is not (N, C, H, W), or its images are smaller than the kernel.

    Examples:
        >>> pool = nl.MaxPool2d(2)
        >>> x = np.array([[[[1.0, 3.0], [3.0, 0.0]]]])  # one 2 x 2 image, its maximum tied
        >>> pool(x)
        array([[[[3.]]]])
        >>> pool.backward(np.ones((1, 1, 1, 1)))  # to the first maximum only
        array([[[[0., 1.],
                 [0., 0.]]]])
    """

    def forward(self, x: Floats4d) -> Floats4d:
        """y = the maximum of each window."""
        flat = _flattened(self._windows(x))  # (N, C, OH, OW, kh * kw)
        self.first_max = flat.argmax(axis=-1)  # argmax gives the first of tied maxima
        return np.take_along_axis(flat, self.first_max[..., None], axis=-1)[..., 0]

    def backward(self, grad_y: Floats4d) -> Floats4d:
        """dL/dx = fold(grad_windows), where a window's gradient is grad_y at its first maximum
        and 0 elsewhere: dy/dx is 1 for the element y was taken from, 0 for the others."""
        k_h, k_w = self.kernel_size
        grad_windows = np.zeros((*grad_y.shape, k_h * k_w), dtype=grad_y.dtype)
        np.put_along_axis(grad_windows, self.first_max[..., None], grad_y[..., None], axis=-1)
        return fold(grad_windows.reshape(*grad_y.shape, k_h, k_w), self.x_shape, self.stride)


class AvgPool2d(_Pool2d):
    """y[n, c, i, j] = 1/(kh kw) sum_{u, v} x[n, c, s_h i + u, s_w j + v]: the mean of each
    kh x kw window, channel by channel.

    Args:
        kernel_size: kh x kw, an int for a square window or a pair (kh, kw).
        stride: (s_h, s_w), the step between windows: an int or a pair; default (None) the
            kernel size, so that the windows tile the image.

    Shape:
        x: (N, C, H, W) -> y: (N, C, OH, OW), with OH = floor((H - kh) / s_h) + 1 and
        OW = floor((W - kw) / s_w) + 1 (rows and columns left over are dropped, as in PyTorch).

    Raises:
        ArgumentValueError: (a ValueError) a kernel size or stride below 1, or a pair of other
            than two. ArgumentTypeError: (a TypeError) one is not an int or a pair of ints.
        ShapeError: (at forward) x is not (N, C, H, W), or its images are smaller than the kernel.

    Examples:
        >>> nl.AvgPool2d(2)(np.array([[[[1.0, 3.0], [3.0, 0.0]]]]))
        array([[[[1.75]]]])
    """

    def forward(self, x: Floats4d) -> Floats4d:
        """y = the mean of each window."""
        mean: Floats4d = self._windows(x).mean(axis=(4, 5))
        return mean

    def backward(self, grad_y: Floats4d) -> Floats4d:
        """dL/dx = fold(grad_windows), every element of a window getting grad_y / (kh kw): each
        is 1/(kh kw) of the mean."""
        k_h, k_w = self.kernel_size
        share = (grad_y / (k_h * k_w))[..., None, None]
        grad_windows = np.broadcast_to(share, (*grad_y.shape, k_h, k_w))
        return fold(grad_windows, self.x_shape, self.stride)


def _flattened(windows: FloatArray) -> FloatArray:
    """Windows (N, C, OH, OW, kh, kw) with each window's values in one row-major axis, (N, C, OH,
    OW, kh * kw): a copy, so argmax can run along it."""
    return windows.reshape(*windows.shape[:4], -1)


# --- What the rest of nnlite knows of the pools (nnlite._kinds): saving, the command, the tests,
# and PyTorch and ONNX. torch is handed to the converters, never imported here.


def _pool_from_torch(cls: type[_Pool2d], module: Any, unsupported: dict[str, Any]) -> _Pool2d:
    """The pool ``cls`` of a torch pooling module, refusing the options nnlite has not."""
    for name, supported in unsupported.items():
        value = getattr(module, name)
        if value not in supported:
            raise ValueError(
                f"nnlite's {cls.__name__} has {name}={supported[0]!r} only, got {value!r}"
            )
    return cls(module.kernel_size, module.stride)


def _max_pool_from_torch(torch: Any, module: Any) -> _Pool2d:
    return _pool_from_torch(
        MaxPool2d,
        module,
        {
            "padding": (0, (0, 0)),
            "dilation": (1, (1, 1)),
            "ceil_mode": (False,),
            "return_indices": (False,),
        },
    )


def _avg_pool_from_torch(torch: Any, module: Any) -> _Pool2d:
    return _pool_from_torch(
        AvgPool2d,
        module,
        {"padding": (0, (0, 0)), "ceil_mode": (False,), "divisor_override": (None,)},
    )


def _pool_to_torch(torch: Any, layer: _Pool2d) -> Any:
    """``torch.nn.MaxPool2d(kernel_size, stride)``, or AvgPool2d: the class of the layer's
    name."""
    return getattr(torch.nn, type(layer).__name__)(layer.kernel_size, layer.stride)


def _pool_attributes(layer: _Pool2d) -> dict[str, list[int]]:
    return {"kernel_shape": list(layer.kernel_size), "strides": list(layer.stride)}


def _max_pool_to_onnx(graph: OnnxGraph, layer: MaxPool2d, x: str) -> str:
    """One ``MaxPool`` node."""
    return graph.node("MaxPool", [x], **_pool_attributes(layer))


def _avg_pool_to_onnx(graph: OnnxGraph, layer: AvgPool2d, x: str) -> str:
    """float32: one ``AveragePool`` node. float64: ONNX Runtime has no float64 AveragePool, so
    the windows as slices (:func:`~nnlite.layers._windows.onnx_windows`), then ``ReduceMean``."""
    if graph.dtype == np.float32:
        return graph.node("AveragePool", [x], **_pool_attributes(layer))
    stacked = onnx_windows(graph, x, layer.kernel_size, layer.stride)  # (N, C, OH, OW, kh kw)
    return graph.node("ReduceMean", [stacked], axes=[4], keepdims=0)


# The examples the tests run, on images of 4 x 7: windows that differ between height and width,
# so that a swap of the two is caught. MaxPool2d's tile the image (the default stride) and leave
# its last column unread. AvgPool2d's overlap (stride 1 below the kernel's 2 in height), so that
# a fold that misses a sum is caught too; MaxPool2d's cannot, as the finite differences of the
# gradient check would fail it on tied maxima (see MaxPool2d's docstring).
register(
    LayerKind(
        MaxPool2d,
        example=lambda n: MaxPool2d((2, 3)),
        output_width=lambda layer, width: None,  # images, not rows
        sample_shape=(2, 4, 7),
        torch=TorchConversion(
            lambda torch: torch.nn.MaxPool2d,
            to_torch=_pool_to_torch,
            from_torch=_max_pool_from_torch,
        ),
        onnx=_max_pool_to_onnx,
    )
)
register(
    LayerKind(
        AvgPool2d,
        example=lambda n: AvgPool2d((2, 3), stride=(1, 2)),
        output_width=lambda layer, width: None,
        sample_shape=(2, 4, 7),
        torch=TorchConversion(
            lambda torch: torch.nn.AvgPool2d,
            to_torch=_pool_to_torch,
            from_torch=_avg_pool_from_torch,
        ),
        onnx=_avg_pool_to_onnx,
    )
)
