"""Callbacks: code of your own that ``fit`` runs at the start and end of each epoch and batch.

A callback subclasses :class:`Callback` and overrides the hooks it needs; ``fit(...,
callbacks=[...])`` calls them in the order given. Each hook may raise :class:`StopTraining` to end
training there (``History.stopped_early`` is then True). Early stopping, checkpointing and the
progress display are callbacks themselves (:class:`EarlyStopping`, :class:`ModelCheckpoint`,
:class:`ProgressBar`); ``fit``'s ``patience=``, ``checkpoint=`` and ``progress=`` are shortcuts
for them.

The order of one run::

    on_train_start(run)
    for each epoch:
        on_epoch_start(epoch)
        for each batch: (step) ... optimizer.step(); on_batch_end(step, loss)
        (the epoch's loss, validation, the schedule's step)
        on_epoch_end(epoch, logs)
    on_train_end()   # also when training fails; run.finished says whether it ended normally

``fit`` calls ``on_batch_end`` only for the callbacks that override it, so a run without one has
no per-batch cost.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np

from nnlite._constraints import Integer
from nnlite._validation import describe
from nnlite.checkpoint import load_checkpoint, save_checkpoint
from nnlite.errors import ArgumentTypeError
from nnlite.layer import Layer
from nnlite.losses import Loss
from nnlite.optim import Optimizer
from nnlite.progress import Progress
from nnlite.schedules import Schedule
from nnlite.typing import FloatArray

if TYPE_CHECKING:
    from nnlite.training import History


class StopTraining(Exception):
    """Raised by a callback's hook to end training (not an error: ``fit`` returns normally)."""


@dataclass
class Run:
    """What a callback can see of the run, given to :meth:`Callback.on_train_start`.

    Attributes:
        model, loss, optimizer, schedule: what ``fit`` was given (schedule None without one).
        rng: the Generator that shuffles the rows.
        history: the :class:`~nnlite.History` being filled (a callback that resumes a run may
            replace it, with ``start``).
        epochs: the epochs asked for. start: the first epoch to run (0, or later when resumed).
        rows: the number of training rows. validation: True when ``validation_data`` was given.
        finished: True once training has ended normally (read it in ``on_train_end``).
        callbacks: every callback of the run, in the order their hooks run.
        best_state: early stopping's weights of the best epoch so far (``model.state_dict()``),
            or None; a checkpoint saves them and, resumed, restores them.
    """

    model: Layer
    loss: Loss
    optimizer: Any
    schedule: Schedule | None
    rng: np.random.Generator
    history: History
    epochs: int
    rows: int
    validation: bool
    start: int = 0
    finished: bool = False
    best_state: dict[str, FloatArray] | None = None
    callbacks: list[Callback] = field(default_factory=list)


class Callback:
    """The hooks ``fit`` calls; each does nothing here. Override the ones you need.

    Examples:
        >>> import nnlite as nl
        >>> class Losses(nl.callbacks.Callback):
        ...     def on_epoch_end(self, epoch, logs):
        ...         print(epoch, round(logs["loss"], 3))
        >>> X, Y = nl.datasets.xor()
        >>> model = nl.two_layer_network(2, 4, rng=0)
        >>> _ = nl.fit(model, nl.MSELoss(), nl.optim.SGD(model.parameters(), lr=2.0), X, Y,
        ...            epochs=2, batch_size=4, progress=False, callbacks=[Losses()])
        0 0.132
        1 0.129
    """

    def on_train_start(self, run: Run) -> None:
        """Before the first epoch; ``run`` is what the callback can see (keep it if needed)."""

    def on_epoch_start(self, epoch: int) -> None:
        """Before epoch ``epoch`` (0-based)."""

    def on_batch_end(self, step: int, loss: float) -> None:
        """After ``optimizer.step()`` of step ``step`` (counted over all epochs, from 0), whose
        batch's loss (before the update) was ``loss``."""

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        """After epoch ``epoch``: ``logs`` holds its "loss", and with validation data its
        "val_loss" (with "val_accuracy" for classification targets, and "val_precision",
        "val_recall" and "val_f1" as ``fit``'s ``metrics`` asks), as recorded in the history."""

    def on_train_end(self) -> None:
        """After the last epoch, after a :class:`StopTraining`, and also when training fails."""


def _overrides(callback: Callback, hook: str) -> bool:
    return getattr(type(callback), hook) is not getattr(Callback, hook)


