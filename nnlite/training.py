"""Training: fit a model with mini-batches, and predict and evaluate with it."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from numpy.typing import ArrayLike

from nnlite._constraints import Boolean, Integer
from nnlite._validation import as_float_array
from nnlite.errors import ArgumentValueError, ShapeError, TrainingError
from nnlite.layer import Layer
from nnlite.losses import Loss
from nnlite.parameter import Buffer, Parameter
from nnlite.progress import Progress
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
        seconds: wall time of each epoch, validation included.
        stopped_early: True when early stopping ended training before ``epochs``.
        best_epoch: with early stopping, the epoch (0-based) with the lowest validation loss,
            whose weights the model holds at the end.
    """

    loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
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
) -> History:
    """Train ``model`` on (X, Y) with mini-batch steps of ``optimizer``, and return the history.

    Each epoch visits every row once, in batches of ``batch_size`` (shuffled by ``rng`` when
    ``shuffle``); the last batch holds what is left, and since every loss averages over its own
    batch's rows, a partial batch is weighed correctly. One step is::

        model.zero_grad()
        L = loss(model(x), y)
        model.backward_parameters(loss.backward())  # backward, without dL/dx: nobody needs it
        optimizer.step()

    (``model.zero_grad()`` with the parameters listed once, not looked up at every step.)

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

    Returns:
        A :class:`History`.

    Raises:
        ShapeError: X and Y have different numbers of rows.
        ArgumentValueError: (a ValueError) epochs, batch_size or patience is an int below 1; a
            NaN or infinity in X, Y, validation_data or the model's weights.
        ArgumentTypeError: (a TypeError) epochs, batch_size or patience is not an int; shuffle
            is not a bool (the string "false" would have shuffled).
        ValueError: patience without validation_data.
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
    if patience is not None:
        patience = Integer(low=1).check("fit", "patience", patience)
        if validation_data is None:
            raise ValueError("fit: patience (early stopping) needs validation_data")
    validation = _rows(*validation_data, "fit validation_data") if validation_data else None
    _require_finite({"X": X, "Y": Y})
    if validation is not None:
        _require_finite({"validation_data X": validation[0], "validation_data Y": validation[1]})
    last_finite = _LastFinite(model)
    generator = np.random.default_rng(rng)
    n = X.shape[0]
    history = History()
    best_loss, best_state = math.inf, None
    parameters = model.parameters()  # listed once: walking the model costs more than a small step
    step = 0
    with Progress(epochs, enabled=progress, unit="epoch") as bar:
        for epoch in range(epochs):
            start = time.perf_counter()
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
                step += 1
            last_finite.end_epoch(epoch)
            history.loss.append(total / n)
            summary = {"loss": history.loss[-1]}
            if validation is not None:
                scores = evaluate(model, loss, *validation, threshold=loss.decision_threshold)
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
                if "accuracy" in scores:
                    history.val_accuracy.append(scores["accuracy"])
                    summary["val_accuracy"] = scores["accuracy"]
            history.seconds.append(time.perf_counter() - start)
            bar.update(summary, samples_per_second=n / history.seconds[-1])
            if patience is not None:
                if history.val_loss[-1] < best_loss:
                    best_loss, best_state = history.val_loss[-1], model.state_dict()
                    history.best_epoch = epoch
                elif epoch - (history.best_epoch or 0) >= patience:
                    history.stopped_early = True
                    break
    if best_state is not None:
        model.load_state_dict(best_state)
    return history


class _LastFinite:
    """The model's last finite weights, so that a run that breaks them stops with finite ones.

    A weight can become infinite in one update, and the loss shows it only at the next step; so
    the parameters and buffers are copied before every update, and that copy is what a
    non-finite loss goes back to. Saturated activations can hide an infinite weight from the loss
    (sigmoid(inf) is 1), so the weights are also checked at the end of every epoch and copied
    again once known to be finite. Two copies of the weights, then. Measured at the benchmark's
    tiny size (2-2-1, float64): the copy before each update takes 0.7 µs, checking the loss
    (``math.isfinite`` of a float) 0.05 µs, the check and copy at an epoch's end 3.6 µs; a
    check of every weight after every update would take about 3 µs a step, so it is done once
    an epoch.
    """

    def __init__(self, model: Layer) -> None:
        self.members: list[tuple[str, Parameter | Buffer]] = [
            *model.named_parameters(),
            *model.named_buffers(),
        ]
        bad = _first_non_finite(self.members)
        if bad is not None:
            name, value = bad
            raise ArgumentValueError(
                f"fit: the model's {name!r} must hold only finite numbers, got {value} before "
                "training"
            )
        self.before_update = [(member.data.copy(), member) for _, member in self.members]
        self.at_epoch_end = [(member.data.copy(), member) for _, member in self.members]

    def keep(self) -> None:
        """Copy the weights as they are before this step's update."""
        for kept, member in self.before_update:
            np.copyto(kept, member.data)

    def diverged(self, value: float, step: int, epoch: int, batch: int) -> TrainingError:
        """The error for a non-finite loss at ``step``, the weights set to the last finite ones."""
        where = f"the training loss became {value} at step {step} (epoch {epoch}, batch {batch})"
        bad = _first_non_finite(self.members)
        if bad is None:
            return TrainingError(
                f"fit: {where}, with finite weights and data: the model's outputs overflowed. "
                "The learning rate is probably too high: lower the learning rate. The model "
                "holds the weights of that step."
            )
        if self._go_back():
            cause = f"the update of step {step - 1} made {bad[0]!r} non-finite"
            kept = "the weights before that update"
        else:
            cause = f"{bad[0]!r} had become non-finite earlier in epoch {epoch}"
            kept = "the weights of the end of the epoch before"
        return TrainingError(
            f"fit: {where}: {cause} (the data is finite). The learning rate is probably too "
            f"high: lower the learning rate. The model holds {kept}."
        )

    def end_epoch(self, epoch: int) -> None:
        """Check the weights; keep them if finite, else go back and raise a TrainingError."""
        bad = _first_non_finite(self.members)
        if bad is None:
            for kept, member in self.at_epoch_end:
                np.copyto(kept, member.data)
            return
        self._go_back()
        raise TrainingError(
            f"fit: {bad[0]!r} became non-finite in epoch {epoch} while the loss stayed finite "
            "(saturated activations hide it). The learning rate is probably too high: lower the "
            "learning rate. The model holds the last weights known to be finite."
        )

    def _go_back(self) -> bool:
        """Set the weights to those before the last update if they are finite (True), else to
        those of the last epoch's end (False), which are."""
        for kept, member in self.before_update:
            np.copyto(member.data, kept)
        if _first_non_finite(self.members) is None:
            return True
        for kept, member in self.at_epoch_end:
            np.copyto(member.data, kept)
        return False


