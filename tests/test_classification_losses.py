"""BCELoss, BCEWithLogitsLoss and SoftmaxCrossEntropyLoss: values, gradients, extremes, errors.

Names: the target is t; the prediction is p where it is a probability, z where it is logits.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import nnlite as nl
from nnlite.errors import ArgumentValueError
from nnlite.testing import check_gradients
from nnlite.testing import strategies as nst

STRICT = {"over": "raise", "invalid": "raise", "divide": "raise"}  # underflow to 0 is fine
EPS = float(np.finfo(np.float64).eps)

LOSSES: list[type[nl.Loss]] = [nl.BCELoss, nl.BCEWithLogitsLoss, nl.SoftmaxCrossEntropyLoss]


def unit_arrays(
    shape: tuple[int, ...], low: float = 0.0, high: float = 1.0
) -> st.SearchStrategy[nl.FloatArray]:
    """Arrays with elements in [low, high]: probabilities, or targets."""
    return hnp.arrays(np.float64, shape, elements=st.floats(min_value=low, max_value=high))


AWAY = 1e-3
"""Probabilities in [AWAY, 1 - AWAY] are away from BCELoss's clamp: p +- 2h, with h = 2^-13 the
checker's step, stays inside [eps, 1 - eps]."""


def probability_rows(data: st.DataObject, shape: tuple[int, int]) -> nl.FloatArray:
    """Targets whose rows are probability distributions (non-negative, summing to 1)."""
    weights = data.draw(unit_arrays(shape), label="weights")
    assume(np.all(weights.sum(axis=1) > 0))
    return weights / weights.sum(axis=1, keepdims=True)


def one_hot_rows(data: st.DataObject, shape: tuple[int, int]) -> nl.FloatArray:
    n, c = shape
    labels = data.draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n), label="labels")
    return np.eye(c)[labels]


# --------------------------------------------------------------------------------------------------
# BCELoss
# --------------------------------------------------------------------------------------------------


@given(data=st.data(), shape=nst.batch_shapes())
def test_bce_gradient_against_finite_differences(
    data: st.DataObject, shape: tuple[int, int]
) -> None:
    p = data.draw(unit_arrays(shape, AWAY, 1 - AWAY), label="p")
    t = data.draw(unit_arrays(shape), label="t")
    check_gradients(nl.BCELoss(), p, t)


@given(data=st.data(), shape=nst.batch_shapes())
def test_bce_gradient_at_the_ends_where_the_clamp_holds(
    data: st.DataObject, shape: tuple[int, int]
) -> None:
    """p exactly 0 or 1: the clamp is active, the gradient is 0, one-sided slopes bracket it."""
    p = data.draw(hnp.arrays(np.float64, shape, elements=st.sampled_from([0.0, 1.0])), label="p")
    t = data.draw(unit_arrays(shape), label="t")
    loss = nl.BCELoss()
    loss(p, t)
    np.testing.assert_array_equal(loss.backward(), np.zeros(shape))
    check_gradients(loss, p, t)


@given(data=st.data(), shape=nst.batch_shapes())
def test_bce_gradient_outside_zero_one_where_the_clamped_loss_is_flat(
    data: st.DataObject, shape: tuple[int, int]
) -> None:
    """Every finite-difference point is clamped too: the numeric gradient is exactly 0."""
    below = st.floats(min_value=-10.0, max_value=-AWAY)
    above = st.floats(min_value=1 + AWAY, max_value=10.0)
    p = data.draw(hnp.arrays(np.float64, shape, elements=below | above), label="p")
    t = data.draw(unit_arrays(shape), label="t")
    report = check_gradients(nl.BCELoss(), p, t)
    assert report["prediction"].max_abs_error == 0.0


class BCELossIgnoringTheClamp(nl.BCELoss):
    """The gradient formula everywhere, also where the clamp makes the loss flat."""

    def backward(self) -> nl.FloatArray:
        n = self.y.shape[0]
        grad: nl.FloatArray = (self.y - self.t) / (n * self.y * (1 - self.y))
        return grad


