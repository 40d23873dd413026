"""The generated data sets: XOR, two moons, circles and spirals, numpy only."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from nnlite._constraints import Integer, Real
from nnlite.datasets.labels import Float64Array, one_hot
from nnlite.typing import RngLike

_SPIRAL_SWEEP = 4.0
"""Radians each spiral arm turns between the centre and the rim (as in CS231n's spiral data)."""


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
    return _two_classes(
        np.column_stack([np.cos(upper), np.sin(upper)]),  # centre (0, 0), upper half
        np.column_stack([1.0 - np.cos(lower), 0.5 - np.sin(lower)]),  # centre (1, 0.5), lower
        noise,
        rng,
    )


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
    return _two_classes(
        np.column_stack([np.cos(outer), np.sin(outer)]),
        factor * np.column_stack([np.cos(inner), np.sin(inner)]),
        noise,
        rng,
    )


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


def _class_sizes(n_samples: int, n_classes: int) -> list[int]:
    """n_samples split as evenly as possible; the last ``n_samples % n_classes`` classes get one
    more (for two classes this is scikit-learn's ``N // 2`` for class 0)."""
    base, extra = divmod(n_samples, n_classes)
    return [base + (k >= n_classes - extra) for k in range(n_classes)]


def _two_classes(
    first: Float64Array, second: Float64Array, noise: float, rng: RngLike
) -> tuple[Float64Array, Float64Array]:
    """Class 0's points then class 1's, Gaussian noise of standard deviation ``noise`` added to
    every coordinate, the rows shuffled."""
    points = np.concatenate([first, second])
    labels = np.repeat(np.arange(2), [len(first), len(second)])
    generator = np.random.default_rng(rng)
    points += generator.normal(scale=noise, size=points.shape)
    return _shuffled(points, labels, 2, generator)


def _shuffled(
    points: Float64Array, labels: NDArray[np.int_], n_classes: int, generator: np.random.Generator
) -> tuple[Float64Array, Float64Array]:
    """The rows in random order, as (X, Y) with Y by the target conventions."""
    order = generator.permutation(len(points))
    if n_classes == 2:
        return points[order], labels[order, None].astype(np.float64)
    return points[order], one_hot(labels[order], n_classes)
