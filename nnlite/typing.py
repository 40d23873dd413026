"""Type aliases for annotating code that uses nnlite: arrays by what they hold, and ``rng``.

The shape-named aliases are documentation for a reader (numpy's typing does not check shapes):
``Floats2d`` says "a batch of rows, (N, d)" where ``FloatArray`` says only "float array". They are
all the same type to a type checker, as thinc's ``Floats2d`` family is in spirit.
"""

from __future__ import annotations

from typing import Any, TypeAlias

import numpy as np
from numpy.typing import NDArray

FloatArray: TypeAlias = NDArray[np.floating[Any]]
"""A float32 or float64 ndarray: what every layer takes and returns."""

Floats1d: TypeAlias = FloatArray
"""A float array of shape (d,): a bias, a per-feature gain."""

Floats2d: TypeAlias = FloatArray
"""A float array of shape (N, d): a batch of rows, or a weight (in_features, out_features)."""

Floats3d: TypeAlias = FloatArray
"""A float array of shape (N, C, L): a batch of sequences, channels first."""

Floats4d: TypeAlias = FloatArray
"""A float array of shape (N, C, H, W): a batch of images, channels first."""

RngLike: TypeAlias = "int | np.random.Generator | np.random.SeedSequence | None"
"""What an ``rng`` argument takes: a seed, a Generator (used and advanced as it is), a
SeedSequence, or None (fresh entropy). Always passed through ``np.random.default_rng(rng)``, so
numpy's global random state (``np.random.seed``) is never read or changed."""

__all__ = ["FloatArray", "Floats1d", "Floats2d", "Floats3d", "Floats4d", "RngLike"]