@pytest.mark.parametrize(("p", "t"), [(0.0, 1.0), (1.0, 0.0), (-0.5, 1.0), (1.5, 0.0)])
def test_a_gradient_that_ignores_the_clamp_is_caught(p: float, t: float) -> None:
    """So the tests above can fail: at p = 0 with t = 1 the unclamped formula gives -1/eps."""
    with pytest.raises(AssertionError, match="gradient of the prediction is wrong"):
        check_gradients(BCELossIgnoringTheClamp(), [[p]], [[t]])


def test_bce_gradient_is_zero_inside_the_clamp() -> None:
    p = np.array([[0.0, 1e-300, EPS / 2, 1 - EPS / 4, 1.0, -3.0, 7.0]])
    loss = nl.BCELoss()
    loss(p, np.full(p.shape, 0.3))
    np.testing.assert_array_equal(loss.backward(), np.zeros(p.shape))


@given(data=st.data(), shape=nst.batch_shapes())
def test_bce_value_and_gradient_are_the_textbook_formulas(
    data: st.DataObject, shape: tuple[int, int]
) -> None:
    p = data.draw(unit_arrays(shape, AWAY, 1 - AWAY), label="p")
    t = data.draw(unit_arrays(shape), label="t")
    n, m = shape
    loss = nl.BCELoss()
    expected = -sum(
        t[i, j] * math.log(p[i, j]) + (1 - t[i, j]) * math.log(1 - p[i, j])
        for i in range(n)
        for j in range(m)
    )
    # Every term is >= 0, so the sum keeps the terms' relative accuracy (log(1 - p) computed as
    # written loses up to eps / AWAY of it).
    assert loss(p, t) == pytest.approx(expected / n, rel=1e-12, abs=0)
    grad = loss.backward()
    textbook = -(t / p - (1 - t) / (1 - p)) / n
    # The textbook form cancels where p ~ t: allow a few roundings of its larger term.
    bound = 8 * EPS * (t / p + (1 - t) / (1 - p)) / n
    assert np.all(np.abs(grad - textbook) <= bound)


def test_bce_known_value() -> None:
    loss = nl.BCELoss()
    value = loss([[0.5], [0.8]], [[1.0], [0.0]])
    assert value == pytest.approx(-(math.log(0.5) + math.log(0.2)) / 2, rel=1e-15, abs=0)
    np.testing.assert_allclose(loss.backward(), [[-1.0], [2.5]], rtol=1e-15)


@pytest.mark.parametrize(("dtype", "big"), [(np.float64, 1e308), (np.float32, 3e38)])
def test_bce_extreme_inputs_are_clamped_without_floating_point_error(
    dtype: type, big: float
) -> None:
    """Confidently wrong at p = 0 and 1 costs -log(eps) each; right costs -log(1 - eps) ~ eps."""
    p: nl.FloatArray = np.array([[0.0, 1.0, 0.0, 1.0], [-big, big, 0.5, 1e-30]], dtype=dtype)
    t: nl.FloatArray = np.array([[1.0, 0.0, 0.0, 1.0], [0.0, 1.0, 1.0, 0.0]], dtype=dtype)
    eps = float(np.finfo(dtype).eps)
    loss = nl.BCELoss()
    with np.errstate(**STRICT):  # type: ignore[arg-type]
        value = loss(p, t)
        grad = loss.backward()
    right, wrong = -math.log1p(-eps), -math.log(eps)
    expected = (2 * wrong + 2 * right + 2 * right + math.log(2) + right) / 2
    assert value == pytest.approx(expected, rel=1e-6 if dtype == np.float32 else 1e-14, abs=0)
    assert grad.dtype == dtype
    expected_grad = np.array([[0.0, 0.0, 0.0, 0.0], [0.0, 0.0, -1.0, 0.0]])
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-6, atol=0)


