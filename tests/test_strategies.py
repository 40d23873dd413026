"""The shipped hypothesis strategies draw what they promise."""

from __future__ import annotations

import numpy as np
from hypothesis import given

import nnlite as nl
from nnlite.testing import strategies as nst


@given(x=nst.arrays((3, 4)))
def test_arrays_are_well_conditioned(x: np.ndarray) -> None:
    assert x.shape == (3, 4)
    assert x.dtype == np.float64
    assert np.all(np.isfinite(x))
    assert np.all(np.abs(x) <= nst.MAX_MAGNITUDE)
    nonzero = np.abs(x[x != 0])
    assert np.all(nonzero >= nst.MIN_MAGNITUDE)  # no subnormals, no near-underflow values


@given(x=nst.arrays((2, 2), dtype=np.float32, max_magnitude=100.0))
def test_float32_arrays(x: np.ndarray) -> None:
    assert x.dtype == np.float32
    assert np.all(np.abs(x) <= 100.0)


@given(shape=nst.batch_shapes(max_batch=4, max_features=3))
def test_batch_shapes(shape: tuple[int, int]) -> None:
    n, d = shape
    assert 1 <= n <= 4
    assert 1 <= d <= 3


@given(x=nst.inputs(3, max_batch=6))
def test_inputs_have_the_feature_width(x: np.ndarray) -> None:
    assert x.ndim == 2
    assert x.shape[1] == 3
    assert 1 <= x.shape[0] <= 6


@given(config=nst.linear_configs(max_features=4))
def test_linear_configs_build_linears(config: nst.LinearConfig) -> None:
    layer = nl.Linear(**config, rng=0)
    assert layer.weight.shape == (config["in_features"], config["out_features"])
    assert (layer.bias is not None) == config["bias"]


@given(model=nst.two_layer_networks(max_in=3, max_hidden=4, max_out=2))
def test_two_layer_networks_have_the_derivation_structure(model: nl.Sequential) -> None:
    assert [type(layer).__name__ for layer in model] == [
        "Linear",
        "Sigmoid",
        "BiasAppend",
        "Linear",
        "Sigmoid",
    ]
    first = model[0]
    assert isinstance(first, nl.Linear)
    assert 1 <= first.in_features <= 3
    assert model(np.zeros((2, first.in_features))).shape[0] == 2
