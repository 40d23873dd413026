"""Softmax and LogSoftmax: hand formulas, the tails, PyTorch, ONNX, saving, errors."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nnlite as nl
from nnlite import interop
from nnlite.errors import ArgumentTypeError
from nnlite.testing import check_layer
from nnlite.testing import strategies as nst
from tests.layer_references import assert_matches_torch, assert_relative, onnx_output, round_trip


def softmax_by_hand(row: list[float]) -> list[float]:
    """exp(x_j) / sum_k exp(x_k), in Python floats (for moderate x)."""
    exps = [math.exp(v) for v in row]
    total = math.fsum(exps)
    return [e / total for e in exps]


def test_softmax_is_the_formula_and_its_jacobian_is_diag_y_minus_y_y_t() -> None:
    x = np.array([[0.5, -1.0, 2.0], [3.0, 3.0, -4.0]])
    g = np.array([[1.0, -2.0, 0.5], [0.25, 4.0, -1.0]])
    layer = nl.Softmax()
    y = layer(x)
    for row, expected in zip(y, (softmax_by_hand(list(r)) for r in x), strict=True):
        assert_relative(row, expected, "y", rtol=1e-15)
    grad_x = layer.backward(g)
    for i in range(2):
        jacobian = np.diag(y[i]) - np.outer(y[i], y[i])  # dy_j/dx_k = y_j (delta_jk - y_k)
        assert_relative(grad_x[i], jacobian.T @ g[i], "dL/dx", rtol=1e-14)


def test_log_softmax_is_the_formula_and_its_jacobian_is_one_minus_softmax() -> None:
    x = np.array([[0.5, -1.0, 2.0], [3.0, 3.0, -4.0]])
    g = np.array([[1.0, -2.0, 0.5], [0.25, 4.0, -1.0]])
    layer = nl.LogSoftmax()
    y = layer(x)
    for row, inputs in zip(y, x, strict=True):
        log_total = math.log(math.fsum(math.exp(v) for v in inputs))
        assert_relative(row, [v - log_total for v in inputs], "y", rtol=1e-15)
    grad_x = layer.backward(g)
    for i in range(2):
        p = np.array(softmax_by_hand(list(x[i])))
        jacobian = np.eye(3) - p[None, :]  # dy_j/dx_k = delta_jk - p_k
        assert_relative(grad_x[i], jacobian.T @ g[i], "dL/dx", rtol=1e-14)


def test_the_tails_neither_overflow_nor_lose_the_small_values() -> None:
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow is fine
        assert nl.Softmax()(np.array([[-1e308, 1e308]])).tolist() == [[0.0, 1.0]]
        y = nl.LogSoftmax()(np.array([[0.0, 40.0], [-1e308, 1e308]]))
    assert y[0, 0] == -40.0
    assert y[0, 1] == pytest.approx(-math.exp(-40.0), rel=1e-15)  # not rounded to 0
    assert y[1].tolist() == [-math.inf, 0.0]


def test_log_softmax_backward_keeps_the_small_gradient_at_the_top() -> None:
    """x = (0, 40), g = (0, 1): dL/dx_1 = 1 - p_1 = p_0 = exp(-40) / (1 + exp(-40)), which
    1 - p_1 computed by subtraction rounds to 0."""
    layer = nl.LogSoftmax()
    layer(np.array([[0.0, 40.0]]))
    grad_x = layer.backward(np.array([[0.0, 1.0]]))
    p0 = math.exp(-40.0) / (1 + math.exp(-40.0))
    assert grad_x[0, 1] == pytest.approx(p0, rel=1e-15)
    assert grad_x[0, 0] == pytest.approx(-p0, rel=1e-15)


@pytest.mark.parametrize("cls", [nl.Softmax, nl.LogSoftmax])
def test_any_axis_of_any_rank_passes_the_conformance_suite(
    cls: type[nl.Softmax | nl.LogSoftmax],
) -> None:
    check_layer(lambda: cls(axis=1), input_shape=(3, 2))


@pytest.mark.parametrize("cls", [nl.Softmax, nl.LogSoftmax])
@given(data=st.data())
def test_forward_and_gradients_equal_torch(
    cls: type[nl.Softmax | nl.LogSoftmax], data: st.DataObject
) -> None:
    torch = pytest.importorskip("torch")
    axis = data.draw(st.sampled_from([-1, 0, 1, 2]), label="axis")
    x = data.draw(nst.arrays((3, 4, 2), max_magnitude=20.0), label="x")
    grad_y = data.draw(nst.arrays(x.shape), label="grad_y")
    layer = cls(axis=axis)
    module = getattr(torch.nn, cls.__name__)(dim=axis)
    assert_matches_torch(layer, module, x, grad_y)
    converted = interop.to_torch(layer)
    assert type(converted) is type(module)
    assert converted.dim == axis
    back = interop.from_torch(converted)
    assert type(back) is cls
    assert back.axis == axis


@pytest.mark.parametrize("cls", [nl.Softmax, nl.LogSoftmax])
def test_onnxruntime_computes_the_same(
    cls: type[nl.Softmax | nl.LogSoftmax], tmp_path: Path
) -> None:
    x = np.random.default_rng(0).standard_normal((4, 3)) * 5
    for axis in (-1, 0):
        layer = cls(axis=axis)
        assert_relative(onnx_output(layer, x, tmp_path / "m.onnx"), layer(x), "y")


@pytest.mark.parametrize("cls", [nl.Softmax, nl.LogSoftmax])
def test_saving_keeps_the_axis(cls: type[nl.Softmax | nl.LogSoftmax], tmp_path: Path) -> None:
    loaded = round_trip(nl.Sequential(nl.Linear(2, 3, rng=0), cls(axis=0)), tmp_path / "m.npz")
    assert isinstance(loaded, nl.Sequential)
    assert loaded[1].axis == 0  # type: ignore[attr-defined]


def test_a_torch_softmax_without_dim_is_refused() -> None:
    torch = pytest.importorskip("torch")
    with pytest.raises(nl.ConversionError, match="dim is None"):
        interop.from_torch(torch.nn.Softmax())


@pytest.mark.parametrize("cls", [nl.Softmax, nl.LogSoftmax])
def test_bad_arguments_and_inputs_are_clear_errors(cls: type[nl.Softmax | nl.LogSoftmax]) -> None:
    name = cls.__name__
    with pytest.raises(ArgumentTypeError, match=f"{name}: axis must be an int"):
        cls(axis=1.5)  # type: ignore[arg-type]
    with pytest.raises(nl.ShapeError, match=f"{name}.*axis 2 of length >= 1, got shape \\(2, 3\\)"):
        cls(axis=2)(np.zeros((2, 3)))
    with pytest.raises(nl.ShapeError, match="axis -1 of length >= 1"):
        cls()(np.zeros((2, 0)))


def test_float32_stays_float32() -> None:
    x = np.array([[1.0, 2.0, 3.0]], dtype=np.float32)
    for cls in (nl.Softmax, nl.LogSoftmax):
        layer = cls()
        assert layer(x).dtype == np.float32
        assert layer.backward(np.ones_like(x)).dtype == np.float32
