"""nnlite.datasets: the generators' shapes, balance and geometry, the targets, the split."""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nnlite import datasets
from nnlite.errors import DTypeError, MissingExtraError, ShapeError

Arrays = tuple[np.ndarray, ...]

# Every random function, called with a seed; the split runs on fixed data.
_FIXED_X = np.arange(40.0).reshape(20, 2)
_FIXED_Y = datasets.one_hot(np.arange(20) % 3)
RANDOM_CALLS: dict[str, Callable[[Any], Arrays]] = {
    "two_moons": lambda rng: datasets.two_moons(50, rng=rng),
    "circles": lambda rng: datasets.circles(50, rng=rng),
    "spirals": lambda rng: datasets.spirals(50, rng=rng),
    "train_test_split": lambda rng: datasets.train_test_split(_FIXED_X, _FIXED_Y, rng=rng),
    "train_test_split stratified": lambda rng: datasets.train_test_split(
        _FIXED_X, _FIXED_Y, stratify=True, rng=rng
    ),
}

# The binary generators with their noise argument, keyed by name.
BINARY: dict[str, Callable[..., Arrays]] = {
    "two_moons": datasets.two_moons,
    "circles": datasets.circles,
}


def _same_state(a: tuple[object, ...], b: tuple[object, ...]) -> bool:
    return a[0] == b[0] and np.array_equal(a[1], b[1]) and a[2:] == b[2:]  # type: ignore[arg-type]


def _class_counts(Y: np.ndarray, n_classes: int) -> list[int]:
    return np.bincount(datasets.labels_of(Y), minlength=n_classes).tolist()


# --- the generators --------------------------------------------------------------------------


def test_xor_is_the_truth_table() -> None:
    X, Y = datasets.xor()
    np.testing.assert_array_equal(X, [[0, 0], [0, 1], [1, 0], [1, 1]])
    np.testing.assert_array_equal(Y[:, 0], X[:, 0] != X[:, 1])
    assert X.dtype == Y.dtype == np.float64
    assert Y.shape == (4, 1)


@pytest.mark.parametrize(
    ("make", "n_columns"),
    [
        (lambda: datasets.two_moons(31, rng=0), 1),
        (lambda: datasets.circles(31, rng=0), 1),
        (lambda: datasets.spirals(31, rng=0), 3),
        (lambda: datasets.spirals(31, n_classes=5, rng=0), 5),
        (lambda: datasets.spirals(31, n_classes=2, rng=0), 1),  # binary: the (N, 1) convention
    ],
)
def test_generators_shapes_dtypes_and_target_values(
    make: Callable[[], Arrays], n_columns: int
) -> None:
    X, Y = make()
    assert X.shape == (31, 2)
    assert Y.shape == (31, n_columns)
    assert X.dtype == Y.dtype == np.float64
    assert np.isfinite(X).all()
    assert np.isin(Y, (0.0, 1.0)).all()
    if n_columns > 1:
        np.testing.assert_array_equal(Y.sum(axis=1), 1.0)


def test_defaults_give_the_documented_sizes() -> None:
    assert datasets.two_moons()[0].shape == (200, 2)
    assert datasets.circles()[0].shape == (200, 2)
    assert datasets.spirals()[1].shape == (300, 3)


@given(n_samples=st.integers(2, 300), name=st.sampled_from(sorted(BINARY)))
def test_binary_generators_are_balanced(n_samples: int, name: str) -> None:
    _, Y = BINARY[name](n_samples, rng=0)
    assert _class_counts(Y, 2) == [n_samples // 2, n_samples - n_samples // 2]


@given(data=st.data())
def test_spirals_are_balanced(data: st.DataObject) -> None:
    n_classes = data.draw(st.integers(2, 7), label="n_classes")
    n_samples = data.draw(st.integers(n_classes, 200), label="n_samples")
    _, Y = datasets.spirals(n_samples, n_classes=n_classes, rng=0)
    base, extra = divmod(n_samples, n_classes)
    # as even as possible, the last n % K classes getting one more
    assert _class_counts(Y, n_classes) == [
        base + (k >= n_classes - extra) for k in range(n_classes)
    ]


def test_two_moons_at_noise_zero_are_two_half_circles() -> None:
    X, Y = datasets.two_moons(41, noise=0.0, rng=0)
    upper, lower = X[Y[:, 0] == 0], X[Y[:, 0] == 1]
    # class 0: the upper half of the unit circle about (0, 0), evenly spaced from 0 to pi
    np.testing.assert_allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0, rtol=0, atol=1e-12)
    angles = np.sort(np.arctan2(upper[:, 1], upper[:, 0]))
    np.testing.assert_allclose(angles, np.linspace(0, np.pi, 20), rtol=0, atol=1e-12)
    # class 1: the lower half of the unit circle about (1, 0.5): (1 - x, 0.5 - y) = (cos t, sin t)
    dx, dy = 1.0 - lower[:, 0], 0.5 - lower[:, 1]
    np.testing.assert_allclose(np.hypot(dx, dy), 1.0, rtol=0, atol=1e-12)
    angles = np.sort(np.arctan2(dy, dx))
    np.testing.assert_allclose(angles, np.linspace(0, np.pi, 21), rtol=0, atol=1e-12)


