"""The arguments of a function checked through an adapter: which are differentiated, and how.

Shared by :func:`nnlite.testing.check_vjp` and the PyTorch and JAX adapters.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["input", "parameter", "constant"]


@dataclass(frozen=True)
class Argument:
    """One argument of an adapted function: its name, its kind, and its value.

    Attributes:
        name: as in reports and messages (the input is reported as "input").
        kind: "input" (x: the first differentiable argument, whose rows are the batch),
            "parameter" (differentiated too), or "constant" (not differentiated: a target, a mask;
            it follows the dtype of the check, float32 in the float32 run).
        value: an array, or a hypothesis strategy of arrays (then the check is a property test).
    """

    name: str
    kind: Kind
    value: Any


def is_strategy(value: object) -> bool:
    """Whether ``value`` is a hypothesis strategy (without importing hypothesis)."""
    strategies = sys.modules.get("hypothesis.strategies")
    return strategies is not None and isinstance(value, strategies.SearchStrategy)


def argument_names(f: Callable[..., Any]) -> list[str]:
    """The names of f's positional parameters ([] when they cannot be read)."""
    try:
        signature = inspect.signature(f)
    except (TypeError, ValueError):
        return []
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return [name for name, p in signature.parameters.items() if p.kind in kinds]


Classify = Callable[[Any, bool], tuple[Kind | None, Any]]


def slot_arguments(
    caller: str,
    inputs: Sequence[Any],
    names: Sequence[str],
    constants: Iterable[int | str],
    classify: Classify,
    hint: str,
) -> tuple[list[Argument], list[int | None]]:
    """The checked arguments of a framework function, and where each input goes.

    ``classify(value, marked_constant)`` gives an input's kind ("parameter", "constant", or None
    for a value passed through as it is) and its value as a numpy array or strategy; ``hint``
    says, in the error, what to pass instead. The first
    differentiated input becomes the "input" the checks perturb first. ``slots[i]`` is input i's
    index in the arguments, or None for a passed-through value.

    Raises:
        ValueError: no input is differentiated.
    """
    marked = {str(c) for c in constants}
    arguments: list[Argument] = []
    slots: list[int | None] = []
    for position, (name, value) in enumerate(zip(names, inputs, strict=True)):
        kind, array = classify(value, name in marked or str(position) in marked)
        if kind is None:
            slots.append(None)
            continue
        if kind != "constant" and not any(a.kind == "input" for a in arguments):
            kind = "input"
        slots.append(len(arguments))
        arguments.append(Argument(name, kind, array))
    if not any(a.kind == "input" for a in arguments):
        raise ValueError(
            f"{caller}: no input is differentiated; pass {hint}, not all of them constants"
        )
    return arguments, slots


__all__ = ["Argument", "Kind", "argument_names", "is_strategy", "slot_arguments"]
