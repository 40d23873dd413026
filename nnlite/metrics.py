"""Measuring a model: predict in batches, accuracy, and evaluate (its loss and accuracy)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from nnlite._constraints import Integer
from nnlite._validation import as_float_array
from nnlite.errors import ShapeError
from nnlite.layer import Layer
from nnlite.losses import Loss
from nnlite.typing import FloatArray


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
