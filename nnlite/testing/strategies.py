"""Hypothesis strategies for property tests of layers, losses and networks.

These are the strategies nnlite's own tests use; import them into yours::

    from hypothesis import given
    from nnlite.testing import strategies as nst

    @given(x=nst.inputs(n_features=3))
    def test_my_layer(x): ...

Values are well conditioned on purpose: finite, no subnormals, bounded in magnitude (10 by
default), so a failing gradient check points at the backward, not at float64 running out of range.
Requires hypothesis (``pip install "nnlite[test]"``).
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.typing import DTypeLike

from nnlite.networks import two_layer_network
from nnlite.sequential import Sequential

MAX_MAGNITUDE = 10.0
"""The default bound on drawn values: |v| <= 10."""

MIN_MAGNITUDE = 1e-12
"""The default smallest nonzero |v| drawn."""

MAX_BATCH = 5
"""The default largest batch size N drawn (the smallest is 1 by default)."""

MAX_FEATURES = 5
"""The default largest feature width drawn."""


def floats(
    *,
    max_magnitude: float = MAX_MAGNITUDE,
    min_magnitude: float = MIN_MAGNITUDE,
    dtype: DTypeLike = np.float64,
) -> st.SearchStrategy[float]:
    """Well-conditioned floats: 0, or min_magnitude <= |v| <= max_magnitude, of either sign.

    Finite, never NaN; the gap around 0 keeps products of a few drawn values out of the subnormal
    range, where floats lose relative precision.
    """
    width: Literal[32, 64] = 32 if np.dtype(dtype) == np.float32 else 64
    low = float(np.asarray(min_magnitude, dtype=dtype))  # representable in dtype
    high = float(np.asarray(max_magnitude, dtype=dtype))
    magnitudes = st.floats(min_value=low, max_value=high, width=width)
    signed = st.tuples(st.booleans(), magnitudes).map(lambda pair: -pair[1] if pair[0] else pair[1])
    return st.one_of(st.just(0.0), signed)


def arrays(
    shape: int | tuple[int, ...] | st.SearchStrategy[tuple[int, ...]],
    *,
    max_magnitude: float = MAX_MAGNITUDE,
    min_magnitude: float = MIN_MAGNITUDE,
    dtype: DTypeLike = np.float64,
) -> st.SearchStrategy[np.ndarray[Any, Any]]:
    """Float arrays of a given shape (or drawn shapes), with :func:`floats` elements.

    Examples:
        ``arrays((4, 3))``, ``arrays(batch_shapes(n_features=3), dtype=np.float32)``.
    """
    elements = floats(max_magnitude=max_magnitude, min_magnitude=min_magnitude, dtype=dtype)
    return hnp.arrays(np.dtype(dtype), shape, elements=elements)


def batch_sizes(*, min_batch: int = 1, max_batch: int = MAX_BATCH) -> st.SearchStrategy[int]:
    """Batch sizes N from ``min_batch`` (by default 1, the single-sample edge case) to
    ``max_batch``."""
    return st.integers(min_value=min_batch, max_value=max_batch)


def feature_widths(*, max_features: int = MAX_FEATURES) -> st.SearchStrategy[int]:
    """Feature widths from 1 to ``max_features``."""
    return st.integers(min_value=1, max_value=max_features)


def batch_shapes(
    n_features: int | None = None,
    *,
    max_batch: int = MAX_BATCH,
    max_features: int = MAX_FEATURES,
) -> st.SearchStrategy[tuple[int, int]]:
    """Shapes (N, n_features) of an input batch; the width is drawn too unless given."""
    widths = (
        st.just(n_features) if n_features is not None else feature_widths(max_features=max_features)
    )
    return st.tuples(batch_sizes(max_batch=max_batch), widths)


def inputs(
    n_features: int,
    *,
    max_batch: int = MAX_BATCH,
    max_magnitude: float = MAX_MAGNITUDE,
    dtype: DTypeLike = np.float64,
) -> st.SearchStrategy[np.ndarray[Any, Any]]:
    """Input batches for a layer that takes (N, n_features): N drawn from 1 to ``max_batch``."""
    return arrays(
        batch_shapes(n_features, max_batch=max_batch),
        max_magnitude=max_magnitude,
        dtype=dtype,
    )


def shapes(
    *, min_dims: int = 1, max_dims: int = 3, min_side: int = 1, max_side: int = MAX_FEATURES
) -> st.SearchStrategy[tuple[int, ...]]:
    """Shapes of any rank: ``min_dims`` to ``max_dims`` axes, each ``min_side`` to ``max_side``
    long. As per-sample shapes for ``check_layer(..., input_shape=shapes(...))``: (C, L) with
    ``min_dims=max_dims=2``, (C, H, W) with 3."""
    return hnp.array_shapes(
        min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side
    )


def batches(
    sample_shape: tuple[int, ...] | st.SearchStrategy[tuple[int, ...]],
    *,
    max_batch: int = MAX_BATCH,
    max_magnitude: float = MAX_MAGNITUDE,
    dtype: DTypeLike = np.float64,
) -> st.SearchStrategy[np.ndarray[Any, Any]]:
    """Batches (N, *sample_shape) of any rank, N from 1 to ``max_batch``: ``batches((3, 8))`` for
    a Conv1d's (N, C, L); the sample shape may itself be drawn (``batches(shapes())``)."""
    samples = st.just(sample_shape) if isinstance(sample_shape, tuple) else sample_shape
    batch_shape = st.tuples(batch_sizes(max_batch=max_batch), samples).map(
        lambda pair: (pair[0], *pair[1])
    )
    return arrays(batch_shape, max_magnitude=max_magnitude, dtype=dtype)


