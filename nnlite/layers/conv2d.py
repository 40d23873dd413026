"""Conv2d: a Linear applied to every kernel-sized window of a batch of images."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import DTypeLike

from nnlite._constraints import Boolean, FloatDtype, Integer, Pair
from nnlite._kinds import LayerKind, TorchConversion, register
from nnlite.layer import Layer
from nnlite.layers._products import product, transposed_product
from nnlite.layers._windows import (
    check_images,
    fold,
    onnx_windows,
    pad,
    sliding_windows,
    unpad,
)
from nnlite.parameter import Parameter
from nnlite.typing import FloatArray, Floats2d, Floats4d, RngLike

if TYPE_CHECKING:
    from nnlite.interop.onnx import OnnxGraph


class Conv2d(Layer):
    """y[n, o, i, j] = b[o] + sum_{c, u, v} x[n, c, s_h i + u, s_w j + v] W[c, u, v, o].

    A 2-d convolution (a cross-correlation, as in every framework) of a batch of images, channels
    first as in PyTorch: each output pixel (i, j) is a Linear of the kh x kw window of every input
    channel whose top left corner is (s_h i, s_w j), the same weights for every window. So the
    forward is the im2col form: the windows, each flattened to a row (a *patch* of
    C * kh * kw values), make one matrix, and one matrix product with the weight, reshaped to
    (C * kh * kw, out_channels), computes every output pixel of the batch at once:

        patches = im2col(x)                  (N * OH * OW, C * kh * kw)
        y = patches @ W.reshape(-1, O) + b   (N * OH * OW, O), then arranged as (N, O, OH, OW).

    The weight is laid out (in_channels, kh, kw, out_channels): inputs first, outputs last, as
    Linear's (in_features, out_features), so that reshaped it is a Linear's weight and the
    product needs no transpose. PyTorch's is (out_channels, in_channels, kh, kw): nnlite.interop
    moves the axes on the way over and back.

    Args:
        in_channels: C, the channels of the input images.
        out_channels: O, the channels of the output.
        kernel_size: kh x kw, an int for a square kernel or a pair (kh, kw).
        stride: (s_h, s_w), the step between windows: an int or a pair (default 1).
        padding: rows of zeros added above and below each image and columns left and right,
            an int or a pair (p_h, p_w) (default 0).
        bias: add a learned bias b, one per output channel.
        rng: seed or ``np.random.Generator`` for the initial values; the same seed gives the
            same layer. numpy's global random state is never used.
        dtype: float64 (default) or float32; the parameters' dtype.

    Shape:
        x: (N, C, H, W) -> y: (N, O, OH, OW), with OH = floor((H + 2 p_h - kh) / s_h) + 1 and
        OW = floor((W + 2 p_w - kw) / s_w) + 1.

    Attributes:
        weight: Parameter of shape (in_channels, kh, kw, out_channels), uniform in
            +-1/sqrt(fan_in) with fan_in = in_channels * kh * kw: PyTorch's default for Conv2d
            (kaiming-uniform with a = sqrt(5)), as Linear's is.
        bias: Parameter of shape (out_channels,), same init, or None when ``bias=False``.

    Raises:
        ArgumentValueError: (a ValueError) a channel count, kernel size or stride below 1, a
            padding below 0, or a pair of other than two. ArgumentTypeError: (a TypeError) one
            of them is not an int (or a pair of ints), or dtype is not float32 or float64.
        ShapeError: (at forward) x is not (N, in_channels, H, W), or its images with their
            padding are smaller than the kernel.

    Examples:
        >>> layer = nl.Conv2d(1, 4, kernel_size=3, padding=1, rng=0)
        >>> layer(np.ones((2, 1, 8, 8))).shape
        (2, 4, 8, 8)
        >>> layer.weight.shape
        (1, 3, 3, 4)
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        *,
        bias: bool = True,
        rng: RngLike = None,
        dtype: DTypeLike = np.float64,
    ) -> None:
        super().__init__()
        self.in_channels = Integer(low=1).check("Conv2d", "in_channels", in_channels)
        self.out_channels = Integer(low=1).check("Conv2d", "out_channels", out_channels)
        self.kernel_size = Pair(Integer(low=1)).check("Conv2d", "kernel_size", kernel_size)
        self.stride = Pair(Integer(low=1)).check("Conv2d", "stride", stride)
        self.padding = Pair(Integer(low=0)).check("Conv2d", "padding", padding)
        has_bias = Boolean().check("Conv2d", "bias", bias)
        self.dtype = FloatDtype().check("Conv2d", "dtype", dtype)
        generator = np.random.default_rng(rng)
        k_h, k_w = self.kernel_size
        bound = 1.0 / math.sqrt(self.in_channels * k_h * k_w)
        shape = (self.in_channels, k_h, k_w, self.out_channels)
        self.weight = Parameter(generator.uniform(-bound, bound, shape).astype(self.dtype))
        self.bias = (
            Parameter(generator.uniform(-bound, bound, self.out_channels).astype(self.dtype))
            if has_bias
            else None
        )

    def forward(self, x: Floats4d) -> Floats4d:
        """y = im2col(x) @ W.reshape(-1, O) + b, arranged as (N, O, OH, OW)."""
        check_images(self, x, self.in_channels, self.kernel_size, self.padding)
        padded = pad(x, self.padding)
        windows = sliding_windows(padded, self.kernel_size, self.stride)  # (N, C, OH, OW, kh, kw)
        self.padded_shape, self.windows_shape = padded.shape, windows.shape  # for backward's fold
        self.patches = _patches(windows)  # dL/dW needs them, as Linear's needs x
        # Every output pixel of the batch, a Linear of its patch: patches @ W (in blocks of rows,
        # measured faster: nnlite.layers._products).
        y = product(self.patches, self._matrix())
        if self.bias is not None:
            y += self.bias.data
        return _images(y, windows.shape)

    def backward(self, grad_y: Floats4d) -> Floats4d:
        """dL/dx = fold(grad_patches), grad_patches = grad_y W^T, once :meth:`backward_parameters`
        has added dL/dW and dL/db.

        Linear's backward for every patch, then the adjoint of im2col: each patch element's
        gradient is added back into the input pixel it was read from (:func:`fold`), and the
        padding's is dropped.
        """
        Conv2d.backward_parameters(self, grad_y)  # dL/dW (and dL/db), as Linear's
        grad_patches = product(_rows(grad_y), self._matrix().T)  # grad_y W^T, as Linear's dL/dx
        grad_windows = _windows_of_patches(grad_patches, self.windows_shape)
        return unpad(fold(grad_windows, self.padded_shape, self.stride), self.padding)

    def backward_parameters(self, grad_y: Floats4d) -> None:
        """The parameter half of backward: dL/dW += patches^T grad_y, dL/db += grad_y summed over
        every output pixel (grad_y as rows, one per output pixel: (N * OH * OW, O))."""
        grad_rows = _rows(grad_y)
        grad_weight = transposed_product(self.patches, grad_rows)  # patches^T grad_y, as Linear's
        self.weight.grad += grad_weight.reshape(self.weight.shape)
        if self.bias is not None:
            self.bias.grad += grad_rows.sum(axis=0)

    def _matrix(self) -> Floats2d:
        """W as a Linear's weight: (C * kh * kw, O), a view."""
        return self.weight.data.reshape(-1, self.out_channels)

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, for saving (pairs as lists, not rng)."""
        return {
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "kernel_size": list(self.kernel_size),
            "stride": list(self.stride),
            "padding": list(self.padding),
            "bias": self.bias is not None,
            "dtype": str(self.dtype),
        }

    def extra_repr(self) -> str:
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}"
        if self.stride != (1, 1):
            text += f", stride={self.stride}"
        if self.padding != (0, 0):
            text += f", padding={self.padding}"
        if self.bias is None:
            text += ", bias=False"
        if self.dtype != np.float64:
            text += f", dtype={self.dtype}"
        return text


# --- The reshapes between images and the rows of the matrix product: output pixel (n, i, j) is
# row (n * OH + i) * OW + j.


def _patches(windows: FloatArray) -> Floats2d:
    """im2col: each window of (N, C, OH, OW, kh, kw) flattened to a row of C * kh * kw values, the
    rows ordered (n, i, j), the values (c, u, v) as W's rows are. A copy: the product needs it."""
    n, c, n_rows, n_columns, k_h, k_w = windows.shape
    return windows.transpose(0, 2, 3, 1, 4, 5).reshape(n * n_rows * n_columns, c * k_h * k_w)


