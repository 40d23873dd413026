"""The loss conformance suite: named checks ``check_loss_<name>(loss, prediction, target)``.

A loss is a scalar L(prediction, target) averaged over the N rows, with ``backward()`` returning
dL/dprediction. The checks run on a copy of the loss and leave ``prediction`` and ``target`` as
they were; each raises an ``AssertionError`` starting ``check_loss_<name>(<loss>) failed:``.
:func:`nnlite.testing.check_loss` runs them on drawn examples; :data:`LOSS_CHECKS` lists them.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from nnlite._validation import as_float_array, label
from nnlite.losses import Loss
from nnlite.testing._compare import allowed_difference, at, fail, worst_mismatch
from nnlite.testing.gradcheck import check_gradients, require_finite, require_finite_input
from nnlite.typing import FloatArray


@dataclass
class _LossRun:
    subject: str
    loss: Loss
    prediction: FloatArray
    target: FloatArray

    def value_and_gradient(
        self, prediction: FloatArray | None = None, target: FloatArray | None = None
    ) -> tuple[float, FloatArray]:
        p = self.prediction if prediction is None else prediction
        t = self.target if target is None else target
        value = self.loss(p.copy(), t.copy())
        return value, np.array(self.loss.backward(), copy=True)


def _start(check: str, loss: Loss, prediction: ArrayLike, target: ArrayLike) -> _LossRun:
    if not isinstance(loss, Loss):
        raise TypeError(f"check_loss_{check} expects a Loss, got a {type(loss).__name__}")
    subject = label(loss)
    p = np.array(as_float_array(prediction, loss, "prediction"), copy=True)
    t = np.array(as_float_array(target, loss, "target"), dtype=p.dtype, copy=True)
    require_finite_input(p, f"check_loss_{check}({subject})", "the prediction")
    require_finite_input(t, f"check_loss_{check}({subject})", "the target")
    return _LossRun(subject, copy.deepcopy(loss), p, t)


def check_loss_gradients(loss: Loss, prediction: ArrayLike, target: ArrayLike) -> None:
    """dL/dprediction against finite differences (:func:`nnlite.testing.check_gradients`)."""
    check_gradients(loss, prediction, target)


def check_loss_finite(loss: Loss, prediction: ArrayLike, target: ArrayLike) -> None:
    """The loss and its gradient are finite at a finite prediction and target."""
    run = _start("finite", loss, prediction, target)
    value, gradient = run.value_and_gradient()
    subject = f"check_loss_finite({run.subject}) failed: {run.subject}"
    require_finite(np.array(value), subject, "the loss")
    require_finite(gradient, subject, "backward's gradient")


def check_loss_deterministic(loss: Loss, prediction: ArrayLike, target: ArrayLike) -> None:
    """Two calls at one point give the same loss and the same gradient."""
    run = _start("deterministic", loss, prediction, target)
    first, gradient = run.value_and_gradient()
    second, again = run.value_and_gradient()
    eps = float(np.finfo(run.prediction.dtype).eps)
    if (
        abs(second - first) > 8 * eps * abs(first)
        or worst_mismatch(again, gradient, allowed_difference(gradient, 0.0, eps)) is not None
    ):
        raise fail(
            "loss_deterministic",
            run.subject,
            f"two calls at the same prediction and target differ: loss {first!r} then {second!r}",
        )


def check_loss_no_mutation(loss: Loss, prediction: ArrayLike, target: ArrayLike) -> None:
    """forward leaves prediction and target unchanged; a returned gradient is not changed by a
    later call."""
    run = _start("no_mutation", loss, prediction, target)
    p, t = run.prediction.copy(), run.target.copy()
    run.loss(p, t)
    gradient = run.loss.backward()
    kept = np.array(gradient, copy=True)
    for what, now, was in (("the prediction", p, run.prediction), ("the target", t, run.target)):
        index = worst_mismatch(now, was, 0.0)
        if index is not None:
            raise fail("loss_no_mutation", run.subject, f"forward modified {what} at {index}")
    run.loss(run.prediction * 0.5 + 1, run.target.copy())
    run.loss.backward()
    index = worst_mismatch(gradient, kept, 0.0)
    if index is not None:
        raise fail(
            "loss_no_mutation",
            run.subject,
            f"the gradient one backward returned was changed by the next call, at {index}: "
            f"{at(kept, index)} became {at(gradient, index)}; return a new array",
        )


def check_loss_dtypes(loss: Loss, prediction: ArrayLike, target: ArrayLike) -> None:
    """The gradient has the prediction's dtype, float32 and float64; the loss is a float."""
    run = _start("dtypes", loss, prediction, target)
    for dtype in (np.float64, np.float32):
        value = run.loss(run.prediction.astype(dtype), run.target.astype(dtype))
        gradient = run.loss.backward()
        if not isinstance(value, float) or gradient.dtype != dtype:
            raise fail(
                "loss_dtypes",
                run.subject,
                f"with a {np.dtype(dtype)} prediction the loss is a {type(value).__name__} and "
                f"the gradient {gradient.dtype}: expected a float and {np.dtype(dtype)}",
            )


