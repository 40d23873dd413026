"""MaxPool2d and AvgPool2d: their formulas against direct loops, the gradient of tied maxima,
and their errors.

Their backward is checked against finite differences here and by the conformance suite
(tests/test_builtin_conformance.py), and against PyTorch's autograd (ties included) in
tests/test_interop_images.py.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nnlite as nl
from nnlite.errors import ArgumentTypeError, ArgumentValueError
from nnlite.testing import check_gradients
from nnlite.testing import strategies as nst
from nnlite.testing.checks import check_directional
from tests.image_networks import EveryTiedMaximum, image_sizes, pools


def direct(pool: nl.Layer, x: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """The max or the mean of every window, one output pixel at a time."""
    (k_h, k_w), (s_h, s_w) = pool.kernel_size, pool.stride  # type: ignore[attr-defined]
    reduce = np.max if isinstance(pool, nl.MaxPool2d) else np.mean
    rows, columns = (x.shape[2] - k_h) // s_h + 1, (x.shape[3] - k_w) // s_w + 1
    y = np.zeros((*x.shape[:2], rows, columns))
    for n, c, i, j in np.ndindex(*y.shape):
        y[n, c, i, j] = reduce(x[n, c, s_h * i : s_h * i + k_h, s_w * j : s_w * j + k_w])
    return y


@st.composite
def pool_cases(draw: st.DrawFn, ties: bool = True) -> tuple[nl.Layer, np.ndarray[Any, Any]]:
    size = draw(image_sizes(1, 6))
    pool = draw(pools(size))
    shape = (draw(nst.batch_sizes(max_batch=3)), draw(st.integers(1, 2)), *size)
    if ties:
        return pool, draw(nst.arrays(shape))
    x = np.random.default_rng(draw(nst.seeds())).permutation(np.prod(shape)).reshape(shape)
    return pool, x.astype(np.float64)  # distinct values: no window has a tie


@given(case=pool_cases())
def test_the_forward_is_the_formula(case: tuple[nl.Layer, np.ndarray[Any, Any]]) -> None:
    pool, x = case
    np.testing.assert_allclose(pool(x), direct(pool, x), rtol=1e-15, atol=1e-15)


@given(case=pool_cases(ties=False))
def test_without_ties_the_gradients_match_finite_differences(
    case: tuple[nl.Layer, np.ndarray[Any, Any]],
) -> None:
    """Windows that overlap, tile or leave gaps (the conformance suite's MaxPool2d tiles)."""
    pool, x = case
    check_gradients(pool, x)


def test_the_stride_is_the_kernel_unless_given() -> None:
    assert nl.MaxPool2d(3).stride == (3, 3)
    assert nl.AvgPool2d((2, 3)).stride == (2, 3)
    assert nl.MaxPool2d(3, stride=1).stride == (1, 1)
    assert repr(nl.AvgPool2d(2, stride=(1, 2))) == "AvgPool2d(kernel_size=(2, 2), stride=(1, 2))"
    assert repr(nl.MaxPool2d(2)) == "MaxPool2d(kernel_size=(2, 2))"


def test_the_first_of_tied_maxima_gets_the_gradient() -> None:
    """In row-major order within the window: (0, 1) comes before (1, 0) and (1, 1)."""
    x = np.array([[[[0.0, 5.0, 1.0, 1.0], [5.0, 5.0, 1.0, 1.0]]]])
    pool = nl.MaxPool2d(2)
    np.testing.assert_array_equal(pool(x), [[[[5.0, 1.0]]]])
    grad_x = pool.backward(np.array([[[[2.0, 3.0]]]]))
    np.testing.assert_array_equal(grad_x, [[[[0.0, 2.0, 3.0, 0.0], [0.0, 0.0, 0.0, 0.0]]]])


def test_the_directional_check_catches_every_tie_getting_the_gradient() -> None:
    """Element by element, either one-sided slope passes at a tie; a joint move of the tied
    elements shows the doubled slope. The documented rule passes the same check."""
    x = np.array([[[[1.0, 3.0], [3.0, 0.0]], [[2.0, 2.0], [2.0, 2.0]]]])
    wrong = EveryTiedMaximum(2)
    np.testing.assert_array_equal(
        (wrong(x), wrong.backward(np.ones((1, 2, 1, 1))))[1],
        [[[[0.0, 1.0], [1.0, 0.0]], [[1.0, 1.0], [1.0, 1.0]]]],
    )
    with pytest.raises(AssertionError, match="directional"):
        check_directional(wrong, x)
    check_directional(nl.MaxPool2d(2), x)
    check_gradients(wrong, x)  # the elementwise check alone does not see it


def test_overlapping_ties_are_pytorchs_rule_but_no_one_sided_derivative() -> None:
    """The caveat in MaxPool2d's docstring: windows (0, 0) and (0, 1) of a stride-1 pool on
    zeros share x[1]; it is the first maximum of window (0, 1) only. Raising it alone raises
    both maxima (slope g0 + g1), lowering it moves neither (slope 0); backward gives g1."""
    x = np.zeros((1, 1, 1, 3))
    pool = nl.MaxPool2d((1, 2), stride=1)
    pool(x)
    g0, g1 = 1.0, -1.0  # slopes -> 0 and 0: backward's -1 is neither
    np.testing.assert_array_equal(pool.backward(np.array([[[[g0, g1]]]])), [[[[g0, g1, 0.0]]]])
    raised = x.copy()
    raised[0, 0, 0, 1] = 1e-3
    assert np.sum(pool(raised) * [g0, g1]) == 0.0  # (g0 + g1) * 1e-3
    with pytest.raises(AssertionError, match="gradient of the input is wrong"):
        check_gradients(pool, x, grad_y=np.array([[[[g0, g1]]]]))


def test_the_average_spreads_the_gradient_evenly() -> None:
    pool = nl.AvgPool2d((1, 2), stride=1)  # overlapping: the middle pixel is in both windows
    pool(np.zeros((1, 1, 1, 3)))
    grad_x = pool.backward(np.array([[[[2.0, 4.0]]]]))
    np.testing.assert_array_equal(grad_x, [[[[1.0, 3.0, 2.0]]]])


@pytest.mark.parametrize("cls", [nl.MaxPool2d, nl.AvgPool2d])
@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ((0,), ArgumentValueError, "kernel_size must be an int >= 1 or a pair of them, got 0"),
        (((2, 2, 2),), ArgumentValueError, r"kernel_size .* got \(2, 2, 2\)"),
        ((2, 0), ArgumentValueError, "stride must be None or an int >= 1 or a pair of them"),
        (("2",), ArgumentTypeError, "kernel_size must be an int >= 1 or a pair of them, got '2'"),
    ],
    ids=["zero", "triple", "stride", "str"],
)
def test_bad_arguments_are_named(
    cls: type[nl.MaxPool2d | nl.AvgPool2d], arguments: tuple[Any, ...], error: type, message: str
) -> None:
    with pytest.raises(error, match=f"^{cls.__name__}: {message}"):
        cls(*arguments)


@pytest.mark.parametrize("cls", [nl.MaxPool2d, nl.AvgPool2d])
def test_input_of_the_wrong_shape_is_named(cls: type[nl.MaxPool2d | nl.AvgPool2d]) -> None:
    pool = cls(3)
    with pytest.raises(nl.ShapeError, match=r"expects input of shape \(N, C, H, W\), got \(2, 9\)"):
        pool(np.zeros((2, 9)))
    with pytest.raises(nl.ShapeError, match="images of at least 3x3 pixels"):
        pool(np.zeros((2, 1, 3, 2)))