# --------------------------------------------------------------------------------------------------
# BCEWithLogitsLoss
# --------------------------------------------------------------------------------------------------


@given(data=st.data(), shape=nst.batch_shapes())
def test_bce_with_logits_gradient_against_finite_differences(
    data: st.DataObject, shape: tuple[int, int]
) -> None:
    z = data.draw(nst.arrays(shape), label="z")
    t = data.draw(unit_arrays(shape), label="t")
    check_gradients(nl.BCEWithLogitsLoss(), z, t)


@given(data=st.data(), shape=nst.batch_shapes())
def test_bce_with_logits_gradient_on_a_wide_range_and_any_target(
    data: st.DataObject, shape: tuple[int, int]
) -> None:
    z = data.draw(nst.arrays(shape, max_magnitude=40.0), label="z")
    t = data.draw(nst.arrays(shape), label="t")
    check_gradients(nl.BCEWithLogitsLoss(), z, t)


@given(data=st.data(), shape=nst.batch_shapes())
def test_bce_with_logits_value_and_gradient_are_the_textbook_formulas(
    data: st.DataObject, shape: tuple[int, int]
) -> None:
    z = data.draw(nst.arrays(shape), label="z")  # |z| <= 10: sigma and 1 - sigma keep 11 digits
    t = data.draw(unit_arrays(shape), label="t")
    n, m = shape
    loss = nl.BCEWithLogitsLoss()
    expected = 0.0
    for i in range(n):
        for j in range(m):
            s = 1 / (1 + math.exp(-z[i, j]))
            expected -= t[i, j] * math.log(s) + (1 - t[i, j]) * math.log(1 - s)
    # Terms >= 0; log(1 - s) as written loses up to eps / (1 - sigma(10)) ~ 5e-12 of its value.
    assert loss(z, t) == pytest.approx(expected / n, rel=1e-10, abs=0)
    textbook = (1 / (1 + np.exp(-z)) - t) / n
    # Both sigmoids are within 2 roundings of a value <= 1; the difference adds one more.
    np.testing.assert_allclose(loss.backward(), textbook, rtol=0, atol=8 * EPS / n)


@given(data=st.data(), shape=nst.batch_shapes())
def test_bce_with_logits_gradient_with_labels_on_a_wide_range(
    data: st.DataObject, shape: tuple[int, int]
) -> None:
    """Labels 0 and 1 with confident logits: a tiny loss, whose gradient must still be right."""
    z = data.draw(nst.arrays(shape, max_magnitude=40.0), label="z")
    t = data.draw(hnp.arrays(np.float64, shape, elements=st.sampled_from([0.0, 1.0])), label="t")
    check_gradients(nl.BCEWithLogitsLoss(), z, t)


def test_bce_with_logits_is_accurate_for_confident_right_logits() -> None:
    """t = 1, z >> 0: L = log(1 + e) = e - e^2/2 + ... and dL/dz = -sigma(-z) = -e / (1 + e), with
    e = exp(-z), where log(1 + exp(-z)) and sigma(z) - 1 as written lose e or round it to 0.
    The same mirrored for t = 0, z << 0."""
    for magnitude in np.linspace(20.0, 700.0, 69):
        e = math.exp(-magnitude)
        for z, t, sign in [(magnitude, 1.0, -1.0), (-magnitude, 0.0, 1.0)]:
            loss = nl.BCEWithLogitsLoss()
            # The series' next term, e^3 / 3, is below 1e-17 of the value.
            assert loss([[z]], [[t]]) == pytest.approx(e - e * e / 2, rel=1e-14, abs=0)
            assert loss.backward()[0, 0] == pytest.approx(sign * e / (1 + e), rel=1e-14, abs=0)


