"""Measuring a model: predict in batches, accuracy, precision, recall and F1, the confusion
matrix, and evaluate (its loss and the scores asked for)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from nnlite._constraints import Integer
from nnlite._validation import as_float_array, describe
from nnlite.errors import ArgumentTypeError, ArgumentValueError, ShapeError
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
    prediction, Y = _scored(prediction, Y, "accuracy")
    if Y.shape[1] == 1:
        return float(np.mean((prediction[:, 0] >= threshold) == (Y[:, 0] >= 0.5)))
    return float(np.mean(np.argmax(prediction, axis=1) == np.argmax(Y, axis=1)))


def classes(prediction: ArrayLike, *, threshold: float = 0.5) -> np.ndarray[Any, Any]:
    """The class of each row, as :func:`accuracy` reads it: for one column, 1 where the output is
    at least ``threshold`` and 0 elsewhere; for several, the argmax of the row.

    Shape:
        prediction (N, k) -> (N,) ints.

    Raises:
        ShapeError: prediction is not (N, k).
    """
    prediction = as_float_array(prediction, "classes", "prediction")
    if prediction.ndim != 2:
        raise ShapeError(f"classes expects prediction of shape (N, k), got {prediction.shape}")
    if prediction.shape[1] == 1:
        return (prediction[:, 0] >= threshold).astype(np.int64)
    labels: np.ndarray[Any, Any] = np.argmax(prediction, axis=1)
    return labels


def confusion_matrix(
    y_true: ArrayLike, y_pred: ArrayLike, *, num_classes: int | None = None
) -> np.ndarray[Any, Any]:
    """C[i, j] = the number of rows of class i predicted as class j.

    The diagonal holds the rows classified right, row i sums to the rows of class i, column j to
    the rows predicted j (scikit-learn's ``confusion_matrix`` with ``labels=range(num_classes)``).

    Args:
        y_true: the true class of each row, ints >= 0 (see :func:`classes` to read them off
            one-hot targets).
        y_pred: the predicted class of each row, ints >= 0 (:func:`classes` of the outputs).
        num_classes: the number of classes, at least 1 + the largest label; None: exactly that.

    Shape:
        y_true (N,), y_pred (N,) -> (num_classes, num_classes) int64.

    Raises:
        ShapeError: y_true and y_pred are not 1-d of one length.
        ValueError: a label that is not an int >= 0 (below num_classes).

    Examples:
        >>> from nnlite.metrics import confusion_matrix
        >>> confusion_matrix([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 2, 0])
        array([[1, 1, 0],
               [0, 1, 0],
               [1, 0, 2]])
    """
    true, pred = np.asarray(y_true), np.asarray(y_pred)
    if true.ndim != 1 or true.shape != pred.shape:
        raise ShapeError(
            f"confusion_matrix expects y_true and y_pred of the same shape (N,), got "
            f"{true.shape} and {pred.shape}"
        )
    for name, labels in (("y_true", true), ("y_pred", pred)):
        if labels.dtype.kind not in "iubf":
            raise ValueError(
                f"confusion_matrix: {name} must hold class labels, ints >= 0, got {labels.dtype}"
            )
        values = labels.astype(np.float64)
        bad = values[~(np.isfinite(values) & (values == np.round(values)) & (values >= 0))]
        if bad.size:
            raise ValueError(
                f"confusion_matrix: {name} must hold class labels, ints >= 0, got {bad[0]:g}"
            )
    largest = int(max(true.max(initial=-1), pred.max(initial=-1)))
    if num_classes is None:
        num_classes = max(largest + 1, 1)
    num_classes = Integer(low=max(largest + 1, 1)).check(
        "confusion_matrix", "num_classes", num_classes
    )
    counts = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(counts, (true.astype(np.int64), pred.astype(np.int64)), 1)
    return counts


def precision_recall_f1(
    prediction: ArrayLike, Y: ArrayLike, *, threshold: float = 0.5
) -> dict[str, float]:
    """Precision, recall and F1 of a classifier's outputs against its targets.

    For class c, with TP its rows predicted c, FP the other rows predicted c and FN its rows
    predicted otherwise: precision = TP / (TP + FP), recall = TP / (TP + FN) and
    F1 = 2 precision recall / (precision + recall), each 0 where its denominator is 0. With one
    output column (binary, Y of 0s and 1s, rows read at ``threshold`` as :func:`accuracy` does)
    these are class 1's; with several (Y one-hot, the argmax predicted) their means over the
    classes (macro-averaged: every class counts the same, however many rows it has). This is
    scikit-learn's ``precision_recall_fscore_support`` with ``average="binary"`` or ``"macro"``
    and ``zero_division=0``.

    Returns:
        ``{"precision": ..., "recall": ..., "f1": ...}``

    Raises:
        ShapeError: prediction and Y differ in shape or are not (N, k).

    Examples:
        >>> import numpy as np
        >>> from nnlite.metrics import precision_recall_f1
        >>> Y = np.array([[1.0], [1.0], [0.0], [0.0]])
        >>> scores = precision_recall_f1(np.array([[0.9], [0.2], [0.7], [0.1]]), Y)
        >>> {name: round(value, 3) for name, value in scores.items()}
        {'precision': 0.5, 'recall': 0.5, 'f1': 0.5}
    """
    prediction, Y = _scored(prediction, Y, "precision_recall_f1")
    k = max(Y.shape[1], 2)
    counts = confusion_matrix(classes(Y), classes(prediction, threshold=threshold), num_classes=k)
    true_positives = np.diag(counts).astype(np.float64)
    predicted, actual = counts.sum(axis=0), counts.sum(axis=1)
    precision = np.divide(true_positives, predicted, out=np.zeros(k), where=predicted > 0)
    recall = np.divide(true_positives, actual, out=np.zeros(k), where=actual > 0)
    both = precision + recall
    f1 = np.divide(2 * precision * recall, both, out=np.zeros(k), where=both > 0)
    chosen = slice(1, 2) if Y.shape[1] == 1 else slice(None)  # binary: class 1's
    return {
        "precision": float(precision[chosen].mean()),
        "recall": float(recall[chosen].mean()),
        "f1": float(f1[chosen].mean()),
    }


METRICS = ("precision", "recall", "f1")
"""The scores ``fit(..., metrics=...)`` and :func:`evaluate` compute when asked."""


def is_classification_target(Y: FloatArray) -> bool:
    """True for a binary column of 0s and 1s, or rows that are one-hot."""
    if Y.ndim != 2 or Y.shape[0] == 0:
        return False
    binary = np.all((Y == 0) | (Y == 1))
    return bool(binary and (Y.shape[1] == 1 or np.all(Y.sum(axis=1) == 1)))


def evaluate(
    model: Layer,
    loss: Loss,
    X: ArrayLike,
    Y: ArrayLike,
    *,
    threshold: float = 0.5,
    metrics: Sequence[str] = (),
) -> dict[str, float]:
    """The loss of the model on (X, Y), its accuracy when Y is a classification target, and the
    ``metrics`` asked for.

    Args:
        metrics: any of "precision", "recall" and "f1" (see :func:`precision_recall_f1`); they
            need a classification target.

    Returns:
        ``{"loss": ..., "accuracy": ..., "precision": ..., ...}``; "accuracy" only for a binary
        column of 0s and 1s or one-hot rows (see :func:`accuracy`), the others when asked.

    Raises:
        ValueError: a metric that is not one of those, or asked for on a target that is not a
            classification target.
    """
    X, Y = _rows(X, Y, "evaluate")
    metrics = check_metrics("evaluate", metrics)
    prediction = model(X)
    scores: dict[str, Any] = {"loss": loss(prediction, Y)}
    if is_classification_target(Y):
        scores["accuracy"] = accuracy(prediction, Y, threshold=threshold)
    elif metrics:
        raise ValueError(
            f"evaluate: {', '.join(metrics)} need a classification target (a column of 0s and "
            "1s, or one-hot rows)"
        )
    if metrics:
        measured = precision_recall_f1(prediction, Y, threshold=threshold)
        scores |= {name: measured[name] for name in metrics}
    return scores


def check_metrics(where: str, metrics: object) -> tuple[str, ...]:
    """``metrics`` as a tuple of names of :data:`METRICS`, or a clear error."""
    if isinstance(metrics, str) or not isinstance(metrics, (list, tuple)):
        raise ArgumentTypeError(
            f"{where}: metrics must be a tuple of names of {METRICS}, got {describe(metrics)}"
        )
    unknown = [name for name in metrics if name not in METRICS]
    if unknown:
        raise ArgumentValueError(
            f"{where}: metrics must be among {METRICS}, got {', '.join(map(repr, unknown))}"
        )
    return tuple(metrics)


def _scored(prediction: ArrayLike, Y: ArrayLike, where: str) -> tuple[FloatArray, FloatArray]:
    """Outputs and targets as float arrays of one shape (N, k), or a ShapeError naming ``where``."""
    prediction = as_float_array(prediction, where, "prediction")
    Y = as_float_array(Y, where, "Y")
    if prediction.shape != Y.shape or prediction.ndim != 2:
        raise ShapeError(
            f"{where} expects prediction and Y of the same shape (N, k), "
            f"got {prediction.shape} and {Y.shape}"
        )
    return prediction, Y


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
