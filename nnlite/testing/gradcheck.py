"""check_gradients: compare a layer's (or loss's) backward with finite differences.

How the comparison works, for one scalar v (an input element or a parameter element):

1. The layer is reduced to a scalar f = sum(grad_y * y): its derivative df/dv is exactly what
   backward computes for v, given the upstream gradient grad_y (random, so a backward that ignores
   grad_y cannot pass).
2. f is evaluated at v - 2h, v - h, v + h, v + 2h, with h a power of two near eps^(1/4) (grown
   only for |v| beyond eps^(-1/4)).
   Differences of the outputs are taken before they are summed, so outputs that v does not touch
   cancel exactly and add no rounding noise.
3. From these: two central differences D(h) and D(2h), their Richardson extrapolation
   R = D(h) + (D(h) - D(2h)) / 3 (the numeric gradient reported), and second-order one-sided
   differences F (from v, v + h, v + 2h) and B (from v, v - h, v - 2h).
4. The tolerance is an estimate of the finite-difference error, not a fixed guess. The truncation
   error is measured, as |D(h) - D(2h)| (about three times D(h)'s own error, far above R's). The
   rounding error is 1 / h times the rounding error of f, estimated three ways and added: eps
   times the size of the outputs that were differenced; eps times the condition of f, the sum over
   every input and parameter element u of |u df/du| (f computed stably is the exact f of values
   moved by a relative eps, so this bounds it, including cancellations inside the layer that its
   outputs do not show); and a measured sample of the noise, the fourth difference of the five
   values of f (for a smooth f, h^4 times its fourth derivative: far below rounding). A safety
   factor of 4 covers the estimate being an estimate. backward's own value is rounded as well,
   sometimes from terms far larger than itself: it is allowed a relative sqrt(eps) (1.5e-8).
5. The analytic value passes when it lies within the tolerance of the interval spanned by R, F
   and B. For a smooth function the three agree to within the truncation error, so the interval adds
   nothing; next to a kink (ReLU or |x| at 0) F and B are the two one-sided slopes, and any value
   between them, the subgradient convention a layer picks, is accepted instead of failing by chance.

In float64 this tolerance is around 1e-8 of the gradient (less for linear layers), so a backward
that is off by a relative 1e-6 is caught, far below the 1e-3 relative tolerance PyTorch's gradcheck
uses by default. The exception is a gradient that finite differences cannot resolve at all: the
derivative of a saturated sigmoid (|x| > 10 or so) is smaller than the rounding noise of its output
near 1, and there the tolerance grows to say so instead of failing at random.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from typing import Any, overload

import numpy as np
from numpy.typing import ArrayLike

from nnlite._constraints import Integer, Optional
from nnlite._validation import as_float_array, label
from nnlite.errors import ShapeError
from nnlite.layer import Layer
from nnlite.losses import Loss
from nnlite.testing._compare import first_true
from nnlite.testing._estimate import (
    _condition,
    _counter,
    _estimate_tensor,
    _Estimates,
    _subset,
    _tolerance,
)
from nnlite.testing._pinning import Pinned, replica
from nnlite.testing._report import GradientReport, TensorCheck
from nnlite.typing import FloatArray, RngLike


@overload
def check_gradients(
    subject: Layer,
    x: ArrayLike,
    /,
    *,
    grad_y: ArrayLike | None = None,
    rng: RngLike = 0,
    max_elements: int | None = None,
    progress: Callable[[int, int], object] | None = None,
) -> GradientReport: ...
@overload
def check_gradients(
    subject: Loss, prediction: ArrayLike, target: ArrayLike, /
) -> GradientReport: ...
def check_gradients(
    subject: Layer | Loss,
    x: ArrayLike,
    target: ArrayLike | None = None,
    /,
    *,
    grad_y: ArrayLike | None = None,
    rng: RngLike = 0,
    max_elements: int | None = None,
    progress: Callable[[int, int], object] | None = None,
) -> GradientReport:
    """Check backward against central finite differences, for the input and every parameter.

    ``check_gradients(layer, x)`` checks dL/dx and dL/d(every parameter) of a layer (a Sequential
    too) with L = sum(grad_y * layer(x)); ``check_gradients(loss, prediction, target)`` checks a
    loss's dL/dprediction. Everything runs in float64 on copies: the layer's parameters, gradients
    and cached values are left exactly as they were. The tolerance of each element is derived from
    an estimate of its finite-difference error; see :mod:`nnlite.testing.gradcheck`.

    Args:
        subject: a Layer (or Sequential) or a Loss.
        x: the input batch (for a loss: the prediction).
        target: for a loss only, the target.
        grad_y: for a layer only, the upstream gradient dL/dy; random normal when not given.
        rng: seed or Generator for the random ``grad_y`` (default 0: the same check every run). An
            int seed selects a stream of nnlite's own, independent of ``np.random.default_rng``
            of the same seed, so data drawn with ``default_rng(0)`` is never also ``grad_y``.
        max_elements: for a layer only, the most elements to estimate, input and parameters
            together (each costs four forwards). None (the default): every element. Beyond it a
            random subset is checked, drawn from ``rng`` after ``grad_y``, each tensor getting
            its share by size and at least one element; the report says how many per tensor.
        progress: for a layer only, called as ``progress(done, total)`` after each element
            estimated, ``total`` being the number of elements to estimate.

    Returns:
        A :class:`GradientReport` (max abs and relative error per tensor) when every gradient
        agrees.

    Raises:
        AssertionError: some gradient disagrees; the message names the tensor (input, parameter name
            or prediction), the worst index, the analytic and numeric values, the error and the
            tolerance.
        TypeError: the arguments do not fit the subject.

    Examples:
        >>> from nnlite.testing import check_gradients
        >>> report = check_gradients(nl.Linear(3, 2, rng=0), np.ones((4, 3)))
        >>> [t.name for t in report.tensors]
        ['input', 'weight', 'bias']
    """
    if isinstance(subject, Loss):
        if target is None:
            raise TypeError("check_gradients(loss, prediction, target) needs the target")
        if grad_y is not None:
            raise TypeError(
                "check_gradients(loss, ...) takes no grad_y: a loss is the end of the chain"
            )
        if max_elements is not None or progress is not None:
            raise TypeError("check_gradients(loss, ...) takes no max_elements or progress")
        return _check_loss(subject, x, target)
    if isinstance(subject, Layer):
        if target is not None:
            raise TypeError("check_gradients(layer, x) takes no target; pass grad_y= to set dL/dy")
        max_elements = Optional(Integer(low=1)).check(
            "check_gradients", "max_elements", max_elements
        )
        return _check_layer(subject, x, grad_y, rng, max_elements, progress)
    raise TypeError(f"check_gradients expects a Layer or a Loss, got a {type(subject).__name__}")


def _check_layer(
    layer: Layer,
    x: ArrayLike,
    grad_y: ArrayLike | None,
    rng: RngLike,
    max_elements: int | None = None,
    progress: Callable[[int, int], object] | None = None,
) -> GradientReport:
    subject = label(layer)
    layer = replica(layer, np.float64)
    x64 = _float64_copy_of(as_float_array(x, layer, "input"))
    require_finite_input(x64, f"check_gradients({subject})", "x")
    for name, parameter in layer.named_parameters():
        require_finite_input(parameter.data, f"check_gradients({subject})", _tensor_words(name))
    pinned = Pinned(layer)
    y = np.array(pinned.forward(x64.copy()), copy=True)
    require_finite(y, subject, "forward's output")
    require_deterministic(pinned, x64, y, subject)
    weights: FloatArray
    generator = upstream_generator(rng)
    if grad_y is None:
        weights = generator.standard_normal(y.shape)
    else:
        weights = _float64_copy_of(as_float_array(grad_y, layer, "grad_y"))
        if weights.shape != y.shape:
            raise ShapeError(
                f"check_gradients: grad_y must have the output's shape {y.shape}, "
                f"got {weights.shape}"
            )
        require_finite_input(weights, f"check_gradients({subject})", "grad_y")

    layer.zero_grad()
    # Copies in, always: a layer that modifies its argument in place must not change the
    # checker's own arrays (check_no_mutation is the check that names that bug).
    analytic: dict[str, FloatArray] = {"input": _float64_copy_of(layer.backward(weights.copy()))}
    named = list(layer.named_parameters())
    analytic.update({name: parameter.grad.copy() for name, parameter in named})
    for name, values in analytic.items():
        require_finite(values, subject, f"backward's gradient of the {_tensor_words(name)}")

    def evaluate() -> FloatArray:
        # Copies: a layer may return its input itself (Identity), which is perturbed in place, or
        # modify it.
        return np.array(pinned.forward(x64.copy()), copy=True)

    y0 = evaluate()
    tensors = [("input", x64)] + [(name, parameter.data) for name, parameter in named]
    masks = _subset([values.shape for _, values in tensors], max_elements, generator)
    ticks = _counter(masks, [values.size for _, values in tensors], progress)
    estimates = [
        _estimate_tensor(values, evaluate, weights, y0, mask, ticks)
        for (_, values), mask in zip(tensors, masks, strict=True)
    ]
    for (name, _), estimate in zip(tensors, estimates, strict=True):
        require_finite(
            estimate.value,
            subject,
            f"the finite-difference estimate of the {_tensor_words(name)} (forward is not finite "
            "near the input)",
        )
    condition = sum(
        _condition(values, e, mask)
        for (_, values), e, mask in zip(tensors, estimates, masks, strict=True)
    )
    checks = tuple(
        _compare(name, analytic[name], e, condition, mask)
        for (name, _), e, mask in zip(tensors, estimates, masks, strict=True)
    )
    report = _finish(GradientReport(subject, checks))
    # backward is right; training's backward_parameters must then add the same gradients.
    pinned.forward(
        x64.copy()
    )  # the caches of the unperturbed input (the estimates ran forward on others)
    _check_backward_parameters(layer, subject, weights, named, analytic)
    return report


_UPSTREAM_ENTROPY = 0x6E6E_6C69_7465_2E67_7261_645F_79
"""The entropy of the stream default upstream gradients are drawn from: no seed a user is likely
to give their own data (0, 1, 42, ...) starts the same stream, so grad_y is never x itself."""


def upstream_generator(rng: RngLike) -> np.random.Generator:
    """The generator random upstream gradients come from.

    A Generator or SeedSequence is used as it is; an int seed k selects stream k of nnlite's own
    family (``SeedSequence(entropy, spawn_key=(k,))``), which is independent of
    ``np.random.default_rng(k)``: with ``rng=0`` and data drawn from ``default_rng(0)`` the two are
    still unrelated. None draws fresh entropy.
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.default_rng(
            np.random.SeedSequence(_UPSTREAM_ENTROPY, spawn_key=(int(rng),))
        )
    return np.random.default_rng(rng)