def test_bce_with_logits_known_value() -> None:
    loss = nl.BCEWithLogitsLoss()
    assert loss([[0.0], [1000.0]], [[1.0], [1.0]]) == pytest.approx(
        math.log(2) / 2, rel=1e-15, abs=0
    )
    np.testing.assert_array_equal(loss.backward(), [[-0.25], [0.0]])


@pytest.mark.parametrize(("dtype", "big"), [(np.float64, 1e308), (np.float32, 3e38)])
def test_bce_with_logits_extreme_logits_raise_no_floating_point_error(
    dtype: type, big: float
) -> None:
    """Right at +-big costs 0, wrong costs big, t = 1/2 costs big / 2: mean 2 big / 4."""
    z: nl.FloatArray = np.array([[big, -big], [big, -big], [-big, big], [big, -big]], dtype=dtype)
    t: nl.FloatArray = np.array([[1.0, 0.0], [0.0, 0.0], [0.0, 1.0], [0.5, 0.5]], dtype=dtype)
    loss = nl.BCEWithLogitsLoss()
    with np.errstate(**STRICT):  # type: ignore[arg-type]
        value = loss(z, t)
        grad = loss.backward()
    assert value == pytest.approx(big / 2, rel=1e-6, abs=0)
    assert grad.dtype == dtype
    expected_grad = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 0.0], [0.5, -0.5]]) / 4
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-6, atol=0)


def test_bce_with_logits_mean_of_large_terms_does_not_overflow() -> None:
    """Two wrong logits of 1e308: the sum of terms is 2e308, but their mean is 1e308."""
    loss = nl.BCEWithLogitsLoss()
    with np.errstate(**STRICT):  # type: ignore[arg-type]
        assert loss([[1e308], [1e308]], [[0.0], [0.0]]) == pytest.approx(1e308, rel=1e-15, abs=0)


# --------------------------------------------------------------------------------------------------
# SoftmaxCrossEntropyLoss
# --------------------------------------------------------------------------------------------------


@given(data=st.data(), shape=nst.batch_shapes())
def test_softmax_ce_gradient_against_finite_differences(
    data: st.DataObject, shape: tuple[int, int]
) -> None:
    z = data.draw(nst.arrays(shape), label="z")
    t = probability_rows(data, shape)
    check_gradients(nl.SoftmaxCrossEntropyLoss(), z, t)


@given(data=st.data(), shape=nst.batch_shapes())
def test_softmax_ce_gradient_with_one_hot_targets(
    data: st.DataObject, shape: tuple[int, int]
) -> None:
    z = data.draw(nst.arrays(shape, max_magnitude=40.0), label="z")
    check_gradients(nl.SoftmaxCrossEntropyLoss(), z, one_hot_rows(data, shape))


@given(data=st.data(), shape=nst.batch_shapes())
def test_softmax_ce_gradient_with_any_target(data: st.DataObject, shape: tuple[int, int]) -> None:
    """Rows of t that do not sum to 1: the gradient is (softmax * sum_c t_c - t) / N."""
    z = data.draw(nst.arrays(shape), label="z")
    t = data.draw(nst.arrays(shape), label="t")
    check_gradients(nl.SoftmaxCrossEntropyLoss(), z, t)


@given(data=st.data(), shape=nst.batch_shapes())
def test_softmax_ce_value_and_gradient_are_the_textbook_formulas(
    data: st.DataObject, shape: tuple[int, int]
) -> None:
    z = data.draw(nst.arrays(shape), label="z")  # |z| <= 10: exp(z) stays far inside the range
    t = probability_rows(data, shape)
    n, c = shape
    loss = nl.SoftmaxCrossEntropyLoss()
    expected = 0.0
    softmax = np.empty(shape)
    for i in range(n):
        denominator = sum(math.exp(z[i, k]) for k in range(c))
        for j in range(c):
            softmax[i, j] = math.exp(z[i, j]) / denominator
            expected -= t[i, j] * math.log(softmax[i, j])
    # Terms >= 0. Each log softmax is off by a few roundings of numbers up to |z - m| <= 20 in the
    # code and by C + 2 relative roundings in the textbook form; each row's weights t sum to 1.
    assert loss(z, t) == pytest.approx(expected / n, rel=1e-12, abs=8 * (c + 22) * EPS)
    # Rows of t sum to 1: the gradient is (softmax - t) / N.
    np.testing.assert_allclose(loss.backward(), (softmax - t) / n, rtol=0, atol=8 * (c + 2) * EPS)