def _windows_of_patches(patches: Floats2d, windows_shape: tuple[int, ...]) -> FloatArray:
    """The inverse of :func:`_patches`: rows (N * OH * OW, C * kh * kw) as windows (N, C, OH,
    OW, kh, kw), a view."""
    n, c, n_rows, n_columns, k_h, k_w = windows_shape
    return patches.reshape(n, n_rows, n_columns, c, k_h, k_w).transpose(0, 3, 1, 2, 4, 5)


def _images(rows: Floats2d, windows_shape: tuple[int, ...]) -> Floats4d:
    """One row per output pixel, (N * OH * OW, O), as images (N, O, OH, OW), a view."""
    n, _, n_rows, n_columns, _, _ = windows_shape
    return rows.reshape(n, n_rows, n_columns, -1).transpose(0, 3, 1, 2)


def _rows(images: Floats4d) -> Floats2d:
    """The inverse of :func:`_images`: (N, O, OH, OW) as one row per output pixel."""
    return images.transpose(0, 2, 3, 1).reshape(-1, images.shape[1])


# --- What the rest of nnlite knows of Conv2d (nnlite._kinds): saving, the command, the tests, and
# PyTorch and ONNX. torch is handed to the converters, never imported here.


def _to_torch(torch: Any, layer: Conv2d) -> Any:
    """``torch.nn.Conv2d`` with weight W moved to (out, in, kh, kw), the same bias and dtype."""
    module = torch.nn.utils.skip_init(  # no random init: every value is overwritten
        torch.nn.Conv2d,
        layer.in_channels,
        layer.out_channels,
        layer.kernel_size,
        stride=layer.stride,
        padding=layer.padding,
        bias=layer.bias is not None,
        dtype=getattr(torch, str(layer.dtype)),
    )
    with torch.no_grad():  # (in, kh, kw, out) -> (out, in, kh, kw)
        module.weight.copy_(torch.from_numpy(layer.weight.data.transpose(3, 0, 1, 2).copy()))
        if layer.bias is not None:
            module.bias.copy_(torch.from_numpy(layer.bias.data))
    return module


