"""Dropout: the mask and its scale, backward's reuse of it, modes, PyTorch, ONNX, saving."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import nnlite as nl
from nnlite import interop
from nnlite.errors import ArgumentTypeError, ArgumentValueError
from tests.layer_references import assert_relative, autograd, onnx_output, round_trip


def test_training_zeroes_with_probability_p_and_scales_the_rest() -> None:
    p = 0.3
    x = np.random.default_rng(1).uniform(1.0, 2.0, size=(200, 50))  # no zeros of its own
    y = nl.Dropout(p, rng=0)(x)
    kept = y != 0
    assert_relative(y[kept], x[kept] / (1 - p), "kept values", rtol=1e-15)
    # 10,000 Bernoulli(0.7) draws: the kept share is within 5 standard deviations of 0.7.
    assert abs(kept.mean() - (1 - p)) < 5 * np.sqrt(p * (1 - p) / x.size)


def test_backward_uses_forward_s_mask() -> None:
    layer = nl.Dropout(0.5, rng=3)
    x = np.random.default_rng(0).uniform(1.0, 2.0, size=(6, 7))
    y = layer(x)
    grad_y = np.random.default_rng(1).standard_normal(x.shape)
    expected = np.where(y != 0, grad_y * 2.0, 0.0)  # dL/dx = dL/dy * m / (1 - p)
    assert np.array_equal(layer.backward(grad_y), expected)
    assert 0 < np.count_nonzero(y) < y.size  # some dropped, some kept: the test can fail


def test_the_same_seed_draws_the_same_masks_and_the_global_rng_is_untouched() -> None:
    state = np.random.get_state()[1].copy()  # type: ignore[index]  # noqa: NPY002
    x = np.ones((4, 5))
    first, second = nl.Dropout(0.5, rng=7), nl.Dropout(0.5, rng=7)
    mask = first(x)
    assert np.array_equal(mask, second(x))
    assert not np.array_equal(first(x), mask)  # each forward draws a new mask
    assert np.array_equal(np.random.get_state()[1], state)  # type: ignore[index]  # noqa: NPY002


def test_evaluation_mode_is_the_identity() -> None:
    layer = nl.Dropout(0.9, rng=0).eval()
    x = np.arange(6.0).reshape(2, 3)
    assert layer(x) is x
    grad_y = np.ones((2, 3))
    assert layer.backward(grad_y) is grad_y


def test_p_zero_keeps_everything_and_p_one_drops_everything() -> None:
    x = np.random.default_rng(0).standard_normal((3, 4))
    assert np.array_equal(nl.Dropout(0.0, rng=0)(x), x)
    layer = nl.Dropout(1.0, rng=0)
    assert np.array_equal(layer(x), np.zeros_like(x))
    assert np.array_equal(layer.backward(np.ones_like(x)), np.zeros_like(x))


def test_float32_stays_float32() -> None:
    layer = nl.Dropout(0.5, rng=0)
    x = np.ones((3, 3), dtype=np.float32)
    assert layer(x).dtype == np.float32
    assert layer.backward(x).dtype == np.float32


def test_training_backward_equals_autograd_on_the_same_mask() -> None:
    """torch draws its own masks, so the reference is autograd through x * m / (1 - p) with
    nnlite's mask m: the formula torch.nn.Dropout computes."""
    torch = pytest.importorskip("torch")
    p = 0.25
    layer = nl.Dropout(p, rng=0)
    x = np.random.default_rng(1).standard_normal((5, 4))
    grad_y = np.random.default_rng(2).standard_normal((5, 4))
    y = layer(x)
    grad_x = layer.backward(grad_y)
    mask = torch.from_numpy(((y != 0) | (x == 0)).astype(np.float64))
    torch_y, torch_grad_x, _ = autograd(lambda v: v * mask / (1 - p), x, grad_y)
    assert_relative(y, torch_y, "y")
    assert_relative(grad_x, torch_grad_x, "dL/dx")


def test_converts_to_torch_dropout_in_the_layer_s_mode_and_back() -> None:
    torch = pytest.importorskip("torch")
    layer = nl.Dropout(0.2, rng=0)
    module = interop.to_torch(layer)
    assert type(module) is torch.nn.Dropout
    assert module.p == 0.2
    assert module.training
    layer.eval()
    module = interop.to_torch(layer)
    assert not module.training
    x = np.random.default_rng(0).standard_normal((3, 2))
    assert np.array_equal(module(torch.from_numpy(x)).numpy(), layer(x))  # both the identity
    back = interop.from_torch(module)
    assert isinstance(back, nl.Dropout)
    assert back.p == 0.2
    assert not back.training


def test_onnx_is_the_identity_whatever_the_mode(tmp_path: Path) -> None:
    model = nl.Sequential(nl.Linear(3, 4, rng=0), nl.Dropout(0.5, rng=0))  # in training mode
    x = np.random.default_rng(0).standard_normal((5, 3))
    y = onnx_output(model, x, tmp_path / "m.onnx")
    assert model.training
    assert_relative(y, model.eval()(x), "y")


def test_saving_keeps_p(tmp_path: Path) -> None:
    loaded = round_trip(nl.Dropout(0.125, rng=0), tmp_path / "d.npz")
    assert isinstance(loaded, nl.Dropout)
    assert loaded.p == 0.125


def test_bad_p_is_a_clear_error() -> None:
    with pytest.raises(ArgumentValueError, match=r"Dropout: p must be .*\[0, 1\].*got 1.5"):
        nl.Dropout(1.5)
    with pytest.raises(ArgumentTypeError, match="Dropout: p must be"):
        nl.Dropout("0.5")  # type: ignore[arg-type]
