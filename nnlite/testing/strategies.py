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
"""The default largest batch size N drawn (the smallest is always 1)."""

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


def batch_sizes(*, max_batch: int = MAX_BATCH) -> st.SearchStrategy[int]:
    """Batch sizes N from 1 (the single-sample edge case) to ``max_batch``."""
    return st.integers(min_value=1, max_value=max_batch)


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
    "feature_widths",
    "floats",
    "inputs",
    "linear_configs",
    "seeds",
    "two_layer_networks",
]
