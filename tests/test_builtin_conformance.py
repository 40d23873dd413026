"""Every built-in layer passes every check of the conformance suite: one test per (layer, check),
collected by the same helper users call (tests named test_builtin_layer[Linear-accumulates]).

The layers are read from the registry: each registered kind's example, on the input shapes its
entry declares, so a new kind is tested by registering it."""

from __future__ import annotations

import numpy as np
from hypothesis import settings

import nnlite as nl
from nnlite.interop import LayerKind, layer_kinds
from nnlite.testing import LayerCase, parametrize_with_checks

# A third of the profile's examples for each (layer, check): 13 checks share the work, and each
# check also runs on every example of the layer's other tests. (The thorough profile: 333.)
EXAMPLES = {"max_examples": max(10, settings().max_examples // 3)}


def case_of(kind: LayerKind) -> LayerCase:
    """The conformance case of a registered kind: its example, on its declared input shape."""
    if kind.sample_shape is None:
        return LayerCase(kind.example, name=kind.name, options=EXAMPLES)
    shape = kind.sample_shape
    return LayerCase(
        lambda: kind.example(shape[0]), input_shape=shape, name=kind.name, options=EXAMPLES
    )


BUILTIN_LAYERS = [
    case_of(kind) for kind in layer_kinds() if kind.layer.__module__.startswith("nnlite.")
] + [
    LayerCase(lambda n: nl.Linear(n, 2, bias=False, rng=0), name="Linear-nobias", options=EXAMPLES),
    LayerCase(
        lambda n: nl.Linear(n, 2, rng=0, dtype=np.float32), name="Linear-float32", options=EXAMPLES
    ),
    LayerCase(
        lambda n: nl.two_layer_network(n, 3, 2, rng=0), name="two_layer_network", options=EXAMPLES
    ),
    LayerCase(
        lambda n: nl.Sequential(nl.Linear(n, 3, rng=0), nl.ReLU(), nl.Linear(3, 2, rng=1)),
        name="Sequential",
        options=EXAMPLES,
    ),
]


def test_every_built_in_kind_is_in_the_suite() -> None:
    names = {case.id() for case in BUILTIN_LAYERS}
    for name in nl.layers.__all__:
        assert name in names, f"{name} is not registered, so the conformance suite misses it"


@parametrize_with_checks(BUILTIN_LAYERS)
def test_builtin_layer(check) -> None:
    check()