def check_loss_mean_over_rows(loss: Loss, prediction: ArrayLike, target: ArrayLike) -> None:
    """L of a batch is the mean of the rows' losses, and row i of its gradient is row i's gradient
    divided by N: every loss averages over the N rows, and nothing else couples them."""
    run = _start("mean_over_rows", loss, prediction, target)
    value, gradient = run.value_and_gradient()
    n = len(run.prediction)
    rows = [
        run.value_and_gradient(run.prediction[i : i + 1], run.target[i : i + 1]) for i in range(n)
    ]
    mean = float(np.mean([row_value for row_value, _ in rows]))
    eps = float(np.finfo(run.prediction.dtype).eps)
    scale = max(abs(v) for v, _ in rows) if rows else 0.0
    if abs(value - mean) > 16 * eps * (abs(mean) + scale) * n:
        raise fail(
            "loss_mean_over_rows",
            run.subject,
            f"the loss of the batch is {value!r}, the mean of its rows' losses {mean!r}: a loss "
            "averages over the N rows (divide the sum by N, once)",
        )
    by_rows = np.concatenate([row_gradient for _, row_gradient in rows]) / n
    index = worst_mismatch(gradient, by_rows, allowed_difference(by_rows, 0.0, eps))
    if index is not None:
        raise fail(
            "loss_mean_over_rows",
            run.subject,
            f"row {index[0]} of the gradient is not that row's own gradient divided by N = {n}: "
            f"{at(gradient, index)} against {at(by_rows, index)}",
        )


def check_loss_boundary(loss: Loss, prediction: ArrayLike, target: ArrayLike) -> None:
    """backward before forward raises a RuntimeError, a target of another shape a ValueError."""
    run = _start("boundary", loss, prediction, target)
    fresh = copy.deepcopy(run.loss)
    fresh._prediction_shape = None
    for what, call in (
        ("backward before forward", lambda: fresh.backward()),
        (
            "a target with one row more",
            lambda: run.loss(run.prediction, np.concatenate([run.target, run.target[:1]])),
        ),
    ):
        error = RuntimeError if what.startswith("backward") else ValueError
        try:
            call()
        except error:
            continue
        raise fail("loss_boundary", run.subject, f"{what} did not raise a {error.__name__}")


@dataclass(frozen=True)
class LossCheck:
    """One named check of the loss suite (see :class:`~nnlite.testing.checks.LayerCheck`)."""

    name: str
    function: Callable[[Loss, ArrayLike, ArrayLike], None]
    catches: str


LOSS_CHECKS: tuple[LossCheck, ...] = (
    LossCheck("gradients", check_loss_gradients, "dL/dprediction against finite differences"),
    LossCheck("finite", check_loss_finite, "a NaN or inf loss or gradient at finite values"),
    LossCheck("deterministic", check_loss_deterministic, "two calls that disagree"),
    LossCheck("no_mutation", check_loss_no_mutation, "changed arguments or a reused gradient"),
    LossCheck("dtypes", check_loss_dtypes, "a float32 prediction with a float64 gradient"),
    LossCheck("mean_over_rows", check_loss_mean_over_rows, "a loss that is not a mean over rows"),
    LossCheck("boundary", check_loss_boundary, "an override that bypasses the base checks"),
)
"""Every loss check, in the order :func:`~nnlite.testing.check_loss` runs them."""
