"""Class labels and targets: one-hot rows, and the label of each row in either convention."""

from __future__ import annotations

from typing import Any, TypeAlias

import numpy as np
from numpy.typing import ArrayLike, NDArray

from nnlite._constraints import Integer
from nnlite._validation import as_float_array, describe
from nnlite.errors import ShapeError

Float64Array: TypeAlias = NDArray[np.float64]
"""A float64 ndarray: what the generators return."""

IntArray: TypeAlias = NDArray[np.int64]
"""An int64 ndarray of class labels, shape (N,)."""


def one_hot(labels: ArrayLike, n_classes: int | None = None) -> Float64Array:
    """Class labels to one-hot rows: ``Y[i, labels[i]] = 1``, every other entry 0.

    Args:
        labels: shape (N,), integers 0..K-1 (int or bool arrays, or floats that are whole
            numbers).
        n_classes: K, at least 2 and larger than every label. None: the largest label + 1, but at
            least 2, since a one-column Y means the binary convention (0/1), not one-hot.

    Returns:
        Float64 array of shape (N, K).

    Raises:
        TypeError: labels are not numbers, or n_classes is not an integer.
        ShapeError: labels are not one-dimensional.
        ValueError: a label is not a whole number, is negative or is >= n_classes; n_classes < 2;
            or labels are empty and n_classes is None.

    Examples:
        >>> from nnlite import datasets
        >>> datasets.one_hot([2, 0, 1])
        array([[0., 0., 1.],
               [1., 0., 0.],
               [0., 1., 0.]])
    """
    name = "one_hot"
    array = np.asarray(labels)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name}: labels must be integers, got {describe(array)}")
    if array.ndim != 1:
        raise ShapeError(f"{name}: labels must have shape (N,), got shape {array.shape}")
    if array.dtype.kind == "f":
        whole = np.isfinite(array) & (array == np.round(array))
        _first_bad(name, array, ~whole, "a whole number")
    _first_bad(name, array, array < 0, ">= 0")
    if n_classes is None:
        if array.size == 0:
            raise ValueError(f"{name}: cannot infer n_classes from no labels; pass n_classes")
        n_classes = max(int(array.max()) + 1, 2)
    else:
        n_classes = Integer(low=2).check(name, "n_classes", n_classes)
        _first_bad(name, array, array >= n_classes, f"< n_classes={n_classes}")
    result = np.zeros((array.size, n_classes))
    result[np.arange(array.size), array.astype(np.int64)] = 1.0
    return result


def labels_of(Y: ArrayLike) -> IntArray:
    """The class label of each row of Y, in either target convention.

    (N, 1): label 1 where the value is > 0.5, else 0 (the binary targets, or sigmoid
    probabilities). (N, K), K >= 2: the column of the row's largest value (one-hot targets, or
    scores; a tie goes to the first column). So ``labels_of(model(X)) == labels_of(Y)`` marks the
    correctly classified rows.

    Args:
        Y: targets or predictions, shape (N, 1) or (N, K).

    Returns:
        Int64 array of shape (N,).

    Raises:
        DTypeError: Y is not an array of real numbers.
        ShapeError: Y is not two-dimensional with at least one column.
        ValueError: Y holds NaN or infinity.

    Examples:
        >>> from nnlite import datasets
        >>> datasets.labels_of([[0.0], [1.0], [0.8]]).tolist()
        [0, 1, 1]
        >>> datasets.labels_of(datasets.one_hot([2, 0, 1])).tolist()
        [2, 0, 1]
    """
    name = "labels_of"
    y = as_float_array(Y, name, "Y")
    if y.ndim != 2 or y.shape[1] == 0:
        raise ShapeError(
            f"{name} expects Y of shape (N, 1) (binary) or (N, K) (one-hot), got shape {y.shape}"
        )
    if not np.isfinite(y).all():
        raise ValueError(f"{name}: Y must be finite, got NaN or infinity")
    if y.shape[1] == 1:
        return (y[:, 0] > 0.5).astype(np.int64)
    labels: IntArray = np.argmax(y, axis=1).astype(np.int64)
    return labels


def _first_bad(name: str, array: NDArray[Any], bad: NDArray[np.bool_], allowed: str) -> None:
    """Raise a ValueError naming the first label that breaks a rule, if any does."""
    if bad.any():
        index = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{name}: every label must be {allowed}, got {array[index].item()!r} at index {index}"
        )