def _from_torch(torch: Any, module: Any) -> Conv2d:
    """The Conv2d of a ``torch.nn.Conv2d``: its weight moved back to (in, kh, kw, out)."""
    dtypes = {torch.float32: np.float32, torch.float64: np.float64}
    if module.weight.dtype not in dtypes:
        raise TypeError(f"its parameters are {module.weight.dtype}, not float32 or float64")
    unsupported = {
        "dilation": (module.dilation, (1, 1)),
        "groups": (module.groups, 1),
        "padding_mode": (module.padding_mode, "zeros"),
    }
    for name, (value, supported) in unsupported.items():
        if value != supported:
            raise ValueError(f"nnlite's Conv2d has {name}={supported!r} only, got {value!r}")
    if isinstance(module.padding, str):
        raise ValueError(f"nnlite's Conv2d takes padding in pixels, got {module.padding!r}")
    layer = Conv2d(
        module.in_channels,
        module.out_channels,
        module.kernel_size,
        stride=module.stride,
        padding=module.padding,
        bias=module.bias is not None,
        rng=0,  # overwritten below; a fixed seed avoids drawing fresh entropy
        dtype=dtypes[module.weight.dtype],
    )
    layer.weight.data[...] = module.weight.detach().cpu().numpy().transpose(1, 2, 3, 0)
    if layer.bias is not None:
        layer.bias.data[...] = module.bias.detach().cpu().numpy()
    return layer


