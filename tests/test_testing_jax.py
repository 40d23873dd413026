"""nnlite.testing.jax.check_custom_vjp: a correct custom_vjp rule passes, and every check the
adapter runs catches a rule broken for it.

Skipped without jax (``pip install ".[jax]"``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

jax: Any = pytest.importorskip("jax")
jnp: Any = pytest.importorskip("jax.numpy")

from nnlite.testing import strategies as nst  # noqa: E402
from nnlite.testing.jax import check_custom_vjp  # noqa: E402

RNG = np.random.default_rng(0)
Z = RNG.normal(size=(4, 3))
T = RNG.uniform(size=(4, 3))
X = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])
W = np.array([0.3, -0.2, 0.7])


def custom(primal: Any, backward: Any) -> Any:
    """``primal`` with the custom rule ``backward(saved inputs, g)``."""
    function = jax.custom_vjp(primal)
    function.defvjp(lambda *inputs: (primal(*inputs), inputs), backward)
    return function


def scale(x: Any, w: Any) -> Any:
    return x * w


def scale_backward(saved: Any, g: Any) -> Any:
    x, w = saved
    return g * w, jnp.sum(g * x, axis=0)


def sigmoid_mse(z: Any, t: Any) -> Any:
    return jnp.sum((jax.nn.sigmoid(z) - t) ** 2) / (2 * z.shape[0])


def sigmoid_mse_backward(saved: Any, g: Any) -> Any:
    z, t = saved
    y = jax.nn.sigmoid(z)
    return g * (y - t) * y * (1 - y) / z.shape[0], None


def test_a_correct_rule_passes_and_the_property_form_runs() -> None:
    report = check_custom_vjp(custom(sigmoid_mse, sigmoid_mse_backward), Z, T, constants=["t"])
    assert report is not None
    assert [t.name for t in report.tensors] == ["input"]
    scaled = custom(scale, scale_backward)
    report = check_custom_vjp(scaled, X, W, independent_rows=True)
    assert report is not None
    assert [t.name for t in report.tensors] == ["input", "w"]
    check_custom_vjp(scaled, nst.arrays((2, 3)), nst.arrays((3,)), max_examples=5)


def test_gradients_catches_a_relative_error_of_1e_6() -> None:
    def off(saved: Any, g: Any) -> Any:
        grad_x, grad_w = scale_backward(saved, g)
        return grad_x * (1 + 1e-6), grad_w

    with pytest.raises(AssertionError, match=r"^check_gradients\(Function\(scale\)\) failed"):
        check_custom_vjp(custom(scale, off), X, W, checks="gradients")


def test_gradients_catches_a_bug_of_one_sign_of_a_scalar_upstream_gradient() -> None:
    def abs_upstream(saved: Any, g: Any) -> Any:
        return sigmoid_mse_backward(saved, jnp.abs(g))

    with pytest.raises(AssertionError, match="gradient of the input is wrong"):
        check_custom_vjp(custom(sigmoid_mse, abs_upstream), Z, T, constants=[1])


def test_finite_catches_a_nan_gradient() -> None:
    def nan(saved: Any, g: Any) -> Any:
        grad_x, grad_w = scale_backward(saved, g)
        return grad_x * jnp.nan, grad_w

    with pytest.raises(AssertionError, match=r"^check_finite\(.*input is not finite"):
        check_custom_vjp(custom(scale, nan), X, W, checks="finite")


def test_deterministic_catches_python_randomness_without_jit() -> None:
    noise = np.random.default_rng(0)

    def noisy(x: Any, w: Any) -> Any:
        return x * w + 1e-3 * noise.standard_normal()

    with pytest.raises(AssertionError, match="forward is not deterministic"):
        check_custom_vjp(custom(noisy, scale_backward), X, W, checks="deterministic", jit=False)


def test_dtypes_catches_a_float64_gradient_of_a_float32_input() -> None:
    def zeros_of_the_default_dtype(saved: Any, g: Any) -> Any:  # float64, with 64-bit types on
        x, w = saved
        return jnp.zeros(x.shape) + g * w, jnp.sum(g * x, axis=0)

    with pytest.raises(AssertionError, match=r"float32 input and parameters, dL/dx is float64"):
        check_custom_vjp(custom(scale, zeros_of_the_default_dtype), X, W, checks="dtypes")


def test_row_independence_when_claimed() -> None:
    def centered(x: Any) -> Any:
        return x - jnp.mean(x, axis=0)

    def centered_backward(saved: Any, g: Any) -> Any:
        return (g - jnp.mean(g, axis=0),)

    check_custom_vjp(custom(centered, centered_backward), X)
    with pytest.raises(AssertionError, match=r"^check_row_independent\("):
        check_custom_vjp(custom(centered, centered_backward), X, independent_rows=True)


def test_directional_catches_every_tied_maximum_getting_the_full_gradient() -> None:
    def row_max(x: Any) -> Any:
        return jnp.max(x, axis=1)

    def every_tie(saved: Any, g: Any) -> Any:
        (x,) = saved
        return (g[:, None] * (x == jnp.max(x, axis=1, keepdims=True)).astype(x.dtype),)

    ties = np.array([[1.0, 3.0, 3.0], [2.0, -1.0, 2.0]])
    with pytest.raises(AssertionError, match=r"^check_directional\(Function\(row_max\)\)"):
        check_custom_vjp(custom(row_max, every_tie), ties)


def test_no_mutation_does_not_apply_and_says_why() -> None:
    with pytest.raises(ValueError, match="a JAX array cannot be changed in place"):
        check_custom_vjp(custom(scale, scale_backward), X, W, checks="no_mutation")
