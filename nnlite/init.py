"""Initial weights: the schemes a layer's ``init=`` names, each an array drawn with ``rng``.

Every scheme is a function ``scheme(shape, *, fan_in, fan_out, rng, dtype)`` returning a new
array. fan_in is the number of inputs each output sums over, fan_out the number of outputs each
input feeds: for a Linear weight of nnlite's shape (in, out), ``fan_in = in`` and
``fan_out = out`` (the defaults for a 2-D shape); for a convolution, channels times the kernel's
area. The formulas are PyTorch's ``torch.nn.init`` functions of the same names:

- ``"uniform"``: U(-b, b), b = 1 / sqrt(fan_in); PyTorch's default for Linear and Conv2d;
- ``"xavier_uniform"`` (also ``"glorot_uniform"``, ``"xavier"``, ``"glorot"``): U(-b, b),
  b = gain sqrt(6 / (fan_in + fan_out)), Glorot and Bengio's (2010);
- ``"xavier_normal"`` (``"glorot_normal"``): N(0, s^2), s = gain sqrt(2 / (fan_in + fan_out));
- ``"kaiming_uniform"`` (``"he_uniform"``): U(-b, b), b = gain sqrt(3 / fan_in), He et al.'s
  (2015);
- ``"kaiming_normal"`` (``"he_normal"``, ``"he"``, ``"kaiming"``): N(0, s^2),
  s = gain / sqrt(fan_in);
- ``"zeros"``, ``"ones"``: 0 and 1.

gain is 1 for Xavier (suited to sigmoid and tanh layers) and sqrt(2) for Kaiming (ReLU's gain:
half of a ReLU's inputs are zeroed, so the variance is doubled to make up for it). The
derivation's network (:func:`nnlite.two_layer_network`) uses ``"uniform"``, Linear's default.

A layer takes a scheme by name with one line, checking the name and drawing (Linear's; a
convolution passes its own fans)::

    weight = initialize("Linear", init, (n_in, n_out), n_in, n_out, generator, self.dtype)

The values are drawn in float64 and then cast, so a float32 layer gets the float64 layer's values
rounded.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Protocol

import numpy as np
from numpy.typing import DTypeLike

from nnlite._constraints import OneOf
from nnlite.typing import FloatArray, RngLike


def _fans(shape: tuple[int, ...], fan_in: int | None, fan_out: int | None) -> tuple[int, int]:
    """The fans given; one not given is that of a 2-D (in, out) weight."""
    if (fan_in is None or fan_out is None) and len(shape) != 2:
        raise ValueError(
            f"nnlite.init: give fan_in and fan_out for a weight of shape {shape}: only a 2-D "
            "(in, out) weight implies them"
        )
    return (shape[0] if fan_in is None else fan_in), (shape[1] if fan_out is None else fan_out)


def uniform(
    shape: tuple[int, ...],
    *,
    fan_in: int | None = None,
    fan_out: int | None = None,
    rng: RngLike = None,
    dtype: DTypeLike = np.float64,
) -> FloatArray:
    """w ~ U(-b, b), b = 1 / sqrt(fan_in): Linear's default, and PyTorch's.

    Examples:
        >>> from nnlite import init
        >>> w = init.uniform((100, 3), rng=0)
        >>> bool(abs(w).max() <= 1 / 10)
        True
    """
    fan_in, _ = _fans(shape, fan_in, fan_out)
    bound = 1.0 / math.sqrt(fan_in)
    return np.random.default_rng(rng).uniform(-bound, bound, shape).astype(dtype)


def xavier_uniform(
    shape: tuple[int, ...],
    *,
    fan_in: int | None = None,
    fan_out: int | None = None,
    rng: RngLike = None,
    dtype: DTypeLike = np.float64,
    gain: float = 1.0,
) -> FloatArray:
    """w ~ U(-b, b), b = gain sqrt(6 / (fan_in + fan_out)): Glorot's, PyTorch's xavier_uniform_.

    The variance, b^2 / 3 = gain^2 2 / (fan_in + fan_out), keeps a linear layer's outputs and
    gradients at about the scale of its inputs'.
    """
    fan_in, fan_out = _fans(shape, fan_in, fan_out)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return np.random.default_rng(rng).uniform(-bound, bound, shape).astype(dtype)


def xavier_normal(
    shape: tuple[int, ...],
    *,
    fan_in: int | None = None,
    fan_out: int | None = None,
    rng: RngLike = None,
    dtype: DTypeLike = np.float64,
    gain: float = 1.0,
) -> FloatArray:
    """w ~ N(0, s^2), s = gain sqrt(2 / (fan_in + fan_out)): PyTorch's xavier_normal_."""
    fan_in, fan_out = _fans(shape, fan_in, fan_out)
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    return np.random.default_rng(rng).normal(0.0, std, shape).astype(dtype)


