"""Small classification data sets, the target conventions, and a train/test split.

The target conventions every part of nnlite uses:

- X has shape (N, d): one row per sample.
- A binary problem's Y has shape (N, 1), with values 0.0 and 1.0 (the class-1 indicator, what a
  sigmoid output predicts).
- A K-class problem (K >= 3, or any K when built by :func:`one_hot`) has a one-hot Y of shape
  (N, K): row i is 1.0 in column ``label[i]`` and 0.0 elsewhere.

Everything is float64. The generators are numpy-only; every random one takes ``rng`` (a seed, a
Generator or None), passed through ``np.random.default_rng(rng)``, so the same seed gives
bit-identical data and numpy's global random state is never touched. Only :func:`load_digits`
needs scikit-learn, which ships the digits inside its package: ``pip install "nnlite[datasets]"``.
"""

from __future__ import annotations

import importlib
import math
from typing import Any, TypeAlias

import numpy as np
from numpy.typing import ArrayLike, NDArray

from nnlite._constraints import AnyOf, Boolean, Integer, Real
from nnlite._validation import as_float_array, check_rows, describe
from nnlite.errors import MissingExtraError, ShapeError
from nnlite.typing import FloatArray, RngLike

Float64Array: TypeAlias = NDArray[np.float64]
"""A float64 ndarray: what the generators return."""

IntArray: TypeAlias = NDArray[np.int64]
"""An int64 ndarray of class labels, shape (N,)."""

_SPIRAL_SWEEP = 4.0
"""Radians each spiral arm turns between the centre and the rim (as in CS231n's spiral data)."""

_EXTRA_HINT = 'pip install "nnlite[datasets]"'


def xor() -> tuple[Float64Array, Float64Array]:
    """The four XOR points: y = x1 XOR x2, the smallest problem a linear model cannot solve.

    Returns:
        ``(X, Y)``: X of shape (4, 2), the corners of the unit square in the order (0, 0), (0, 1),
        (1, 0), (1, 1); Y of shape (4, 1), the binary targets 0, 1, 1, 0.

    Examples:
        >>> from nnlite import datasets
        >>> X, Y = datasets.xor()
        >>> X.shape, Y.ravel().tolist()
        ((4, 2), [0.0, 1.0, 1.0, 0.0])
    """
    x = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([[0.0], [1.0], [1.0], [0.0]])
    return x, y


def two_moons(
    n_samples: int = 200, *, noise: float = 0.1, rng: RngLike = None
) -> tuple[Float64Array, Float64Array]:
    """Two interleaving half circles (scikit-learn's ``make_moons`` geometry), a binary problem.

    Class 0 is the upper half of the unit circle centred at (0, 0), class 1 the lower half of the
    unit circle centred at (1, 0.5); each class's points are evenly spaced in angle from 0 to pi,
    both ends included. Gaussian noise of standard deviation ``noise`` is added to every
    coordinate, and the rows are shuffled.

    Args:
        n_samples: total rows N, at least 2. Class 0 gets ``N // 2`` of them, class 1 the rest.
        noise: standard deviation of the noise, >= 0 (0 puts every point on its half circle).
        rng: seed or Generator for the shuffle and the noise.

    Returns:
        ``(X, Y)``: X of shape (N, 2), Y of shape (N, 1) with values 0.0/1.0.

    Raises:
        TypeError: n_samples is not an integer, or noise not a real number.
        ValueError: n_samples < 2, or noise negative or not finite.

    Examples:
        >>> from nnlite import datasets
        >>> X, Y = datasets.two_moons(100, rng=0)
        >>> X.shape, Y.shape, int(Y.sum())
        ((100, 2), (100, 1), 50)
    """
    name = "two_moons"
    n_samples = Integer(low=2).check(name, "n_samples", n_samples)
    noise = Real(low=0).check(name, "noise", noise)
    n_upper, n_lower = _class_sizes(n_samples, 2)
    upper = np.linspace(0.0, np.pi, n_upper)
    lower = np.linspace(0.0, np.pi, n_lower)
    points = np.concatenate(
        [
            np.column_stack([np.cos(upper), np.sin(upper)]),  # centre (0, 0), upper half
            np.column_stack([1.0 - np.cos(lower), 0.5 - np.sin(lower)]),  # centre (1, 0.5), lower
        ]
    )
    labels = np.repeat(np.arange(2), [n_upper, n_lower])
    generator = np.random.default_rng(rng)
    points += generator.normal(scale=noise, size=points.shape)
    return _shuffled(points, labels, 2, generator)


