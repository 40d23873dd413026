"""nnlite.testing.torch.check_function: a correct fused sigmoid-MSE Function passes, a broken one
fails with a clear report, and every check the adapter runs catches a Function broken for it.

Skipped without torch (``pip install ".[torch]"``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

torch: Any = pytest.importorskip("torch")
Function: Any = torch.autograd.Function

from nnlite.testing import strategies as nst  # noqa: E402
from nnlite.testing.torch import _tensor, check_function  # noqa: E402

RNG = np.random.default_rng(0)
Z = RNG.normal(size=(4, 3))
T = RNG.uniform(size=(4, 3))
X = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])
W = np.array([0.3, -0.2, 0.7])


class SigmoidMSE(Function):  # type: ignore[misc]
    """L = 1/(2N) sum (sigmoid(z) - t)^2, fused: dL/dz = (y - t) y (1 - y) / N."""

    @staticmethod
    def forward(ctx: Any, logits: Any, target: Any) -> Any:
        y = torch.sigmoid(logits)
        ctx.save_for_backward(y, target)
        return ((y - target) ** 2).sum() / (2 * logits.shape[0])

    @staticmethod
    def backward(ctx, grad_output):
        y, target = ctx.saved_tensors
        return grad_output * (y - target) * y * (1 - y) / y.shape[0], None


class SigmoidMSEWithoutN(SigmoidMSE):
    @staticmethod
    def backward(ctx, grad_output):
        y, target = ctx.saved_tensors
        return grad_output * (y - target) * y * (1 - y), None  # forgot the 1/N


class Scale(Function):  # type: ignore[misc]
    """y = x * w, one weight per feature."""

    @staticmethod
    def forward(ctx, x, w):
        ctx.save_for_backward(x, w)
        return x * w

    @staticmethod
    def backward(ctx, grad_output):
        x, w = ctx.saved_tensors
        return grad_output * w, (grad_output * x).sum(0)


def scale_with(backward: Any = None, forward: Any = None) -> Any:
    """Scale with a broken forward or backward."""
    methods = {}
    if forward is not None:
        methods["forward"] = staticmethod(forward)
    if backward is not None:
        methods["backward"] = staticmethod(backward)
    return type("BrokenScale", (Scale,), methods)


def test_a_correct_fused_sigmoid_mse_passes() -> None:
    report = check_function(SigmoidMSE, torch.tensor(Z, requires_grad=True), torch.tensor(T))
    assert report is not None
    assert [t.name for t in report.tensors] == ["input"]  # the target is a constant
    assert str(report).startswith("gradient check of Function(SigmoidMSE): passed")


def test_a_broken_fused_sigmoid_mse_fails_with_a_clear_report() -> None:
    with pytest.raises(AssertionError) as failure:
        check_function(SigmoidMSEWithoutN, Z, T, constants=["target"])
    message = str(failure.value)
    assert message.startswith("check_gradients(Function(SigmoidMSEWithoutN)) failed:")
    assert "gradient of the input is wrong: 12 of 12 elements differ" in message
    assert "worst at index" in message
    assert "analytic" in message
    assert "numeric" in message
    assert "FAILED (12 elements)" in message


def test_inputs_are_named_by_forward_and_the_property_form_runs() -> None:
    report = check_function(Scale, X, W, independent_rows=True)
    assert report is not None
    assert [t.name for t in report.tensors] == ["input", "w"]
    assert check_function(Scale, nst.arrays((3, 3)), nst.arrays((3,)), max_examples=5) is None


def test_arrays_cross_into_torch_without_copies() -> None:
    array = np.ones((2, 3))
    assert _tensor(torch, array).data_ptr() == array.ctypes.data
    read_only = np.ones(3)
    read_only.flags.writeable = False
    assert _tensor(torch, read_only).data_ptr() != read_only.ctypes.data  # torch cannot share it


# --------------------------------------------------------------------------------------------------
# Every check the adapter runs catches a Function broken for it
# --------------------------------------------------------------------------------------------------


def test_gradients_catches_a_relative_error_of_1e_6() -> None:
    def backward(ctx, grad_output):
        x, w = ctx.saved_tensors
        return grad_output * w, (grad_output * x).sum(0) * (1 + 1e-6)

    with pytest.raises(AssertionError, match=r"gradient of the parameter 'w' is wrong"):
        check_function(scale_with(backward), X, W, checks="gradients")


def test_finite_catches_a_nan_gradient() -> None:
    def backward(ctx, grad_output):
        x, w = ctx.saved_tensors
        return grad_output * w / (w - w), (grad_output * x).sum(0)

    with pytest.raises(
        AssertionError, match=r"^check_finite\(.*gradient of the input is not finite"
    ):
        check_function(scale_with(backward), X, W, checks="finite")


def test_deterministic_catches_a_random_forward() -> None:
    def forward(ctx, x, w):
        ctx.save_for_backward(x, w)
        return x * w + 1e-3 * torch.rand(x.shape, dtype=x.dtype)

    with pytest.raises(AssertionError, match="forward is not deterministic"):
        check_function(scale_with(forward=forward), X, W, checks="deterministic")


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("forward input", "forward modified its input x in place"),
        ("forward parameter", "modified parameter 'w' in place"),
        ("grad_output", "backward modified its argument grad_y in place"),
        ("saved input", "the vjp modified its input x in place"),
    ],
)
def test_no_mutation_catches_in_place_changes(where: str, message: str) -> None:
    def forward(ctx, x, w):
        if where == "forward input":
            x.clamp_(-1.0, 1.0)  # "for safety"
        if where == "forward parameter":
            w.mul_(1.0)
            w.add_(1e-3)
        ctx.save_for_backward(x, w)
        return x * w

    def backward(ctx, grad_output):
        x, w = ctx.saved_tensors
        if where == "grad_output":
            return grad_output.mul_(w), (x * grad_output / w).sum(0)
        if where == "saved input":
            return grad_output * w, x.mul_(grad_output).sum(0)
        return grad_output * w, (grad_output * x).sum(0)

    with pytest.raises(AssertionError, match=rf"^check_no_mutation\(.*{message}"):
        check_function(scale_with(backward, forward), X, W, checks="no_mutation")


def test_no_mutation_catches_a_scalar_grad_output_and_a_target_changed_in_place() -> None:
    class DoublesGradOutput(SigmoidMSE):
        @staticmethod
        def backward(ctx, grad_output):
            y, target = ctx.saved_tensors
            grad_output.mul_(2)
            return grad_output / 2 * (y - target) * y * (1 - y) / y.shape[0], None

    with pytest.raises(AssertionError, match=r"grad_y in place: at index \(\)"):
        check_function(DoublesGradOutput, Z, T, constants=[1], checks="no_mutation")

    class ClampsTarget(SigmoidMSE):
        @staticmethod
        def forward(ctx, logits, target):
            target.clamp_(0.1, 0.9)
            return SigmoidMSE.forward(ctx, logits, target)

    with pytest.raises(AssertionError, match=r"modified constant 'target' in place"):
        check_function(ClampsTarget, Z, T, constants=[1], checks="no_mutation")


def test_dtypes_catches_what_autograd_would_hide() -> None:
    def float32_backward(ctx, grad_output):  # torch.zeros: float32, and += keeps it float32
        x, w = ctx.saved_tensors
        grad_x = torch.zeros(x.shape)
        grad_x += grad_output * w
        return grad_x, (grad_output * x).sum(0)

    with pytest.raises(AssertionError, match=r"float64 input and parameters, dL/dx is float32"):
        check_function(scale_with(float32_backward), X, W, checks="dtypes")

    def upcast(ctx, x, w):
        ctx.save_for_backward(x, w)
        return x.double() * w.double()

    with pytest.raises(AssertionError, match=r"float32 input and parameters, forward's output"):
        check_function(scale_with(forward=upcast), X, W, checks="dtypes")


def test_row_independence_when_claimed() -> None:
    def forward(ctx, x, w):
        ctx.save_for_backward(x, w)
        return (x - x.mean(0)) * w

    def backward(ctx, grad_output):
        x, w = ctx.saved_tensors
        g = grad_output * w
        return g - g.mean(0), (grad_output * (x - x.mean(0))).sum(0)

    check_function(scale_with(backward, forward), X, W)  # correct; rows not claimed
    with pytest.raises(AssertionError, match=r"^check_row_independent\("):
        check_function(scale_with(backward, forward), X, W, independent_rows=True)


def test_directional_catches_every_tied_maximum_getting_the_full_gradient() -> None:
    class RowMax(Function):  # type: ignore[misc]
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x.amax(dim=1)

        @staticmethod
        def backward(ctx, grad_output):
            (x,) = ctx.saved_tensors
            tied = (x == x.amax(dim=1, keepdim=True)).to(x.dtype)
            return grad_output[:, None] * tied

    ties = np.array([[1.0, 3.0, 3.0], [2.0, -1.0, 2.0]])
    with pytest.raises(AssertionError, match=r"^check_directional\(Function\(RowMax\)\)"):
        check_function(RowMax, ties)


# --------------------------------------------------------------------------------------------------
# The boundary
# --------------------------------------------------------------------------------------------------


def test_a_refusal_by_torch_is_a_failure_that_says_so() -> None:
    def backward(ctx, grad_output):
        _, w = ctx.saved_tensors
        return (grad_output * w,)  # one gradient for two inputs

    with pytest.raises(AssertionError, match="BrokenScale: torch raised an error in backward"):
        check_function(scale_with(backward), X, W)


def test_bad_subjects_and_inputs_are_clear_errors() -> None:
    with pytest.raises(TypeError, match=r"expects a torch\.autograd\.Function subclass"):
        check_function(Scale.apply, X, W)
    with pytest.raises(ValueError, match="no input is differentiated"):
        check_function(Scale, torch.tensor(X), torch.tensor(W))

    class TwoOutputs(Scale):
        @staticmethod
        def forward(ctx, x, w):
            return x * w, x

    with pytest.raises(TypeError, match="returns one tensor; it returned a tuple"):
        check_function(TwoOutputs, X, W)

    def wrong_shape(ctx, grad_output):
        x, w = ctx.saved_tensors
        return grad_output * w, (grad_output * x).sum(1)  # (2,) for w of shape (3,)

    with pytest.raises(AssertionError, match="torch raised an error in backward"):
        check_function(scale_with(wrong_shape), X, W, checks="gradients")


def test_a_gradient_autograd_sums_to_the_input_s_shape_is_accepted_as_torch_accepts_it() -> None:
    def broadcast(ctx, grad_output):
        x, w = ctx.saved_tensors
        return grad_output * w, grad_output * x  # (2, 3) for w of shape (3,): autograd sums it

    check_function(scale_with(broadcast), X, W)
