"""Every built-in layer passes every check of the conformance suite: one test per (layer, check),
collected by the same helper users call (tests named test_builtin_layer[Linear-accumulates])."""

from __future__ import annotations

import numpy as np
from hypothesis import settings

import nnlite as nl
from nnlite.testing import LayerCase, parametrize_with_checks

# A third of the profile's examples for each (layer, check): 13 checks share the work, and each
# check also runs on every example of the layer's other tests. (The thorough profile: 333.)
EXAMPLES = {"max_examples": max(10, settings().max_examples // 3)}

BUILTIN_LAYERS = [
    LayerCase(lambda n: nl.Linear(n, 3, rng=0), name="Linear", options=EXAMPLES),
    LayerCase(lambda n: nl.Linear(n, 2, bias=False, rng=0), name="Linear-nobias", options=EXAMPLES),
    LayerCase(
        lambda n: nl.Linear(n, 2, rng=0, dtype=np.float32), name="Linear-float32", options=EXAMPLES
    ),
    LayerCase(lambda n: nl.Sigmoid(), name="Sigmoid", options=EXAMPLES),
    LayerCase(lambda n: nl.Tanh(), name="Tanh", options=EXAMPLES),
    LayerCase(lambda n: nl.ReLU(), name="ReLU", options=EXAMPLES),
    LayerCase(lambda n: nl.LeakyReLU(0.1), name="LeakyReLU", options=EXAMPLES),
    LayerCase(lambda n: nl.Identity(), name="Identity", options=EXAMPLES),
    LayerCase(lambda n: nl.BiasAppend(), name="BiasAppend", options=EXAMPLES),
    LayerCase(
        lambda n: nl.two_layer_network(n, 3, 2, rng=0), name="two_layer_network", options=EXAMPLES
    ),
    LayerCase(
        lambda n: nl.Sequential(nl.Linear(n, 3, rng=0), nl.ReLU(), nl.Linear(3, 2, rng=1)),
        name="Sequential",
        options=EXAMPLES,
    ),
]


@parametrize_with_checks(BUILTIN_LAYERS)
def test_builtin_layer(check) -> None:
    check()
