"""Training: fit a model with mini-batches, and predict and evaluate with it."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from numpy.typing import ArrayLike

from nnlite._constraints import Integer
from nnlite._validation import as_float_array
from nnlite.errors import ShapeError, TrainingError
from nnlite.layer import Layer
from nnlite.losses import Loss
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

    Args:
        model: the model to train, in place.
        loss: the loss, e.g. ``nl.MSELoss()``.
        optimizer: e.g. ``nl.optim.SGD(model.parameters(), lr=0.5)``.
        X: inputs, (N, n_in). Y: targets, (N, n_out) as the loss expects them.
        epochs: passes over the data (at most, with early stopping).
        batch_size: rows per step.
        shuffle: reshuffle the rows every epoch.
        rng: seed or Generator for the shuffling.
        validation_data: (X_val, Y_val), evaluated after every epoch.
        patience: early stopping: stop when the validation loss has not improved for this many
            epochs, and restore the weights of the best epoch. Needs ``validation_data``.
        progress: show a progress bar (epoch, loss, speed) on stderr. None (the default): only when
            stderr is a terminal. False: never. Uses tqdm when installed, plain lines otherwise.

    Returns:
        A :class:`History`.

    Raises:
        ShapeError: X and Y have different numbers of rows.
        ArgumentValueError: (a ValueError) epochs, batch_size or patience is an int below 1.
        ArgumentTypeError: (a TypeError) one of them is not an int.
        ValueError: patience without validation_data.
        TrainingError: the loss became NaN or infinite (lower the learning rate).

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
    if patience is not None:
        patience = Integer(low=1).check("fit", "patience", patience)
        if validation_data is None:
            raise ValueError("fit: patience (early stopping) needs validation_data")
    validation = _rows(*validation_data, "fit validation_data") if validation_data else None
    generator = np.random.default_rng(rng)
    n = X.shape[0]
    history = History()
    best_loss, best_state = math.inf, None
    parameters = model.parameters()  # listed once: walking the model costs more than a small step
    with Progress(epochs, enabled=progress, unit="epoch") as bar:
        for epoch in range(epochs):
            start = time.perf_counter()
            order = generator.permutation(n) if shuffle else np.arange(n)
            total = 0.0
            for begin in range(0, n, batch_size):
                rows = order[begin : begin + batch_size]
                for parameter in parameters:
                    parameter.zero_grad()
                value = loss(model(X[rows]), Y[rows])
                model.backward_parameters(loss.backward())
                optimizer.step()
                total += value * len(rows)
            history.loss.append(total / n)
            if not math.isfinite(history.loss[-1]):
                raise TrainingError(
                    f"fit: the training loss became {history.loss[-1]} in epoch {epoch}: "
                    f"lower the learning rate"
                )
            summary = {"loss": history.loss[-1]}
            if validation is not None:
                scores = evaluate(model, loss, *validation)
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