@given(data=st.data(), shape=nst.batch_shapes())
def test_softmax_ce_gradient_for_any_target_is_the_general_formula(
    data: st.DataObject, shape: tuple[int, int]
) -> None:
    z = data.draw(nst.arrays(shape), label="z")
    t = data.draw(nst.arrays(shape), label="t")
    n = shape[0]
    loss = nl.SoftmaxCrossEntropyLoss()
    loss(z, t)
    softmax = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    t_sum = t.sum(axis=1, keepdims=True)
    expected = (softmax * t_sum - t) / n
    bound = 8 * (shape[1] + 2) * EPS * (np.abs(softmax * t_sum) + np.abs(t)) / n
    assert np.all(np.abs(loss.backward() - expected) <= bound)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_softmax_ce_is_accurate_for_confident_right_rows(n_classes: int) -> None:
    """z = (g, 0, ..., 0) with t on class 0, a = (C - 1) exp(-g): L = log(1 + a) = a - a^2/2 + ...,
    dL/dz = (-a, exp(-g), ..., exp(-g)) / (1 + a), where log(sum) and softmax - 1 as written lose a
    or round it to 0."""
    loss = nl.SoftmaxCrossEntropyLoss()
    t = np.eye(n_classes)[[0]]
    for gap in np.linspace(20.0, 700.0, 69):
        z = np.zeros((1, n_classes))
        z[0, 0] = gap
        e = math.exp(-gap)
        a = (n_classes - 1) * e
        # The series' next term, a^3 / 3, is below 1e-16 of the value.
        assert loss(z, t) == pytest.approx(a - a * a / 2, rel=1e-14, abs=0)
        expected = np.array([[-a] + [e] * (n_classes - 1)]) / (1 + a)
        np.testing.assert_allclose(loss.backward(), expected, rtol=1e-14, atol=0)


def test_softmax_ce_known_value() -> None:
    loss = nl.SoftmaxCrossEntropyLoss()
    value = loss([[0.0, 0.0], [0.0, 1000.0], [1.0, 2.0]], [[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    expected = (math.log(2) + 0.0 + math.log(1 + math.exp(-1))) / 3
    assert value == pytest.approx(expected, rel=1e-15, abs=0)


@pytest.mark.parametrize(("dtype", "big"), [(np.float64, 1e308), (np.float32, 3e38)])
def test_softmax_ce_extreme_logits_raise_no_floating_point_error(dtype: type, big: float) -> None:
    """Logits +big and -big in one row are further apart than the largest float."""
    z: nl.FloatArray = np.array([[big, -big], [-big, big], [big, big], [-big, -big]], dtype=dtype)
    t: nl.FloatArray = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]], dtype=dtype)
    loss = nl.SoftmaxCrossEntropyLoss()
    with np.errstate(**STRICT):  # type: ignore[arg-type]
        value = loss(z, t)
        grad = loss.backward()
    assert value == pytest.approx(2 * math.log(2) / 4, rel=1e-6, abs=0)
    assert grad.dtype == dtype
    expected_grad = np.array([[0.0, 0.0], [0.0, 0.0], [-0.5, 0.5], [0.5, -0.5]]) / 4
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-6, atol=0)


