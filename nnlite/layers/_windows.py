"""Sliding windows over a batch of images, and their adjoint: what Conv2d and the pools share.

A layer on images (N, C, H, W) reads, for each output pixel (i, j), the kh x kw window of the
input whose top left corner is (s_h i, s_w j). :func:`sliding_windows` is every such window at
once, a view of the input (no copy), of shape (N, C, OH, OW, kh, kw):

    sliding_windows(x)[n, c, i, j, u, v] = x[n, c, s_h i + u, s_w j + v].

Backward needs the adjoint of that map: given a gradient for every element of every window,
:func:`fold` adds each one back into the input pixel it was read from. A pixel read by several
windows (when the stride is smaller than the kernel) gets the sum of their gradients.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from nnlite._validation import label
from nnlite.errors import ShapeError
from nnlite.typing import FloatArray, Floats4d

if TYPE_CHECKING:
    from nnlite.interop.onnx import OnnxGraph

Pair = tuple[int, int]


def check_images(
    owner: object, x: FloatArray, channels: int | None, kernel: Pair, padding: Pair = (0, 0)
) -> None:
    """Require x of shape (N, C, H, W), with C = ``channels`` when given, and images (with their
    padding) at least as large as the kernel."""
    if x.ndim != 4 or (channels is not None and x.shape[1] != channels):
        wanted = "C" if channels is None else str(channels)
        raise ShapeError(
            f"{label(owner)} expects input of shape (N, {wanted}, H, W), got {x.shape}"
        )
    height, width = x.shape[2] + 2 * padding[0], x.shape[3] + 2 * padding[1]
    if height < kernel[0] or width < kernel[1]:
        padded = " with their padding" if padding != (0, 0) else ""
        raise ShapeError(
            f"{label(owner)} expects images{padded} of at least {kernel[0]}x{kernel[1]} "
            f"pixels, the kernel's size, got input of shape {x.shape}"
        )


def pad(x: Floats4d, padding: Pair) -> Floats4d:
    """x with ``padding`` rows of zeros above and below each image and columns left and right."""
    if padding == (0, 0):
        return x
    (p_h, p_w) = padding
    return np.pad(x, ((0, 0), (0, 0), (p_h, p_h), (p_w, p_w)))


def sliding_windows(x: Floats4d, kernel: Pair, stride: Pair) -> FloatArray:
    """Every kernel-sized window of x at the stride: (N, C, OH, OW, kh, kw), a view of x."""
    every = sliding_window_view(x, kernel, axis=(2, 3))  # (N, C, H - kh + 1, W - kw + 1, kh, kw)
    return every[:, :, :: stride[0], :: stride[1]]


def fold(grad_windows: FloatArray, shape: tuple[int, ...], stride: Pair) -> Floats4d:
    """The adjoint of :func:`sliding_windows`: grad_x[n, c, s_h i + u, s_w j + v] summed over every
    window (i, j) and offset (u, v) that read it, from grad_windows of shape (N, C, OH, OW, kh,
    kw); grad_x of ``shape`` (N, C, H, W), zero where no window reads.

    One strided addition per offset (u, v) of the kernel: offset (u, v) of window (i, j) is
    pixel (s_h i + u, s_w j + v), so for a fixed offset the windows' pixels are the strided
    slice u, u + s_h, ..., u + s_h (OH - 1) of the rows (and so of the columns).
    """
    grad_x = np.zeros(shape, dtype=grad_windows.dtype)
    _, _, n_rows, n_columns, k_h, k_w = grad_windows.shape
    (s_h, s_w) = stride
    for u in range(k_h):
        for v in range(k_w):
            rows = slice(u, u + s_h * n_rows, s_h)
            columns = slice(v, v + s_w * n_columns, s_w)
            grad_x[:, :, rows, columns] += grad_windows[:, :, :, :, u, v]
    return grad_x


def unpad(grad: Floats4d, padding: Pair) -> Floats4d:
    """The adjoint of :func:`pad`: the gradient of the padded image without its border (the
    zeros added are constants, so their gradient goes nowhere)."""
    if padding == (0, 0):
        return grad
    (p_h, p_w) = padding
    return grad[:, :, p_h : grad.shape[2] - p_h, p_w : grad.shape[3] - p_w]


# --- The same windows in ONNX, for the nodes that ONNX Runtime has no float64 kernel for (Conv,
# AveragePool): written as the slices the windows are made of, which it runs in float64.

_TO_THE_END = np.iinfo(np.int64).max


def onnx_windows(graph: OnnxGraph, x: str, kernel: Pair, stride: Pair) -> str:
    """The windows of the value ``x`` (N, C, H, W), as (N, C, OH, OW, kh * kw), offset (u, v)
    at index u * kw + v, for images of any size.

    Offset (u, v) of every window is one strided slice, rows u, u + s_h, ... up to row
    H - (kh - 1 - u) (exclusive), which is OH rows for any H; the kh * kw slices are stacked on
    a new last axis.
    """
    (k_h, k_w), (s_h, s_w) = kernel, stride
    steps = graph.constant("steps", np.array([s_h, s_w], dtype=np.int64))
    axes = graph.constant("axes", np.array([2, 3], dtype=np.int64))
    last = graph.constant("last_axis", np.array([4], dtype=np.int64))
    parts = []
    for u in range(k_h):
        for v in range(k_w):
            ends = [u - (k_h - 1) or _TO_THE_END, v - (k_w - 1) or _TO_THE_END]
            starts = graph.constant(f"starts_{u}_{v}", np.array([u, v], dtype=np.int64))
            stops = graph.constant(f"ends_{u}_{v}", np.array(ends, dtype=np.int64))
            part = graph.node("Slice", [x, starts, stops, axes, steps])  # (N, C, OH, OW)
            parts.append(graph.node("Unsqueeze", [part, last]))  # (N, C, OH, OW, 1)
    return graph.node("Concat", parts, axis=4)