def circles(
    n_samples: int = 200, *, noise: float = 0.05, factor: float = 0.5, rng: RngLike = None
) -> tuple[Float64Array, Float64Array]:
    """A circle inside a circle (scikit-learn's ``make_circles`` geometry), a binary problem.

    Class 0 lies on the unit circle, class 1 on the concentric circle of radius ``factor``; each
    class's points are evenly spaced in angle over [0, 2 pi). Gaussian noise of standard
    deviation ``noise`` is added to every coordinate, and the rows are shuffled.

    Args:
        n_samples: total rows N, at least 2. Class 0 (outer) gets ``N // 2``, class 1 the rest.
        noise: standard deviation of the noise, >= 0.
        factor: radius of the inner circle, 0 <= factor < 1.
        rng: seed or Generator for the shuffle and the noise.

    Returns:
        ``(X, Y)``: X of shape (N, 2), Y of shape (N, 1) with values 0.0 (outer) / 1.0 (inner).

    Raises:
        TypeError: n_samples is not an integer, or noise or factor not a real number.
        ValueError: n_samples < 2, noise negative or not finite, or factor outside [0, 1).

    Examples:
        >>> from nnlite import datasets
        >>> X, Y = datasets.circles(100, noise=0.0, factor=0.3, rng=0)
        >>> radius = np.hypot(X[:, 0], X[:, 1])
        >>> round(float(radius[Y[:, 0] == 1].max()), 9), round(float(radius[Y[:, 0] == 0].min()), 9)
        (0.3, 1.0)
    """
    name = "circles"
    n_samples = Integer(low=2).check(name, "n_samples", n_samples)
    noise = Real(low=0).check(name, "noise", noise)
    factor = Real(low=0, high=1, closed="left").check(name, "factor", factor)
    n_outer, n_inner = _class_sizes(n_samples, 2)
    outer = np.linspace(0.0, 2.0 * np.pi, n_outer, endpoint=False)
    inner = np.linspace(0.0, 2.0 * np.pi, n_inner, endpoint=False)
    points = np.concatenate(
        [
            np.column_stack([np.cos(outer), np.sin(outer)]),
            factor * np.column_stack([np.cos(inner), np.sin(inner)]),
        ]
    )
    labels = np.repeat(np.arange(2), [n_outer, n_inner])
    generator = np.random.default_rng(rng)
    points += generator.normal(scale=noise, size=points.shape)
    return _shuffled(points, labels, 2, generator)


