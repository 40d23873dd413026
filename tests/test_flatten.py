"""Flatten and Unflatten: the order of the values, the inverse of each other, and their errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nnlite as nl
from nnlite.errors import ArgumentTypeError, ArgumentValueError
from nnlite.testing import check_layer
from nnlite.testing import strategies as nst


def test_flatten_puts_pixel_c_i_j_in_column_c_h_w() -> None:
    """Row-major, as x.reshape(N, -1) and torch.nn.Flatten(): (c H + i) W + j."""
    x = np.arange(2 * 3 * 4 * 5, dtype=float).reshape(2, 3, 4, 5)
    y = nl.Flatten()(x)
    assert y.shape == (2, 60)
    for n, c, i, j in np.ndindex(2, 3, 4, 5):
        assert y[n, (c * 4 + i) * 5 + j] == x[n, c, i, j]


@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3), data=st.data())
def test_unflatten_undoes_flatten(shape: list[int], data: st.DataObject) -> None:
    x = data.draw(nst.arrays((data.draw(nst.batch_sizes()), *shape)))
    rows = nl.Flatten()(x)
    np.testing.assert_array_equal(nl.Unflatten(shape)(rows), x)


def test_backward_gives_the_gradient_the_input_shape() -> None:
    flatten, unflatten = nl.Flatten(), nl.Unflatten((2, 3))
    flatten(np.zeros((4, 2, 3)))
    grad = np.arange(24, dtype=float).reshape(4, 6)
    np.testing.assert_array_equal(flatten.backward(grad), grad.reshape(4, 2, 3))
    unflatten(np.zeros((4, 6)))
    np.testing.assert_array_equal(unflatten.backward(grad.reshape(4, 2, 3)), grad)


@pytest.mark.parametrize("shape", [(3,), (2, 3), (1, 2, 2)])
def test_unflatten_passes_the_conformance_suite_for_every_rank(shape: tuple[int, ...]) -> None:
    """The registry's example is Unflatten((1, n)); these are other ranks."""
    check_layer(lambda: nl.Unflatten(shape), input_shape=(int(np.prod(shape)),), max_examples=10)


def test_unflatten_needs_a_shape_of_sizes() -> None:
    with pytest.raises(ArgumentValueError, match=r"^Unflatten: shape must be a non-empty tuple"):
        nl.Unflatten(())
    with pytest.raises(ArgumentValueError, match=r"each an int >= 1, got \(1, 0\)"):
        nl.Unflatten((1, 0))
    with pytest.raises(ArgumentTypeError, match="shape must be a non-empty tuple or list"):
        nl.Unflatten(64)  # type: ignore[arg-type]
    assert nl.Unflatten([1, 8, 8]).shape == (1, 8, 8)  # a list, as a saved config holds it
    assert repr(nl.Unflatten([1, 8, 8])) == "Unflatten(shape=(1, 8, 8))"


def test_input_of_the_wrong_shape_is_named() -> None:
    with pytest.raises(nl.ShapeError, match=r"Flatten\(\) expects input of shape \(N, ...\)"):
        nl.Flatten()(np.zeros(4))
    with pytest.raises(nl.ShapeError, match=r"input of shape \(N, 64\), got \(2, 1, 8, 8\)"):
        nl.Unflatten((1, 8, 8))(np.zeros((2, 1, 8, 8)))
    with pytest.raises(nl.ShapeError, match=r"expects input of shape \(N, 64\), got \(2, 63\)"):
        nl.Unflatten((1, 8, 8))(np.zeros((2, 63)))


def test_unflatten_gives_a_model_on_images_the_rows_input_width() -> None:
    """The width a model's first layer requires: Unflatten's, so nnlite check and to_onnx know
    a CNN's input is the digits' 64 columns."""
    from nnlite._architecture import input_width

    model = nl.Sequential(nl.Unflatten((1, 8, 8)), nl.Conv2d(1, 2, 3, rng=0), nl.Flatten())
    assert input_width(nl.Sequential(*model, nl.Linear(72, 10, rng=0))) == 64
    assert input_width(nl.Sequential(nl.Conv2d(1, 2, 3, rng=0), nl.Flatten())) is None
