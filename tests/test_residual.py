"""Residual: y = x + inner(x), its two backward paths, PyTorch, ONNX, saving with its layers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nnlite as nl
from nnlite import interop
from nnlite.errors import ArgumentTypeError
from tests.layer_references import assert_relative, autograd, onnx_output, round_trip


def block(n: int = 3, seed: int = 0) -> nl.Residual:
    return nl.Residual(
        nl.Sequential(nl.Linear(n, 4, rng=seed), nl.Tanh(), nl.Linear(4, n, rng=seed + 1))
    )


def test_forward_is_x_plus_inner_and_backward_the_sum_of_both_paths() -> None:
    layer = block()
    reference = block()  # the same parameters, used on its own
    x = np.random.default_rng(0).standard_normal((5, 3))
    grad_y = np.random.default_rng(1).standard_normal((5, 3))
    assert_relative(layer(x), x + reference.inner(x), "y", rtol=0)
    reference.inner(x)
    expected = grad_y + reference.inner.backward(grad_y)  # the skip path's and the inner path's
    assert_relative(layer.backward(grad_y), expected, "dL/dx", rtol=0)
    for (name, parameter), (_, own) in zip(
        layer.named_parameters(), reference.named_parameters(), strict=True
    ):
        assert name.startswith("inner.")
        assert np.array_equal(parameter.grad, own.grad), name


def test_backward_parameters_is_the_inner_layer_s() -> None:
    layer = block()
    x = np.random.default_rng(0).standard_normal((2, 3))
    layer(x)
    layer.backward_parameters(np.ones((2, 3)))
    assert all(np.any(p.grad != 0) for p in layer.parameters())


def test_forward_and_gradients_equal_torch_autograd() -> None:
    torch = pytest.importorskip("torch")
    layer = block()
    module = interop.to_torch(layer)
    assert type(module).__name__ == "Residual"
    assert isinstance(module.inner, torch.nn.Sequential)
    x = np.random.default_rng(0).standard_normal((5, 3))
    grad_y = np.random.default_rng(1).standard_normal((5, 3))
    y = layer(x)
    grad_x = layer.backward(grad_y)
    torch_y, torch_grad_x, torch_grads = autograd(module, x, grad_y)
    assert_relative(y, torch_y, "y")
    assert_relative(grad_x, torch_grad_x, "dL/dx")
    assert sorted(torch_grads) == sorted(name for name, _ in layer.named_parameters())
    for name, parameter in layer.named_parameters():
        expected = torch_grads[name].T if name.endswith("weight") else torch_grads[name]
        assert_relative(parameter.grad, expected, f"dL/d{name}")  # torch's W is nnlite's W^T


def test_converts_to_torch_and_back_bit_for_bit_with_buffers_and_modes() -> None:
    pytest.importorskip("torch")
    inner = nl.Sequential(nl.Linear(3, 3, rng=0), nl.BatchNorm1d(3))
    inner(np.random.default_rng(0).standard_normal((4, 3)))  # running statistics away from 0, 1
    layer = nl.Residual(inner).eval()
    back = interop.from_torch(interop.to_torch(layer))
    assert isinstance(back, nl.Residual)
    assert repr(back) == repr(layer)
    assert not back.training
    assert not back.inner.training
    for name, values in layer.state_dict().items():
        assert back.state_dict()[name].tobytes() == values.tobytes(), name


def test_onnxruntime_computes_the_same(tmp_path: Path) -> None:
    model = nl.Sequential(nl.Linear(2, 3, rng=0), block(3), nl.Residual(nl.Tanh()))
    x = np.random.default_rng(0).standard_normal((4, 2))
    assert_relative(onnx_output(model, x, tmp_path / "r.onnx"), model(x), "y")


def test_saving_records_the_inner_layers_and_keeps_their_state(tmp_path: Path) -> None:
    inner = nl.Sequential(nl.Linear(3, 3, rng=0), nl.BatchNorm1d(3))
    inner(np.random.default_rng(0).standard_normal((4, 3)))
    model = nl.Sequential(nl.Residual(inner), nl.Residual(nl.Residual(nl.Tanh())))
    loaded = round_trip(model, tmp_path / "r.npz")
    assert repr(loaded) == repr(model)
    with np.load(tmp_path / "r.npz", allow_pickle=False) as npz:
        spec = json.loads(npz["nnlite.json"].item())["model"]["layers"][0]
    assert spec["class"] == "Residual"
    assert spec["config"] == {}
    assert spec["layers"]["inner"]["class"] == "Sequential"
    x = np.random.default_rng(1).standard_normal((3, 3))
    assert model.eval()(x).tobytes() == loaded.eval()(x).tobytes()


def test_a_file_missing_the_inner_layer_is_a_load_error(tmp_path: Path) -> None:
    text = json.dumps(
        {"format": "nnlite", "version": 1, "model": {"class": "Residual", "config": {}}}
    )
    path = tmp_path / "bad.npz"
    entries: dict[str, Any] = {"nnlite.json": np.array(text)}
    with open(path, "wb") as file:
        np.savez(file, **entries)
    with pytest.raises(nl.LoadError, match="'layers'"):
        nl.load(path)


def test_bad_inner_layers_are_clear_errors() -> None:
    with pytest.raises(ArgumentTypeError, match="Residual: inner must be a Layer, got 3"):
        nl.Residual(3)  # type: ignore[arg-type]
    with pytest.raises(nl.ShapeError, match=r"inner\(x\) has shape \(2, 4\).*\(2, 3\)"):
        nl.Residual(nl.Linear(3, 4, rng=0))(np.zeros((2, 3)))
