"""train_test_split: the rows shuffled into a train and a test part, stratified or not."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

from nnlite._constraints import AnyOf, Boolean, Integer, Real
from nnlite._validation import as_float_array, check_rows
from nnlite.datasets.labels import IntArray, labels_of
from nnlite.errors import ShapeError
from nnlite.typing import FloatArray, RngLike


def train_test_split(
    X: ArrayLike,
    Y: ArrayLike,
    *,
    test_size: float = 0.25,
    stratify: bool = False,
    rng: RngLike = None,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Shuffle the rows and split them into a train part and a test part, keeping X and Y paired.

    Every row lands in exactly one part; both parts are in random order. The test part gets
    n_test rows: ``test_size`` itself when it is an int, else ``test_size * N`` rounded half up.

    With ``stratify=True`` the classes are read from Y (:func:`labels_of`), and each class c of
    n_c rows puts into the test part its ideal share ``n_test * n_c / N`` rounded down or up: the
    rows left over after rounding every share down go to the classes with the largest fractions
    (ties to the smaller label). Every class also keeps at least one row in each part, so a class
    whose ideal share is below 1 (or above n_c - 1) gets exactly 1 test (train) row.

    Args:
        X: inputs, shape (N, d).
        Y: targets, shape (N, k); for stratify, binary (N, 1) 0/1 or one-hot (N, K).
        test_size: a fraction in (0, 1), or an int count in 1..N-1.
        stratify: keep each class's share of the test part as close as possible to its share of Y.
        rng: seed or Generator for the shuffle.

    Returns:
        ``(X_train, X_test, Y_train, Y_test)``, with N - n_test and n_test rows. Float32 and
        float64 inputs keep their dtype; others become float64 (:func:`nnlite.as_float_array`).

    Raises:
        ShapeError: X or Y is not two-dimensional, or their row counts differ.
        TypeError: test_size is not a number, or stratify not a bool.
        ValueError: N < 2; test_size outside (0, 1) or 1..N-1, or a fraction that leaves a part
            empty; with stratify, Y not class targets, a class with fewer than 2 rows, or more
            classes than one part can hold.

    Examples:
        >>> from nnlite import datasets
        >>> X, Y = datasets.two_moons(100, rng=0)
        >>> X_train, X_test, Y_train, Y_test = datasets.train_test_split(
        ...     X, Y, test_size=0.2, stratify=True, rng=0
        ... )
        >>> X_train.shape, X_test.shape, int(Y_test.sum())
        ((80, 2), (20, 2), 10)
    """
    name = "train_test_split"
    x = as_float_array(X, name, "X")
    y = as_float_array(Y, name, "Y")
    check_rows(name, x, "X")
    check_rows(name, y, "Y")
    if x.shape[0] != y.shape[0]:
        raise ShapeError(
            f"{name} expects X and Y with the same number of rows, got X of shape {x.shape} "
            f"and Y of shape {y.shape}"
        )
    stratify = Boolean().check(name, "stratify", stratify)
    n_rows = x.shape[0]
    n_test = _test_count(name, test_size, n_rows)
    generator = np.random.default_rng(rng)
    if stratify:
        labels = _class_labels(name, y)
        test, train = _stratified_rows(name, labels, n_test, generator)
    else:
        order = generator.permutation(n_rows)
        test, train = order[:n_test], order[n_test:]
    return x[train], x[test], y[train], y[test]


def _test_count(name: str, test_size: object, n_rows: int) -> int:
    """The number of test rows ``test_size`` asks for, checked to leave both parts non-empty."""
    if n_rows < 2:
        raise ValueError(f"{name} needs at least 2 rows for a train and a test part, got {n_rows}")
    count, fraction = Integer(low=1, high=n_rows - 1), Real(low=0, high=1, closed="neither")
    size: int | float = AnyOf(count, fraction).check(name, "test_size", test_size)
    if isinstance(size, int):  # a row count
        return size
    n_test = math.floor(size * n_rows + 0.5)
    if not 1 <= n_test <= n_rows - 1:
        raise ValueError(
            f"{name}: test_size={size!r} of {n_rows} rows gives {n_test} test rows, leaving a "
            "part empty; pass a test_size that leaves at least one row in each part"
        )
    return n_test


def _class_labels(name: str, y: FloatArray) -> IntArray:
    """The labels of Y for stratifying; Y must hold class targets, not arbitrary values."""
    binary = y.shape[1] == 1 and np.isin(y, (0.0, 1.0)).all()
    one_hot_rows = y.shape[1] >= 2 and np.isin(y, (0.0, 1.0)).all() and (y.sum(axis=1) == 1.0).all()
    if not (binary or one_hot_rows):
        raise ValueError(
            f"{name}: stratify=True reads the classes from Y, which must be (N, 1) of 0/1 or "
            f"one-hot (N, K); got Y of shape {y.shape} with other values"
        )
    return labels_of(y)


def _stratified_rows(
    name: str, labels: IntArray, n_test: int, generator: np.random.Generator
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """The test and train row indices: each class's test count within one of its ideal share."""
    classes, sizes = np.unique(labels, return_counts=True)
    if (sizes < 2).any():
        small = classes[sizes < 2].tolist()
        raise ValueError(
            f"{name}: stratify=True needs at least 2 rows of every class (one for each part); "
            f"class(es) {small} have 1"
        )
    n_rows = int(sizes.sum())
    # the ideal share n_test * n_c / N, in integers: floor and remainder, so no rounding error
    floor, remainder = np.divmod(n_test * sizes, n_rows)
    ceil = floor + (remainder > 0)
    low = np.maximum(floor, 1)  # at least one test row
    high = np.minimum(ceil, sizes - 1)  # at least one train row
    if low.sum() > n_test or high.sum() < n_test:
        advice = "a larger" if low.sum() > n_test else "a smaller"
        raise ValueError(
            f"{name}: stratify=True keeps every class in both parts within one row of its share, "
            f"but {len(classes)} classes of sizes {sizes.tolist()} do not fit in {n_test} test "
            f"and {n_rows - n_test} train rows; pass {advice} test_size"
        )
    counts = low.copy()
    movable = np.flatnonzero(counts < high)
    by_fraction = movable[np.argsort(-remainder[movable], kind="stable")]
    counts[by_fraction[: n_test - int(low.sum())]] += 1
    test_parts, train_parts = [], []
    for label, count in zip(classes, counts, strict=True):
        rows = generator.permutation(np.flatnonzero(labels == label))
        test_parts.append(rows[:count])
        train_parts.append(rows[count:])
    test = generator.permutation(np.concatenate(test_parts))
    train = generator.permutation(np.concatenate(train_parts))
    return test, train