def require_finite_input(values: FloatArray, caller: str, what: str) -> None:
    """An input to a check must be finite: finite differences of inf or NaN mean nothing.

    Raises:
        ValueError: naming the array and the first non-finite element.
    """
    bad = ~np.isfinite(values)
    index = first_true(bad)
    if index is not None:
        count = np.count_nonzero(bad)
        raise ValueError(
            f"{caller}: {what} holds {values[index]} at index {index} ({count} non-finite "
            f"element{'s' if count > 1 else ''}): gradients can only be checked at finite values"
        )


def require_finite(values: FloatArray, subject: str, what: str) -> None:
    """A layer's output or gradient must be finite at a finite input: NaN and inf fail the check.

    Raises:
        AssertionError: naming the array, the first non-finite element and its value.
    """
    bad = ~np.isfinite(values)
    index = first_true(bad)
    if index is not None:
        raise AssertionError(
            f"{subject}: {what} is not finite: {values[index]} at index {index} "
            f"({np.count_nonzero(bad)} of {values.size} elements), at a finite input"
        )


def require_deterministic(pinned: Pinned, x: FloatArray, y: FloatArray, subject: str) -> None:
    """Forward twice at one point must agree, or finite differences measure noise, not slopes.

    The randomness of a layer that declares ``stochastic`` is held fixed by ``pinned``. Agreement
    is to a few rounding errors (a library may pick a summation order by memory alignment): each
    element to 8 eps of (|y| + max |y|), eps float64's.

    Raises:
        AssertionError: the two outputs differ; the message says how to declare a random layer.
    """
    again = np.array(pinned.forward(x.copy()), copy=True)
    if again.shape != y.shape:
        raise AssertionError(
            f"{subject}: forward is not deterministic: two calls at the same input returned shapes "
            f"{y.shape} and {again.shape}"
        )
    allowed = 8 * np.finfo(np.float64).eps * (np.abs(y) + np.max(np.abs(y), initial=0.0))
    difference = np.abs(again - y)
    if np.any(difference > allowed):
        index = tuple(int(i) for i in np.unravel_index(np.argmax(difference - allowed), y.shape))
        raise AssertionError(
            f"{subject}: forward is not deterministic: two calls at the same input differ, at "
            f"index {index}: {float(y[index])!r} then {float(again[index])!r}. A random layer "
            f"must declare stochastic = True on its class and draw every random number from "
            f"self.rng (a "
            f"numpy Generator), so that the checks can hold its randomness fixed; a layer with "
            f"state that changes at each call must declare stateful = True"
        )


