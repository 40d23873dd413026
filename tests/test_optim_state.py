"""Every optimizer's state_dict and load_state_dict: a resumed optimizer continues bit for bit,
and a state that does not fit is refused, naming every problem, with nothing changed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import nnlite as nl
from nnlite.errors import LoadError
from nnlite.optim import SGD, Adam, AdamW, Optimizer, RMSprop

MAKERS: dict[str, Callable[[list[nl.Parameter]], Optimizer]] = {
    "sgd": lambda ps: SGD(ps, lr=0.1),
    "sgd-momentum": lambda ps: SGD(ps, lr=0.1, momentum=0.9, dampening=0.2),
    "adam": lambda ps: Adam(ps, lr=0.01),
    "adam-amsgrad": lambda ps: Adam(ps, lr=0.01, amsgrad=True),
    "adamw": lambda ps: AdamW(ps, lr=0.01),
    "rmsprop": lambda ps: RMSprop(ps, momentum=0.5, centered=True),
}


def parameters() -> list[nl.Parameter]:
    return [nl.Parameter(np.ones((2, 3))), nl.Parameter(np.ones(4, dtype=np.float32))]


def steps(optimizer: Optimizer, grads: np.random.Generator, count: int) -> None:
    for _ in range(count):
        for parameter in optimizer.parameters:
            parameter.grad[...] = grads.normal(size=parameter.shape)
        optimizer.step()


@pytest.mark.parametrize("kind", MAKERS)
def test_a_resumed_optimizer_continues_bit_for_bit(kind: str) -> None:
    """Three steps, save; a fresh optimizer on copies of the weights loads the state; the next
    four steps of both, on the same gradients, agree exactly with the uninterrupted run's."""
    whole = MAKERS[kind](parameters())
    steps(whole, np.random.default_rng(1), 3)
    state = whole.state_dict()
    resumed = MAKERS[kind]([nl.Parameter(p.data.copy()) for p in whole.parameters])
    resumed.load_state_dict(state)
    assert resumed.state_dict().keys() == state.keys()
    steps(whole, np.random.default_rng(2), 4)
    steps(resumed, np.random.default_rng(2), 4)
    for a, b in zip(whole.parameters, resumed.parameters, strict=True):
        np.testing.assert_array_equal(a.data, b.data)
    fresh = MAKERS[kind]([nl.Parameter(p.data.copy()) for p in whole.parameters])
    steps(fresh, np.random.default_rng(2), 4)
    if kind != "sgd":  # the test can fail: without the state the run differs
        pairs = zip(whole.parameters, fresh.parameters, strict=True)
        assert not any(np.array_equal(a.data, b.data) for a, b in pairs)


def test_the_state_names_each_array_and_number() -> None:
    optimizer = Adam(parameters(), lr=0.01, amsgrad=True)
    steps(optimizer, np.random.default_rng(0), 2)
    state = optimizer.state_dict()
    assert sorted(state) == [
        "exp_avg.0", "exp_avg.1", "exp_avg_sq.0", "exp_avg_sq.1", "lr",
        "max_exp_avg_sq.0", "max_exp_avg_sq.1", "step_count",
    ]  # fmt: skip
    assert state["step_count"] == 2
    assert state["lr"] == 0.01
    assert state["exp_avg.1"].dtype == np.float32
    assert sorted(SGD(parameters(), lr=0.1).state_dict()) == ["lr", "step_count"]


def test_the_state_is_a_copy_and_loading_copies_into_the_existing_arrays() -> None:
    optimizer = SGD(parameters(), lr=0.1, momentum=0.9)
    steps(optimizer, np.random.default_rng(0), 1)
    state = optimizer.state_dict()
    velocity = optimizer.velocity[0]
    state["velocity.0"][...] = 7.0
    assert not (velocity == 7.0).any()
    optimizer.load_state_dict(state)
    assert optimizer.velocity[0] is velocity
    assert (velocity == 7.0).all()
    state["velocity.0"][...] = 8.0  # the loaded state is not aliased either
    assert (velocity == 7.0).all()


def test_lr_is_state_so_a_schedule_resumes() -> None:
    optimizer = SGD(parameters(), lr=0.1)
    optimizer.lr = 0.025
    other = SGD(parameters(), lr=0.1)
    other.load_state_dict(optimizer.state_dict())
    assert other.lr == 0.025


def _with(state: dict[str, Any], **changes: Any) -> dict[str, Any]:
    changed = dict(state)
    for name, value in changes.items():
        if value is None:
            del changed[name]
        else:
            changed[name] = value
    return changed


BAD: dict[str, tuple[dict[str, Any], str]] = {
    "missing": ({"exp_avg.1": None}, r"missing key 'exp_avg\.1'"),
    "unexpected": ({"exp_avg.2": np.zeros(4)}, r"unexpected key 'exp_avg\.2'"),
    "amsgrad state": ({"max_exp_avg_sq.0": np.zeros((2, 3))}, "unexpected key 'max_exp_avg_sq.0'"),
    "shape": (
        {"exp_avg.0": np.zeros((3, 2))},
        r"'exp_avg\.0': expected shape \(2, 3\), found \(3, 2\)",
    ),
    "dtype": ({"exp_avg.1": np.zeros(4)}, r"'exp_avg\.1': expected dtype float32, found float64"),
    "list": ({"exp_avg.0": [[0.0] * 3] * 2}, r"'exp_avg\.0': expected an ndarray, found a list"),
    "step": ({"step_count": -1}, r"step_count must be an int >= 0, got -1"),
    "step float": ({"step_count": 2.0}, r"step_count must be an int >= 0, got 2\.0"),
    "lr": ({"lr": 0.0}, r"lr must be a finite number > 0, got 0\.0"),
    "lr nan": ({"lr": float("nan")}, r"lr must be a finite number > 0, got nan"),
}


@pytest.mark.parametrize("case", BAD)
def test_a_state_that_does_not_fit_is_refused_and_changes_nothing(case: str) -> None:
    changes, message = BAD[case]
    optimizer = Adam(parameters(), lr=0.01)
    steps(optimizer, np.random.default_rng(0), 2)
    before = optimizer.state_dict()
    good = optimizer.state_dict()
    for array in good.values():
        if isinstance(array, np.ndarray):
            array += 1.0  # a load that went ahead would show
    good["step_count"] = 9
    with pytest.raises(LoadError, match=r"^Adam\.load_state_dict: the state does not fit") as info:
        optimizer.load_state_dict(_with(good, **changes))
    assert info.match(message)
    after = optimizer.state_dict()
    assert after.keys() == before.keys()
    for name, value in before.items():
        np.testing.assert_array_equal(after[name], value, err_msg=name)


def test_every_problem_is_listed_at_once() -> None:
    optimizer = RMSprop(parameters())
    state = _with(
        optimizer.state_dict(), lr=-1.0, **{"square_avg.0": None, "grad_avg.0": np.zeros(1)}
    )
    with pytest.raises(LoadError) as info:
        optimizer.load_state_dict(state)
    lines = str(info.value).splitlines()[1:]
    assert [line.strip() for line in lines] == [
        "missing key 'square_avg.0'",
        "unexpected key 'grad_avg.0'",
        "lr must be a finite number > 0, got -1.0",
    ]


def test_a_state_that_is_no_dict_is_refused() -> None:
    with pytest.raises(LoadError, match=r"^SGD\.load_state_dict: expected a dict, got a list"):
        SGD(parameters(), lr=0.1).load_state_dict([1, 2])  # type: ignore[arg-type]
