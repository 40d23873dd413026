"""BatchNorm1d: batch statistics, PyTorch's running statistics, modes, PyTorch, ONNX, saving."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nnlite as nl
from nnlite import interop
from nnlite.errors import ArgumentValueError
from nnlite.testing import check_layer
from tests.layer_references import assert_matches_torch, assert_relative, onnx_output, round_trip


def trained(layer: nl.BatchNorm1d, steps: int = 3, seed: int = 0) -> nl.BatchNorm1d:
    """The layer after ``steps`` training forwards on batches of 6 rows, away from 0 and 1."""
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        layer(rng.standard_normal((6, layer.num_features)) * 3 + 2)
    return layer


def test_training_normalizes_by_the_batch_and_tracks_pytorch_s_running_statistics() -> None:
    x = np.array([[1.0, 10.0], [3.0, 30.0], [8.0, 20.0]])
    layer = nl.BatchNorm1d(2, eps=1e-3, momentum=0.25)
    layer.weight.data[...] = [2.0, -1.0]
    layer.bias.data[...] = [0.5, 0.0]
    y = layer(x)
    for j in range(2):
        column = x[:, j]
        mean = sum(column) / 3
        var = sum((v - mean) ** 2 for v in column) / 3  # biased: normalized by
        expected = [
            (v - mean) / (var + 1e-3) ** 0.5 * layer.weight.data[j] + layer.bias.data[j]
            for v in column
        ]
        assert_relative(y[:, j], expected, "y", rtol=1e-14)
        unbiased = var * 3 / 2  # the running variance is the unbiased one
        assert layer.running_mean.data[j] == pytest.approx(0.25 * mean, rel=1e-15)
        assert layer.running_var.data[j] == pytest.approx(0.75 + 0.25 * unbiased, rel=1e-15)
    assert layer.num_batches_tracked.data == 1


def test_evaluation_mode_normalizes_by_the_running_statistics_row_by_row() -> None:
    layer = trained(nl.BatchNorm1d(3)).eval()
    before = layer.state_dict()
    x = np.random.default_rng(5).standard_normal((4, 3))
    y = layer(x)
    expected = (x - layer.running_mean.data) / np.sqrt(layer.running_var.data + 1e-5)
    assert_relative(y, expected, "y", rtol=1e-14)
    assert_relative(layer(x[:1]), y[:1], "one row alone", rtol=0)  # no batch statistics
    for name, values in layer.state_dict().items():
        assert np.array_equal(values, before[name]), f"{name} changed in evaluation mode"
    grad_y = np.random.default_rng(6).standard_normal(x.shape)
    layer(x)
    assert_relative(
        layer.backward(grad_y), grad_y / np.sqrt(layer.running_var.data + 1e-5), "dL/dx", rtol=1e-14
    )


def test_three_dimensional_input_passes_the_conformance_suite() -> None:
    check_layer(lambda: nl.BatchNorm1d(2), input_shape=(2, 3))


@given(
    shape=st.sampled_from([(5, 3), (2, 3), (4, 2, 3)]),
    training=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_forward_gradients_and_running_statistics_equal_torch(
    shape: tuple[int, ...], training: bool, seed: int
) -> None:
    """Standard normal inputs: a batch's spread is then bounded away from 0 (the drawn
    ill-conditioned inputs are the conformance suite's, checked by finite differences)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    layer = trained(nl.BatchNorm1d(shape[1], eps=1e-4, momentum=0.3), seed=seed)
    layer.weight.data[...] = rng.uniform(0.5, 2.0, shape[1])
    layer.bias.data[...] = rng.standard_normal(shape[1])
    layer.train(training)
    module = torch.nn.BatchNorm1d(shape[1], eps=1e-4, momentum=0.3, dtype=torch.float64)
    with torch.no_grad():
        for name, values in layer.state_dict().items():
            getattr(module, name).copy_(torch.from_numpy(values))
    module.train(training)
    x = rng.standard_normal(shape)
    grad_y = rng.standard_normal(shape)
    # dL/dx sums terms of size |dL/dy * weight| / sigma, which cancel where the batch is small
    # (two rows: x_hat = +-1, and dL/dx nearly 0).
    axes = (0, 2) if x.ndim == 3 else (0,)
    sigma = np.sqrt(np.min(x.var(axis=axes)) + 1e-4)
    terms = float(np.max(np.abs(grad_y))) * float(np.max(layer.weight.data)) / sigma
    assert_matches_torch(layer, module, x, grad_y, grad_x_scale=terms)
    for name in ("running_mean", "running_var"):
        assert_relative(getattr(layer, name).data, getattr(module, name).numpy(), name)
    assert layer.num_batches_tracked.data == module.num_batches_tracked.item()


