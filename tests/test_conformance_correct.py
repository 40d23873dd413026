"""No false alarms: correct layers of every kind users write pass the whole conformance suite,
each in a few lines (the layers are in tests/conformance_layers.py)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import settings
from hypothesis import strategies as st

import nnlite as nl
from nnlite.testing import LayerCase, check_layer, parametrize_with_checks
from tests import conformance_layers as cl

# Fewer examples than the profile's in CI (the suite's thirteen checks run on each); the thorough
# profile gives each layer a third of its own.
EXAMPLES = max(10, settings().max_examples // 3)

CORRECT = [
    LayerCase(cl.Scale),
    LayerCase(lambda n: cl.Dropout(0.3, rng=0), name="Dropout"),
    LayerCase(cl.LayerNorm),
    LayerCase(lambda n: cl.BatchCenter(), name="BatchCenter"),
    LayerCase(cl.RunningCenter),
    LayerCase(lambda: cl.Conv1d(3, 4, kernel_size=2), input_shape=(3, 6), name="Conv1d"),
    LayerCase(lambda n: cl.Residual(nl.Linear(n, n, rng=0)), name="Residual"),
    LayerCase(
        lambda n: cl.Residual(
            nl.Sequential(nl.Linear(n, 3, rng=0), nl.Tanh(), nl.Linear(3, n, rng=1))
        ),
        name="ResidualBlock",
    ),
    LayerCase(cl.TiedPair),
    LayerCase(cl.AliasingLinear),
    LayerCase(lambda n: cl.RowMax(), name="RowMax"),
    LayerCase(lambda n: cl.Cube(), name="Cube"),
    LayerCase(lambda n: cl.Abs(), name="Abs"),
    LayerCase(cl.ListOfScales),
    LayerCase(lambda n: nl.Linear(n, 2, rng=0, dtype=np.float32), name="Linear-float32"),
]


@pytest.mark.parametrize("case", CORRECT, ids=[case.id() for case in CORRECT])
def test_correct_layer_passes_the_whole_suite(case: LayerCase) -> None:
    check_layer(case.factory, input_shape=case.input_shape, max_examples=EXAMPLES, **case.options)


@parametrize_with_checks([cl.Scale, LayerCase(lambda n: cl.Dropout(0.3, rng=0), name="Dropout")])
def test_one_test_per_check(check) -> None:
    """The pytest helper as a user's suite uses it: test_one_test_per_check[Dropout-pure]."""
    check()


def test_a_conv_on_drawn_shapes() -> None:
    """The input shape itself drawn: (N, C, L) with C and L drawn, the factory given them."""
    shapes = st.tuples(st.integers(1, 3), st.integers(2, 6))
    check_layer(lambda shape: cl.Conv1d(shape[0], 2, kernel_size=2), input_shape=shapes)
