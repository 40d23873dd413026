"""The strict check of a flat state (names to numbers and arrays) before it is loaded.

Optimizers and schedules save their state as a flat dict: numbers under their names, arrays
under ``"<name>.<index>"``. Loading one back is strict as :meth:`nnlite.Layer.load_state_dict`
is: the names must be exactly the expected ones, each number keeps its rule, each array the shape
and dtype of the one it replaces (nothing is cast), and one error lists every problem. Everything
is checked before anything is set, so a refused state changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from nnlite._constraints import Constraint, Real
from nnlite._validation import describe
from nnlite.errors import LoadError


def check_state(
    where: str,
    current: Mapping[str, Any],
    state: object,
    rules: Mapping[str, Constraint[Any]],
) -> dict[str, Any]:
    """``state`` checked against ``current`` (the owner's own state now); its numbers converted.

    Args:
        where: who loads, for the message: ``"Adam.load_state_dict"``.
        current: the owner's ``state_dict()``: the names, the arrays' shapes and dtypes.
        state: what is loaded.
        rules: the rule of each number by name; a number without one must be a finite number.

    Returns:
        The numbers of ``state``, by name, converted by their rules (the arrays are as given).

    Raises:
        LoadError: one error listing every missing or unexpected name, every number of the wrong
            type or range, every array of the wrong type, shape or dtype.
    """
    if not isinstance(state, Mapping):
        raise LoadError(f"{where}: expected a dict, got {describe(state)}, nothing was loaded")
    problems = [f"missing key {name!r}" for name in current if name not in state]
    problems += [f"unexpected key {name!r}" for name in state if name not in current]
    numbers: dict[str, Any] = {}
    for name, expected in current.items():
        if name not in state:
            continue
        value = state[name]
        if not isinstance(expected, np.ndarray):
            try:
                numbers[name] = rules.get(name, Real()).check(where, name, value)
            except (TypeError, ValueError) as error:
                problems.append(str(error).removeprefix(f"{where}: "))
        elif not isinstance(value, np.ndarray):
            problems.append(f"{name!r}: expected an ndarray, found {describe(value)}")
        elif value.shape != expected.shape:
            problems.append(f"{name!r}: expected shape {expected.shape}, found {value.shape}")
        elif value.dtype != expected.dtype:
            problems.append(f"{name!r}: expected dtype {expected.dtype}, found {value.dtype}")
    if problems:
        raise LoadError(
            f"{where}: the state does not fit, nothing was loaded:\n  " + "\n  ".join(problems)
        )
    return numbers