def probabilities(
    shape: tuple[int, ...], *, margin: float = 1e-3, dtype: DTypeLike = np.float64
) -> st.SearchStrategy[np.ndarray[Any, Any]]:
    """Arrays of values in [margin, 1 - margin]: targets of BCELoss, or predictions of it kept
    away from its clamp at 0 and 1."""
    width: Literal[32, 64] = 32 if np.dtype(dtype) == np.float32 else 64
    elements = st.floats(min_value=margin, max_value=1 - margin, width=width)
    return hnp.arrays(np.dtype(dtype), shape, elements=elements)


def one_hot(
    shape: tuple[int, ...], *, dtype: DTypeLike = np.float64
) -> st.SearchStrategy[np.ndarray[Any, Any]]:
    """One-hot rows of shape (N, C): a 1 in one drawn column of each row, 0 elsewhere (targets
    of SoftmaxCrossEntropyLoss)."""
    n, n_classes = shape
    labels = hnp.arrays(np.int64, (n,), elements=st.integers(0, n_classes - 1))
    return labels.map(lambda drawn: np.eye(n_classes, dtype=dtype)[drawn])


class LinearConfig(TypedDict):
    """Constructor arguments of a Linear: ``Linear(**config)``."""

    in_features: int
    out_features: int
    bias: bool


def linear_configs(*, max_features: int = MAX_FEATURES) -> st.SearchStrategy[LinearConfig]:
    """Linear configurations: in and out widths (1 to ``max_features``, square included), bias."""
    return st.builds(
        LinearConfig,
        in_features=feature_widths(max_features=max_features),
        out_features=feature_widths(max_features=max_features),
        bias=st.booleans(),
    )


def seeds() -> st.SearchStrategy[int]:
    """Seeds for ``rng=`` arguments."""
    return st.integers(min_value=0, max_value=2**32 - 1)


def two_layer_networks(
    *, max_in: int = MAX_FEATURES, max_hidden: int = MAX_FEATURES, max_out: int = 3
) -> st.SearchStrategy[Sequential]:
    """Random instances of the derivation's network: drawn widths and a drawn seed.

    The input width of a drawn network is ``network[0].in_features``.
    """
    return st.builds(
        lambda n_in, n_hidden, n_out, seed: two_layer_network(n_in, n_hidden, n_out, rng=seed),
        feature_widths(max_features=max_in),
        feature_widths(max_features=max_hidden),
        st.integers(min_value=1, max_value=max_out),
        seeds(),
    )


__all__ = [
    "MAX_BATCH",
    "MAX_FEATURES",
    "MAX_MAGNITUDE",
    "MIN_MAGNITUDE",
    "LinearConfig",
    "arrays",
    "batch_shapes",
    "batch_sizes",
    "batches",
    "feature_widths",
    "floats",
    "inputs",
    "linear_configs",
    "one_hot",
    "probabilities",
    "seeds",
    "shapes",
    "two_layer_networks",
]
