"""The numeric checks: gradients, finite values, determinism, dtypes, directional derivatives."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from nnlite.layer import Layer
from nnlite.testing._compare import (
    allowed_difference,
    at,
    fail,
    largest_magnitude,
    rounding_spread,
    worst_mismatch,
)
from nnlite.testing._estimate import directional_estimate
from nnlite.testing._pinning import Pinned, replica, tensors_of
from nnlite.testing.checks._run import Run, start
from nnlite.testing.gradcheck import check_gradients as _check_gradients
from nnlite.testing.gradcheck import require_deterministic, require_finite
from nnlite.typing import FloatArray, RngLike


def check_gradients(
    layer: Layer, x: ArrayLike, *, grad_y: ArrayLike | None = None, rng: RngLike = 0
) -> None:
    """dL/dx and dL/d(every parameter) against finite differences, at the layer's parameters.

    :func:`nnlite.testing.check_gradients` without its report. ``check_layer`` also redraws the
    parameters, so the gradients are checked away from the initial values too.
    """
    _check_gradients(layer, x, grad_y=grad_y, rng=rng)


def check_finite(
    layer: Layer, x: ArrayLike, *, grad_y: ArrayLike | None = None, rng: RngLike = 0
) -> None:
    """At a finite x: the output, dL/dx and every parameter's gradient are finite."""
    run = start("finite", layer, x, grad_y, rng)
    subject = f"check_finite({run.subject}) failed: {run.subject}"
    require_finite(run.y, subject, "forward's output")
    require_finite(run.backward(), subject, "backward's gradient of the input")
    for name, grad in run.grads().items():
        require_finite(grad, subject, f"backward's gradient of the parameter '{name}'")


def check_deterministic(
    layer: Layer, x: ArrayLike, *, grad_y: ArrayLike | None = None, rng: RngLike = 0
) -> None:
    """Forward twice at one point agrees (the randomness of a ``stochastic`` layer held fixed)."""
    run = start("deterministic", layer, x, grad_y, rng)
    require_deterministic(run.pinned, run.x, run.y, f"check_deterministic({run.subject}) failed")


def check_dtypes(
    layer: Layer, x: ArrayLike, *, grad_y: ArrayLike | None = None, rng: RngLike = 0
) -> None:
    """float32 input and parameters give float32 output, dL/dx and parameter grads, and float64
    gives float64; the float32 results agree with float64 ones within float32 rounding."""
    base = start("dtypes", layer, x, grad_y, rng)
    for dtype in (np.float64, np.float32):
        work = replica(base.layer, dtype)
        # The float64 reference of the float32 run, copied before either runs (state included).
        reference = replica(work, np.float64) if dtype == np.float32 else None
        values: FloatArray = base.x.astype(dtype)
        upstream: FloatArray = base.grad_y.astype(dtype)
        y = np.array(Pinned(work).forward(values), copy=True)
        grad_x = np.array(work.backward(upstream), copy=True)
        outputs = [("forward's output", y), ("dL/dx", grad_x)] + [
            (f"parameter '{name}'.grad", p.grad.copy()) for name, p in work.named_parameters()
        ]
        stored = [(f"'{name}'.data", t.data) for name, t in tensors_of(work)]
        for what, array in outputs + stored:
            if array.dtype != dtype:
                raise fail(
                    "dtypes",
                    base.subject,
                    f"with {np.dtype(dtype)} input and parameters, {what} is {array.dtype}: a "
                    "layer keeps the dtype it is given (look for float64 constants, and arrays "
                    "made with np.zeros(shape) or np.ones(shape) without dtype=)",
                )
        if reference is not None:
            _compare_with_float64(base, reference, values, upstream, outputs)


