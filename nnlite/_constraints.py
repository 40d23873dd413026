"""Declared argument checks: one rule per argument, one message style everywhere.

A constructor or function states what each argument may be, and the rule does the checking and
the message, as scikit-learn's ``_parameter_constraints`` do::

    self.in_features = Integer(low=1).check("Linear", "in_features", in_features)
    self.lr = Real(low=0, closed="neither").check("SGD", "lr", lr)

Every failure reads ``"<owner>: <name> must be <rule>, got <value>"``, e.g.
``"Linear: in_features must be an int >= 1, got 0"``. A value of the wrong type (a str for a
number, a bool for an int) is a :class:`~nnlite.errors.ArgumentTypeError`, a ``TypeError``; a value
of the right type outside the allowed range is an :class:`~nnlite.errors.ArgumentValueError`, a
``ValueError``. ``check`` returns the value converted to its plain Python (or numpy dtype) form, so
a numpy integer becomes an int and a float32 scalar a float.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any, Generic, Literal, TypeVar

import numpy as np

from nnlite.errors import ArgumentTypeError, ArgumentValueError

Closed = Literal["both", "left", "right", "neither"]

_T = TypeVar("_T", covariant=True)
_U = TypeVar("_U")


class Constraint(Generic[_T]):
    """A rule one argument must keep, giving values of type ``_T``. Subclasses give ``describe``
    and ``convert``."""

    def describe(self) -> str:
        """The rule in words, as it follows "must be": ``"an int >= 1"``."""
        raise NotImplementedError

    def convert(self, value: object) -> _T:
        """``value`` in its checked form; raise TypeError or ValueError (any message) if it is not
        allowed: ``check`` replaces the message with the standard one."""
        raise NotImplementedError

    def check(self, owner: str, name: str, value: object) -> _T:
        """``value`` converted, or an error naming ``owner``, ``name``, the rule and ``value``."""
        try:
            return self.convert(value)
        except TypeError:
            raise ArgumentTypeError(self._message(owner, name, value)) from None
        except ValueError:
            raise ArgumentValueError(self._message(owner, name, value)) from None

    def _message(self, owner: str, name: str, value: object) -> str:
        return f"{owner}: {name} must be {self.describe()}, got {value!r}"


def _bounds(low: float | None, high: float | None, closed: Closed) -> str:
    """The range in words: ">= 1", "> 0", "in [0, 1)", "" for no bound."""
    low_closed = closed in ("both", "left")
    high_closed = closed in ("both", "right")
    if low is not None and high is not None:
        return f"in {'[' if low_closed else '('}{low:g}, {high:g}{']' if high_closed else ')'}"
    if low is not None:
        return f"{'>=' if low_closed else '>'} {low:g}"
    if high is not None:
        return f"{'<=' if high_closed else '<'} {high:g}"
    return ""


def _within(value: float, low: float | None, high: float | None, closed: Closed) -> bool:
    if low is not None and (value < low or (value == low and closed in ("right", "neither"))):
        return False
    return not (
        high is not None and (value > high or (value == high and closed in ("left", "neither")))
    )


class Integer(Constraint[int]):
    """An int (or numpy integer, not a bool) within bounds; ``closed`` as for :class:`Real`
    (default: both bounds allowed)."""

    def __init__(
        self, low: int | None = None, high: int | None = None, closed: Closed = "both"
    ) -> None:
        self.low, self.high, self.closed = low, high, closed

    def describe(self) -> str:
        bounds = _bounds(self.low, self.high, self.closed)
        return f"an int {bounds}" if bounds else "an int"

    def convert(self, value: object) -> int:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
            raise TypeError
        if not _within(int(value), self.low, self.high, self.closed):
            raise ValueError
        return int(value)


class Real(Constraint[float]):
    """A finite real number (int or float, numpy scalars too, not a bool) within bounds.

    Args:
        low, high: the bounds, None for none.
        closed: which bounds are allowed values: "both" (the default), "left", "right", "neither".
    """

    def __init__(
        self, low: float | None = None, high: float | None = None, closed: Closed = "both"
    ) -> None:
        self.low, self.high, self.closed = low, high, closed

    def describe(self) -> str:
        bounds = _bounds(self.low, self.high, self.closed)
        return f"a finite number {bounds}" if bounds else "a finite number"

    def _message(self, owner: str, name: str, value: object) -> str:
        if not _is_real(value):  # "must be a number > 0, got '0.1'": finiteness is beside the point
            bounds = _bounds(self.low, self.high, self.closed)
            return (
                f"{owner}: {name} must be a number{' ' + bounds if bounds else ''}, got {value!r}"
            )
        return super()._message(owner, name, value)

    def convert(self, value: object) -> float:
        if not _is_real(value):
            raise TypeError
        number = float(value)  # type: ignore[arg-type]
        if not math.isfinite(number) or not _within(number, self.low, self.high, self.closed):
            raise ValueError
        return number


def _is_real(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


class Boolean(Constraint[bool]):
    """True or False (a numpy bool too)."""

    def describe(self) -> str:
        return "a bool"

    def convert(self, value: object) -> bool:
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError
        return bool(value)


class OneOf(Constraint[Any]):
    """One of the given values (compared with ``==``, types included: 1 is not "1")."""

    def __init__(self, *options: object) -> None:
        self.options = options

    def describe(self) -> str:
        return "one of " + ", ".join(repr(option) for option in self.options)

    def convert(self, value: object) -> Any:
        for option in self.options:
            if type(value) is type(option) and value == option:
                return value
        raise ValueError


class FloatDtype(Constraint[np.dtype[np.floating[Any]]]):
    """float32 or float64, as anything ``np.dtype`` reads ("float32", np.float32, a dtype);
    returns the ``np.dtype``."""

    def describe(self) -> str:
        return "float32 or float64"

    def convert(self, value: object) -> np.dtype[np.floating[Any]]:
        if value is None:  # np.dtype(None) is float64: None is not a dtype anyone means
            raise TypeError
        try:
            dtype = np.dtype(value)  # type: ignore[call-overload]
        except TypeError:
            raise TypeError from None
        if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
            raise TypeError
        return dtype  # type: ignore[no-any-return]


class Pair(Constraint[tuple[int, int]]):
    """An int the inner rule allows, used for both of two dimensions, or a pair (tuple or list)
    of them: a kernel size ``3`` or ``(3, 5)``; returns the pair ``(3, 3)`` or ``(3, 5)``."""

    def __init__(self, inner: Integer) -> None:
        self.inner = inner

    def describe(self) -> str:
        return f"{self.inner.describe()} or a pair of them"

    def convert(self, value: object) -> tuple[int, int]:
        if not isinstance(value, (tuple, list)):
            single = self.inner.convert(value)
            return single, single
        if len(value) != 2:
            raise ValueError
        return self.inner.convert(value[0]), self.inner.convert(value[1])


class TupleOf(Constraint[tuple[int, ...]]):
    """A non-empty tuple (or list) of ints the inner rule allows: a shape ``(1, 8, 8)``; returns
    it as a tuple."""

    def __init__(self, inner: Integer) -> None:
        self.inner = inner

    def describe(self) -> str:
        return f"a non-empty tuple or list, each {self.inner.describe()}"

    def convert(self, value: object) -> tuple[int, ...]:
        if not isinstance(value, (tuple, list)):
            raise TypeError
        if not value:
            raise ValueError
        return tuple(self.inner.convert(item) for item in value)


class AnyOf(Constraint[Any]):
    """A value one of the given rules allows, tried in order; its conversion is that rule's.

    A value of a type no rule takes is an :class:`~nnlite.errors.ArgumentTypeError`; one that a
    rule takes by type but not by range an :class:`~nnlite.errors.ArgumentValueError`.
    """

    def __init__(self, *rules: Constraint[Any]) -> None:
        self.rules = rules

    def describe(self) -> str:
        return " or ".join(rule.describe() for rule in self.rules)

    def convert(self, value: object) -> Any:
        out_of_range = False
        for rule in self.rules:
            try:
                return rule.convert(value)
            except TypeError:
                continue
            except ValueError:
                out_of_range = True
        raise ValueError if out_of_range else TypeError


class Optional(Constraint[_U | None]):
    """None, or a value the inner rule allows."""

    def __init__(self, inner: Constraint[_U]) -> None:
        self.inner = inner

    def describe(self) -> str:
        return f"None or {self.inner.describe()}"

    def convert(self, value: object) -> _U | None:
        return None if value is None else self.inner.convert(value)


def check_arguments(
    owner: str, rules: Mapping[str, Constraint[Any]], arguments: Mapping[str, object]
) -> dict[str, Any]:
    """Check every argument against its rule, in the rules' order; return them converted.

    Examples:
        >>> from nnlite._constraints import Integer, check_arguments
        >>> check_arguments("Linear", {"in_features": Integer(low=1)}, {"in_features": 3})
        {'in_features': 3}
    """
    return {name: rule.check(owner, name, arguments[name]) for name, rule in rules.items()}


__all__ = [
    "AnyOf",
    "Boolean",
    "Constraint",
    "FloatDtype",
    "Integer",
    "OneOf",
    "Optional",
    "Pair",
    "Real",
    "TupleOf",
    "check_arguments",
]
