"""Learning-rate schedules: set an optimizer's ``lr`` before each epoch (or step) from a rule.

A schedule holds the optimizer it adjusts. When made, it sets ``optimizer.lr`` to the rate of the
first epoch; each ``step()`` moves to the next epoch and sets its rate. ``fit`` calls ``step()``
after every epoch (after every batch for a schedule whose ``interval`` is ``"step"``:
:class:`OneCycleLR`), handing it the epoch's validation loss (the training loss without
validation data), which only :class:`ReduceLROnPlateau` reads::

    optimizer = nl.optim.SGD(model.parameters(), lr=0.1)
    schedule = nl.schedules.StepLR(optimizer, step_size=10, gamma=0.5)
    nl.fit(model, loss, optimizer, X, Y, epochs=30, schedule=schedule)

Written out by hand, the loop is PyTorch's: ``optimizer.step()`` for each batch, then
``schedule.step()`` at the end of the epoch. The rules, names and defaults are PyTorch's
(``torch.optim.lr_scheduler``), and the rates are the same: the tests compare the sequences. Each
rule is written in its closed form, the rate of epoch t from the initial rate ``base_lr``, where
PyTorch's schedulers mostly update the last rate by a factor; the two agree to rounding.

The file is a little over 400 lines: six rules side by side, each a line or two of formula under
the docstring that states it, with a worked example.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

from nnlite._constraints import AnyOf, Constraint, Integer, OneOf, Real
from nnlite._state import check_state
from nnlite._validation import describe
from nnlite.errors import ArgumentTypeError

_POSITIVE = Real(low=0, closed="neither")
_NON_NEGATIVE = Real(low=0)
_COUNT = Integer(low=0)


class Schedule:
    """Base class: ``lr_at(t)`` is the rule; ``step()`` moves to the next epoch and sets it.

    A subclass gives ``lr_at(t)``, the learning rate of epoch t = 0, 1, ... (of step t, with
    ``interval = "step"``) from ``self.base_lr``, the optimizer's lr when the schedule was made.

    Args:
        optimizer: the optimizer whose ``lr`` it sets: any with a number ``lr`` attribute, such
            as those of :mod:`nnlite.optim`.

    Attributes:
        optimizer: that optimizer.
        base_lr: its lr when the schedule was made.
        last_epoch: the number of ``step()`` calls so far, t (PyTorch's name; for a schedule
            stepped per batch it counts batches).
        interval: ``"epoch"`` or ``"step"``: when ``fit`` calls ``step()``.

    Raises:
        ArgumentTypeError: the optimizer has no number ``lr``.
    """

    interval: ClassVar[Literal["epoch", "step"]] = "epoch"
    # The state, by name, and the rule a loaded value must keep.
    _state_rules: ClassVar[dict[str, Constraint[Any]]] = {
        "last_epoch": _COUNT,
        "base_lr": _POSITIVE,
    }

    def __init__(self, optimizer: Any) -> None:
        name = type(self).__name__
        lr = getattr(optimizer, "lr", None)
        if not isinstance(lr, (int, float)) or isinstance(lr, bool):
            raise ArgumentTypeError(
                f"{name}: optimizer must have a number lr (an nnlite.optim optimizer), got "
                f"{describe(optimizer)}"
            )
        self.optimizer = optimizer
        self.base_lr = float(lr)
        self.last_epoch = 0

    def _start(self) -> None:
        """Set the first epoch's rate; a subclass calls it once its settings are checked."""
        self.optimizer.lr = self.lr_at(0)

    def lr_at(self, t: int) -> float:
        """The learning rate of epoch t (of step t with ``interval = "step"``)."""
        raise NotImplementedError(f"{type(self).__name__} must implement lr_at(t)")

    def step(self, metric: float | None = None) -> None:
        """Move to the next epoch and set its learning rate. ``metric`` is ignored here (fit
        passes the epoch's loss, which :class:`ReduceLROnPlateau` reads)."""
        self.last_epoch += 1
        self.optimizer.lr = self.lr_at(self.last_epoch)

    def state_dict(self) -> dict[str, Any]:
        """The state to resume from, by name: ``last_epoch``, ``base_lr`` (and a plateau's
        counters)."""
        return {name: getattr(self, name) for name in self._state_rules}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Set the state from :meth:`state_dict`, strictly: exactly its names, each number in
        range; nothing changes if it is refused. The optimizer's lr is part of the optimizer's
        own state: load both.

        Raises:
            LoadError: one error listing every missing or unexpected name and bad number.
        """
        where = f"{type(self).__name__}.load_state_dict"
        for name, value in check_state(where, self.state_dict(), state, self._state_rules).items():
            setattr(self, name, value)

    def __repr__(self) -> str:
        settings = ", ".join(f"{name}={value!r}" for name, value in self._settings().items())
        return f"{type(self).__name__}({settings})"

    def _settings(self) -> dict[str, Any]:
        return {}


class StepLR(Schedule):
    """lr_t = base_lr * gamma^floor(t / step_size): multiplied by gamma every step_size epochs.

    Args:
        optimizer: the optimizer (see :class:`Schedule`).
        step_size: epochs between decays, an int >= 1.
        gamma: the factor, > 0 (PyTorch's default 0.1).

    Examples:
        >>> import nnlite as nl
        >>> optimizer = nl.optim.SGD([nl.Parameter([1.0])], lr=1.0)
        >>> schedule = nl.schedules.StepLR(optimizer, step_size=2, gamma=0.5)
        >>> [schedule.lr_at(t) for t in range(5)]
        [1.0, 1.0, 0.5, 0.5, 0.25]
    """

    def __init__(self, optimizer: Any, step_size: int, gamma: float = 0.1) -> None:
        super().__init__(optimizer)
        self.step_size = Integer(low=1).check("StepLR", "step_size", step_size)
        self.gamma = _POSITIVE.check("StepLR", "gamma", gamma)
        self._start()

    def lr_at(self, t: int) -> float:
        return self.base_lr * self.gamma ** (t // self.step_size)

    def _settings(self) -> dict[str, Any]:
        return {"step_size": self.step_size, "gamma": self.gamma}


class ExponentialLR(Schedule):
    """lr_t = base_lr * gamma^t: multiplied by gamma every epoch.

    Args:
        optimizer: the optimizer (see :class:`Schedule`).
        gamma: the factor per epoch, > 0.

    Examples:
        >>> import nnlite as nl
        >>> optimizer = nl.optim.SGD([nl.Parameter([1.0])], lr=1.0)
        >>> [nl.schedules.ExponentialLR(optimizer, gamma=0.5).lr_at(t) for t in range(4)]
        [1.0, 0.5, 0.25, 0.125]
    """

    def __init__(self, optimizer: Any, gamma: float) -> None:
        super().__init__(optimizer)
        self.gamma = _POSITIVE.check("ExponentialLR", "gamma", gamma)
        self._start()

    def lr_at(self, t: int) -> float:
        return self.base_lr * self.gamma**t

    def _settings(self) -> dict[str, Any]:
        return {"gamma": self.gamma}


class CosineAnnealingLR(Schedule):
    """lr_t = eta_min + (base_lr - eta_min) (1 + cos(pi t / T_max)) / 2: half a cosine, from
    base_lr at t = 0 down to eta_min at t = T_max (and back up after, as in PyTorch).

    Args:
        optimizer: the optimizer (see :class:`Schedule`).
        T_max: the epochs of the descent, an int >= 1.
        eta_min: the lowest rate, >= 0.

    Examples:
        >>> import nnlite as nl
        >>> optimizer = nl.optim.SGD([nl.Parameter([1.0])], lr=1.0)
        >>> schedule = nl.schedules.CosineAnnealingLR(optimizer, T_max=4)
        >>> [round(schedule.lr_at(t), 4) for t in range(5)]
        [1.0, 0.8536, 0.5, 0.1464, 0.0]
    """

    def __init__(self, optimizer: Any, T_max: int, eta_min: float = 0.0) -> None:
        super().__init__(optimizer)
        self.T_max = Integer(low=1).check("CosineAnnealingLR", "T_max", T_max)
        self.eta_min = _NON_NEGATIVE.check("CosineAnnealingLR", "eta_min", eta_min)
        self._start()

    def lr_at(self, t: int) -> float:
        cosine = (1 + math.cos(math.pi * t / self.T_max)) / 2
        return self.eta_min + (self.base_lr - self.eta_min) * cosine

    def _settings(self) -> dict[str, Any]:
        return {"T_max": self.T_max, "eta_min": self.eta_min}


class LinearLR(Schedule):
    """lr_t = base_lr * (start_factor + (end_factor - start_factor) min(t, total_iters) /
    total_iters): a linear warm-up from start_factor * base_lr to end_factor * base_lr.

    Args:
        optimizer: the optimizer (see :class:`Schedule`).
        start_factor: the factor of the first epoch, in (0, 1] (PyTorch's default 1/3).
        end_factor: the factor from epoch total_iters on, in [0, 1].
        total_iters: the epochs of the ramp, an int >= 1.

    Examples:
        >>> import nnlite as nl
        >>> optimizer = nl.optim.SGD([nl.Parameter([1.0])], lr=1.0)
        >>> warm_up = nl.schedules.LinearLR(optimizer, start_factor=0.25, total_iters=3)
        >>> [warm_up.lr_at(t) for t in range(5)]
        [0.25, 0.5, 0.75, 1.0, 1.0]
        >>> optimizer.lr  # set to the first epoch's rate
        0.25
    """

    def __init__(
        self,
        optimizer: Any,
        start_factor: float = 1.0 / 3,
        end_factor: float = 1.0,
        total_iters: int = 5,
    ) -> None:
        super().__init__(optimizer)
        self.start_factor = Real(0, 1, closed="right").check(
            "LinearLR", "start_factor", start_factor
        )
        self.end_factor = Real(0, 1).check("LinearLR", "end_factor", end_factor)
        self.total_iters = Integer(low=1).check("LinearLR", "total_iters", total_iters)
        self._start()

    def lr_at(self, t: int) -> float:
        fraction = min(t, self.total_iters) / self.total_iters
        return self.base_lr * (self.start_factor + (self.end_factor - self.start_factor) * fraction)

    def _settings(self) -> dict[str, Any]:
        return {
            "start_factor": self.start_factor,
            "end_factor": self.end_factor,
            "total_iters": self.total_iters,
        }


class OneCycleLR(Schedule):
    """Up from max_lr / div_factor to max_lr over the first pct_start of the steps, then down to
    max_lr / (div_factor * final_div_factor), each half a cosine (or a line): PyTorch's 1cycle.

    Stepped after every batch (``interval = "step"``), for ``total_steps`` steps in all: give
    ``fit`` epochs * (batches per epoch). The rate of step t in a phase from a to b that ends at
    step e, starting at step s, is b + (a - b) (1 + cos(pi p)) / 2 with p = (t - s) / (e - s)
    (``anneal_strategy="linear"``: a + (b - a) p); the first phase ends at step
    pct_start * total_steps - 1, the second at total_steps - 1. The optimizer's lr when the
    schedule is made is not used: max_lr is. The momentum is not cycled (PyTorch's
    ``cycle_momentum=False``).

    Args:
        optimizer: the optimizer (see :class:`Schedule`).
        max_lr: the peak rate, > 0.
        total_steps: the steps of the cycle, an int >= 2.
        pct_start: the share of the steps going up, in (0, 1).
        anneal_strategy: ``"cos"`` or ``"linear"``.
        div_factor: the first rate is max_lr / div_factor, > 0.
        final_div_factor: the last rate is the first / final_div_factor, > 0.

    Raises:
        ValueError: (at ``step``) more steps than total_steps, as in PyTorch.

    Examples:
        >>> import nnlite as nl
        >>> optimizer = nl.optim.SGD([nl.Parameter([1.0])], lr=1.0)
        >>> schedule = nl.schedules.OneCycleLR(
        ...     optimizer, max_lr=1.0, total_steps=5, pct_start=0.4, anneal_strategy="linear",
        ...     div_factor=10, final_div_factor=1)
        >>> [round(schedule.lr_at(t), 4) for t in range(5)]
        [0.1, 1.0, 0.7, 0.4, 0.1]
    """

    interval: ClassVar[Literal["epoch", "step"]] = "step"

    def __init__(
        self,
        optimizer: Any,
        max_lr: float,
        total_steps: int,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
    ) -> None:
        super().__init__(optimizer)
        name = "OneCycleLR"
        self.max_lr = _POSITIVE.check(name, "max_lr", max_lr)
        self.total_steps = Integer(low=2).check(name, "total_steps", total_steps)
        self.pct_start = Real(0, 1, closed="neither").check(name, "pct_start", pct_start)
        self.anneal_strategy = OneOf("cos", "linear").check(
            name, "anneal_strategy", anneal_strategy
        )
        self.div_factor = _POSITIVE.check(name, "div_factor", div_factor)
        self.final_div_factor = _POSITIVE.check(name, "final_div_factor", final_div_factor)
        initial_lr = self.max_lr / self.div_factor
        # (last step, rate at its start, rate at its end) of each phase, as PyTorch's.
        self.phases = [
            (self.pct_start * self.total_steps - 1, initial_lr, self.max_lr),
            (self.total_steps - 1, self.max_lr, initial_lr / self.final_div_factor),
        ]
        self._start()

    def lr_at(self, t: int) -> float:
        start_step = 0.0
        for index, (end_step, start_lr, end_lr) in enumerate(self.phases):
            if t <= end_step or index == len(self.phases) - 1:
                p = (t - start_step) / (end_step - start_step)
                if self.anneal_strategy == "cos":
                    return end_lr + (start_lr - end_lr) / 2 * (math.cos(math.pi * p) + 1)
                return (end_lr - start_lr) * p + start_lr
            start_step = end_step
        raise AssertionError("unreachable: the last phase returns")

    def step(self, metric: float | None = None) -> None:
        if self.last_epoch + 1 > self.total_steps:
            raise ValueError(
                f"OneCycleLR: stepped {self.last_epoch + 1} times, beyond total_steps="
                f"{self.total_steps}: give total_steps = epochs * batches per epoch"
            )
        super().step(metric)

    def _settings(self) -> dict[str, Any]:
        return {"max_lr": self.max_lr, "total_steps": self.total_steps, "pct_start": self.pct_start}


class ReduceLROnPlateau(Schedule):
    """lr = max(lr * factor, min_lr) once the metric has not improved for more than patience
    epochs; then wait cooldown epochs before counting again.

    PyTorch's rule: ``step(metric)`` counts an epoch as bad unless the metric beats the best so
    far by the threshold (mode "min", threshold_mode "rel": metric < best (1 - threshold); "abs":
    metric < best - threshold; mode "max" the other way round). After more than patience bad
    epochs in a row, lr is reduced (unless by less than eps), and the count restarts after
    cooldown epochs. ``fit`` hands it the validation loss, or the training loss without
    validation data.

    Args:
        optimizer: the optimizer (see :class:`Schedule`).
        mode: ``"min"`` (a loss) or ``"max"`` (an accuracy).
        factor: the reduction, in (0, 1).
        patience: bad epochs tolerated, an int >= 0.
        threshold: the improvement that counts, >= 0.
        threshold_mode: ``"rel"`` or ``"abs"``.
        cooldown: epochs after a reduction before bad epochs count, an int >= 0.
        min_lr: the lowest rate, >= 0.
        eps: a reduction smaller than this is skipped, >= 0.

    Attributes:
        best: the best metric so far. num_bad_epochs: the bad epochs in a row.
        cooldown_counter: the cooldown epochs left.

    Examples:
        >>> import nnlite as nl
        >>> optimizer = nl.optim.SGD([nl.Parameter([1.0])], lr=1.0)
        >>> schedule = nl.schedules.ReduceLROnPlateau(optimizer, factor=0.5, patience=1)
        >>> for loss in [3.0, 2.0, 2.0, 2.0, 2.0, 2.0]:
        ...     schedule.step(loss)
        ...     print(optimizer.lr, end=" ")
        1.0 1.0 1.0 0.5 0.5 0.25
    """

    _state_rules: ClassVar[dict[str, Constraint[Any]]] = {
        **Schedule._state_rules,
        "best": AnyOf(Real(), OneOf(math.inf, -math.inf)),  # +-inf before the first metric
        "num_bad_epochs": _COUNT,
        "cooldown_counter": _COUNT,
    }

    def __init__(
        self,
        optimizer: Any,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr: float = 0.0,
        eps: float = 1e-8,
    ) -> None:
        super().__init__(optimizer)
        name = "ReduceLROnPlateau"
        self.mode = OneOf("min", "max").check(name, "mode", mode)
        self.factor = Real(0, 1, closed="neither").check(name, "factor", factor)
        self.patience = _COUNT.check(name, "patience", patience)
        self.threshold = _NON_NEGATIVE.check(name, "threshold", threshold)
        self.threshold_mode = OneOf("rel", "abs").check(name, "threshold_mode", threshold_mode)
        self.cooldown = _COUNT.check(name, "cooldown", cooldown)
        self.min_lr = _NON_NEGATIVE.check(name, "min_lr", min_lr)
        self.eps = _NON_NEGATIVE.check(name, "eps", eps)
        self.best = math.inf if self.mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0

    def lr_at(self, t: int) -> float:
        raise TypeError("ReduceLROnPlateau: the rate depends on the metrics, not on t alone")

    def _is_better(self, metric: float) -> bool:
        relative = self.threshold_mode == "rel"
        if self.mode == "min":
            return metric < (
                self.best * (1 - self.threshold) if relative else self.best - self.threshold
            )
        return metric > (
            self.best * (1 + self.threshold) if relative else self.best + self.threshold
        )

    def step(self, metric: float | None = None) -> None:
        """Count the epoch of ``metric`` (required) and reduce lr when it is due."""
        metric = Real().check("ReduceLROnPlateau.step", "metric", metric)
        self.last_epoch += 1
        if self._is_better(metric):
            self.best, self.num_bad_epochs = metric, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs in cooldown do not count
        if self.num_bad_epochs > self.patience:
            lr = float(self.optimizer.lr)
            reduced = max(lr * self.factor, self.min_lr)
            if lr - reduced > self.eps:
                self.optimizer.lr = reduced
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0

    def _settings(self) -> dict[str, Any]:
        return {"mode": self.mode, "factor": self.factor, "patience": self.patience}


__all__ = [
    "CosineAnnealingLR",
    "ExponentialLR",
    "LinearLR",
    "OneCycleLR",
    "ReduceLROnPlateau",
    "Schedule",
    "StepLR",
]
