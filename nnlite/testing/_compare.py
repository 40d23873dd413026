"""How the checks compare two arrays that should agree up to rounding, and how they fail.

Two computations of the same value in floating point agree only to their rounding errors, and
those can be far larger than eps times the result where terms cancel (a dot product of large
terms with a small sum, x - mean(x) in a LayerNorm). So the allowed difference is measured, not
guessed: :func:`rounding_spread` re-runs the reference computation on inputs each moved by eps
of its tensor's scale (eps (|v| + max |v|) for an element v, so that zeros move too), and takes
how far the result moves. A check then allows ``SAFETY`` times that spread, plus ``SAFETY`` eps of
the value and of the array's largest, plus ``SAFETY`` eps of the largest value anywhere in the
computation (its inputs, parameters and results). The last term is there because an
intermediate can be rounded at its own scale and then cancel: in a LayerNorm with two features
dL/dx is a difference of terms near 0.5 that comes out near 4e-5, and no move of the inputs
shows how much of it float32 rounding can change. So a float32 result is held to float32
rounding of the computation's scale: an overflow, a float16 intermediate or a wrong formula
fails; the last digits of a value formed by cancellation do not.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from nnlite.typing import FloatArray

SAFETY = 16.0
"""How far beyond the measured rounding spread two results may differ before a check fails."""


def rounding_spread(
    compute: Callable[[Sequence[FloatArray]], Sequence[FloatArray]],
    inputs: Sequence[FloatArray],
    eps: float,
    rng: np.random.Generator,
    *,
    trials: int = 3,
) -> list[FloatArray]:
    """How far each output of ``compute`` moves when every input moves by eps of its scale.

    ``compute(inputs)`` must be a pure function of the arrays (it is called ``trials + 1`` times).
    Each input element v of a tensor moves by ``eps * s * (|v| + max |tensor|)``, s a random sign;
    the result is, per output, the largest absolute change over the trials.
    """
    reference = [np.array(out, dtype=np.float64, copy=True) for out in compute(inputs)]
    spread: list[FloatArray] = [np.zeros(out.shape) for out in reference]
    for _ in range(trials):
        moved = [
            values
            + eps
            * rng.choice(np.array([-1.0, 1.0]), size=values.shape)
            * (np.abs(values) + np.max(np.abs(values), initial=0.0))
            for values in inputs
        ]
        for index, out in enumerate(compute(moved)):
            np.maximum(
                spread[index],
                np.abs(np.asarray(out, dtype=np.float64) - reference[index]),
                out=spread[index],
            )
    return spread


def allowed_difference(
    reference: FloatArray, spread: FloatArray | float, eps: float, scale: float = 0.0
) -> FloatArray:
    """``SAFETY`` times: the spread, eps of the value, eps of the array's largest value, and eps
    of ``scale`` (the largest value in the whole computation, where that matters).

    ``eps`` is raised to the machine epsilon of ``reference``'s own dtype where that is coarser
    (a float32 gradient of a layer whose output is float64).
    """
    if np.issubdtype(reference.dtype, np.floating):
        eps = max(eps, float(np.finfo(reference.dtype).eps))
    magnitude = np.abs(reference)
    largest = float(np.max(magnitude, initial=0.0))
    tiny = float(np.finfo(np.float32).smallest_normal)  # below it, precision is absolute
    allowed: FloatArray = SAFETY * (spread + eps * (magnitude + largest + scale)) + tiny
    return allowed


def worst_mismatch(
    got: FloatArray, expected: FloatArray, allowed: FloatArray | float
) -> tuple[int, ...] | None:
    """The index where ``got`` is furthest beyond ``allowed`` from ``expected``, or None if none
    is (NaN anywhere counts as a mismatch)."""
    got64 = np.asarray(got, dtype=np.float64)
    expected64 = np.asarray(expected, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        excess = np.abs(got64 - expected64) - allowed
    excess = np.where(np.isnan(excess), np.inf, excess)
    if excess.size == 0 or not np.any(excess > 0):
        return None
    return tuple(int(i) for i in np.unravel_index(np.argmax(excess), excess.shape))


def first_true(mask: np.ndarray) -> tuple[int, ...] | None:
    """The index of the first True element of ``mask``, or None; () for a 0-d True (where
    ``np.argwhere`` finds nothing)."""
    if not mask.any():
        return None
    return tuple(int(i) for i in np.unravel_index(int(np.argmax(mask)), mask.shape))


def fail(check: str, subject: str, message: str) -> AssertionError:
    """The error a check raises: ``check_<name>(<layer>) failed: <what>``."""
    return AssertionError(f"check_{check}({subject}) failed: {message}")


def at(array: FloatArray, index: tuple[int, ...]) -> str:
    """``array[index]`` for a message, to 10 significant digits."""
    return f"{float(array[index]):.10g}"


def largest_magnitude(arrays: Sequence[FloatArray]) -> float:
    """The largest absolute value in any of the arrays (0 for none)."""
    return max((float(np.max(np.abs(a), initial=0.0)) for a in arrays), default=0.0)