def _tensor_words(name: str) -> str:
    return "input" if name == "input" else f"parameter '{name}'"


def _check_backward_parameters(
    layer: Layer,
    subject: str,
    weights: FloatArray,
    named: list[tuple[str, Any]],
    from_backward: dict[str, FloatArray],
) -> None:
    """Require ``backward_parameters`` to add the parameter gradients that ``backward`` adds.

    Training calls backward_parameters (through ``Sequential.backward_parameters``), so a layer that
    overrides it must agree with its checked backward. Both are the layer's own arithmetic, on the
    same cached forward: they may differ only by rounding, so the tolerance is sqrt(eps) of the
    values, not a finite-difference error.
    """
    layer.zero_grad()
    layer.backward_parameters(weights.copy())
    tolerance = math.sqrt(np.finfo(np.float64).eps)
    for name, parameter in named:
        expected, got = from_backward[name], parameter.grad
        largest = np.max(np.abs(expected), initial=0.0)  # initial: a parameter may be empty
        allowed = tolerance * (np.maximum(np.abs(expected), np.abs(got)) + largest)
        error = np.abs(got - expected)
        if not np.all(error <= allowed):
            index = np.unravel_index(np.argmax(error - allowed), error.shape)
            where = tuple(int(i) for i in index)
            raise AssertionError(
                f"check_gradients({subject}) failed: backward_parameters does not add the "
                f"gradient backward adds for parameter '{name}'\n"
                f"  worst at index {where}: backward {expected[index]:.10g}, "
                f"backward_parameters {got[index]:.10g}"
            )


