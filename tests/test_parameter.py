"""Parameter: data and a grad of the same shape and dtype."""

from __future__ import annotations

import numpy as np
import pytest

import nnlite as nl


def test_grad_starts_at_zero_with_data_shape_and_dtype() -> None:
    for dtype in (np.float32, np.float64):
        parameter = nl.Parameter(np.ones((2, 3), dtype=dtype))
        assert parameter.grad.shape == (2, 3)
        assert parameter.grad.dtype == dtype
        assert parameter.data.dtype == dtype
        assert not parameter.grad.any()


def test_data_is_a_copy() -> None:
    source = np.zeros(3)
    parameter = nl.Parameter(source)
    parameter.data += 1
    assert not source.any()


def test_lists_and_integers_become_float64() -> None:
    assert nl.Parameter([1, 2]).dtype == np.float64
    assert nl.Parameter(np.arange(3)).dtype == np.float64


def test_non_numeric_data_is_a_type_error() -> None:
    with pytest.raises(TypeError, match=r"Parameter.*expects data"):
        nl.Parameter("weights")


def test_repr_shows_shape_and_dtype() -> None:
    assert repr(nl.Parameter(np.zeros((2, 3)))) == "Parameter(shape=(2, 3), dtype=float64)"
