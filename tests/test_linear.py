"""Linear: y = x @ W + b, its init, gradients and errors."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nnlite as nl
from nnlite.testing import check_gradients, check_layer
from nnlite.testing import strategies as nst


def test_gradients_with_bias() -> None:
    check_layer(lambda n: nl.Linear(n, 3, rng=n), checks="gradients")


def test_gradients_without_bias_square() -> None:
    check_layer(lambda n: nl.Linear(n, n, bias=False, rng=n), checks="gradients")


@given(config=nst.linear_configs(), seed=nst.seeds(), data=st.data())
def test_gradients_for_drawn_configurations(
    config: nst.LinearConfig, seed: int, data: st.DataObject
) -> None:
    layer = nl.Linear(**config, rng=seed)
    x = data.draw(nst.inputs(config["in_features"]))
    check_gradients(layer, x, rng=seed)


def test_forward_is_x_at_w_plus_b() -> None:
    layer = nl.Linear(3, 2, rng=0)
    x = np.arange(12.0).reshape(4, 3)
    assert layer.bias is not None
    np.testing.assert_array_equal(layer(x), x @ layer.weight.data + layer.bias.data)


def test_shapes_and_init_bound() -> None:
    layer = nl.Linear(16, 4, rng=0)
    assert layer.weight.shape == (16, 4)
    assert layer.bias is not None
    assert layer.bias.shape == (4,)
    bound = 1 / math.sqrt(16)
    assert np.all(np.abs(layer.weight.data) <= bound)
    assert np.all(np.abs(layer.bias.data) <= bound)
    # uniform on [-bound, bound]: the values spread over most of the interval
    assert np.ptp(layer.weight.data) > bound


def test_bias_false_has_no_bias() -> None:
    layer = nl.Linear(3, 2, bias=False, rng=0)
    assert layer.bias is None
    assert [name for name, _ in layer.named_parameters()] == ["weight"]


def test_wrong_width_names_layer_and_both_shapes() -> None:
    layer = nl.Linear(3, 2, rng=0)
    with pytest.raises(
        ValueError,
        match=r"Linear\(in_features=3, out_features=2\) expects input of shape "
        r"\(N, 3\), got \(4, 5\)",
    ):
        layer(np.ones((4, 5)))


def test_one_dimensional_input_is_a_shape_error() -> None:
    with pytest.raises(nl.ShapeError, match=r"expects input of shape \(N, 3\), got \(3,\)"):
        nl.Linear(3, 2, rng=0)(np.ones(3))


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        (0, ValueError),
        (-1, ValueError),
        (2.0, TypeError),
        (True, TypeError),
        ("3", TypeError),
        (None, TypeError),
    ],
)
def test_bad_widths_are_rejected(bad: object, error: type[Exception]) -> None:
    message = f"Linear: in_features must be an int >= 1, got {bad!r}"
    with pytest.raises(error, match=f"^{re.escape(message)}$"):
        nl.Linear(bad, 2)  # type: ignore[arg-type]


@pytest.mark.parametrize("dtype", [np.int64, np.float16, "complex128", "nonsense", None])
def test_bad_dtype_is_rejected(dtype: object) -> None:
    message = f"Linear: dtype must be float32 or float64, got {dtype!r}"
    with pytest.raises(TypeError, match=f"^{re.escape(message)}$"):
        nl.Linear(2, 2, dtype=dtype)  # type: ignore[arg-type]


def test_repr() -> None:
    assert repr(nl.Linear(3, 2)) == "Linear(in_features=3, out_features=2)"
    assert repr(nl.Linear(3, 2, bias=False, dtype=np.float32)) == (
        "Linear(in_features=3, out_features=2, bias=False, dtype=float32)"
    )