def _checked(callbacks: object) -> list[Callback]:
    """The callbacks as a list, or an ArgumentTypeError naming what is not one."""
    if callbacks is None:
        return []
    if not isinstance(callbacks, (list, tuple)) or not all(
        isinstance(callback, Callback) for callback in callbacks
    ):
        raise ArgumentTypeError(
            f"fit: callbacks must be a list of nnlite.callbacks.Callback, got {describe(callbacks)}"
        )
    return list(callbacks)


class EarlyStopping(Callback):
    """Stop when the validation loss has not improved for ``patience`` epochs, and restore the
    weights of the best epoch (``History.best_epoch``) at the end. ``fit(..., patience=n)`` is
    ``callbacks=[EarlyStopping(n)]``. Needs ``validation_data``. Its state is the history's
    ``best_epoch`` and ``val_loss`` and the run's ``best_state``, all of which a
    :class:`ModelCheckpoint` saves: a resumed run stops, and ends with the weights, of the run
    that never stopped.

    Args:
        patience: the epochs without a lower validation loss to wait, an int >= 1.

    Examples:
        >>> import nnlite as nl
        >>> X, Y = nl.datasets.xor()
        >>> model = nl.two_layer_network(2, 4, rng=0)
        >>> history = nl.fit(model, nl.MSELoss(), nl.optim.SGD(model.parameters(), lr=2.0), X,
        ...                  Y, epochs=50, validation_data=(X, 1 - Y), progress=False,
        ...                  callbacks=[nl.callbacks.EarlyStopping(3)])
        >>> history.stopped_early, history.epochs - history.best_epoch - 1
        (True, 3)
    """

    def __init__(self, patience: int) -> None:
        self.patience = Integer(low=1).check("EarlyStopping", "patience", patience)

    def on_train_start(self, run: Run) -> None:
        if not run.validation:
            raise ValueError("fit: patience (early stopping) needs validation_data")
        self.run = run

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        run, best = self.run, self.run.history.best_epoch
        if best is None or logs["val_loss"] < run.history.val_loss[best]:
            run.history.best_epoch, run.best_state = epoch, run.model.state_dict()
        elif epoch - best >= self.patience:
            raise StopTraining

    def on_train_end(self) -> None:
        if self.run.finished and self.run.best_state is not None:
            self.run.model.load_state_dict(self.run.best_state)


class ModelCheckpoint(Callback):
    """Save a checkpoint (:func:`nnlite.save_checkpoint`) after every epoch, early stopping's
    best weights included; with ``resume``, go on from it when the file exists.
    ``fit(..., checkpoint=path, resume=...)`` is ``callbacks=[ModelCheckpoint(path,
    resume=...)]``; see ``fit`` for what is saved.

    Args:
        path: the file. resume: load the file, when it exists, before the first epoch.

    Raises:
        ArgumentTypeError: (at the start of ``fit``) an optimizer that is not an nnlite one.
        LoadError: with resume, a checkpoint that does not fit (nothing is changed then).
    """

    def __init__(self, path: str | os.PathLike[str], *, resume: bool = False) -> None:
        self.path, self.resume = path, resume

    def on_train_start(self, run: Run) -> None:
        if not isinstance(run.optimizer, Optimizer):
            raise ArgumentTypeError(
                f"fit: checkpoint needs an nnlite.optim optimizer (it saves its state_dict), got "
                f"{describe(run.optimizer)}"
            )
        self.run = run
        if self.resume and os.path.exists(self.path):
            saved = load_checkpoint(
                self.path, run.model, run.optimizer, schedule=run.schedule, rng=run.rng
            )
            if saved.history is not None:
                run.history = saved.history
            run.start, run.best_state = saved.epoch, saved.best

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        run = self.run
        save_checkpoint(self.path, run.model, run.optimizer, epoch=epoch + 1,
                        schedule=run.schedule, rng=run.rng, history=run.history,
                        best=run.best_state)  # fmt: skip


class ProgressBar(Callback):
    """Show the epochs' numbers and speed on stderr (:class:`nnlite.progress.Progress`: tqdm when
    installed, plain lines otherwise). ``fit(..., progress=...)`` is ``ProgressBar(enabled=...)``.

    Args:
        enabled: True to show, False never, None (the default) only when the stream is a terminal.
        stream: where to write; stderr by default.
    """

    def __init__(self, enabled: bool | None = None, *, stream: TextIO | None = None) -> None:
        self.enabled, self.stream = enabled, stream

    def on_train_start(self, run: Run) -> None:
        self.run = run
        self.bar = Progress(run.epochs, enabled=self.enabled, stream=self.stream)  # of epochs

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        seconds = self.run.history.seconds[-1]
        self.bar.update(logs, samples_per_second=self.run.rows / seconds)

    def on_train_end(self) -> None:
        self.bar.close()
