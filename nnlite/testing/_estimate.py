"""The finite-difference estimates behind :func:`~nnlite.testing.check_gradients`.

For each element v of a tensor, f = sum(grad_y * y) is evaluated at v +- h and v +- 2h, and from
these come the numeric gradient (a Richardson extrapolation of two central differences), the
interval it spans with the two one-sided estimates, and the estimated error (truncation and
rounding) that sets the tolerance. The module docstring of :mod:`nnlite.testing.gradcheck` says
how, step by step; the directional estimate u . J v for the directional check is here too.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from nnlite.typing import FloatArray

SAFETY = 4.0
"""How far beyond the estimated finite-difference error a mismatch must go to count as a failure."""


@dataclass(frozen=True)
class _Estimates:
    """Finite-difference estimates of df/dv for each element v of a tensor (arrays of its shape)."""

    value: FloatArray  # R, the Richardson-extrapolated central difference: the numeric gradient
    low: FloatArray  # the interval spanned by R and the two one-sided estimates F and B
    high: FloatArray
    truncation: FloatArray  # |D(h) - D(2h)|
    rounding: FloatArray  # eps / h times the size of the differenced outputs
    step: FloatArray  # h
    eps: float  # of the layer's arithmetic


def _estimate_tensor(
    values: FloatArray,
    evaluate: Callable[[], FloatArray],
    weights: FloatArray,
    y0: FloatArray,
    mask: np.ndarray[Any, np.dtype[np.bool_]] | None = None,
    tick: Callable[[], None] | None = None,
) -> _Estimates:
    """Estimate d(sum(weights * y))/d(values[i]) for every i (every i where ``mask`` is True),
    perturbing ``values`` in place; ``tick()`` after each. Elements left out get estimates of
    0 with no error, which :func:`_compare` leaves out in turn."""
    precision = np.finfo(np.result_type(y0.dtype, np.float32))
    eps = float(precision.eps)
    # Below the smallest normal number precision is absolute: each output may be off by a step.
    underflow = y0.size * float(precision.smallest_subnormal)
    fields = {key: np.zeros(values.shape) for key in ("value", "low", "high", "truncation")}
    rounding = np.zeros(values.shape)
    step = np.ones(values.shape)
    indices = np.ndindex(values.shape) if mask is None else map(tuple, np.argwhere(mask))
    for index in indices:
        v = float(values[index])
        h = _step(v, eps)
        outputs = {}
        for k in (-2, -1, 1, 2):
            values[index] = v + k * h
            outputs[k] = evaluate()
        values[index] = v  # restored exactly: assigned, not un-added

        def weighted(difference: FloatArray) -> float:
            return float(np.sum(weights * difference))

        central_h = weighted(outputs[1] - outputs[-1]) / (2 * h)
        central_2h = weighted(outputs[2] - outputs[-2]) / (4 * h)
        richardson = central_h + (central_h - central_2h) / 3
        # Second-order one-sided differences, -3 f(0) + 4 f(h) - f(2h), as differences from f(0).
        forward = weighted(4 * (outputs[1] - y0) - (outputs[2] - y0)) / (2 * h)
        backward = weighted(4 * (y0 - outputs[-1]) - (y0 - outputs[-2])) / (2 * h)
        size = np.maximum.reduce([np.abs(y0)] + [np.abs(out) for out in outputs.values()])
        # The fourth difference f(2h) - 4 f(h) + 6 f(0) - 4 f(-h) + f(-2h) is h^4 times the fourth
        # derivative (tiny) plus rounding noise about 8.4 times that of one f: a measured sample of
        # the noise, which also sees rounding inside a layer that no size shows (log(1 + tiny)).
        fourth = weighted(
            (outputs[2] - y0) + (outputs[-2] - y0) - 4 * ((outputs[1] - y0) + (outputs[-1] - y0))
        )

        fields["value"][index] = richardson
        fields["low"][index] = min(richardson, forward, backward)
        fields["high"][index] = max(richardson, forward, backward)
        fields["truncation"][index] = abs(central_h - central_2h)
        noise = abs(fourth) / 8.4 * 0.95  # R's noise is about 0.95 / h times one f's
        rounding[index] = (eps * float(np.sum(np.abs(weights) * size)) + underflow + noise) / h
        step[index] = h
        if tick is not None:
            tick()
    return _Estimates(**fields, rounding=rounding, step=step, eps=eps)


@dataclass(frozen=True)
class DirectionalEstimate:
    """Finite-difference estimates of d/dt f(t) at t = 0, and the slopes they accept."""

    value: float  # the Richardson-extrapolated central difference
    low: float  # the interval spanned by it and the one-sided estimates
    high: float
    tolerance: float  # the estimated finite-difference error, times SAFETY
    truncation: float  # |D(h) - D(2h)|
    scale: float  # the sum of |terms| of the slope it is compared with

    @property
    def smooth(self) -> bool:
        """Whether f is smooth along the direction across the whole stencil, t in [-2h, 2h].

        The one-sided estimates must agree, and the measured truncation error must be what a
        smooth function shows (h^2 times its third derivative: a relative 1e-6 is far above it).
        A kink anywhere inside the stencil fails the second test even where the truncation error
        it causes inflates the tolerance enough to pass the first: several elements next to
        their kinks (|x| = 1e-5 with h = 1.2e-4) can cross them on different sides, and then no
        one-sided estimate is exact.
        """
        smooth_truncation = 1e-6 * (abs(self.value) + self.scale)
        return self.high - self.low <= self.tolerance and self.truncation <= smooth_truncation

    def accepts(self, slope: float) -> bool:
        """Whether ``slope`` lies within the tolerance of the interval (NaN never does)."""
        return bool(self.low - self.tolerance <= slope <= self.high + self.tolerance)


def directional_estimate(
    evaluate: Callable[[float], FloatArray],
    weights: FloatArray,
    condition: float,
    slope_magnitude: float,
) -> DirectionalEstimate:
    """Estimate d/dt sum(weights * evaluate(t)) at t = 0 as every element is estimated.

    The same steps, one-sided differences, measured truncation and rounding, and the same
    tolerance as for one element of a tensor (see the module docstring); ``condition`` is the sum
    over every input and parameter element u of |u df/du|, for the rounding of f. The slope it is
    compared with is itself a sum of terms (gradient times direction) whose absolute values sum to
    ``slope_magnitude``; its rounding, a relative sqrt(eps) of that, is allowed too.
    """
    t = np.zeros(1)

    def at_t() -> FloatArray:
        return evaluate(float(t[0]))

    estimates = _estimate_tensor(t, at_t, weights, at_t())
    tolerance = _tolerance(estimates, condition) + np.sqrt(estimates.eps) * slope_magnitude
    return DirectionalEstimate(
        float(estimates.value[0]),
        float(estimates.low[0]),
        float(estimates.high[0]),
        float(tolerance[0]),
        float(estimates.truncation[0]),
        slope_magnitude,
    )


def _condition(
    values: FloatArray,
    estimates: _Estimates,
    mask: np.ndarray[Any, np.dtype[np.bool_]] | None = None,
) -> float:
    """sum |v df/dv| over a tensor: how much f moves when each v moves by a relative 1. Over a
    subset (``mask``), the subset's sum scaled up to the whole tensor."""
    terms = np.abs(values) * np.abs(estimates.value)
    if mask is None:
        return float(np.sum(terms))
    return float(np.sum(terms[mask]) * values.size / np.count_nonzero(mask))


