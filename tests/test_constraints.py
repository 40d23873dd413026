"""The declared argument checks: what each rule allows, converts and says."""

from __future__ import annotations

import re

import numpy as np
import pytest

import nnlite as nl
from nnlite._constraints import (
    AnyOf,
    Boolean,
    FloatDtype,
    Integer,
    OneOf,
    Optional,
    Real,
    check_arguments,
)


@pytest.mark.parametrize(
    ("rule", "value", "expected"),
    [
        (Integer(low=1), 1, 1),
        (Integer(low=1), np.int64(7), 7),
        (Integer(low=0, high=3), 3, 3),
        (Real(low=0, closed="neither"), 1e-300, 1e-300),
        (Real(low=0, high=1, closed="left"), 0, 0.0),
        (Real(), np.float32(0.5), 0.5),
        (Boolean(), np.True_, True),
        (OneOf("sgd", "adam"), "adam", "adam"),
        (FloatDtype(), "float32", np.dtype(np.float32)),
        (Optional(Integer(low=1)), None, None),
        (Optional(Integer(low=1)), 2, 2),
        (AnyOf(Integer(low=1), Real(low=0, high=1)), 3, 3),
        (
            AnyOf(Integer(low=1), Real(low=0, high=1)),
            0,
            0.0,
        ),  # refused as a count, taken as a share
        (AnyOf(Integer(low=1), Real(low=0, high=1)), 0.5, 0.5),
    ],
)
def test_allowed_values_come_back_converted(rule, value, expected) -> None:
    got = rule.check("Owner", "arg", value)
    assert got == expected
    assert type(got) is type(expected)


@pytest.mark.parametrize(
    ("rule", "value", "error", "message"),
    [
        (Integer(low=1), 0, nl.errors.ArgumentValueError, "Linear: n must be an int >= 1, got 0"),
        (Integer(low=1), 2.0, TypeError, "Linear: n must be an int >= 1, got 2.0"),
        (Integer(low=1), True, TypeError, "Linear: n must be an int >= 1, got True"),
        (Integer(low=1, high=4), 5, ValueError, "Linear: n must be an int in [1, 4], got 5"),
        (
            Real(low=0, closed="neither"),
            0.0,
            ValueError,
            "Linear: n must be a finite number > 0, got 0.0",
        ),
        (
            Real(low=0, closed="neither"),
            float("nan"),
            ValueError,
            "must be a finite number > 0, got nan",
        ),
        (
            Real(low=0, closed="neither"),
            "0.1",
            TypeError,
            "Linear: n must be a number > 0, got '0.1'",
        ),
        (
            Real(low=0, high=1, closed="left"),
            1.0,
            ValueError,
            "must be a finite number in [0, 1), got 1.0",
        ),
        (Real(high=1, closed="neither"), 1, ValueError, "must be a finite number < 1, got 1"),
        (Real(high=1), 2, ValueError, "must be a finite number <= 1, got 2"),
        (
            Real(low=0, high=1, closed="right"),
            0,
            ValueError,
            "must be a finite number in (0, 1], got 0",
        ),
        (Boolean(), 1, TypeError, "Linear: n must be a bool, got 1"),
        (OneOf("a", "b"), "c", ValueError, "Linear: n must be one of 'a', 'b', got 'c'"),
        (OneOf(1, 2), True, ValueError, "must be one of 1, 2, got True"),
        (FloatDtype(), "int8", TypeError, "Linear: n must be float32 or float64, got 'int8'"),
        (FloatDtype(), None, TypeError, "must be float32 or float64, got None"),
        (FloatDtype(), "nonsense", TypeError, "must be float32 or float64, got 'nonsense'"),
        (Optional(Integer(low=1)), 0, ValueError, "Linear: n must be None or an int >= 1, got 0"),
        (
            AnyOf(Integer(low=1, high=9), Real(low=0, high=1, closed="neither")),
            10,
            ValueError,
            "Linear: n must be an int in [1, 9] or a finite number in (0, 1), got 10",
        ),
        (
            AnyOf(Integer(low=1, high=9), Real(low=0, high=1, closed="neither")),
            "0.5",
            TypeError,
            "Linear: n must be an int in [1, 9] or a finite number in (0, 1), got '0.5'",
        ),
        (AnyOf(Integer(), Boolean()), 1.5, TypeError, "must be an int or a bool, got 1.5"),
    ],
)
def test_refused_values_get_one_message_style(rule, value, error, message) -> None:
    with pytest.raises(
        error,
        match=f"^{re.escape(message)}$" if message.startswith("Linear") else re.escape(message),
    ):
        rule.check("Linear", "n", value)


def test_the_errors_are_nnlite_errors_and_the_built_in_ones() -> None:
    with pytest.raises(nl.NnliteError):
        Integer(low=1).check("x", "y", 0)
    assert issubclass(nl.errors.ArgumentTypeError, TypeError)
    assert issubclass(nl.errors.ArgumentValueError, ValueError)


def test_check_arguments_checks_in_order_and_converts() -> None:
    rules = {"width": Integer(low=1), "rate": Real(low=0, high=1)}
    assert check_arguments("Drop", rules, {"width": np.int32(3), "rate": 1}) == {
        "width": 3,
        "rate": 1.0,
    }
    with pytest.raises(ValueError, match=r"^Drop: width must be an int >= 1, got 0$"):
        check_arguments("Drop", rules, {"width": 0, "rate": "bad"})
