"""Numerical helpers the layers share, each exact and measured.

:func:`exp_ignoring_overflow` is ``np.exp`` inside ``np.errstate(over="ignore")``, for a formula
whose exp may overflow to inf on purpose (``1 / (1 + exp(-h))`` is then the right 0). Measured
around the exp of a (4, 2) array (0.4 us), the context manager adds 1.0 us a call, since it builds
numpy's error state anew each time, and the benchmark's network makes two such calls a step; this
helper adds 0.35 us. It sets the context variable numpy keeps the state in to the same state
``errstate`` would, made once for each state it is called under. That variable is numpy's private
API (``numpy._core._ufunc_config._extobj_contextvar``, numpy 2.0 and later): where it is missing,
the helper uses ``np.errstate`` itself, and ``tests/test_numerics.py`` holds the two to the same
results, warnings and errors.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

import numpy as np

from nnlite.typing import FloatArray

_state: ContextVar[Any] | None = None
try:  # numpy >= 2.0: the error state is a context variable, and errstate sets it
    from numpy._core._multiarray_umath import _make_extobj  # type: ignore[import-not-found]
    from numpy._core._ufunc_config import _extobj_contextvar  # type: ignore[attr-defined]

    _state = _extobj_contextvar
except ImportError:  # pragma: no cover - numpy without them: use errstate
    pass

# (the error state in force, the same state with overflow ignored), for the last state seen. One
# tuple, read once per call, so that two threads never mix one's state with the other's.
_last: tuple[object, object] = (object(), None)


def exp_ignoring_overflow(x: FloatArray, out: FloatArray) -> FloatArray:
    """``np.exp(x, out=out)`` with floating-point overflow ignored, as under
    ``np.errstate(over="ignore")``: every other setting is the caller's."""
    if _state is None:
        with np.errstate(over="ignore"):
            return np.exp(x, out=out)
    global _last
    current = _state.get()
    last = _last
    if last[0] is not current:
        last = _last = (current, _make_extobj(over="ignore"))  # made under the current state
    token = _state.set(last[1])
    try:
        return np.exp(x, out=out)
    finally:
        _state.reset(token)
