"""Drawn layers and networks on images (N, C, H, W), for the tests of Conv2d, the pools, Flatten
and Unflatten against PyTorch, ONNX and saving.

tests/layer_chains.py draws the kinds that take rows; these are the kinds with a ``sample_shape``
(the registry's), drawn with their options: kernels, strides and paddings that differ between
height and width, windows that overlap, tile or leave gaps, and images that leave rows and
columns no window reads. And a deliberately broken MaxPool2d, for the tests that must catch it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

import nnlite as nl
from nnlite.layers._windows import fold, sliding_windows
from nnlite.testing import strategies as nst

Shape = tuple[int, int, int]


@st.composite
def pairs(draw: st.DrawFn, low: int, high: int) -> tuple[int, int]:
    return draw(st.integers(low, high)), draw(st.integers(low, high))


@st.composite
def conv2ds(
    draw: st.DrawFn, channels: int, size: tuple[int, int], dtype: Any = "float64"
) -> nl.Conv2d:
    """A Conv2d taking ``channels`` channels of images of ``size`` (height, width)."""
    padding = draw(pairs(0, 2))
    kernel = (
        draw(st.integers(1, size[0] + 2 * padding[0])),
        draw(st.integers(1, size[1] + 2 * padding[1])),
    )
    return nl.Conv2d(
        channels,
        draw(st.integers(1, 4)),
        kernel_size=kernel,
        stride=draw(pairs(1, 3)),
        padding=padding,
        bias=draw(st.booleans()),
        rng=draw(nst.seeds()),
        dtype=dtype,
    )


@st.composite
def pools(draw: st.DrawFn, size: tuple[int, int]) -> nl.Layer:
    """A MaxPool2d or AvgPool2d for images of ``size``, with or without an explicit stride."""
    cls = draw(st.sampled_from([nl.MaxPool2d, nl.AvgPool2d]))
    kernel = draw(st.integers(1, size[0])), draw(st.integers(1, size[1]))
    stride = draw(st.one_of(st.none(), pairs(1, 3)))
    return cls(kernel, stride)


def image_sizes(low: int = 1, high: int = 6) -> st.SearchStrategy[tuple[int, int]]:
    return pairs(low, high)


def after(layer: nl.Layer, shape: Shape) -> Shape:
    """The sample shape of the output of ``layer`` for input samples of ``shape``."""
    return layer(np.zeros((1, *shape))).shape[1:]


@st.composite
def image_layers(draw: st.DrawFn, dtype: Any = "float64") -> tuple[nl.Layer, Shape]:
    """One layer of a kind with a sample_shape on images, and the sample shape it takes."""
    channels = draw(st.integers(1, 3))
    size = draw(image_sizes())
    kind = draw(st.sampled_from(["conv", "pool", "flatten"]))
    if kind == "conv":
        layer: nl.Layer = draw(conv2ds(channels, size, dtype))
    elif kind == "pool":
        layer = draw(pools(size))
    else:
        layer = nl.Flatten()
    return layer, (channels, *size)


@st.composite
def image_networks(
    draw: st.DrawFn, dtype: Any = "float64"
) -> tuple[nl.Sequential, tuple[int, ...]]:
    """A small CNN and the sample shape of its input: an Unflatten from rows or images in, one
    or two (Conv2d, activation, maybe a pool) blocks, then Flatten and a Linear. ``dtype``: the
    parameters' (or a strategy of them)."""
    if isinstance(dtype, st.SearchStrategy):
        dtype = draw(dtype)
    channels = draw(st.integers(1, 2))
    size = draw(image_sizes(2, 7))
    layers: list[nl.Layer] = []
    rows = draw(st.booleans())
    sample: tuple[int, ...] = (channels * size[0] * size[1],) if rows else (channels, *size)
    if rows:
        layers.append(nl.Unflatten((channels, *size)))
    shape: Shape = (channels, *size)
    for _ in range(draw(st.integers(1, 2))):
        conv = draw(conv2ds(shape[0], shape[1:], dtype))
        layers.append(conv)
        shape = after(conv, shape)
        layers.append(draw(st.sampled_from([nl.ReLU, nl.Tanh, nl.Sigmoid]))())
        if draw(st.booleans()):
            pool = draw(pools(shape[1:]))
            layers.append(pool)
            shape = after(pool, shape)
    layers.append(nl.Flatten())
    width = shape[0] * shape[1] * shape[2]
    layers.append(nl.Linear(width, draw(st.integers(1, 3)), rng=draw(nst.seeds()), dtype=dtype))
    return nl.Sequential(*layers), sample


class EveryTiedMaximum(nl.MaxPool2d):
    """A wrong backward: every element equal to its window's maximum gets the full gradient."""

    def forward(self, x: nl.FloatArray) -> nl.FloatArray:
        self.x = x
        return super().forward(x)

    def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        windows = sliding_windows(self.x, self.kernel_size, self.stride)
        at_maximum = windows == windows.max(axis=(4, 5), keepdims=True)
        return fold(at_maximum * grad_y[..., None, None], self.x.shape, self.stride)