def _to_onnx(graph: OnnxGraph, layer: Conv2d, x: str) -> str:
    """float32: one ``Conv`` node, W moved to ONNX's (out, in, kh, kw). float64: ONNX Runtime
    has no float64 Conv, so nnlite's own im2col: ``Pad``, the windows as slices
    (:func:`~nnlite.layers._windows.onnx_windows`), ``Transpose`` and ``Reshape`` to the
    patches, ``MatMul`` by W as (C * kh * kw, O), ``Add`` b, ``Transpose`` to (N, O, OH, OW)."""
    (p_h, p_w) = layer.padding
    if graph.dtype == np.float32:
        inputs = [x, graph.constant("weight", layer.weight.data.transpose(3, 0, 1, 2).copy())]
        if layer.bias is not None:
            inputs.append(graph.constant("bias", layer.bias.data))
        return graph.node(
            "Conv",
            inputs,
            kernel_shape=list(layer.kernel_size),
            strides=list(layer.stride),
            pads=[p_h, p_w, p_h, p_w],
        )
    if layer.padding != (0, 0):
        pads = graph.constant("pads", np.array([0, 0, p_h, p_w, 0, 0, p_h, p_w], dtype=np.int64))
        x = graph.node("Pad", [x, pads])
    windows = onnx_windows(graph, x, layer.kernel_size, layer.stride)  # (N, C, OH, OW, kh kw)
    moved = graph.node("Transpose", [windows], perm=[0, 2, 3, 1, 4])  # (N, OH, OW, C, kh kw)
    shape = graph.constant("patch_shape", np.array([0, 0, 0, -1], dtype=np.int64))
    patches = graph.node("Reshape", [moved, shape])  # (N, OH, OW, C kh kw)
    y = graph.node("MatMul", [patches, graph.constant("weight", layer._matrix().copy())])
    if layer.bias is not None:
        y = graph.node("Add", [y, graph.constant("bias", layer.bias.data)])
    return graph.node("Transpose", [y], perm=[0, 3, 1, 2])  # (N, O, OH, OW)


def _state_size(config: Mapping[str, Any]) -> int:
    """How many values ``Conv2d(**config)`` allocates: C * kh * kw * O, plus O for a bias."""
    try:
        channels = Integer(low=1).convert(config.get("in_channels"))
        outputs = Integer(low=1).convert(config.get("out_channels"))
        k_h, k_w = Pair(Integer(low=1)).convert(config.get("kernel_size"))
    except (TypeError, ValueError):
        return 0  # its constructor refuses it, before allocating anything
    return channels * k_h * k_w * outputs + (outputs if config.get("bias", True) else 0)


def _output_width(layer: Conv2d, width: int | None) -> int | None:
    """Images, not rows: no width."""
    return None


register(
    LayerKind(
        Conv2d,
        # A kernel, stride and padding that differ between height and width, so that a swap of
        # the two is caught, on images of 4 x 5.
        example=lambda c: Conv2d(c, 3, kernel_size=(2, 3), stride=(1, 2), padding=(1, 0), rng=c),
        output_width=_output_width,
        sample_shape=(2, 4, 5),
        state_size=_state_size,
        torch=TorchConversion(
            lambda torch: torch.nn.Conv2d, to_torch=_to_torch, from_torch=_from_torch
        ),
        onnx=_to_onnx,
    )
)
