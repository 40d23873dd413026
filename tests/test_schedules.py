"""Learning-rate schedules: each rule against its rates worked out by hand, against
torch.optim.lr_scheduler when torch is installed, resumed from its state, and inside fit."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import nnlite as nl
from nnlite.errors import LoadError
from nnlite.optim import SGD, Adam
from nnlite.schedules import (
    CosineAnnealingLR,
    ExponentialLR,
    LinearLR,
    OneCycleLR,
    ReduceLROnPlateau,
    Schedule,
    StepLR,
)


def new_optimizer(lr: float = 1.0) -> SGD:
    return SGD([nl.Parameter([1.0])], lr=lr)


def rates(schedule: Schedule, count: int, metrics: list[float] | None = None) -> list[float]:
    """The optimizer's lr at the start, then after each of count - 1 steps."""
    lrs = [schedule.optimizer.lr]
    for t in range(count - 1):
        schedule.step(None if metrics is None else metrics[t])
        lrs.append(schedule.optimizer.lr)
    return lrs


# ---------------------------------------------------------------------------------------------
# Each rule, by hand
# ---------------------------------------------------------------------------------------------


def test_step_lr_by_hand() -> None:
    assert rates(StepLR(new_optimizer(0.8), step_size=3, gamma=0.5), 8) == [
        0.8, 0.8, 0.8, 0.4, 0.4, 0.4, 0.2, 0.2,
    ]  # fmt: skip


def test_exponential_lr_by_hand() -> None:
    assert rates(ExponentialLR(new_optimizer(2.0), gamma=0.5), 5) == [2.0, 1.0, 0.5, 0.25, 0.125]


def test_cosine_annealing_by_hand() -> None:
    """eta_min + (lr - eta_min) (1 + cos(pi t / T)) / 2, at t = 0..2T: down, then back up."""
    got = rates(CosineAnnealingLR(new_optimizer(1.1), T_max=4, eta_min=0.1), 9)
    half = math.sqrt(0.5)
    by_hand = [1.1, 0.1 + (1 + half) / 2, 0.6, 0.1 + (1 - half) / 2, 0.1]
    np.testing.assert_allclose(got, by_hand + by_hand[-2::-1], rtol=1e-15)


def test_linear_warm_up_by_hand() -> None:
    got = rates(LinearLR(new_optimizer(0.4), start_factor=0.25, end_factor=1.0, total_iters=3), 6)
    np.testing.assert_allclose(got, [0.1, 0.2, 0.3, 0.4, 0.4, 0.4], rtol=1e-15)
    assert LinearLR(new_optimizer(0.3)).lr_at(0) == pytest.approx(0.1)  # PyTorch's 1/3 default


def test_one_cycle_by_hand() -> None:
    """max_lr 1, div 4, final div 2, 6 steps, pct_start 0.5: up from 0.25 to 1 over steps 0..2,
    down to 0.125 over steps 2..5; linear: steps of 0.375, then of 0.875 / 3."""
    schedule = OneCycleLR(
        new_optimizer(), max_lr=1.0, total_steps=6, pct_start=0.5, anneal_strategy="linear",
        div_factor=4.0, final_div_factor=2.0,
    )  # fmt: skip
    np.testing.assert_allclose(
        rates(schedule, 6), [0.25, 0.625, 1.0, 1 - 0.875 / 3, 1 - 1.75 / 3, 0.125], rtol=1e-14
    )
    cosine = OneCycleLR(new_optimizer(), max_lr=1.0, total_steps=6, pct_start=0.5, div_factor=4.0)
    up = [0.25, 1 - 0.75 * (1 + math.cos(math.pi / 2)) / 2, 1.0]
    np.testing.assert_allclose(rates(cosine, 3), up, rtol=1e-14)


def test_one_cycle_refuses_steps_beyond_its_total() -> None:
    schedule = OneCycleLR(new_optimizer(), max_lr=1.0, total_steps=3)
    for _ in range(3):  # total_steps steps after the first rate, as PyTorch allows
        schedule.step()
    with pytest.raises(ValueError, match=r"^OneCycleLR: stepped 4 times, beyond total_steps=3"):
        schedule.step()


