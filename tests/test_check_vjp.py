"""check_vjp: a correct function and its vjp pass, and every check that applies to a function
catches a deliberately broken one, with a message that names the check and the function.

Each broken vjp here is correct but for the one bug its test names; the independent reference of
every gradient is the finite-difference estimate, and the correct versions are closed forms.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import strategies as st

from nnlite.errors import ShapeError
from nnlite.testing import check_vjp
from nnlite.testing import strategies as nst
from nnlite.testing.function import FUNCTION_CHECKS
from nnlite.typing import FloatArray

X = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])
W = np.array([[0.3, -0.2], [0.1, 0.4], [-0.5, 0.6]])
TIES = np.array([[1.0, 3.0, 3.0], [2.0, -1.0, 2.0]])  # each row's maximum twice


def tanh_linear(x: FloatArray, w: FloatArray) -> FloatArray:
    """y = tanh(x W)."""
    return np.tanh(x @ w)


def tanh_linear_vjp(x: FloatArray, w: FloatArray, grad_y: FloatArray) -> tuple[FloatArray, ...]:
    grad_h = grad_y * (1 - np.tanh(x @ w) ** 2)
    return grad_h @ w.T, x.T @ grad_h


def sigmoid_mse(z: FloatArray, t: FloatArray) -> FloatArray:
    """L = 1/(2N) sum (sigmoid(z) - t)^2: a scalar."""
    s = 1 / (1 + np.exp(-z))
    return np.asarray(np.sum((s - t) ** 2) / (2 * len(z)))


def sigmoid_mse_vjp(z: FloatArray, t: FloatArray, grad_y: FloatArray) -> tuple[FloatArray, ...]:
    s = 1 / (1 + np.exp(-z))
    return (grad_y * (s - t) * s * (1 - s) / len(z),)


def row_max(x: FloatArray) -> FloatArray:
    return x.max(axis=1)


def first_max_vjp(
    x: FloatArray, grad_y: FloatArray
) -> tuple[FloatArray, ...]:  # a correct subgradient at ties: the first maximum takes it all
    grad_x = np.zeros_like(x)
    grad_x[np.arange(len(x)), x.argmax(axis=1)] = grad_y
    return (grad_x,)


def test_a_correct_function_passes_and_reports_each_tensor() -> None:
    report = check_vjp(tanh_linear, tanh_linear_vjp, X, params=[W], independent_rows=True)
    assert report is not None
    assert [t.name for t in report.tensors] == ["input", "w"]
    assert report.passed
    assert str(report).startswith("gradient check of Function(tanh_linear): passed")


def test_parameters_can_be_named_and_constants_are_not_differentiated() -> None:
    report = check_vjp(sigmoid_mse, sigmoid_mse_vjp, X, constants={"target": X * 0.1})
    assert report is not None
    assert [t.name for t in report.tensors] == ["input"]
    named = check_vjp(tanh_linear, tanh_linear_vjp, X, params={"weight": W})
    assert named is not None
    assert [t.name for t in named.tensors] == ["input", "weight"]


def test_the_property_form_draws_and_passes() -> None:
    result = check_vjp(
        tanh_linear,
        tanh_linear_vjp,
        nst.arrays(st.tuples(st.integers(1, 3), st.just(3))),
        params=[nst.arrays((3, 2), max_magnitude=2.0)],
        independent_rows=True,
        max_examples=10,
    )
    assert result is None


def test_the_property_form_finds_a_bug_only_some_points_show() -> None:
    def relu(x):
        return np.maximum(x, 0)

    def wrong_below_minus_five(x, grad_y):  # a branch that is wrong only for x < -5
        slope = np.where(x > 0, 1.0, np.where(x < -5, 0.1, 0.0))
        return (grad_y * slope.astype(x.dtype),)

    check_vjp(relu, wrong_below_minus_five, X)  # no element of X is below -5
    with pytest.raises(AssertionError, match=r"check_gradients\(Function\(relu\)\) failed"):
        check_vjp(relu, wrong_below_minus_five, nst.arrays((2, 3)), max_examples=100)


# --------------------------------------------------------------------------------------------------
# Every check that applies catches a broken vjp
# --------------------------------------------------------------------------------------------------


def test_gradients_catches_a_relative_error_of_1e_6() -> None:
    def off(x, w, grad_y):
        grad_x, grad_w = tanh_linear_vjp(x, w, grad_y)
        return grad_x, grad_w * (1 + 1e-6)

    with pytest.raises(AssertionError, match=r"gradient of the parameter 'w' is wrong"):
        check_vjp(tanh_linear, off, X, params=[W], checks="gradients")


def test_gradients_catches_a_bug_of_one_sign_of_a_scalar_upstream_gradient() -> None:
    """A scalar output has one upstream value: checked for it and for its negative."""

    def abs_upstream(z, t, grad_y):
        return sigmoid_mse_vjp(z, t, np.abs(grad_y))

    check_vjp(sigmoid_mse, abs_upstream, X, constants=[X * 0.1], grad_y=np.array(1.0))  # one sign
    for sign in (1.0, -1.0):  # whatever sign the random upstream gradient has
        with pytest.raises(AssertionError, match="gradient of the input is wrong"):
            check_vjp(sigmoid_mse, abs_upstream, sign * X, constants=[X * 0.1], rng=int(sign > 0))


def test_finite_catches_a_nan_scalar_output() -> None:
    def nan_loss(z, t):
        return sigmoid_mse(z, t) * np.nan

    with pytest.raises(
        AssertionError, match=r"^check_finite\(Function\(nan_loss\)\) failed: .*nan"
    ):
        check_vjp(nan_loss, sigmoid_mse_vjp, X, constants=[X], checks="finite")


def test_finite_catches_an_inf_gradient() -> None:
    def inf_vjp(x, w, grad_y):
        grad_x, grad_w = tanh_linear_vjp(x, w, grad_y)
        grad_w[1, 0] = np.inf
        return grad_x, grad_w

    with pytest.raises(AssertionError, match=r"gradient of the parameter 'w' is not finite"):
        check_vjp(tanh_linear, inf_vjp, X, params=[W], checks="finite")


def test_deterministic_catches_a_random_forward() -> None:
    noise = np.random.default_rng(0)

    def noisy(x, w):
        return tanh_linear(x, w) + 1e-3 * noise.standard_normal()

    with pytest.raises(AssertionError, match="forward is not deterministic"):
        check_vjp(noisy, tanh_linear_vjp, X, params=[W], checks="deterministic")


@pytest.mark.parametrize(
    ("bug", "message"),
    [
        ("forward_x", "forward modified its input x in place"),
        ("forward_x_idempotent", "forward modified its input x in place"),
        ("vjp_x", "the vjp modified its input x in place"),
        ("vjp_grad_y", "backward modified its argument grad_y in place"),
        ("vjp_w", "modified parameter 'w' in place"),
    ],
)
def test_no_mutation_catches_each_in_place_change(bug: str, message: str) -> None:
    def f(x, w):
        if bug == "forward_x":
            x *= 2
            return tanh_linear(x / 2, w)
        if bug == "forward_x_idempotent":  # a "stable" shift a second call repeats to no effect
            x -= x.max(axis=1, keepdims=True)
        return tanh_linear(x, w)

    def vjp(x, w, grad_y):
        if bug == "forward_x_idempotent":
            x = x - x.max(axis=1, keepdims=True)
        result = tanh_linear_vjp(x, w, grad_y)
        if bug == "vjp_x":
            x *= 0.5
        if bug == "vjp_grad_y":
            grad_y *= 0.5
        if bug == "vjp_w":
            w += 1e-3
        return result

    with pytest.raises(
        AssertionError, match=rf"^check_no_mutation\(Function\(f\)\) failed: .*{message}"
    ):
        check_vjp(f, vjp, X, params=[W], checks="no_mutation")


def test_no_mutation_catches_a_scalar_grad_y_and_a_constant_changed_in_place() -> None:
    def doubles_grad_y(z, t, grad_y):
        grad_y *= 2
        return sigmoid_mse_vjp(z, t, grad_y / 2)

    with pytest.raises(AssertionError, match=r"grad_y in place: at index \(\) it was"):
        check_vjp(sigmoid_mse, doubles_grad_y, X, constants=[X * 0.1], checks="no_mutation")

    def clips_target(z, t, grad_y):
        np.clip(t, 0.05, 0.95, out=t)
        return sigmoid_mse_vjp(z, t, grad_y)

    with pytest.raises(AssertionError, match=r"modified constant 't' in place"):
        check_vjp(sigmoid_mse, clips_target, X, constants=[X], checks="no_mutation")


def test_dtypes_catches_a_float64_output_and_a_float64_gradient_of_float32() -> None:
    def upcast(x, w):
        return tanh_linear(x.astype(np.float64), w)

    with pytest.raises(
        AssertionError, match=r"float32 input and parameters, forward's output is float64"
    ):
        check_vjp(upcast, tanh_linear_vjp, X, params=[W], checks="dtypes")

    def float64_grad(x, w, grad_y):
        grad_x, grad_w = tanh_linear_vjp(x, w, grad_y)
        return grad_x, grad_w.astype(np.float64)

    with pytest.raises(AssertionError, match=r"parameter 'w'\.grad is float64"):
        check_vjp(tanh_linear, float64_grad, X, params=[W], checks="dtypes")


def test_row_independence_is_checked_only_when_claimed() -> None:
    def center(x):
        return x - x.mean(axis=0)

    def center_vjp(x, grad_y):
        return (grad_y - grad_y.mean(axis=0),)

    check_vjp(center, center_vjp, X)  # rows mixed, not claimed otherwise: passes
    with pytest.raises(AssertionError, match=r"^check_row_independent\(Function\(center\)\)"):
        check_vjp(center, center_vjp, X, independent_rows=True)


def test_directional_catches_every_tied_maximum_getting_the_full_gradient() -> None:
    def every_tie(x, grad_y):
        return (grad_y[:, None] * (x == x.max(axis=1, keepdims=True)),)

    check_vjp(row_max, every_tie, TIES, checks="gradients")  # each element alone: passes
    with pytest.raises(AssertionError, match=r"^check_directional\(Function\(row_max\)\) failed"):
        check_vjp(row_max, every_tie, TIES)


def test_directional_catches_a_tie_between_two_arguments() -> None:
    b = np.array([[0.5, 0.0, 1.0], [0.0, 0.25, -0.75]])  # b == X at (0, 0), (1, 1), (1, 2)

    def both(a, b, grad_y):
        return grad_y * (a <= b), grad_y * (b <= a)

    with pytest.raises(AssertionError, match=r"check_directional\(Function\(minimum\)\)"):
        check_vjp(np.minimum, both, X, params={"b": b})

    def first(a, b, grad_y):
        return grad_y * (a <= b), grad_y * (b < a)

    check_vjp(np.minimum, first, X, params={"b": b})


@pytest.mark.parametrize(
    ("f", "vjp", "x"),
    [
        (lambda x: np.maximum(x, 0), lambda x, g: (g * (x > 0),), X * np.array([1, 0, 1])),
        (np.abs, lambda x, g: (g * np.sign(x + (x == 0)),), X * np.array([0, 1, 1])),
        (row_max, first_max_vjp, TIES),
        (lambda x: np.clip(x, -1, 1), lambda x, g: (g * ((x >= -1) & (x <= 1)),), X.clip(-1, 1)),
    ],
    ids=["relu-at-zero", "abs-at-zero", "max-at-ties", "clip-at-bounds"],
)
def test_no_false_alarm_at_kinks(f, vjp, x) -> None:
    check_vjp(f, vjp, x)


# --------------------------------------------------------------------------------------------------
# The boundary
# --------------------------------------------------------------------------------------------------


def test_a_vjp_with_the_wrong_number_or_shape_of_gradients_is_a_clear_error() -> None:
    with pytest.raises(ShapeError, match=r"the vjp must return 2 gradients \(x, w\), returned 1"):
        check_vjp(tanh_linear, lambda x, w, g: tanh_linear_vjp(x, w, g)[:1], X, params=[W])
    with pytest.raises(ShapeError, match=r"gradient of w must have its shape \(3, 2\), got \(2,\)"):
        check_vjp(
            tanh_linear, lambda x, w, g: (tanh_linear_vjp(x, w, g)[0], np.ones(2)), X, params=[W]
        )


def test_an_unknown_check_is_refused_and_the_function_checks_are_listed() -> None:
    with pytest.raises(ValueError, match="no function check named 'accumulates'"):
        check_vjp(tanh_linear, tanh_linear_vjp, X, params=[W], checks="accumulates")
    assert [check.name for check in FUNCTION_CHECKS] == [
        "gradients",
        "finite",
        "deterministic",
        "no_mutation",
        "dtypes",
        "row_independent",
        "directional",
    ]