@pytest.mark.parametrize("factor", [0.0, 0.3, 0.5, 0.9])
def test_circles_at_noise_zero_have_radius_one_and_factor(factor: float) -> None:
    X, Y = datasets.circles(17, noise=0.0, factor=factor, rng=0)
    radius = np.hypot(X[:, 0], X[:, 1])
    np.testing.assert_allclose(radius[Y[:, 0] == 0], 1.0, rtol=0, atol=1e-12)
    np.testing.assert_allclose(radius[Y[:, 0] == 1], factor, rtol=0, atol=1e-12)
    outer = X[Y[:, 0] == 0]
    angles = np.sort(np.mod(np.arctan2(outer[:, 1], outer[:, 0]), 2 * np.pi))
    expected = np.linspace(0, 2 * np.pi, 8, endpoint=False)
    np.testing.assert_allclose(angles, expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("n_classes", [2, 3, 5])
def test_spirals_at_noise_zero_follow_the_documented_arms(n_classes: int) -> None:
    X, Y = datasets.spirals(60, n_classes=n_classes, noise=0.0, rng=0)
    labels = datasets.labels_of(Y)
    radius = np.hypot(X[:, 0], X[:, 1])
    for k in range(n_classes):
        n_k = int((labels == k).sum())
        expected_radii = np.arange(1, n_k + 1) / n_k
        np.testing.assert_allclose(np.sort(radius[labels == k]), expected_radii, atol=1e-12)
    # theta = 2 pi k / K + 4 r, so the point divided by its radius is exp(i theta)
    theta = 2 * np.pi * labels / n_classes + 4.0 * radius
    on_arm = (X[:, 0] + 1j * X[:, 1]) / radius
    np.testing.assert_allclose(on_arm, np.exp(1j * theta), rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_noise_is_the_standard_deviation_added_to_each_coordinate(name: str) -> None:
    clean_X, clean_Y = BINARY[name](10_000, noise=0.0, rng=3)
    noisy_X, noisy_Y = BINARY[name](10_000, noise=0.1, rng=3)
    np.testing.assert_array_equal(clean_Y, noisy_Y)  # same seed: same draws, same order
    shift = noisy_X - clean_X
    # 20,000 draws: the sample std's standard error is 0.1 / 200 = 0.0005, so 0.005 is 10 of them
    assert abs(shift.std() - 0.1) < 0.005
    assert abs(shift.mean()) < 0.005


def test_spiral_noise_jitters_the_angle_only() -> None:
    clean_X, clean_Y = datasets.spirals(10_000, noise=0.0, rng=3)
    noisy_X, noisy_Y = datasets.spirals(10_000, noise=0.2, rng=3)
    np.testing.assert_array_equal(clean_Y, noisy_Y)
    np.testing.assert_allclose(np.hypot(*noisy_X.T), np.hypot(*clean_X.T), rtol=1e-12)
    turn = np.angle((noisy_X[:, 0] + 1j * noisy_X[:, 1]) / (clean_X[:, 0] + 1j * clean_X[:, 1]))
    assert abs(turn.std() - 0.2) < 0.01  # standard error 0.2 / sqrt(20,000) = 0.0014


def test_generators_match_scikit_learn_geometry() -> None:
    """An independent reference: the same point sets as make_moons / make_circles at noise 0."""
    sk_datasets = pytest.importorskip("sklearn.datasets")

    def assert_same_points(ours: Arrays, theirs: Arrays) -> None:
        ours_labels = datasets.labels_of(ours[1])
        for k in (0, 1):
            a, b = ours[0][ours_labels == k], theirs[0][theirs[1] == k]
            assert a.shape == b.shape
            # the points of a class are far apart, so nearest neighbours within 1e-12 both ways
            # pair them one to one
            distance = np.linalg.norm(a[:, None, :] - b[None, :, :], axis=2)
            assert distance.min(axis=1).max() < 1e-12
            assert distance.min(axis=0).max() < 1e-12

    for n_samples in (2, 3, 7, 200):
        assert_same_points(
            datasets.two_moons(n_samples, noise=0.0, rng=0),
            sk_datasets.make_moons(n_samples, shuffle=False),
        )
        assert_same_points(
            datasets.circles(n_samples, noise=0.0, factor=0.3, rng=0),
            sk_datasets.make_circles(n_samples, shuffle=False, factor=0.3),
        )


# --- randomness --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(RANDOM_CALLS))
def test_same_seed_gives_bit_identical_data(name: str) -> None:
    for a, b in zip(RANDOM_CALLS[name](7), RANDOM_CALLS[name](7), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", sorted(RANDOM_CALLS))
def test_different_seeds_give_different_data(name: str) -> None:
    assert not np.array_equal(RANDOM_CALLS[name](1)[0], RANDOM_CALLS[name](2)[0])


@pytest.mark.parametrize("name", sorted(RANDOM_CALLS))
def test_a_generator_is_used_and_advanced(name: str) -> None:
    generator = np.random.default_rng(11)
    first, second = RANDOM_CALLS[name](generator), RANDOM_CALLS[name](generator)
    assert not np.array_equal(first[0], second[0])
    np.testing.assert_array_equal(RANDOM_CALLS[name](np.random.default_rng(11))[0], first[0])


def test_the_global_random_state_is_untouched() -> None:
    before = np.random.get_state()  # noqa: NPY002 - the legacy global state is what is checked
    for call in RANDOM_CALLS.values():
        call(None)
        call(0)
    after = np.random.get_state()  # noqa: NPY002
    assert _same_state(before, after)  # type: ignore[arg-type]


# --- argument checks ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "error", "fragments"),
    [
        (lambda: datasets.two_moons(1), ValueError, ["two_moons", "n_samples", ">= 2", "got 1"]),
        (
            lambda: datasets.two_moons(10.0),  # type: ignore[arg-type]
            TypeError,
            ["two_moons: n_samples must be an int >= 2, got 10.0"],
        ),
        (
            lambda: datasets.two_moons(True),
            TypeError,
            ["two_moons: n_samples must be an int >= 2, got True"],
        ),
        (
            lambda: datasets.two_moons(noise=-0.1),
            ValueError,
            ["two_moons", "noise", ">= 0", "-0.1"],
        ),
        (lambda: datasets.circles(noise=np.nan), ValueError, ["circles", "noise", "finite", "nan"]),
        (
            lambda: datasets.circles(noise="0.1"),  # type: ignore[arg-type]
            TypeError,
            ["circles: noise must be a number >= 0, got '0.1'"],
        ),
        (
            lambda: datasets.circles(factor=1.0),
            ValueError,
            ["circles: factor must be a finite number in [0, 1), got 1.0"],
        ),
        (
            lambda: datasets.circles(factor=-0.5),
            ValueError,
            ["circles: factor must be a finite number in [0, 1), got -0.5"],
        ),
        (lambda: datasets.circles(0), ValueError, ["circles", "n_samples", ">= 2", "got 0"]),
        (
            lambda: datasets.spirals(2, n_classes=3),
            ValueError,
            ["spirals: n_samples must be an int >= 3, got 2"],
        ),
        (
            lambda: datasets.spirals(n_classes=1),
            ValueError,
            ["spirals", "n_classes", ">= 2", "got 1"],
        ),
        (lambda: datasets.spirals(noise=-1), ValueError, ["spirals", "noise", ">= 0", "-1"]),
    ],
)
def test_generator_arguments_are_checked(
    call: Callable[[], object], error: type[Exception], fragments: list[str]
) -> None:
    with pytest.raises(error) as info:
        call()
    for fragment in fragments:
        assert fragment in str(info.value)


# --- one_hot and labels_of ---------------------------------------------------------------------


def test_one_hot_puts_a_one_in_each_label_column() -> None:
    Y = datasets.one_hot([2, 0, 1, 2])
    np.testing.assert_array_equal(Y, [[0, 0, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1]])
    assert Y.dtype == np.float64


def test_one_hot_infers_at_least_two_classes_and_takes_whole_floats_and_bools() -> None:
    assert datasets.one_hot([4]).shape == (1, 5)
    assert datasets.one_hot([0, 0]).shape == (2, 2)  # one column would mean the binary convention
    assert datasets.one_hot([1, 0], n_classes=4).shape == (2, 4)
    np.testing.assert_array_equal(datasets.one_hot(np.array([1.0, 0.0])), [[0, 1], [1, 0]])
    np.testing.assert_array_equal(datasets.one_hot(np.array([True, False])), [[0, 1], [1, 0]])
    assert datasets.one_hot(np.array([], dtype=int), n_classes=3).shape == (0, 3)


@pytest.mark.parametrize(
    ("labels", "n_classes", "error", "fragments"),
    [
        ([0, 0.5], None, ValueError, ["one_hot", "whole number", "0.5", "index 1"]),
        ([0, np.nan], None, ValueError, ["one_hot", "whole number", "nan", "index 1"]),
        ([1, -1], None, ValueError, ["one_hot", ">= 0", "-1", "index 1"]),
        ([0, 3, 1], 3, ValueError, ["one_hot", "< n_classes=3", "got 3", "index 1"]),
        ([0, 1], 1, ValueError, ["one_hot", "n_classes", ">= 2", "got 1"]),
        ([0, 1], 2.0, TypeError, ["one_hot: n_classes must be an int >= 2, got 2.0"]),
        ([[0, 1]], None, ShapeError, ["one_hot", "(N,)", "(1, 2)"]),
        (["a", "b"], None, TypeError, ["one_hot", "integers", "<U1"]),
        ([], None, ValueError, ["one_hot", "n_classes"]),
    ],
)
def test_one_hot_rejects_bad_labels(
    labels: object, n_classes: Any, error: type[Exception], fragments: list[str]
) -> None:
    with pytest.raises(error) as info:
        datasets.one_hot(labels, n_classes)  # type: ignore[arg-type]
    for fragment in fragments:
        assert fragment in str(info.value)


@given(data=st.data())
def test_one_hot_and_labels_of_round_trip(data: st.DataObject) -> None:
    n_classes = data.draw(st.integers(2, 6), label="n_classes")
    labels = np.array(data.draw(st.lists(st.integers(0, n_classes - 1), max_size=20)), dtype=int)
    Y = datasets.one_hot(labels, n_classes)
    assert Y.shape == (len(labels), n_classes)
    np.testing.assert_array_equal(Y.sum(axis=1), 1.0)
    np.testing.assert_array_equal(datasets.labels_of(Y), labels)
    binary = labels % 2
    np.testing.assert_array_equal(datasets.labels_of(binary[:, None].astype(float)), binary)


def test_labels_of_reads_predictions_too() -> None:
    np.testing.assert_array_equal(datasets.labels_of([[0.2], [0.5], [0.51], [1.0]]), [0, 0, 1, 1])
    scores = [[0.1, 0.7, 0.2], [0.4, 0.4, 0.2], [-3.0, -2.0, -1.0]]
    np.testing.assert_array_equal(datasets.labels_of(scores), [1, 0, 2])  # a tie: first column
    assert datasets.labels_of([[1.0]]).dtype == np.int64


@pytest.mark.parametrize(
    ("Y", "error", "fragment"),
    [
        (np.array([0.0, 1.0]), ShapeError, "got shape (2,)"),
        (np.zeros((3, 0)), ShapeError, "got shape (3, 0)"),
        (np.array([[np.nan, 1.0]]), ValueError, "NaN"),
        ([["a"]], DTypeError, "labels_of"),
    ],
)
def test_labels_of_rejects_what_is_not_a_target(
    Y: object, error: type[Exception], fragment: str
) -> None:
    with pytest.raises(error, match="labels_of") as info:
        datasets.labels_of(Y)  # type: ignore[arg-type]
    assert fragment in str(info.value)


# --- train_test_split --------------------------------------------------------------------------


def _numbered(n_rows: int, width: int, y_width: int) -> tuple[np.ndarray, np.ndarray]:
    """X whose first column is the row number, Y that is a function of it: pairing is visible."""
    X = np.column_stack([np.arange(n_rows, dtype=float)] + [np.ones(n_rows)] * (width - 1))
    Y = np.arange(n_rows, dtype=float)[:, None] * 10 + np.arange(y_width)
    return X, Y


def _check_partition(parts: Arrays, X: np.ndarray, Y: np.ndarray, n_test: int) -> None:
    X_train, X_test, Y_train, Y_test = parts
    assert X_test.shape == (n_test, X.shape[1])
    assert Y_test.shape == (n_test, Y.shape[1])
    assert X_train.shape == (len(X) - n_test, X.shape[1])
    ids = np.concatenate([X_train[:, 0], X_test[:, 0]])
    np.testing.assert_array_equal(np.sort(ids), X[:, 0])  # every row exactly once
    for X_part, Y_part in ((X_train, Y_train), (X_test, Y_test)):  # rows stay paired
        np.testing.assert_array_equal(Y_part, Y[X_part[:, 0].astype(int)])
        np.testing.assert_array_equal(X_part, X[X_part[:, 0].astype(int)])


@given(data=st.data())
def test_split_is_a_partition_that_keeps_rows_paired(data: st.DataObject) -> None:
    n_rows = data.draw(st.integers(2, 40), label="n_rows")
    X, Y = _numbered(n_rows, data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3)))
    test_size = data.draw(
        st.integers(1, n_rows - 1) | st.floats(0, 1, exclude_min=True, exclude_max=True),
        label="test_size",
    )
    n_test = test_size if isinstance(test_size, int) else int(np.floor(test_size * n_rows + 0.5))
    if not 1 <= n_test <= n_rows - 1:  # a fraction too small or large for so few rows
        with pytest.raises(ValueError, match="test_size"):
            datasets.train_test_split(X, Y, test_size=test_size, rng=0)
        return
    parts = datasets.train_test_split(X, Y, test_size=test_size, rng=data.draw(st.integers(0, 9)))
    _check_partition(parts, X, Y, n_test)