def spirals(
    n_samples: int = 300, *, n_classes: int = 3, noise: float = 0.2, rng: RngLike = None
) -> tuple[Float64Array, Float64Array]:
    """K interleaved spiral arms around the origin, one per class.

    Point i (i = 1..n_k) of class k sits at radius r = i / n_k and angle
    theta = 2 pi k / K + 4 r + noise * eps, eps ~ N(0, 1): the arms start a K-th of a turn apart
    and each turns 4 radians from the centre to the rim (radius 1). The noise jitters the angle,
    so it moves a point by about ``noise * r``. Then the rows are shuffled.

    Args:
        n_samples: total rows N, at least ``n_classes``; split as evenly as possible, the last
            ``N % K`` classes getting one row more.
        n_classes: the number of arms K, at least 2.
        noise: standard deviation of the angle noise in radians, >= 0.
        rng: seed or Generator for the noise and the shuffle.

    Returns:
        ``(X, Y)``: X of shape (N, 2); Y one-hot of shape (N, K), or, for K = 2, the binary
        convention's (N, 1) of 0.0/1.0 (see the module docstring).

    Raises:
        TypeError: n_samples or n_classes is not an integer, or noise not a real number.
        ValueError: n_classes < 2, n_samples < n_classes, or noise negative or not finite.

    Examples:
        >>> from nnlite import datasets
        >>> X, Y = datasets.spirals(300, n_classes=3, rng=0)
        >>> X.shape, Y.shape, Y.sum(axis=0).tolist()
        ((300, 2), (300, 3), [100.0, 100.0, 100.0])
    """
    name = "spirals"
    n_classes = Integer(low=2).check(name, "n_classes", n_classes)
    n_samples = Integer(low=n_classes).check(name, "n_samples", n_samples)
    noise = Real(low=0).check(name, "noise", noise)
    generator = np.random.default_rng(rng)
    sizes = _class_sizes(n_samples, n_classes)
    radius = np.concatenate([np.arange(1, size + 1) / size for size in sizes])
    labels = np.repeat(np.arange(n_classes), sizes)
    start = 2.0 * np.pi * labels / n_classes
    angle = start + _SPIRAL_SWEEP * radius + noise * generator.standard_normal(n_samples)
    points = radius[:, None] * np.column_stack([np.cos(angle), np.sin(angle)])
    return _shuffled(points, labels, n_classes, generator)


def load_digits() -> tuple[Float64Array, Float64Array]:
    """The 1797 real 8x8 handwritten digits that scikit-learn ships inside its package.

    The UCI optical-recognition digits (``sklearn.datasets.load_digits``): each image is 8x8
    pixels of ink counts 0..16, flattened row by row and divided by 16. Nothing is downloaded.

    Returns:
        ``(X, Y)``: X of shape (1797, 64) with values in [0, 1]; Y one-hot of shape (1797, 10),
        column k for the digit k.

    Raises:
        MissingExtraError: (an ImportError) scikit-learn is not installed; the message says to
            install the extra, ``pip install "nnlite[datasets]"``.

    Examples:
        It needs scikit-learn, so the docstring test run skips it.

        >>> from nnlite import datasets
        >>> X, Y = datasets.load_digits()  # doctest: +SKIP
        >>> X.shape, Y.shape  # doctest: +SKIP
        ((1797, 64), (1797, 10))
    """
    try:
        # imported by name so that the optional dependency needs no type stubs
        sklearn_datasets: Any = importlib.import_module("sklearn.datasets")
    except ImportError as error:
        raise MissingExtraError(
            f"nnlite.datasets.load_digits needs scikit-learn, which ships the digits: {_EXTRA_HINT}"
        ) from error
    digits = sklearn_datasets.load_digits()
    x = np.asarray(digits.data, dtype=np.float64) / 16.0
    return x, one_hot(np.asarray(digits.target), 10)


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


def _class_sizes(n_samples: int, n_classes: int) -> list[int]:
    """n_samples split as evenly as possible; the last ``n_samples % n_classes`` classes get one
    more (for two classes this is scikit-learn's ``N // 2`` for class 0)."""
    base, extra = divmod(n_samples, n_classes)
    return [base + (k >= n_classes - extra) for k in range(n_classes)]


def _shuffled(
    points: Float64Array, labels: NDArray[np.int_], n_classes: int, generator: np.random.Generator
) -> tuple[Float64Array, Float64Array]:
    """The rows in random order, as (X, Y) with Y by the target conventions."""
    order = generator.permutation(len(points))
    if n_classes == 2:
        return points[order], labels[order, None].astype(np.float64)
    return points[order], one_hot(labels[order], n_classes)


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


def _first_bad(name: str, array: NDArray[Any], bad: NDArray[np.bool_], allowed: str) -> None:
    """Raise a ValueError naming the first label that breaks a rule, if any does."""
    if bad.any():
        index = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{name}: every label must be {allowed}, got {array[index].item()!r} at index {index}"
        )