def _compare_with_float64(
    base: Run,
    reference: Layer,
    x32: FloatArray,
    grad_y32: FloatArray,
    got: list[tuple[str, FloatArray]],
) -> None:
    """The float32 results against the same computation in float64 (``reference``, a float64
    copy of the float32 layer) from the same float32 values, allowing the measured float32
    rounding (see :mod:`nnlite.testing._compare`)."""
    tensors = [t for _, t in tensors_of(reference)]
    pinned = Pinned(reference)

    def compute(inputs: Sequence[FloatArray]) -> list[FloatArray]:
        x, grad_y, *values = inputs
        for tensor, value in zip(tensors, values, strict=True):
            np.copyto(tensor.data, value)
        reference.zero_grad()
        y = np.array(pinned.forward(x), copy=True)
        grad_x = np.array(reference.backward(grad_y), copy=True)
        return [y, grad_x] + [p.grad.copy() for _, p in reference.named_parameters()]

    inputs: list[FloatArray] = [x32.astype(np.float64), grad_y32.astype(np.float64)]
    inputs += [t.data.copy() for t in tensors]
    eps32 = float(np.finfo(np.float32).eps)
    expected = compute(inputs)
    spread = rounding_spread(compute, inputs, eps32, base.rng)
    scale = largest_magnitude(inputs + expected)
    for (name, value), exact, moved in zip(got, expected, spread, strict=True):
        index = worst_mismatch(value, exact, allowed_difference(exact, moved, eps32, scale))
        if index is not None:
            raise fail(
                "dtypes",
                base.subject,
                f"in float32, {name} is not the float64 result within float32 rounding: at "
                f"index {index} float32 gives {at(value, index)}, float64 {at(exact, index)}",
            )


DIRECTIONS = 3
"""How many random directions :func:`check_directional` tries."""


def check_directional(
    layer: Layer, x: ArrayLike, *, grad_y: ArrayLike | None = None, rng: RngLike = 0
) -> None:
    """Along random directions v of the input and parameters jointly, the directional derivative
    u . J v from finite differences equals backward's ``grad_x . v_x + sum grad_p . v_p`` with
    ``grad_y = u``.

    Per-element differences move one value at a time. At a tie (two equal maxima) each one-sided
    slope of each element alone accepts a backward that gives every tied maximum the full
    gradient; only a joint move shows that it gives twice the slope. So the directions keep ties:
    equal elements move by the same amount, in one tensor or across the input and parameters
    (max(x + tw, x + tw) and min(a + tw, b + tw) at a = b are smooth in t), and other elements
    independently. A direction along which the function has a kink at the
    point (the one-sided directional differences disagree) gives no verdict and is skipped: where
    several kinks meet, a correct subgradient need not lie between the one-sided slopes.
    """
    run = start("directional", layer, x, grad_y, rng, dtype=np.float64)
    parameters = list(run.layer.named_parameters())
    grad_x = run.backward()
    analytic = [grad_x] + [p.grad.copy() for _, p in parameters]
    bases = [run.x] + [p.data.copy() for _, p in parameters]
    targets = [run.x] + [p.data for _, p in parameters]
    work_x = run.x.copy()
    targets[0] = work_x
    condition = sum(
        float(np.sum(np.abs(b) * np.abs(g))) for b, g in zip(bases, analytic, strict=True)
    )
    for trial in range(DIRECTIONS):
        directions = _tie_keeping_directions(bases, run.rng)
        slope = sum(float(np.sum(g * v)) for g, v in zip(analytic, directions, strict=True))
        magnitude = sum(
            float(np.sum(np.abs(g * v))) for g, v in zip(analytic, directions, strict=True)
        )

        def evaluate(t: float, directions: list[FloatArray] = directions) -> FloatArray:
            for target, base, direction in zip(targets, bases, directions, strict=True):
                np.copyto(target, base + t * direction, casting="unsafe")
            return np.array(run.pinned.forward(work_x), copy=True)

        estimate = directional_estimate(evaluate, run.grad_y, condition, magnitude)
        for target, base in zip(targets, bases, strict=True):
            np.copyto(target, base)
        if estimate.smooth and not estimate.accepts(slope):
            raise fail(
                "directional",
                run.subject,
                f"along random direction {trial} of the input and parameters together, backward "
                f"gives the slope {slope:.10g} but finite differences give {estimate.value:.10g} "
                f"(allowed error {estimate.tolerance:.3g}): a gradient that is right element by "
                "element but wrong for a joint move, e.g. every tied maximum getting the full "
                "gradient",
            )


def _tie_keeping_directions(
    tensors: Sequence[FloatArray], rng: np.random.Generator
) -> list[FloatArray]:
    """A random normal direction for each tensor, in which equal elements, of one tensor or of
    several, move by the same amount."""
    flat = np.concatenate([np.ravel(t) for t in tensors])
    _, group = np.unique(flat, return_inverse=True)
    moves = rng.standard_normal(int(group.max(initial=-1)) + 1)[group.ravel()]
    ends = np.cumsum([np.size(t) for t in tensors])[:-1]
    return [
        part.reshape(np.shape(t)) for part, t in zip(np.split(moves, ends), tensors, strict=True)
    ]