def test_converts_to_torch_and_back_with_its_buffers_bit_for_bit() -> None:
    torch = pytest.importorskip("torch")
    for dtype in (np.float64, np.float32):
        layer = trained(nl.BatchNorm1d(3, eps=1e-3, momentum=0.2, dtype=dtype)).eval()
        module = interop.to_torch(layer)
        assert type(module) is torch.nn.BatchNorm1d
        assert not module.training
        assert module.eps == 1e-3
        assert module.momentum == 0.2
        assert module.num_batches_tracked.item() == 3
        for name, values in layer.state_dict().items():
            assert (
                getattr(module, name).detach().numpy().astype(dtype).tobytes() == values.tobytes()
            )
        back = interop.from_torch(module)
        assert isinstance(back, nl.BatchNorm1d)
        assert not back.training
        assert back.dtype == dtype
        for name, values in layer.state_dict().items():
            assert back.state_dict()[name].tobytes() == values.tobytes(), name


def test_a_torch_batch_norm_nnlite_cannot_hold_is_refused() -> None:
    torch = pytest.importorskip("torch")
    for module, reason in [
        (torch.nn.BatchNorm1d(2, affine=False), "no weight and bias"),
        (torch.nn.BatchNorm1d(2, momentum=None), "cumulative average"),
        (torch.nn.BatchNorm1d(2, track_running_stats=False), "no running statistics"),
    ]:
        with pytest.raises(nl.ConversionError, match=reason):
            interop.from_torch(module)


def test_onnxruntime_computes_evaluation_mode(tmp_path: Path) -> None:
    layer = trained(nl.BatchNorm1d(3))
    layer.weight.data[...] = [0.5, 2.0, -1.0]
    x = np.random.default_rng(0).standard_normal((4, 3))
    y = onnx_output(nl.Sequential(layer), x, tmp_path / "bn.onnx")
    assert layer.training  # exported as inference runs it, whatever its mode
    assert_relative(y, layer.eval()(x), "y")


def test_saving_keeps_the_buffers_bit_for_bit(tmp_path: Path) -> None:
    model = nl.Sequential(nl.Linear(2, 3, rng=0), trained(nl.BatchNorm1d(3, momentum=0.5)))
    loaded = round_trip(model, tmp_path / "bn.npz")
    x = np.random.default_rng(0).standard_normal((5, 2))
    for mode in (True, False):  # batch statistics, then the running ones
        model.train(mode)
        loaded.train(mode)
        assert model(x).tobytes() == loaded(x).tobytes()
        assert loaded.state_dict()["1.running_var"].tobytes() == (
            model.state_dict()["1.running_var"].tobytes()
        )


def test_float32_stays_float32() -> None:
    layer = nl.BatchNorm1d(2, dtype=np.float32)
    x = np.random.default_rng(0).standard_normal((4, 2)).astype(np.float32)
    assert layer(x).dtype == np.float32
    assert layer.backward(x).dtype == np.float32
    assert layer.running_var.data.dtype == np.float32


def test_bad_arguments_and_inputs_are_clear_errors() -> None:
    with pytest.raises(ArgumentValueError, match="BatchNorm1d: num_features must be an int >= 1"):
        nl.BatchNorm1d(0)
    with pytest.raises(ArgumentValueError, match="BatchNorm1d: eps must be"):
        nl.BatchNorm1d(2, eps=0.0)
    with pytest.raises(ArgumentValueError, match="BatchNorm1d: momentum must be"):
        nl.BatchNorm1d(2, momentum=1.5)
    with pytest.raises(nl.ShapeError, match=r"expects input of shape \(N, 2\) or \(N, 2, L\)"):
        nl.BatchNorm1d(2)(np.zeros((3, 4)))
    layer = nl.BatchNorm1d(2)
    with pytest.raises(nl.ShapeError, match="a batch of one has no variance"):
        layer(np.zeros((1, 2)))
    assert layer.num_batches_tracked.data == 0  # refused before anything changed
    assert layer.eval()(np.zeros((1, 2))).shape == (1, 2)
