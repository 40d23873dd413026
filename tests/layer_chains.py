"""Drawn chains of layers of every registered kind, for the saving and interop tests.

The kinds come from the registry (``nnlite.interop.layer_kinds()``), so a kind registered is a
kind drawn: each is built by its kind's ``example`` and its output width is its kind's
``output_width``. A few kinds have drawn variants too, where the example alone would leave a case
untested. Kinds that declare a ``sample_shape`` take other input than rows (images): they are
drawn into networks of their own, in tests/image_networks.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

import nnlite as nl
from nnlite.interop import LayerKind, layer_kinds
from nnlite.testing import strategies as nst

DTYPES = st.sampled_from(["float32", "float64"])


def _linear(width: int, dtype: Any) -> st.SearchStrategy[nl.Layer]:
    """A Linear with or without bias, of the given dtype (or a drawn one for None)."""
    return st.builds(
        nl.Linear,
        st.just(width),
        nst.feature_widths(),
        bias=st.booleans(),
        rng=nst.seeds(),
        dtype=DTYPES if dtype is None else st.just(dtype),
    )


def _leaky_relu(width: int, dtype: Any) -> st.SearchStrategy[nl.Layer]:
    """0.01 and 0.1 included: float32 cannot hold them, which the ONNX export must handle."""
    return st.builds(nl.LeakyReLU, st.one_of(st.sampled_from([0.01, 0.1]), st.floats(0.0, 1.0)))


VARIANTS: dict[type[nl.Layer], Callable[[int, Any], st.SearchStrategy[nl.Layer]]] = {
    nl.Linear: _linear,
    nl.LeakyReLU: _leaky_relu,
}
"""For a kind, ``variant(width, dtype)``: drawn layers taking that width (dtype None: drawn)."""


@st.composite
def chains(
    draw: st.DrawFn, n_in: int, dtype: Any = None, depth: int = 0, max_size: int = 5
) -> tuple[nl.Sequential, int]:
    """A Sequential taking (N, n_in) and its output width: up to ``max_size`` layers of every
    registered kind that takes rows, and Sequentials nested in it (two levels at most)."""
    rows = [kind for kind in layer_kinds() if kind.sample_shape is None]
    options: list[LayerKind | str] = [*rows, *(["nested"] if depth < 2 else [])]
    layers: list[nl.Layer] = []
    width = n_in
    for option in draw(st.lists(st.sampled_from(options), max_size=max_size)):
        if isinstance(option, str):
            inner, width = draw(chains(width, dtype, depth + 1, max_size))
            layers.append(inner)
            continue
        variant = VARIANTS.get(option.layer)
        layer = draw(variant(width, dtype)) if variant else option.example(width)
        layers.append(layer)
        out = option.output_width(layer, width)
        assert out is not None, f"{option.name} does not say its output width"
        width = out
    return nl.Sequential(*layers), width