def _first_non_finite(
    members: list[tuple[str, Parameter | Buffer]],
) -> tuple[str, float] | None:
    """The name and value of the first NaN or infinity among the members' values, or None."""
    for name, member in members:
        finite = np.isfinite(member.data)
        if not finite.all():
            return name, float(member.data[~finite][0])
    return None


def _require_finite(arrays: dict[str, FloatArray]) -> None:
    """Refuse data holding a NaN or an infinity, naming the array and its first bad row."""
    for name, array in arrays.items():
        finite = np.isfinite(array)
        if not finite.all():
            row = int(np.argmin(finite.reshape(array.shape[0], -1).all(axis=1)))
            value = array[row][~finite[row]].flat[0]
            raise ArgumentValueError(
                f"fit: {name} must hold only finite numbers, got {value} in row {row} "
                f"(of {array.shape[0]}): fix or drop the rows that are not finite"
            )


def predict(model: Layer, X: ArrayLike, *, batch_size: int | None = None) -> FloatArray:
    """The model's output for every row of X, computed ``batch_size`` rows at a time.

    Args:
        model: the model. X: inputs, (N, n_in).
        batch_size: rows per forward pass, to bound memory; None: all at once.

    Returns:
        The outputs, (N, n_out).
    """
    X = as_float_array(X, "predict", "X")
    if batch_size is None:
        return model(X)
    batch_size = Integer(low=1).check("predict", "batch_size", batch_size)
    return np.concatenate([model(X[i : i + batch_size]) for i in range(0, X.shape[0], batch_size)])


def accuracy(prediction: ArrayLike, Y: ArrayLike, *, threshold: float = 0.5) -> float:
    """The fraction of rows classified right.

    For one output column (a binary problem, Y of 0s and 1s) a row is predicted 1 when its output is
    at least ``threshold`` (0.5 suits sigmoid outputs; use 0.0 for logits). For several columns (Y
    one-hot) the predicted class is the argmax of the row.

    Raises:
        ShapeError: prediction and Y differ in shape or are not (N, k).
    """
    prediction = as_float_array(prediction, "accuracy", "prediction")
    Y = as_float_array(Y, "accuracy", "Y")
    if prediction.shape != Y.shape or prediction.ndim != 2:
        raise ShapeError(
            f"accuracy expects prediction and Y of the same shape (N, k), "
            f"got {prediction.shape} and {Y.shape}"
        )
    if Y.shape[1] == 1:
        return float(np.mean((prediction[:, 0] >= threshold) == (Y[:, 0] >= 0.5)))
    return float(np.mean(np.argmax(prediction, axis=1) == np.argmax(Y, axis=1)))


def is_classification_target(Y: FloatArray) -> bool:
    """True for a binary column of 0s and 1s, or rows that are one-hot."""
    if Y.ndim != 2 or Y.shape[0] == 0:
        return False
    binary = np.all((Y == 0) | (Y == 1))
    return bool(binary and (Y.shape[1] == 1 or np.all(Y.sum(axis=1) == 1)))


def evaluate(
    model: Layer, loss: Loss, X: ArrayLike, Y: ArrayLike, *, threshold: float = 0.5
) -> dict[str, float]:
    """The loss of the model on (X, Y), and its accuracy when Y is a classification target.

    Returns:
        ``{"loss": ..., "accuracy": ...}``; "accuracy" only for a binary column of 0s and 1s or
        one-hot rows (see :func:`accuracy`).
    """
    X, Y = _rows(X, Y, "evaluate")
    prediction = model(X)
    scores: dict[str, Any] = {"loss": loss(prediction, Y)}
    if is_classification_target(Y):
        scores["accuracy"] = accuracy(prediction, Y, threshold=threshold)
    return scores


def _rows(X: ArrayLike, Y: ArrayLike, where: str) -> tuple[FloatArray, FloatArray]:
    X = as_float_array(X, where, "X")
    Y = as_float_array(Y, where, "Y")
    if X.ndim == 0 or Y.ndim == 0 or X.shape[0] != Y.shape[0]:
        raise ShapeError(
            f"{where} expects X and Y with the same number of rows, got {X.shape} and {Y.shape}"
        )
    if X.shape[0] == 0:
        raise ShapeError(f"{where} expects at least one row, got X of shape {X.shape}")
    return X, Y