def _subset(
    shapes: Sequence[tuple[int, ...]], max_elements: int | None, generator: np.random.Generator
) -> list[np.ndarray[Any, np.dtype[np.bool_]] | None]:
    """Which elements of each tensor to estimate: all (None for every tensor) when they number
    at most ``max_elements``, else a random subset, each tensor's share by its size and at
    least one element of each (so a tensor is never left unchecked)."""
    sizes = [math.prod(shape) for shape in shapes]
    total = sum(sizes)
    if max_elements is None or total <= max_elements:
        return [None] * len(shapes)
    masks: list[np.ndarray[Any, np.dtype[np.bool_]] | None] = []
    for shape, size in zip(shapes, sizes, strict=True):
        share = min(size, max(1, max_elements * size // total))
        mask = np.zeros(size, dtype=bool)
        mask[generator.choice(size, share, replace=False)] = True
        masks.append(mask.reshape(shape))
    return masks


def _counter(
    masks: Sequence[np.ndarray[Any, np.dtype[np.bool_]] | None],
    sizes: Sequence[int],
    progress: Callable[[int, int], object] | None,
) -> Callable[[], None] | None:
    """A ``tick()`` that reports ``progress(done, total)`` over the elements to estimate."""
    if progress is None:
        return None
    total = sum(
        size if mask is None else int(np.count_nonzero(mask))
        for mask, size in zip(masks, sizes, strict=True)
    )
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        progress(done, total)

    return tick


def _tolerance(estimates: _Estimates, condition: float) -> FloatArray:
    """The allowed error of each estimate: SAFETY times the estimated finite-difference error."""
    # The rounding error of f itself is about eps * condition (f computed stably is the exact f of
    # inputs moved by a relative eps); differencing divides it by h.
    tolerance: FloatArray = SAFETY * (
        estimates.truncation + estimates.rounding + estimates.eps * condition / estimates.step
    )
    # backward's own value is rounded too, and may be formed from terms far larger than itself
    # (softmax - target on a confident row): allow it half the digits, a relative sqrt(eps).
    tolerance += np.sqrt(estimates.eps) * np.abs(estimates.value)
    return tolerance


def _step(v: float, eps: float) -> float:
    """A power of two near eps^(1/4), grown for large |v|: v +- h and v +- 2h are exact in binary.

    eps^(1/4) (about 1.2e-4 in float64) keeps the rounding error, of order eps / h, four orders of
    magnitude below the truncation error of order h^2 that smooth functions show, while the
    tolerance stays far below a relative error of 1e-6. The step does not grow with |v| (the
    truncation error depends on h itself, not on h / |v|) until |v| exceeds eps^(-1/4), about 8000
    in float64; from there h = eps^(1/2) |v| keeps eps^(1/2) of relative resolution in v +- h.
    """
    return float(2.0 ** round(math.log2(eps**0.25 * max(1.0, abs(v) * eps**0.25))))