@pytest.mark.parametrize(("dtype", "big"), [(np.float64, 1e308), (np.float32, 3e38)])
def test_softmax_ce_wrong_extreme_logit_costs_the_gap(dtype: type, big: float) -> None:
    """t = (1/2, 1/2) on logits (big, -big): -1/2 log softmax_2 = 1/2 (2 big) = big."""
    loss = nl.SoftmaxCrossEntropyLoss()
    with np.errstate(**STRICT):  # type: ignore[arg-type]
        value = loss(np.array([[big, -big]], dtype=dtype), [[0.5, 0.5]])
        grad = loss.backward()
    assert value == pytest.approx(big, rel=1e-6, abs=0)
    np.testing.assert_allclose(grad, [[0.5, -0.5]], rtol=1e-6, atol=0)


# --------------------------------------------------------------------------------------------------
# Shared: dtypes, shapes, state, repr
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("loss_class", LOSSES)
def test_float32_prediction_keeps_float32_with_a_float64_target(
    loss_class: type[nl.Loss],
) -> None:
    rng = np.random.default_rng(0)
    prediction = rng.uniform(0.1, 0.9, (3, 2)).astype(np.float32)
    target = np.eye(2)[[0, 1, 1]]  # float64
    loss = loss_class()
    value = loss(prediction, target)
    assert isinstance(value, float)
    assert loss.backward().dtype == np.float32


@pytest.mark.parametrize("loss_class", [nl.BCELoss, nl.BCEWithLogitsLoss])
def test_column_against_flat_target_is_an_error_not_broadcasting(
    loss_class: type[nl.Loss],
) -> None:
    name = loss_class.__name__
    with pytest.raises(
        nl.ShapeError,
        match=rf"{name}\(\) expects target of the prediction's shape \(4, 1\), got \(4,\)",
    ):
        loss_class()(np.zeros((4, 1)), np.zeros(4))


@pytest.mark.parametrize("loss_class", LOSSES)
def test_empty_batch_is_an_error(loss_class: type[nl.Loss]) -> None:
    with pytest.raises(nl.ShapeError, match=r"N >= 1 rows, got \(0, 2\)"):
        loss_class()(np.zeros((0, 2)), np.zeros((0, 2)))


@pytest.mark.parametrize("shape", [(3,), (2, 3, 4), (3, 0)])
def test_softmax_ce_needs_logits_of_shape_n_by_c(shape: tuple[int, ...]) -> None:
    with pytest.raises(
        nl.ShapeError,
        match=re.escape("SoftmaxCrossEntropyLoss() expects prediction of shape (N, C)")
        + f".*got {re.escape(str(shape))}",
    ):
        nl.SoftmaxCrossEntropyLoss()(np.zeros(shape), np.zeros(shape))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_softmax_ce_takes_class_labels_as_their_one_hot_rows(dtype: type) -> None:
    """An (N,) target of class labels is the one-hot rows np.eye(C)[labels]: the same loss and
    gradient, bit for bit, as ints, whole floats or a list."""
    logits: nl.FloatArray = np.random.default_rng(0).normal(size=(5, 4)).astype(dtype)
    labels = np.array([0, 3, 1, 3, 2])
    reference = nl.SoftmaxCrossEntropyLoss()
    expected = reference(logits, np.eye(4, dtype=dtype)[labels])
    expected_grad = reference.backward()
    for target in (labels, labels.astype(float), labels.tolist()):
        loss = nl.SoftmaxCrossEntropyLoss()
        assert loss(logits, target) == expected
        grad = loss.backward()
        assert grad.dtype == dtype
        np.testing.assert_array_equal(grad, expected_grad)


