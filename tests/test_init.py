"""nnlite.init: each scheme against its formula written out, against torch.nn.init's
distribution when torch is installed, and selectable on Linear by name."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

import nnlite as nl
from nnlite import init
from nnlite.errors import ArgumentValueError

FAN_IN, FAN_OUT = 300, 200  # a Linear weight of nnlite's shape (in, out)
SHAPE = (FAN_IN, FAN_OUT)

# name -> ("uniform", bound) or ("normal", std), written out from the papers' formulas
BY_HAND: dict[str, tuple[str, float]] = {
    "uniform": ("uniform", 1 / math.sqrt(FAN_IN)),
    "xavier_uniform": ("uniform", math.sqrt(6 / (FAN_IN + FAN_OUT))),
    "xavier_normal": ("normal", math.sqrt(2 / (FAN_IN + FAN_OUT))),
    "kaiming_uniform": ("uniform", math.sqrt(2) * math.sqrt(3 / FAN_IN)),
    "kaiming_normal": ("normal", math.sqrt(2 / FAN_IN)),
}
ALIASES = {
    "glorot_uniform": "xavier_uniform",
    "xavier": "xavier_uniform",
    "glorot": "xavier_uniform",
    "glorot_normal": "xavier_normal",
    "he_uniform": "kaiming_uniform",
    "he_normal": "kaiming_normal",
    "he": "kaiming_normal",
    "kaiming": "kaiming_normal",
}


@pytest.mark.parametrize("name", BY_HAND)
def test_each_scheme_draws_its_formula_from_rng(name: str) -> None:
    """The same draws as numpy's uniform or normal of that bound or std, from the same seed."""
    kind, scale = BY_HAND[name]
    generator = np.random.default_rng(7)
    expected = (
        generator.uniform(-scale, scale, SHAPE)
        if kind == "uniform"
        else generator.normal(0.0, scale, SHAPE)
    )
    np.testing.assert_allclose(init.SCHEMES[name](SHAPE, rng=7), expected, rtol=1e-15)
    drawn = init.SCHEMES[name](SHAPE, fan_in=FAN_IN, fan_out=FAN_OUT, rng=np.random.default_rng(7))
    np.testing.assert_allclose(drawn, expected, rtol=1e-15)


@pytest.mark.parametrize("name", BY_HAND)
def test_each_scheme_has_its_spread(name: str) -> None:
    """60,000 draws: the std of U(-b, b) is b / sqrt(3); the sample's is within 2%."""
    kind, scale = BY_HAND[name]
    w = init.SCHEMES[name](SHAPE, rng=0)
    std = scale / math.sqrt(3) if kind == "uniform" else scale
    assert float(w.std()) == pytest.approx(std, rel=0.02)
    assert abs(float(w.mean())) < 0.02 * std
    if kind == "uniform":
        assert float(np.abs(w).max()) <= scale


def test_aliases_name_the_same_schemes() -> None:
    for alias, name in ALIASES.items():
        assert init.SCHEMES[alias] is init.SCHEMES[name], alias


def test_zeros_and_ones_and_the_gain() -> None:
    assert not init.zeros((2, 3)).any()
    assert (init.ones((2, 3), dtype=np.float32) == 1).all()
    assert init.ones((2, 3), dtype=np.float32).dtype == np.float32
    tanh_gain = 5 / 3
    np.testing.assert_allclose(
        init.xavier_uniform(SHAPE, rng=1, gain=tanh_gain),
        tanh_gain * init.xavier_uniform(SHAPE, rng=1),
        rtol=1e-14,
        atol=1e-15,  # U(-b, b) is -b + 2b u: near 0 the rounding is b's, not the value's
    )


def test_the_fans_are_needed_beyond_two_dimensions() -> None:
    with pytest.raises(
        ValueError, match=r"give fan_in and fan_out for a weight of shape \(2, 3, 3, 4\)"
    ):
        init.kaiming_normal((2, 3, 3, 4), rng=0)
    w = init.kaiming_normal((16, 3, 3, 64), fan_in=16 * 9, fan_out=64 * 9, rng=0)
    assert float(w.std()) == pytest.approx(math.sqrt(2 / (16 * 9)), rel=0.02)


