"""BiasAppend: a ones column last; backward drops that column's gradient."""

from __future__ import annotations

import numpy as np
import pytest

import nnlite as nl
from nnlite.testing import check_layer


def test_gradients() -> None:
    check_layer(lambda n: nl.BiasAppend(), checks="gradients")


def test_appends_a_ones_column_last() -> None:
    x = np.arange(6.0).reshape(3, 2)
    y = nl.BiasAppend()(x)
    assert y.shape == (3, 3)
    np.testing.assert_array_equal(y[:, :2], x)
    np.testing.assert_array_equal(y[:, 2], np.ones(3))


def test_backward_drops_the_last_column() -> None:
    layer = nl.BiasAppend()
    layer(np.zeros((2, 2)))
    grad_y = np.array([[1.0, 2.0, 99.0], [3.0, 4.0, -99.0]])
    np.testing.assert_array_equal(layer.backward(grad_y), [[1.0, 2.0], [3.0, 4.0]])


def test_keeps_float32() -> None:
    assert nl.BiasAppend()(np.zeros((2, 2), dtype=np.float32)).dtype == np.float32


def test_rejects_non_batch_input() -> None:
    with pytest.raises(
        ValueError, match=r"BiasAppend\(\) expects input of shape \(N, d\), got \(3,\)"
    ):
        nl.BiasAppend()(np.zeros(3))
