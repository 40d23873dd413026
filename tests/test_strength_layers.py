"""Linear's parameter gradients, pinned where mutation testing found them unpinned.

Gradients accumulate (``+=``, never ``=``), through ``backward`` and through
``backward_parameters`` alike, and the products are taken in the wider dtype of their operands: a
float32 input to a float64 layer must not round the float64 upstream gradient to float32. The
reference is einsum in float64, written from the formulas dL/dW[k, l] = sum_i x[i, k] g[i, l] and
dL/db[l] = sum_i g[i, l].
"""

from __future__ import annotations

import numpy as np
import pytest

import nnlite as nl


def reference(x: nl.FloatArray, *grads: nl.FloatArray) -> tuple[nl.FloatArray, nl.FloatArray]:
    """(dL/dW, dL/db) summed over the upstream gradients ``grads``, in float64."""
    x64 = x.astype(np.float64)
    weight = sum(np.einsum("ik,il->kl", x64, g.astype(np.float64)) for g in grads)
    bias = sum(g.astype(np.float64).sum(axis=0) for g in grads)
    return weight, bias


def data(seed: int) -> tuple[nl.FloatArray, nl.FloatArray, nl.FloatArray]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((5, 3)), rng.standard_normal((5, 2)), rng.standard_normal((5, 2))


@pytest.mark.parametrize("method", ["backward", "backward_parameters"])
def test_gradients_add_to_what_the_parameters_hold(method: str) -> None:
    """Two calls after one zero_grad hold the sum of both gradients, on top of what was there."""
    x, g1, g2 = data(0)
    layer = nl.Linear(3, 2, rng=0)
    layer(x)
    layer.zero_grad()
    getattr(layer, method)(g1)
    getattr(layer, method)(g2)
    weight, bias = reference(x, g1, g2)
    np.testing.assert_allclose(layer.weight.grad, weight, rtol=1e-12)
    assert layer.bias is not None
    np.testing.assert_allclose(layer.bias.grad, bias, rtol=1e-12)


def test_a_gradient_is_added_to_a_nonzero_one() -> None:
    x, g1, _ = data(1)
    layer = nl.Linear(3, 2, rng=0)
    layer(x)
    layer.weight.grad[...] = 1.0
    assert layer.bias is not None
    layer.bias.grad[...] = -2.0
    layer.backward_parameters(g1)
    weight, bias = reference(x, g1)
    np.testing.assert_allclose(layer.weight.grad, weight + 1.0, rtol=1e-12)
    np.testing.assert_allclose(layer.bias.grad, bias - 2.0, rtol=1e-12)


@pytest.mark.parametrize(
    ("x_dtype", "grad_dtype"), [(np.float32, np.float64), (np.float64, np.float32)]
)
def test_a_float64_layer_takes_mixed_products_in_float64(
    x_dtype: type[np.floating], grad_dtype: type[np.floating]
) -> None:
    """The float32 operand is widened, not the float64 one rounded: agreement to 1e-12, where
    float32 rounding would be off by about 1e-8."""
    x, g, _ = data(2)
    x, g = x.astype(x_dtype), g.astype(grad_dtype)
    layer = nl.Linear(3, 2, rng=0)
    layer(x)
    layer.zero_grad()
    grad_x = layer.backward(g)
    weight, bias = reference(x, g)
    np.testing.assert_allclose(layer.weight.grad, weight, rtol=1e-12)
    assert layer.bias is not None
    np.testing.assert_allclose(layer.bias.grad, bias, rtol=1e-6)  # a sum of g alone: g's dtype
    expected_x = np.einsum("il,kl->ik", g.astype(np.float64), layer.weight.data)
    assert grad_x.dtype == np.float64
    np.testing.assert_allclose(grad_x, expected_x, rtol=1e-12)