def test_split_shuffles_and_keeps_float32() -> None:
    X, Y = _numbered(100, 2, 1)
    X_train, X_test, _, _ = datasets.train_test_split(X.astype(np.float32), Y, rng=0)
    assert X_train.dtype == X_test.dtype == np.float32
    assert not np.array_equal(np.sort(X_test[:, 0]), np.arange(75, 100))  # not the last rows
    assert not np.array_equal(X_train[:, 0], np.sort(X_train[:, 0]))  # in random order
    _, _, Y_train, _ = datasets.train_test_split(X, np.ones((100, 1), dtype=int), rng=0)
    assert Y_train.dtype == np.float64


def test_stratified_split_keeps_the_shares_exactly_when_they_are_whole() -> None:
    labels = np.repeat([0, 1, 2], [60, 30, 10])
    Y = datasets.one_hot(np.random.default_rng(0).permutation(labels))
    X = np.arange(100.0)[:, None]
    _, _, Y_train, Y_test = datasets.train_test_split(X, Y, test_size=0.2, stratify=True, rng=0)
    assert _class_counts(Y_test, 3) == [12, 6, 2]
    assert _class_counts(Y_train, 3) == [48, 24, 8]


@given(data=st.data())
def test_stratified_split_is_within_one_row_of_each_share(data: st.DataObject) -> None:
    """Against enumeration: of all per-class test counts within one row of the ideal share that
    keep every class in both parts and add up to n_test, the split picks one closest in total; it
    raises exactly when there is none."""
    sizes = data.draw(st.lists(st.integers(2, 8), min_size=2, max_size=4), label="sizes")
    n_classes, n_rows = len(sizes), sum(sizes)
    labels = np.array(data.draw(st.permutations(np.repeat(np.arange(n_classes), sizes).tolist())))
    binary_form = n_classes == 2 and data.draw(st.booleans(), label="binary (N, 1) form")
    Y = labels[:, None].astype(float) if binary_form else datasets.one_hot(labels, n_classes)
    X = np.arange(n_rows, dtype=float)[:, None]
    n_test = data.draw(st.integers(1, n_rows - 1), label="n_test")

    ideal = [Fraction(n_test * size, n_rows) for size in sizes]
    choices = [
        [t for t in range(1, size) if abs(t - share) < 1]
        for size, share in zip(sizes, ideal, strict=True)
    ]
    valid = [counts for counts in itertools.product(*choices) if sum(counts) == n_test]
    if not valid:
        with pytest.raises(ValueError, match="do not fit"):
            datasets.train_test_split(X, Y, test_size=n_test, stratify=True, rng=0)
        return
    parts = datasets.train_test_split(X, Y, test_size=n_test, stratify=True, rng=1)
    _check_partition(parts, X, Y, n_test)
    counts = tuple(_class_counts(parts[3], n_classes))
    assert counts in valid

    def distance(counts: tuple[int, ...]) -> Fraction:
        return sum((abs(t - share) for t, share in zip(counts, ideal, strict=True)), Fraction(0))

    assert distance(counts) == min(distance(option) for option in valid)