def test_reduce_on_plateau_by_hand() -> None:
    """patience 2: the third bad epoch in a row reduces; cooldown 1 skips counting one epoch."""
    optimizer = new_optimizer(1.0)
    schedule = ReduceLROnPlateau(optimizer, factor=0.5, patience=2, cooldown=1, threshold=0.1)
    metrics = [5.0, 4.0, 3.9, 3.8, 3.7, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0]
    # best 5, 4 (3.9 is not 10% better: bad 1, bad 2, bad 3 -> reduce at 3.7), then 3.0 is
    # better; then bad, bad, bad -> reduce; cooldown; ...
    got = []
    for metric in metrics:
        schedule.step(metric)
        got.append(optimizer.lr)
    assert got == [1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25]


def test_reduce_on_plateau_max_mode_abs_threshold_and_min_lr() -> None:
    optimizer = new_optimizer(1.0)
    schedule = ReduceLROnPlateau(
        optimizer, mode="max", factor=0.1, patience=0, threshold=0.5, threshold_mode="abs",
        min_lr=0.05,
    )  # fmt: skip
    got = []
    for metric in [1.0, 1.6, 2.0, 2.6, 2.7]:  # better by > 0.5 counts; 2.0 and 2.7 do not
        schedule.step(metric)
        got.append(optimizer.lr)
    assert got == [1.0, 1.0, 0.1, 0.1, 0.05]


def test_reduce_on_plateau_needs_a_metric() -> None:
    with pytest.raises(TypeError, match=r"^ReduceLROnPlateau.step: metric must be a number"):
        ReduceLROnPlateau(new_optimizer()).step()


# ---------------------------------------------------------------------------------------------
# Against torch
# ---------------------------------------------------------------------------------------------

# (nnlite kind, torch name, settings, epochs)
TORCH_CASES: list[tuple[type[Schedule], str, dict[str, Any], int]] = [
    (StepLR, "StepLR", {"step_size": 7, "gamma": 0.3}, 40),
    (ExponentialLR, "ExponentialLR", {"gamma": 0.93}, 60),
    (CosineAnnealingLR, "CosineAnnealingLR", {"T_max": 25}, 60),
    (CosineAnnealingLR, "CosineAnnealingLR", {"T_max": 10, "eta_min": 0.01}, 30),
    (LinearLR, "LinearLR", {}, 12),
    (LinearLR, "LinearLR", {"start_factor": 0.01, "end_factor": 0.5, "total_iters": 20}, 30),
    (OneCycleLR, "OneCycleLR", {"max_lr": 0.5, "total_steps": 100}, 101),
    (
        OneCycleLR,
        "OneCycleLR",
        {"max_lr": 2.0, "total_steps": 37, "pct_start": 0.4, "anneal_strategy": "linear",
         "div_factor": 10.0, "final_div_factor": 100.0},
        38,
    ),
]  # fmt: skip


def torch_rates(
    torch_name: str,
    settings: dict[str, Any],
    count: int,
    lr: float,
    metrics: list[float] | None = None,
    **extra: Any,
) -> list[float]:
    """torch's lr at the start and after each of count - 1 (optimizer step, schedule step)."""
    torch = pytest.importorskip("torch")
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    schedule = getattr(torch.optim.lr_scheduler, torch_name)(optimizer, **settings, **extra)
    lrs = [optimizer.param_groups[0]["lr"]]
    for t in range(count - 1):
        optimizer.step()
        schedule.step(*([] if metrics is None else [metrics[t]]))
        lrs.append(optimizer.param_groups[0]["lr"])
    return lrs


@pytest.mark.parametrize(
    "case", TORCH_CASES, ids=[f"{c[1]}-{i}" for i, c in enumerate(TORCH_CASES)]
)
def test_the_rates_equal_torchs(case: tuple[type[Schedule], str, dict[str, Any], int]) -> None:
    """To rtol 1e-12, atol 1e-12 times the largest rate: PyTorch updates most rates by a factor
    from the last one, nnlite computes each from its closed form; a wrong rule is off by 1e-3."""
    kind, torch_name, settings, count = case
    extra: dict[str, Any] = {"cycle_momentum": False} if kind is OneCycleLR else {}
    expected = torch_rates(torch_name, settings, count, lr=0.1, **extra)
    got = rates(kind(new_optimizer(0.1), **settings), count)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12 * max(expected))