def kaiming_uniform(
    shape: tuple[int, ...],
    *,
    fan_in: int | None = None,
    fan_out: int | None = None,
    rng: RngLike = None,
    dtype: DTypeLike = np.float64,
    gain: float = math.sqrt(2.0),
) -> FloatArray:
    """w ~ U(-b, b), b = gain sqrt(3 / fan_in): He's, PyTorch's kaiming_uniform_ (mode fan_in).

    The default gain, sqrt(2), is ReLU's (PyTorch's ``calculate_gain("relu")``).
    """
    fan_in, _ = _fans(shape, fan_in, fan_out)
    bound = gain * math.sqrt(3.0 / fan_in)
    return np.random.default_rng(rng).uniform(-bound, bound, shape).astype(dtype)


def kaiming_normal(
    shape: tuple[int, ...],
    *,
    fan_in: int | None = None,
    fan_out: int | None = None,
    rng: RngLike = None,
    dtype: DTypeLike = np.float64,
    gain: float = math.sqrt(2.0),
) -> FloatArray:
    """w ~ N(0, s^2), s = gain / sqrt(fan_in): PyTorch's kaiming_normal_ (mode fan_in).

    Examples:
        >>> from nnlite import init
        >>> w = init.kaiming_normal((2000, 500), rng=0)  # s = sqrt(2 / 2000) = 0.0316
        >>> round(float(w.std()), 3)
        0.032
    """
    fan_in, _ = _fans(shape, fan_in, fan_out)
    std = gain / math.sqrt(fan_in)
    return np.random.default_rng(rng).normal(0.0, std, shape).astype(dtype)


def zeros(
    shape: tuple[int, ...],
    *,
    fan_in: int | None = None,
    fan_out: int | None = None,
    rng: RngLike = None,
    dtype: DTypeLike = np.float64,
) -> FloatArray:
    """w = 0 (draws nothing; the fans and rng are taken so every scheme is called alike)."""
    return np.zeros(shape, dtype)


def ones(
    shape: tuple[int, ...],
    *,
    fan_in: int | None = None,
    fan_out: int | None = None,
    rng: RngLike = None,
    dtype: DTypeLike = np.float64,
) -> FloatArray:
    """w = 1 (draws nothing, as :func:`zeros`)."""
    return np.ones(shape, dtype)


class Scheme(Protocol):
    """What every scheme is: ``scheme(shape, *, fan_in, fan_out, rng, dtype) -> array``."""

    def __call__(
        self,
        shape: tuple[int, ...],
        *,
        fan_in: int | None = ...,
        fan_out: int | None = ...,
        rng: RngLike = ...,
        dtype: DTypeLike = ...,
    ) -> FloatArray: ...


SCHEMES: dict[str, Scheme] = {
    "uniform": uniform,
    "xavier_uniform": xavier_uniform,
    "glorot_uniform": xavier_uniform,
    "xavier": xavier_uniform,
    "glorot": xavier_uniform,
    "xavier_normal": xavier_normal,
    "glorot_normal": xavier_normal,
    "kaiming_uniform": kaiming_uniform,
    "he_uniform": kaiming_uniform,
    "kaiming_normal": kaiming_normal,
    "he_normal": kaiming_normal,
    "kaiming": kaiming_normal,
    "he": kaiming_normal,
    "zeros": zeros,
    "ones": ones,
}
"""The schemes by name: what a layer's ``init=`` accepts."""


def initialize(
    owner: str,
    name: str,
    shape: tuple[int, ...],
    fan_in: int,
    fan_out: int,
    rng: RngLike,
    dtype: DTypeLike,
) -> FloatArray:
    """The initial weight of scheme ``name`` (checked: ``"<owner>: init must be one of ..."``).

    Raises:
        ArgumentValueError: (a ValueError) name is not a key of :data:`SCHEMES`.
    """
    scheme: Callable[..., FloatArray] = SCHEMES[OneOf(*SCHEMES).check(owner, "init", name)]
    return scheme(shape, fan_in=fan_in, fan_out=fan_out, rng=rng, dtype=dtype)


__all__ = [
    "SCHEMES",
    "initialize",
    "kaiming_normal",
    "kaiming_uniform",
    "ones",
    "uniform",
    "xavier_normal",
    "xavier_uniform",
    "zeros",
]