@pytest.mark.parametrize(
    ("name", "torch_init"),
    [
        ("xavier_uniform", "xavier_uniform_"),
        ("xavier_normal", "xavier_normal_"),
        ("kaiming_uniform", "kaiming_uniform_"),
        ("kaiming_normal", "kaiming_normal_"),
    ],
)
def test_the_spread_is_torchs(name: str, torch_init: str) -> None:
    """torch draws from its own generator, so the samples are compared, not the values: the same
    std to 2% and, for the uniform ones, the same bound to 1%. torch's weight is (out, in)."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    extra: dict[str, Any] = {"nonlinearity": "relu"} if name.startswith("kaiming") else {}
    theirs = getattr(torch.nn.init, torch_init)(
        torch.empty(FAN_OUT, FAN_IN, dtype=torch.float64), **extra
    )
    theirs = theirs.numpy()
    ours = init.SCHEMES[name](SHAPE, rng=0)
    assert float(ours.std()) == pytest.approx(float(theirs.std()), rel=0.02)
    if "uniform" in name:
        assert float(np.abs(ours).max()) == pytest.approx(float(np.abs(theirs).max()), rel=0.01)


def test_linear_default_is_torchs_and_the_spread_check_can_fail() -> None:
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    theirs = torch.nn.Linear(FAN_IN, FAN_OUT, dtype=torch.float64).weight.detach().numpy()
    ours = nl.Linear(FAN_IN, FAN_OUT, rng=0).weight.data
    assert float(ours.std()) == pytest.approx(float(theirs.std()), rel=0.02)
    he = nl.Linear(FAN_IN, FAN_OUT, rng=0, init="he").weight.data
    assert float(he.std()) != pytest.approx(float(theirs.std()), rel=0.02)


def test_linear_takes_a_scheme_by_name_and_keeps_its_default() -> None:
    generator = np.random.default_rng(3)
    bound = 1 / math.sqrt(4)
    default = nl.Linear(4, 5, rng=3)
    np.testing.assert_array_equal(default.weight.data, generator.uniform(-bound, bound, (4, 5)))
    np.testing.assert_array_equal(default.bias.data, generator.uniform(-bound, bound, 5))  # type: ignore[union-attr]
    he = nl.Linear(4, 5, rng=3, init="he")
    np.testing.assert_array_equal(he.weight.data, init.kaiming_normal((4, 5), rng=3))
    assert nl.Linear(4, 5, rng=3, init="he").weight.data.tolist() == he.weight.data.tolist()
    assert not nl.Linear(4, 5, rng=3, init="zeros").weight.data.any()
    assert nl.Linear(4, 5, rng=3, init="xavier", dtype=np.float32).weight.dtype == np.float32


def test_a_scheme_name_that_is_none_is_refused_with_the_names() -> None:
    with pytest.raises(
        ArgumentValueError,
        match=r"^Linear: init must be one of 'uniform', 'xavier_uniform'.*got 'hee'$",
    ):
        nl.Linear(2, 2, init="hee")


def test_conv2d_takes_a_scheme_by_name_with_its_fans_and_keeps_its_default() -> None:
    c, o, k = 2, 3, 3
    fan_in, fan_out = c * k * k, o * k * k  # every window is a Linear of C kh kw inputs
    generator = np.random.default_rng(5)
    bound = 1 / math.sqrt(fan_in)
    default = nl.Conv2d(c, o, k, rng=5)
    np.testing.assert_array_equal(
        default.weight.data, generator.uniform(-bound, bound, (c, k, k, o))
    )
    np.testing.assert_array_equal(default.bias.data, generator.uniform(-bound, bound, o))  # type: ignore[union-attr]
    he = nl.Conv2d(c, o, k, rng=5, init="he")
    expected = init.kaiming_normal((c, k, k, o), fan_in=fan_in, fan_out=fan_out, rng=5)
    np.testing.assert_array_equal(he.weight.data, expected)
    xavier = nl.Conv2d(c, o, k, rng=5, init="xavier", dtype=np.float32).weight.data
    assert xavier.dtype == np.float32
    assert float(np.abs(xavier).max()) <= math.sqrt(6 / (fan_in + fan_out))
    assert not nl.Conv2d(c, o, k, init="zeros").weight.data.any()
    with pytest.raises(ArgumentValueError, match=r"^Conv2d: init must be one of .*got 'hee'$"):
        nl.Conv2d(c, o, k, init="hee")
