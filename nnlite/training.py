"""Training: fit a model with mini-batches (predict and evaluate are in :mod:`nnlite.metrics`)."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from numpy.typing import ArrayLike

from nnlite import clipping
from nnlite._constraints import Boolean, Integer, Optional, Real
from nnlite._finite import _LastFinite as _LastFinite  # also the benchmark's step's guard
from nnlite._finite import _require_finite
from nnlite._validation import describe
from nnlite.callbacks import (
    Callback,
    EarlyStopping,
    ModelCheckpoint,
    ProgressBar,
    Run,
    StopTraining,
    _checked,
    _overrides,
)
from nnlite.errors import ArgumentTypeError, TrainingError
from nnlite.layer import Layer
from nnlite.losses import Loss
from nnlite.metrics import _rows, check_metrics
from nnlite.metrics import accuracy as accuracy  # these four were defined here: still importable
from nnlite.metrics import evaluate as evaluate
from nnlite.metrics import is_classification_target as is_classification_target
from nnlite.metrics import predict as predict
from nnlite.parameter import Parameter
from nnlite.schedules import Schedule
from nnlite.typing import FloatArray, RngLike


class Stepper(Protocol):
    """What ``fit`` needs of an optimizer (see :mod:`nnlite.optim`)."""

    def step(self) -> None: ...


@dataclass
class History:
    """What ``fit`` measured, one entry per epoch run.

    Attributes:
        loss: the training loss of each epoch: the mean of its batches' losses, weighted by batch
            size (the model changes during the epoch, so this is a running average, not the loss of
            the final weights).
        val_loss: the loss on ``validation_data`` after each epoch (empty without it).
        val_accuracy: the accuracy on ``validation_data`` after each epoch, for classification
            targets (empty otherwise). See :func:`accuracy`.
        val_precision, val_recall, val_f1: with ``fit(..., metrics=...)``, those asked for on
            ``validation_data`` after each epoch (empty otherwise): class 1's for one output,
            macro-averaged over the classes for several. See
            :func:`nnlite.metrics.precision_recall_f1`.
        seconds: wall time of each epoch, validation included.
        lr: the optimizer's learning rate at the start of each epoch (empty for an optimizer
            without an ``lr``); with a schedule, the rate it set.
        stopped_early: True when early stopping (or another callback, raising
            :class:`~nnlite.callbacks.StopTraining`) ended training before ``epochs``.
        best_epoch: with early stopping, the epoch (0-based) with the lowest validation loss,
            whose weights the model holds at the end.
    """

    loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    val_precision: list[float] = field(default_factory=list)
    val_recall: list[float] = field(default_factory=list)
    val_f1: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    stopped_early: bool = False
    best_epoch: int | None = None

    @property
    def epochs(self) -> int:
        """The number of epochs run."""
        return len(self.loss)


def fit(
    model: Layer,
    loss: Loss,
    optimizer: Stepper,
    X: ArrayLike,
    Y: ArrayLike,
    *,
    epochs: int,
    batch_size: int = 32,
    shuffle: bool = True,
    rng: RngLike = None,
    validation_data: tuple[ArrayLike, ArrayLike] | None = None,
    patience: int | None = None,
    progress: bool | None = None,
    schedule: Schedule | None = None,
    clip_grad_norm: float | None = None,
    checkpoint: str | os.PathLike[str] | None = None,
    resume: bool = False,
    callbacks: list[Callback] | None = None,
    metrics: Sequence[str] = (),
) -> History:
    """Train ``model`` on (X, Y) with mini-batch steps of ``optimizer``, and return the history.

    Each epoch visits every row once, in batches of ``batch_size`` (shuffled by ``rng`` when
    ``shuffle``); the last batch holds what is left, and since every loss averages over its own
    batch's rows, a partial batch is weighed correctly. One step is::

        model.zero_grad()
        L = loss(model(x), y)
        model.backward_parameters(loss.backward())  # backward, without dL/dx: nobody needs it
        optimizer.step()

    (``model.zero_grad()`` with the parameters listed once, not looked up at every step.) With
    ``clip_grad_norm``, :func:`nnlite.clip_grad_norm` bounds the gradients just before
    ``optimizer.step()``; a ``schedule`` is stepped after every epoch (after every step for one
    stepped per batch, such as :class:`~nnlite.schedules.OneCycleLR`).

    The same ``rng`` seed (with the same initial model) gives the same run, bit for bit.

    Non-finite values are caught where they appear. The data (and ``validation_data``) and the
    model's initial weights are checked before the first step: a NaN or infinity there is an
    error naming the array and its first bad row. The loss of every step is checked before the
    weights are updated, so a diverging run stops at the step where its loss stops being finite.
    The weights stay finite: they are copied before every update, checked at the end of every
    epoch, and when training stops on a non-finite value the model holds the last weights known
    to be finite (the optimizer's own state, such as momentum, is not restored: make a new
    optimizer to go on). A validation loss that is not finite is an error too.

    Args:
        model: the model to train, in place.
        loss: the loss, e.g. ``nl.MSELoss()``.
        optimizer: e.g. ``nl.optim.SGD(model.parameters(), lr=0.5)``.
        X: inputs, (N, n_in). Y: targets, (N, n_out) as the loss expects them.
        epochs: passes over the data (at most, with early stopping).
        batch_size: rows per step.
        shuffle: reshuffle the rows every epoch (a bool).
        rng: seed or Generator for the shuffling.
        validation_data: (X_val, Y_val), evaluated after every epoch. For a binary output the
            accuracy reads a row as class 1 at the loss's ``decision_threshold``: 0.5 for
            probabilities, 0.0 for the logits of ``BCEWithLogitsLoss``.
        patience: early stopping: stop when the validation loss has not improved for this many
            epochs, and restore the weights of the best epoch. Needs ``validation_data``.
        progress: show a progress bar (epoch, loss, speed) on stderr. None (the default): only when
            stderr is a terminal. False: never. Uses tqdm when installed, plain lines otherwise.
        schedule: a learning-rate schedule of ``optimizer`` (:mod:`nnlite.schedules`), stepped
            after each epoch with the validation loss (the training loss without
            ``validation_data``), which :class:`~nnlite.schedules.ReduceLROnPlateau` reads.
        clip_grad_norm: the largest total norm of the gradients at each step, > 0 (see
            :func:`nnlite.clip_grad_norm`); None: no clipping.
        checkpoint: a file to save a checkpoint to after every epoch
            (:func:`nnlite.save_checkpoint`: the model, the optimizer, the schedule, the shuffling
            generator, the epoch, the history, and with patience the best weights). Needs an
            nnlite optimizer.
        resume: with ``checkpoint``, go on from the file when it exists: load it into the model,
            optimizer and schedule (made with the same settings) and run the remaining epochs
            of ``epochs``. The run then ends bit for bit as the uninterrupted one, its history
            included (the seconds aside).
        callbacks: :class:`nnlite.callbacks.Callback` objects whose hooks run at the start and
            end of each epoch and batch, in this order, after the progress display and before
            the checkpoint and early stopping (``progress``, ``checkpoint`` and ``patience`` are
            shortcuts for :class:`~nnlite.callbacks.ProgressBar`,
            :class:`~nnlite.callbacks.ModelCheckpoint` and
            :class:`~nnlite.callbacks.EarlyStopping`; a ProgressBar given replaces
            ``progress``'s). A hook raising
            :class:`~nnlite.callbacks.StopTraining` ends training; ``stopped_early`` is then True.
        metrics: scores to measure on ``validation_data`` after each epoch, beside the loss and
            accuracy: any of "precision", "recall" and "f1"
            (:func:`nnlite.metrics.precision_recall_f1`: class 1's for one output column,
            macro-averaged over the classes for one-hot targets), recorded as
            ``History.val_precision``, ... Needs classification targets.

    Returns:
        A :class:`History`.

    Raises:
        ShapeError: X and Y have different numbers of rows.
        ArgumentValueError: (a ValueError) epochs, batch_size or patience is an int below 1; a
            NaN or infinity in X, Y, validation_data or the model's weights.
        ArgumentTypeError: (a TypeError) epochs, batch_size or patience is not an int; shuffle
            is not a bool (the string "false" would have shuffled); callbacks is not a list of
            Callbacks; checkpoint with an optimizer that is not an nnlite one.
        ValueError: patience or metrics without validation_data; metrics on validation targets
            that are not classification targets; a schedule of another optimizer.
        LoadError: with resume, a checkpoint that does not fit (nothing is changed then).
        TrainingError: the training loss, the weights or the validation loss became NaN or
            infinite; the message says at which step or epoch, and the likely cause.

    Examples:
        >>> import nnlite as nl
        >>> from nnlite.optim import SGD
        >>> X, Y = nl.datasets.xor()
        >>> model = nl.two_layer_network(2, 4, rng=0)
        >>> history = nl.fit(model, nl.MSELoss(), SGD(model.parameters(), lr=2.0), X, Y,
        ...                  epochs=3000, batch_size=4, rng=0, progress=False)
        >>> history.loss[-1] < 0.01
        True
    """
    X, Y = _rows(X, Y, "fit")
    epochs = Integer(low=1).check("fit", "epochs", epochs)
    batch_size = Integer(low=1).check("fit", "batch_size", batch_size)
    shuffle = Boolean().check("fit", "shuffle", shuffle)
    clip_grad_norm = Optional(Real(low=0, closed="neither")).check(
        "fit", "clip_grad_norm", clip_grad_norm
    )
    _check_schedule(schedule, optimizer)
    resume = Boolean().check("fit", "resume", resume)
    if patience is not None:
        patience = Integer(low=1).check("fit", "patience", patience)
        if validation_data is None:
            raise ValueError("fit: patience (early stopping) needs validation_data")
    callbacks = _shortcuts(_checked(callbacks), progress, checkpoint, resume, patience)
    metrics = check_metrics("fit", metrics)
    if metrics and validation_data is None:
        raise ValueError(f"fit: metrics ({', '.join(metrics)}) need validation_data")
    validation = _rows(*validation_data, "fit validation_data") if validation_data else None
    if metrics and validation is not None and not is_classification_target(validation[1]):
        raise ValueError(
            f"fit: metrics ({', '.join(metrics)}) need classification targets in "
            "validation_data (a column of 0s and 1s, or one-hot rows)"
        )
    _require_finite({"X": X, "Y": Y})
    if validation is not None:
        _require_finite({"validation_data X": validation[0], "validation_data Y": validation[1]})
    n = X.shape[0]
    run = Run(model, loss, optimizer, schedule, np.random.default_rng(rng), History(), epochs, n,
              validation is not None, callbacks=callbacks)  # fmt: skip
    # Only the callbacks that want each batch are called at each batch: none, most often.
    batch_hooks = [c.on_batch_end for c in callbacks if _overrides(c, "on_batch_end")]
    begun: list[Callback] = []  # those whose on_train_start ran: their on_train_end runs
    try:
        for callback in callbacks:
            callback.on_train_start(run)  # a checkpoint being resumed sets run.start and history
            begun.append(callback)
        generator, history, start = run.rng, run.history, run.start
        last_finite = _LastFinite(model)
        parameters = model.parameters()  # listed once: walking the model costs more than a step
        given = optimizer  # whose lr the history records
        # A batch's optimizer.step() with what goes around it: the gradients clipped before, a
        # schedule stepped per batch after (the optimizer itself when there is neither).
        optimizer = _BatchStep.around(optimizer, parameters, clip_grad_norm, schedule)
        step = start * -(-n // batch_size)  # the steps of the epochs done (a resumed run's too)
        for epoch in range(start, epochs):
            started = time.perf_counter()
            _record_lr(history, given)
            for callback in callbacks:
                callback.on_epoch_start(epoch)
            order = generator.permutation(n) if shuffle else np.arange(n)
            total = 0.0
            for batch, begin in enumerate(range(0, n, batch_size)):
                rows = order[begin : begin + batch_size]
                for parameter in parameters:
                    parameter.zero_grad()
                value = loss(model(X[rows]), Y[rows])
                if not math.isfinite(value):  # before the update: these weights are kept
                    raise last_finite.diverged(value, step, epoch, batch)
                model.backward_parameters(loss.backward())
                last_finite.keep()
                optimizer.step()
                total += value * len(rows)
                if batch_hooks:
                    for hook in batch_hooks:
                        hook(step, value)
                step += 1
            last_finite.end_epoch(epoch)
            history.loss.append(total / n)
            logs = _validate(history, model, loss, validation, epoch, metrics)
            history.seconds.append(time.perf_counter() - started)
            if schedule is not None and schedule.interval == "epoch":
                schedule.step(history.val_loss[-1] if validation else history.loss[-1])
            for callback in callbacks:
                callback.on_epoch_end(epoch, logs)
    except StopTraining:
        run.history.stopped_early = True
        run.finished = True
    else:
        run.finished = True
    finally:
        for callback in begun:
            callback.on_train_end()
    return run.history


def _shortcuts(
    callbacks: list[Callback],
    progress: bool | None,
    checkpoint: str | os.PathLike[str] | None,
    resume: bool,
    patience: int | None,
) -> list[Callback]:
    """The callbacks of fit's shortcuts around the user's: the progress display first (it shows
    each epoch as soon as it ends; none when the user gives one), then the user's, the
    checkpoint, and early stopping last."""
    shown = any(isinstance(callback, ProgressBar) for callback in callbacks)
    before: list[Callback] = [] if shown else [ProgressBar(progress)]
    after: list[Callback] = []
    if checkpoint is not None:
        after.append(ModelCheckpoint(checkpoint, resume=resume))
    if patience is not None:
        after.append(EarlyStopping(patience))
    return [*before, *callbacks, *after]


def _validate(
    history: History,
    model: Layer,
    loss: Loss,
    validation: tuple[FloatArray, FloatArray] | None,
    epoch: int,
    metrics: tuple[str, ...],
) -> dict[str, float]:
    """Record the epoch's validation scores; the epoch's numbers for the callbacks' logs."""
    summary = {"loss": history.loss[-1]}
    if validation is None:
        return summary
    scores = evaluate(model, loss, *validation, threshold=loss.decision_threshold, metrics=metrics)
    if not math.isfinite(scores["loss"]):
        raise TrainingError(
            f"fit: the validation loss became {scores['loss']} after epoch {epoch}, "
            f"with finite weights and a finite training loss "
            f"({history.loss[-1]:.4g}): the model's outputs overflow on "
            "validation_data; check its scale against the training data's, or "
            "lower the learning rate"
        )
    history.val_loss.append(scores["loss"])
    summary["val_loss"] = scores["loss"]
    for name in ("accuracy", *metrics):
        if name in scores:
            getattr(history, "val_" + name).append(scores[name])
            summary["val_" + name] = scores[name]
    return summary


def _record_lr(history: History, optimizer: Stepper) -> None:
    lr = getattr(optimizer, "lr", None)
    if isinstance(lr, (int, float)) and not isinstance(lr, bool):
        history.lr.append(float(lr))


def _check_schedule(schedule: object, optimizer: Stepper) -> None:
    if schedule is None:
        return
    if not isinstance(schedule, Schedule):
        raise ArgumentTypeError(
            f"fit: schedule must be None or an nnlite.schedules schedule, got {describe(schedule)}"
        )
    if schedule.optimizer is not optimizer:
        raise ValueError(
            f"fit: the schedule {schedule!r} adjusts another optimizer than the one given: make "
            "it with this one"
        )


class _BatchStep:
    """``step()``: clip the gradients, ``optimizer.step()``, then step a per-batch schedule."""

    def __init__(
        self,
        optimizer: Stepper,
        parameters: list[Parameter],
        max_norm: float | None,
        schedule: Schedule | None,
    ) -> None:
        self.optimizer, self.parameters, self.max_norm = optimizer, parameters, max_norm
        self.schedule = schedule

    @classmethod
    def around(
        cls,
        optimizer: Stepper,
        parameters: list[Parameter],
        max_norm: float | None,
        schedule: Schedule | None,
    ) -> Stepper:
        """The optimizer itself when nothing goes around its step, else the wrapper."""
        per_batch = schedule if schedule is not None and schedule.interval == "step" else None
        if max_norm is None and per_batch is None:
            return optimizer
        return cls(optimizer, parameters, max_norm, per_batch)

    def step(self) -> None:
        if self.max_norm is not None:
            clipping.clip_grad_norm(self.parameters, self.max_norm)
        self.optimizer.step()
        if self.schedule is not None:
            self.schedule.step()