def test_softmax_ce_gradient_with_class_labels() -> None:
    logits = np.random.default_rng(1).normal(size=(6, 3))
    loss = nl.SoftmaxCrossEntropyLoss()
    loss(logits, np.array([2, 0, 1, 1, 0, 2]))
    softmax = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    expected = (softmax - np.eye(3)[[2, 0, 1, 1, 0, 2]]) / 6  # the textbook (softmax - t) / N
    np.testing.assert_allclose(loss.backward(), expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(
    ("bad", "shown"), [(-1, "-1.0"), (4, "4.0"), (1.5, "1.5"), (np.nan, "nan")]
)
def test_softmax_ce_refuses_labels_that_are_no_class(bad: float, shown: str) -> None:
    with pytest.raises(
        ArgumentValueError,
        match=re.escape(
            "SoftmaxCrossEntropyLoss(): a target of shape (N,) holds class labels, whole numbers "
            f"in 0 .. 3 for 4 classes, got {shown} at index (2,)"
        ),
    ):
        nl.SoftmaxCrossEntropyLoss()(np.zeros((3, 4)), np.array([0, 3, bad]))


@pytest.mark.parametrize("shape", [(3, 1), (3, 5), (2,), (3, 4, 1)])
def test_softmax_ce_names_both_target_shapes_it_takes(shape: tuple[int, ...]) -> None:
    with pytest.raises(
        nl.ShapeError,
        match=re.escape(
            "SoftmaxCrossEntropyLoss() expects target of the prediction's shape (3, 4) (one-hot "
            f"rows, or one distribution per row) or (3,) class labels, got {shape}"
        ),
    ):
        nl.SoftmaxCrossEntropyLoss()(np.zeros((3, 4)), np.zeros(shape))


@pytest.mark.parametrize("bad", [-0.25, 1.5, 2.0, np.inf, np.nan])
def test_bce_refuses_targets_outside_zero_one(bad: float) -> None:
    target = np.array([[0.0, 1.0], [0.5, bad]])
    with pytest.raises(
        ArgumentValueError,
        match=re.escape(
            f"BCELoss(): target must hold probabilities in [0, 1] (labels 0 and 1, or soft "
            f"labels), got {bad!r} at index (1, 1)"
        ),
    ):
        nl.BCELoss()(np.full((2, 2), 0.5), target)


def test_bce_takes_targets_at_both_ends_of_zero_one() -> None:
    loss = nl.BCELoss()
    loss(np.full((1, 3), 0.5), [[0.0, 1.0, 0.5]])
    expected = [[2.0, -2.0, 0.0]]  # (y - t) / (N y (1 - y)) at y = 1/2
    np.testing.assert_allclose(loss.backward(), expected, rtol=1e-15)


@pytest.mark.parametrize("loss_class", LOSSES)
def test_backward_before_forward(loss_class: type[nl.Loss]) -> None:
    name = loss_class.__name__
    with pytest.raises(nl.StateError, match=rf"{name}\(\)\.backward\(\) was called before"):
        loss_class().backward()


@pytest.mark.parametrize("loss_class", LOSSES)
def test_a_failed_forward_leaves_nothing_for_backward(loss_class: type[nl.Loss]) -> None:
    loss = loss_class()
    loss(np.full((2, 2), 0.5), np.ones((2, 2)))
    with pytest.raises(nl.ShapeError):
        loss(np.zeros((2, 2)), np.zeros((2, 3)))
    with pytest.raises(nl.StateError):
        loss.backward()


@pytest.mark.parametrize("loss_class", LOSSES)
def test_repr(loss_class: type[nl.Loss]) -> None:
    assert repr(loss_class()) == f"{loss_class.__name__}()"


@pytest.mark.parametrize(
    ("make", "prediction", "target"),
    [
        (nl.BCELoss, [[0.5]], [[1]]),
        (nl.BCEWithLogitsLoss, [[0.0]], [[1]]),
        (nl.SoftmaxCrossEntropyLoss, [[0.0, 0.0]], [[1, 0]]),
    ],
)
def test_lists_and_integer_targets_are_accepted(
    make: Callable[[], nl.Loss], prediction: list[list[float]], target: list[list[int]]
) -> None:
    assert make()(prediction, target) == pytest.approx(math.log(2), rel=1e-15, abs=0)