def test_reduce_on_plateau_equals_torchs() -> None:
    metrics = list(np.random.default_rng(0).normal(size=80).cumsum() * 0.05 + 3.0)
    metrics[40:60] = [2.0] * 20  # a long plateau
    settings: dict[str, Any] = {"factor": 0.5, "patience": 3, "cooldown": 2, "threshold": 0.01}
    settings["min_lr"] = 1e-3
    expected = torch_rates("ReduceLROnPlateau", settings, 81, lr=0.1, metrics=metrics)
    got = rates(ReduceLROnPlateau(new_optimizer(0.1), **settings), 81, metrics=metrics)
    assert got == expected  # a product of exact factors in both: equal to the last bit
    assert len(set(got)) > 3  # the metrics made it reduce several times


def test_the_torch_comparison_can_fail() -> None:
    expected = torch_rates("CosineAnnealingLR", {"T_max": 25}, 30, lr=0.1)
    got = rates(CosineAnnealingLR(new_optimizer(0.1), T_max=24), 30)
    assert not np.allclose(got, expected, rtol=1e-12, atol=1e-13)


# ---------------------------------------------------------------------------------------------
# State, errors
# ---------------------------------------------------------------------------------------------

MAKERS: dict[str, Callable[[SGD], Schedule]] = {
    "step": lambda o: StepLR(o, step_size=2),
    "cosine": lambda o: CosineAnnealingLR(o, T_max=5),
    "one-cycle": lambda o: OneCycleLR(o, max_lr=1.0, total_steps=10),
    "plateau": lambda o: ReduceLROnPlateau(o, patience=0),
}


@pytest.mark.parametrize("kind", MAKERS)
def test_a_resumed_schedule_continues_where_it_stopped(kind: str) -> None:
    metrics = [3.0, 2.0, 2.5, 2.5, 1.0, 1.0, 1.0, 2.0, 0.5]
    whole = MAKERS[kind](new_optimizer())
    rates(whole, 4, metrics)
    state, optimizer_state = whole.state_dict(), whole.optimizer.state_dict()
    optimizer = new_optimizer()
    resumed = MAKERS[kind](optimizer)
    optimizer.load_state_dict(optimizer_state)
    resumed.load_state_dict(state)
    assert rates(resumed, 6, metrics[3:]) == rates(whole, 6, metrics[3:])


def test_a_schedule_state_that_does_not_fit_is_refused_and_changes_nothing() -> None:
    schedule = ReduceLROnPlateau(new_optimizer())
    schedule.step(1.0)
    before = schedule.state_dict()
    bad = {**before, "num_bad_epochs": -1, "best": float("nan"), "extra": 1}
    with pytest.raises(LoadError) as info:
        schedule.load_state_dict(bad)
    message = str(info.value)
    assert "unexpected key 'extra'" in message
    assert "num_bad_epochs must be an int >= 0, got -1" in message
    assert "best must be " in message
    assert schedule.state_dict() == before
    fresh = ReduceLROnPlateau(new_optimizer())
    assert fresh.state_dict()["best"] == math.inf  # before any metric: inf, which loads
    fresh.load_state_dict(fresh.state_dict())


BAD_SETTINGS: list[tuple[Callable[[], Any], type[Exception], str]] = [
    (lambda: StepLR(object(), step_size=1), TypeError, "^StepLR: optimizer must have a number lr"),
    (lambda: StepLR(new_optimizer(), step_size=0), ValueError, "^StepLR: step_size must be an int"),
    (
        lambda: ExponentialLR(new_optimizer(), gamma=0),
        ValueError,
        "^ExponentialLR: gamma must be a finite number > 0",
    ),
    (
        lambda: CosineAnnealingLR(new_optimizer(), T_max=2.5),  # type: ignore[arg-type]
        TypeError,
        "^CosineAnnealingLR: T_max must be an int",
    ),
    (
        lambda: LinearLR(new_optimizer(), start_factor=0),
        ValueError,
        r"^LinearLR: start_factor must be a finite number in \(0, 1\]",
    ),
    (
        lambda: OneCycleLR(new_optimizer(), max_lr=1, total_steps=1),
        ValueError,
        "^OneCycleLR: total_steps must be an int >= 2",
    ),
    (
        lambda: OneCycleLR(new_optimizer(), max_lr=1, total_steps=9, anneal_strategy="cosine"),
        ValueError,
        "^OneCycleLR: anneal_strategy must be one of 'cos', 'linear'",
    ),
    (
        lambda: ReduceLROnPlateau(new_optimizer(), factor=1.0),
        ValueError,
        r"^ReduceLROnPlateau: factor must be a finite number in \(0, 1\)",
    ),
    (
        lambda: ReduceLROnPlateau(new_optimizer(), mode="minimum"),
        ValueError,
        "^ReduceLROnPlateau: mode must be one of 'min', 'max'",
    ),
]