@pytest.mark.parametrize(
    ("X", "Y", "kwargs", "error", "fragments"),
    [
        (
            np.ones((3, 2)),
            np.ones((4, 1)),
            {},
            ShapeError,
            ["train_test_split", "(3, 2)", "(4, 1)"],
        ),
        (np.ones(4), np.ones((4, 1)), {}, ShapeError, ["train_test_split", "X", "(N, d)", "(4,)"]),
        (np.ones((1, 2)), np.ones((1, 1)), {}, ValueError, ["train_test_split", "2 rows", "got 1"]),
        *[
            (np.ones((10, 2)), np.ones((10, 1)), {"test_size": bad}, ValueError, fragments)
            for bad, fragments in [
                (0.0, ["test_size", "(0, 1)", "0.0"]),
                (1.0, ["test_size", "(0, 1)", "1.0"]),
                (-0.25, ["test_size", "(0, 1)", "-0.25"]),
                (float("nan"), ["test_size", "(0, 1)", "nan"]),
                (0, ["test_size must be an int in [1, 9] or a finite number in (0, 1), got 0"]),
                (10, ["test_size must be an int in [1, 9] or", "got 10"]),
                (0.01, ["test_size=0.01", "0 test rows"]),
                (0.99, ["test_size=0.99", "10 test rows"]),
            ]
        ],
        (np.ones((10, 2)), np.ones((10, 1)), {"test_size": True}, TypeError, ["test_size"]),
        (np.ones((10, 2)), np.ones((10, 1)), {"test_size": "0.2"}, TypeError, ["got '0.2'"]),
        (
            np.ones((4, 2)),
            np.array([[0.0], [1.0], [0.0], [1.0]]),
            {"stratify": np.array([0, 1, 0, 1])},
            TypeError,
            ["train_test_split: stratify must be a bool, got array([0, 1, 0, 1])"],
        ),
        (
            np.ones((4, 2)),
            np.array([[0.0], [1.0], [1.0], [1.0]]),
            {"stratify": True},
            ValueError,
            ["stratify", "at least 2 rows", "[0]"],
        ),
        (
            np.ones((4, 2)),
            np.array([[0.0], [0.7], [1.0], [1.0]]),
            {"stratify": True},
            ValueError,
            ["stratify", "0/1", "one-hot"],
        ),
        (
            np.ones((10, 2)),
            datasets.one_hot(np.arange(10) % 5),
            {"stratify": True, "test_size": 2},
            ValueError,
            ["5 classes", "[2, 2, 2, 2, 2]", "2 test", "larger test_size"],
        ),
    ],
)
def test_split_arguments_are_checked(
    X: np.ndarray,
    Y: np.ndarray,
    kwargs: dict[str, Any],
    error: type[Exception],
    fragments: list[str],
) -> None:
    with pytest.raises(error) as info:
        datasets.train_test_split(X, Y, **kwargs)
    for fragment in fragments:
        assert fragment in str(info.value)


# --- load_digits -------------------------------------------------------------------------------


def test_load_digits_is_the_scaled_scikit_learn_digits() -> None:
    sk_datasets = pytest.importorskip("sklearn.datasets")
    X, Y = datasets.load_digits()
    assert X.shape == (1797, 64)
    assert Y.shape == (1797, 10)
    assert X.dtype == Y.dtype == np.float64
    assert X.min() == 0.0
    assert X.max() == 1.0
    np.testing.assert_array_equal(Y.sum(axis=1), 1.0)
    assert min(_class_counts(Y, 10)) > 0  # each digit present
    reference = sk_datasets.load_digits()
    np.testing.assert_array_equal(datasets.labels_of(Y), reference.target)
    np.testing.assert_array_equal(X * 16, reference.data)


def test_load_digits_without_scikit_learn_says_to_install_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for module in ("sklearn", "sklearn.datasets"):  # None in sys.modules: importing it fails
        monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(MissingExtraError) as info:  # an ImportError
        datasets.load_digits()
    message = str(info.value)
    assert 'pip install "nnlite[datasets]"' in message
    assert "scikit-learn" in message
    assert "\n" not in message
