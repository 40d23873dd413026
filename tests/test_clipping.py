"""clip_grad_norm and clip_grad_value against the rules written out by hand, against
torch.nn.utils when torch is installed, and fit(clip_grad_norm=...) as the loop written out."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

import nnlite as nl
from nnlite.errors import TrainingError
from nnlite.optim import SGD


def parameters_with_grads(seed: int = 0, scale: float = 1.0) -> list[nl.Parameter]:
    generator = np.random.default_rng(seed)
    parameters = [nl.Parameter(np.zeros(shape)) for shape in [(3, 4), (5,), ()]]
    for parameter in parameters:
        parameter.grad[...] = scale * generator.normal(size=parameter.shape)
    return parameters


def all_grads(parameters: list[nl.Parameter]) -> np.ndarray:
    return np.concatenate([p.grad.ravel() for p in parameters])


@pytest.mark.parametrize("norm_type", [1.0, 2.0, 3.0, 0.5, math.inf])
def test_the_total_norm_is_the_norm_of_all_gradients_as_one_vector(norm_type: float) -> None:
    parameters = parameters_with_grads()
    g = all_grads(parameters)
    by_hand = (
        np.max(np.abs(g))
        if norm_type == math.inf
        else np.sum(np.abs(g) ** norm_type) ** (1 / norm_type)
    )
    total = nl.clip_grad_norm(parameters, max_norm=1e9, norm_type=norm_type)
    assert total == pytest.approx(by_hand, rel=1e-13)
    np.testing.assert_array_equal(all_grads(parameters), g)  # below max_norm: untouched


def test_above_max_norm_every_gradient_is_scaled_by_the_same_factor() -> None:
    parameters = parameters_with_grads(scale=10.0)
    g = all_grads(parameters)
    total = nl.clip_grad_norm(parameters, max_norm=2.0)
    assert total == pytest.approx(float(np.sqrt(np.sum(g**2))), rel=1e-13)
    np.testing.assert_allclose(all_grads(parameters), g * 2.0 / (total + 1e-6), rtol=1e-15)
    assert nl.clip_grad_norm(parameters, max_norm=2.0) == pytest.approx(2.0, rel=1e-6)


def test_zero_gradients_stay_zero() -> None:
    parameters = parameters_with_grads(scale=0.0)
    assert nl.clip_grad_norm(parameters, max_norm=1.0) == 0.0
    assert not all_grads(parameters).any()


def test_a_non_finite_norm_is_an_error_when_asked() -> None:
    parameters = parameters_with_grads()
    parameters[1].grad[2] = math.nan
    with pytest.raises(
        TrainingError, match=r"^clip_grad_norm: the total norm of the gradients is nan"
    ):
        nl.clip_grad_norm(parameters, max_norm=1.0, error_if_nonfinite=True)
    assert math.isnan(nl.clip_grad_norm(parameters, max_norm=1.0))  # as PyTorch: passed on
    assert np.isnan(all_grads(parameters)).all()


def test_clip_grad_value_clamps_each_element() -> None:
    parameters = parameters_with_grads(scale=3.0)
    g = all_grads(parameters)
    arrays = [p.grad for p in parameters]
    nl.clip_grad_value(parameters, clip_value=1.5)
    np.testing.assert_array_equal(all_grads(parameters), np.minimum(np.maximum(g, -1.5), 1.5))
    assert all(p.grad is array for p, array in zip(parameters, arrays, strict=True))  # in place


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda ps: nl.clip_grad_norm(ps, max_norm=0), r"^clip_grad_norm: max_norm must be a fi"),
        (lambda ps: nl.clip_grad_norm(ps, 1.0, norm_type=-1), r"^clip_grad_norm: norm_type must"),
        (lambda ps: nl.clip_grad_value(ps, clip_value=-1), r"^clip_grad_value: clip_value must be"),
    ],
)  # fmt: skip
def test_bad_arguments_are_named(call: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call(parameters_with_grads())


@pytest.mark.parametrize("norm_type", [1.0, 2.0, 3.5, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm_equals_torchs(norm_type: float, max_norm: float) -> None:
    torch = pytest.importorskip("torch")
    parameters = parameters_with_grads(scale=2.0)
    tensors = [torch.zeros(p.shape, dtype=torch.float64, requires_grad=True) for p in parameters]
    for tensor, parameter in zip(tensors, parameters, strict=True):
        tensor.grad = torch.from_numpy(parameter.grad.copy())
    expected = float(torch.nn.utils.clip_grad_norm_(tensors, max_norm, norm_type=norm_type))
    total = nl.clip_grad_norm(parameters, max_norm, norm_type=norm_type)
    assert total == pytest.approx(expected, rel=1e-14)
    for tensor, parameter in zip(tensors, parameters, strict=True):
        np.testing.assert_allclose(parameter.grad, tensor.grad.numpy(), rtol=1e-14, atol=0)


def test_clip_grad_value_equals_torchs() -> None:
    torch = pytest.importorskip("torch")
    parameters = parameters_with_grads(scale=2.0)
    tensors = [torch.zeros(p.shape, dtype=torch.float64, requires_grad=True) for p in parameters]
    for tensor, parameter in zip(tensors, parameters, strict=True):
        tensor.grad = torch.from_numpy(parameter.grad.copy())
    torch.nn.utils.clip_grad_value_(tensors, 0.7)
    nl.clip_grad_value(parameters, 0.7)
    for tensor, parameter in zip(tensors, parameters, strict=True):
        np.testing.assert_array_equal(parameter.grad, tensor.grad.numpy())


def test_fit_clips_before_every_step_as_the_loop_written_out() -> None:
    X, Y = nl.datasets.two_moons(24, rng=0)
    model = nl.two_layer_network(2, 4, rng=0)
    reference = nl.two_layer_network(2, 4, rng=0)
    loss = nl.MSELoss()
    nl.fit(model, loss, SGD(model.parameters(), lr=5.0), X, Y, epochs=2, batch_size=8,
           shuffle=False, clip_grad_norm=0.01, progress=False)  # fmt: skip
    optimizer = SGD(reference.parameters(), lr=5.0)
    norms = []
    for _ in range(2):
        for begin in range(0, 24, 8):
            reference.zero_grad()
            loss(reference(X[begin : begin + 8]), Y[begin : begin + 8])
            reference.backward(loss.backward())
            norms.append(nl.clip_grad_norm(reference.parameters(), 0.01))
            optimizer.step()
    assert min(norms) > 0.01  # the clipping did something at every step
    for a, b in zip(model.parameters(), reference.parameters(), strict=True):
        np.testing.assert_array_equal(a.data, b.data)


def test_fit_refuses_a_bad_clip_grad_norm() -> None:
    X, Y = nl.datasets.two_moons(8, rng=0)
    model = nl.two_layer_network(2, 4, rng=0)
    with pytest.raises(
        ValueError, match=r"^fit: clip_grad_norm must be None or a finite number > 0, got 0$"
    ):
        nl.fit(
            model, nl.MSELoss(), SGD(model.parameters(), lr=1.0), X, Y, epochs=1, clip_grad_norm=0
        )