@pytest.mark.parametrize(("make", "error", "message"), BAD_SETTINGS)
def test_bad_settings_are_named(
    make: Callable[[], Schedule], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        make()


# ---------------------------------------------------------------------------------------------
# In fit
# ---------------------------------------------------------------------------------------------

X, Y = nl.datasets.two_moons(40, rng=0)


def test_fit_steps_an_epoch_schedule_after_each_epoch() -> None:
    model = nl.two_layer_network(2, 4, rng=0)
    optimizer = SGD(model.parameters(), lr=0.5)
    schedule = StepLR(optimizer, step_size=2, gamma=0.1)
    history = nl.fit(
        model, nl.MSELoss(), optimizer, X, Y, epochs=5, schedule=schedule, rng=0, progress=False
    )
    np.testing.assert_allclose(history.lr, [0.5, 0.5, 0.05, 0.05, 0.005], rtol=1e-15)
    assert schedule.last_epoch == 5


def test_fit_with_a_schedule_is_the_loop_written_out() -> None:
    """fit's run equals the PyTorch-style loop: the epochs of fit, a schedule step after each."""
    model = nl.two_layer_network(2, 4, rng=0)
    reference = nl.two_layer_network(2, 4, rng=0)
    optimizer = Adam(model.parameters(), lr=0.05)
    nl.fit(model, nl.MSELoss(), optimizer, X, Y, epochs=4, batch_size=8, rng=3, progress=False,
           schedule=ExponentialLR(optimizer, gamma=0.5))  # fmt: skip
    reference_optimizer = Adam(reference.parameters(), lr=0.05)
    schedule = ExponentialLR(reference_optimizer, gamma=0.5)
    generator = np.random.default_rng(3)
    for _ in range(4):
        nl.fit(reference, nl.MSELoss(), reference_optimizer, X, Y, epochs=1, batch_size=8,
               rng=generator, progress=False)  # fmt: skip
        schedule.step()
    for a, b in zip(model.parameters(), reference.parameters(), strict=True):
        np.testing.assert_array_equal(a.data, b.data)


def test_fit_steps_a_one_cycle_after_every_batch() -> None:
    model = nl.two_layer_network(2, 4, rng=0)
    optimizer = SGD(model.parameters(), lr=0.5)
    batches = 5  # 40 rows, batch_size 8
    schedule = OneCycleLR(optimizer, max_lr=1.0, total_steps=3 * batches)
    history = nl.fit(
        model,
        nl.MSELoss(),
        optimizer,
        X,
        Y,
        epochs=3,
        batch_size=8,
        schedule=schedule,
        progress=False,
    )
    assert schedule.last_epoch == 3 * batches
    assert history.lr == [schedule.lr_at(epoch * batches) for epoch in range(3)]


class _Frozen:
    """An optimizer that changes nothing, with an lr: the validation loss stays the same."""

    lr = 1.0

    def step(self) -> None:
        pass


def test_fit_hands_a_plateau_the_validation_loss() -> None:
    model = nl.two_layer_network(2, 4, rng=0)
    optimizer = _Frozen()
    schedule = ReduceLROnPlateau(optimizer, factor=0.5, patience=1)
    history = nl.fit(
        model,
        nl.MSELoss(),
        optimizer,
        X,
        Y,
        epochs=6,
        validation_data=(X, Y),
        schedule=schedule,
        progress=False,
    )
    assert len(set(history.val_loss)) == 1
    assert history.lr == [1.0, 1.0, 1.0, 0.5, 0.5, 0.25]  # the first loss is the best, then flat


def test_fit_refuses_a_schedule_of_another_optimizer() -> None:
    model = nl.two_layer_network(2, 4, rng=0)
    other = StepLR(new_optimizer(), step_size=1)
    with pytest.raises(ValueError, match=r"^fit: the schedule StepLR\(.*adjusts another optimizer"):
        nl.fit(model, nl.MSELoss(), SGD(model.parameters(), lr=0.1), X, Y, epochs=1, schedule=other)
    with pytest.raises(TypeError, match=r"^fit: schedule must be None or an nnlite.schedules"):
        nl.fit(model, nl.MSELoss(), SGD(model.parameters(), lr=0.1), X, Y, epochs=1, schedule=0.1)  # type: ignore[arg-type]
