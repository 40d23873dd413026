"""Randomness: every draw goes through an rng argument; numpy's global state is never touched."""

from __future__ import annotations

import numpy as np

import nnlite as nl
from nnlite.testing import check_gradients


def _same_state(a: tuple[object, ...], b: tuple[object, ...]) -> bool:
    return a[0] == b[0] and np.array_equal(a[1], b[1]) and a[2:] == b[2:]  # type: ignore[arg-type]


def test_building_and_checking_models_leaves_the_global_state_unchanged() -> None:
    before = np.random.get_state()  # noqa: NPY002 - the legacy global state is what is checked
    model = nl.two_layer_network(3, 4, 2)  # rng=None: fresh OS entropy, not the global state
    nl.Linear(2, 2, rng=5)
    check_gradients(model, np.ones((2, 3)))
    after = np.random.get_state()  # noqa: NPY002
    assert _same_state(before, after)  # type: ignore[arg-type]


def test_same_seed_same_model() -> None:
    first = nl.two_layer_network(4, 5, 2, rng=123)
    second = nl.two_layer_network(4, 5, 2, rng=123)
    for (name_a, a), (name_b, b) in zip(
        first.named_parameters(), second.named_parameters(), strict=True
    ):
        assert name_a == name_b
        np.testing.assert_array_equal(a.data, b.data)


def test_different_seeds_differ_and_the_two_weights_differ() -> None:
    a = nl.two_layer_network(3, 3, 1, rng=1)
    b = nl.two_layer_network(3, 3, 1, rng=2)
    assert not np.array_equal(a[0].weight.data, b[0].weight.data)  # type: ignore[attr-defined]


def test_a_generator_is_used_and_advanced() -> None:
    generator = np.random.default_rng(7)
    first = nl.Linear(3, 3, rng=generator)
    second = nl.Linear(3, 3, rng=generator)
    assert not np.array_equal(first.weight.data, second.weight.data)
    replay = np.random.default_rng(7)
    np.testing.assert_array_equal(nl.Linear(3, 3, rng=replay).weight.data, first.weight.data)


def test_unseeded_models_differ() -> None:
    assert not np.array_equal(nl.Linear(4, 4).weight.data, nl.Linear(4, 4).weight.data)


def test_float32_init_is_the_float64_init_rounded() -> None:
    w64 = nl.Linear(3, 2, rng=9).weight.data
    w32 = nl.Linear(3, 2, rng=9, dtype=np.float32).weight.data
    np.testing.assert_array_equal(w32, w64.astype(np.float32))