def _check_loss(loss: Loss, prediction: ArrayLike, target: ArrayLike) -> GradientReport:
    subject = label(loss)
    loss = copy.deepcopy(loss)
    prediction64 = _float64_copy_of(as_float_array(prediction, loss, "prediction"))
    target64 = _float64_copy_of(as_float_array(target, loss, "target"))
    require_finite_input(prediction64, f"check_gradients({subject})", "the prediction")
    require_finite_input(target64, f"check_gradients({subject})", "the target")
    value = loss(prediction64.copy(), target64.copy())
    require_finite(np.array(value), subject, "the loss")
    analytic = _float64_copy_of(loss.backward())
    require_finite(analytic, subject, "backward's gradient of the prediction")

    def evaluate() -> FloatArray:
        return np.array(loss(prediction64.copy(), target64.copy()))

    estimate = _estimate_tensor(prediction64, evaluate, np.ones(()), evaluate())
    require_finite(estimate.value, subject, "the finite-difference estimate of the prediction")

    def evaluate_at_moved_target() -> FloatArray:
        try:
            return evaluate()
        except ValueError:  # moved off the loss's domain: BCELoss's [0, 1], class labels
            return np.array(np.nan)

    # The target is an input of the loss too: its rounding counts in the condition of L, with
    # dL/dtarget measured the same way (and not compared with anything). A target the loss
    # refuses once moved sits at the edge of its domain, a label 0 or 1 or a class index: an
    # exact number, whose estimate (NaN) is left out.
    target_estimate = _estimate_tensor(target64, evaluate_at_moved_target, np.ones(()), evaluate())
    target_condition = float(np.nansum(np.abs(target64) * np.abs(target_estimate.value)))
    condition = _condition(prediction64, estimate) + target_condition
    return _finish(
        GradientReport(subject, (_compare("prediction", analytic, estimate, condition),))
    )


def _finish(report: GradientReport) -> GradientReport:
    if not report.passed:
        failures = "\n".join(t.describe_failure() for t in report.tensors if not t.passed)
        raise AssertionError(f"check_gradients({report.subject}) failed:\n{failures}\n\n{report}")
    return report


def _compare(
    name: str,
    analytic: FloatArray,
    estimates: _Estimates,
    condition: float,
    mask: np.ndarray[Any, np.dtype[np.bool_]] | None = None,
) -> TensorCheck:
    """Compare backward's values with the estimates, element by element (those of ``mask``)."""
    tolerance = _tolerance(estimates, condition)
    error = np.maximum.reduce(
        [estimates.low - analytic, analytic - estimates.high, np.zeros(analytic.shape)]
    )
    numeric = estimates.value
    scale = np.maximum(np.abs(analytic), np.abs(numeric))
    with np.errstate(over="ignore"):  # a gross error over a tiny tolerance is inf: still a failure
        relative = np.divide(error, scale, out=np.zeros_like(error), where=scale > 0)
        excess = np.divide(error, tolerance, out=np.full_like(error, np.inf), where=tolerance > 0)
    excess[error == 0] = 0.0
    if mask is not None:  # the elements left out: no error, and never the worst
        error[~mask], relative[~mask], excess[~mask] = 0.0, 0.0, -1.0
    if analytic.size == 0:
        return TensorCheck(name, analytic.shape, 0.0, 0.0, (), 0.0, 0.0, 0.0, 0, 0.0)
    worst = tuple(int(i) for i in np.unravel_index(np.argmax(excess), analytic.shape))
    return TensorCheck(
        name=name,
        shape=analytic.shape,
        max_abs_error=float(error.max()),
        max_rel_error=float(relative.max()),
        worst_index=worst,
        analytic=float(analytic[worst]),
        numeric=float(numeric[worst]),
        tolerance=float(tolerance[worst]),
        n_failed=int(np.count_nonzero(error > tolerance)),
        max_error_ratio=float(excess[worst]),
        n_checked=None if mask is None else int(np.count_nonzero(mask)),
    )


def _float64_copy_of(array: FloatArray) -> FloatArray:
    return np.array(array, dtype=np.float64, copy=True)


__all__: Sequence[str] = ["GradientReport", "TensorCheck", "check_gradients"]
