"""MSELoss: eq. 1 and its gradient, with exact shape matching."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nnlite as nl
from nnlite.testing import check_gradients
from nnlite.testing import strategies as nst


@given(data=st.data(), shape=nst.batch_shapes())
def test_gradient_against_finite_differences(data: st.DataObject, shape: tuple[int, int]) -> None:
    prediction = data.draw(nst.arrays(shape), label="prediction")
    target = data.draw(nst.arrays(shape), label="target")
    check_gradients(nl.MSELoss(), prediction, target)


@given(data=st.data(), shape=nst.batch_shapes())
def test_value_is_eq_1_and_gradient_its_derivative(
    data: st.DataObject, shape: tuple[int, int]
) -> None:
    prediction = data.draw(nst.arrays(shape))
    target = data.draw(nst.arrays(shape))
    loss = nl.MSELoss()
    n = shape[0]
    expected = sum(
        (target[i, j] - prediction[i, j]) ** 2 for i in range(n) for j in range(shape[1])
    )
    assert loss(prediction, target) == pytest.approx(expected / (2 * n), rel=1e-12, abs=1e-300)
    np.testing.assert_allclose(loss.backward(), -(target - prediction) / n, rtol=1e-15)


def test_known_value() -> None:
    loss = nl.MSELoss()
    assert loss([[1.0], [3.0]], [[0.0], [1.0]]) == 1.25  # (1 + 4) / (2 * 2)
    assert isinstance(loss([[1.0]], [[0.0]]), float)


def test_column_against_flat_target_is_an_error_not_broadcasting() -> None:
    with pytest.raises(
        ValueError,
        match=r"MSELoss\(\) expects target of the prediction's shape \(4, 1\), got \(4,\)",
    ):
        nl.MSELoss()(np.zeros((4, 1)), np.zeros(4))


def test_empty_batch_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"N >= 1 rows, got \(0, 1\)"):
        nl.MSELoss()(np.zeros((0, 1)), np.zeros((0, 1)))


def test_backward_before_forward() -> None:
    with pytest.raises(RuntimeError, match=r"MSELoss\(\)\.backward\(\) was called before"):
        nl.MSELoss().backward()


def test_float32_prediction_keeps_float32_with_a_float64_target() -> None:
    loss = nl.MSELoss()
    loss(np.zeros((3, 2), dtype=np.float32), np.ones((3, 2)))
    assert loss.backward().dtype == np.float32


def test_integer_targets_are_accepted() -> None:
    loss = nl.MSELoss()
    assert loss(np.zeros((2, 1)), np.array([[1], [0]])) == 0.25
