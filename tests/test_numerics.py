"""nnlite._numerics: exp_ignoring_overflow is np.exp under np.errstate(over="ignore"), through
numpy's private error-state variable where it exists and through errstate where it does not."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import pytest

from nnlite import _numerics
from nnlite._numerics import exp_ignoring_overflow


def values(dtype: type) -> np.ndarray:
    """Around exp's underflow and overflow in ``dtype``, the largest float, and the specials."""
    big = float(np.finfo(dtype).max)
    limit = float(np.log(big))  # 709.78 in float64, 88.72 in float32
    edges = [-1000.0, -limit - 36, -1.0, 0.0, 1.0, limit - 0.5, limit + 0.5, big]
    return np.array([*edges, np.inf, -np.inf, np.nan], dtype=dtype)


def reference(x: np.ndarray, out: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return np.exp(x, out=out)


def outcome(
    function: Callable[[np.ndarray, np.ndarray], np.ndarray], x: np.ndarray
) -> tuple[object, object]:
    """What a call gives: the values and the warnings, or the error."""
    out = np.empty_like(x)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = function(x, out)
        except FloatingPointError as error:
            return ("raised", str(error))
    assert result is out
    return (result.tobytes(), [str(w.message) for w in caught])


@pytest.fixture(params=["numpy's state variable", "np.errstate"])
def helper(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> object:
    if request.param == "np.errstate":
        monkeypatch.setattr(_numerics, "_state", None)  # as on a numpy without it
    else:
        assert _numerics._state is not None, "this numpy has no error-state variable"
    return exp_ignoring_overflow


@pytest.mark.parametrize(
    "settings",
    [
        {},
        {"over": "raise"},
        {"under": "raise"},
        {"under": "warn", "invalid": "raise"},
        {"all": "raise"},
        {"all": "ignore"},
    ],
    ids=repr,
)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_it_is_exp_under_errstate_over_ignore(
    helper: Callable[[np.ndarray, np.ndarray], np.ndarray],
    settings: dict[str, str],
    dtype: type,
) -> None:
    x = values(dtype)
    with np.errstate(**settings):  # type: ignore[arg-type]
        expected = outcome(reference, x)
        assert outcome(helper, x) == expected
        assert outcome(helper, x) == expected  # the state made for these settings, reused


def test_overflow_is_silent_and_the_callers_state_comes_back(
    helper: Callable[[np.ndarray, np.ndarray], np.ndarray],
) -> None:
    x = np.array([1000.0, 0.0])
    with np.errstate(over="raise", divide="warn"):
        before = np.geterr()
        assert outcome(helper, x)[0] == np.array([np.inf, 1.0]).tobytes()
        assert np.geterr() == before
        with pytest.raises(FloatingPointError):
            np.exp(x)  # the caller's over="raise" is in force again


def test_the_error_state_is_restored_when_exp_fails(
    helper: Callable[[np.ndarray, np.ndarray], np.ndarray],
) -> None:
    before = np.geterr()
    with pytest.raises(TypeError):
        helper(np.array(["a"]), np.empty(1))
    assert np.geterr() == before
