"""nl.summary's rows against the shapes and sizes worked out by hand, and a custom layer's repr."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import nnlite as nl
from nnlite.model_summary import SummaryRow
from tests.scale import Scale


class Counting(nl.Layer):
    """Identity with a buffer of 5 values that counts training-mode forwards."""

    stateful = True

    def __init__(self) -> None:
        super().__init__()
        self.calls = nl.Buffer(np.zeros(5))

    def forward(self, x: nl.FloatArray) -> nl.FloatArray:
        if self.training:
            self.calls.data += 1
        return x

    def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        return grad_y


def test_one_row_per_layer_with_shapes_and_counts_by_hand() -> None:
    model = nl.Sequential(
        nl.Linear(6, 4, rng=0),  # 6 * 4 + 4 = 28 parameters, output (3, 4)
        nl.Sequential(nl.ReLU(), Counting()),  # nested: rows 1.0 and 1.1
        nl.BiasAppend(),  # (3, 5)
        nl.Linear(5, 2, bias=False, rng=0),  # 10 parameters
    )
    found = nl.summary(model, (3, 6))
    assert [(r.name, r.output_shape, r.parameters, r.buffers) for r in found.rows] == [
        ("0", (3, 4), 28, 0),
        ("1.0", (3, 4), 0, 0),
        ("1.1", (3, 4), 0, 5),
        ("2", (3, 5), 0, 0),
        ("3", (3, 2), 10, 0),
    ]
    assert found.rows[0].layer == "Linear(in_features=6, out_features=4)"
    assert (found.parameters, found.buffers) == (38, 5) == (model.num_parameters(), 5)
    text = str(found)
    assert text.splitlines()[0].split() == ["layer", "output", "shape", "params", "buffers"]
    assert "1.1 Counting()" in text
    assert text.splitlines()[-1] == "input (3, 6): 38 parameters, 5 buffer values"


def test_the_summary_runs_in_eval_mode_and_restores_every_mode() -> None:
    counting = Counting()
    inner = nl.Sequential(counting)
    model = nl.Sequential(nl.Linear(2, 2, rng=0), inner)
    inner.training = False  # a mix of modes, each kept
    counting.training = True
    nl.summary(model, (1, 2))
    assert not counting.calls.data.any()  # ran in eval mode: the state is untouched
    assert (model.training, inner.training, counting.training) == (True, False, True)


def test_a_model_that_is_not_a_sequential_is_one_row() -> None:
    found = nl.summary(Scale(4), (2, 4))
    assert found.rows == (SummaryRow("", "Scale(n_features=4)", (2, 4), 4, 0),)


def test_float32_models_get_float32_input() -> None:
    model = nl.Sequential(nl.Linear(3, 2, dtype=np.float32, rng=0))
    assert nl.summary(model, (1, 3)).rows[0].output_shape == (1, 2)


@pytest.mark.parametrize(
    ("shape", "error", "message"),
    [
        (4, TypeError, r"^summary: input_shape must be a non-empty tuple of ints"),
        ((), TypeError, r"^summary: input_shape must be a non-empty tuple"),
        ((2, 0), ValueError, r"^summary: input_shape\[1\] must be an int >= 1, got 0$"),
        ((2, 2.5), TypeError, r"^summary: input_shape\[1\] must be an int >= 1, got 2\.5$"),
    ],
)
def test_a_bad_input_shape_is_named(shape: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        nl.summary(nl.two_layer_network(2, 2, rng=0), shape)


def test_an_input_the_model_refuses_is_the_layers_error() -> None:
    with pytest.raises(nl.ShapeError, match="Linear"):
        nl.summary(nl.two_layer_network(2, 2, rng=0), (1, 3))


# --- repr of a custom layer ------------------------------------------------------------------


class Gate(nl.Layer):
    def __init__(self, width: int, mode: str = "soft") -> None:
        super().__init__()
        self.width, self.mode = width, mode

    def forward(self, x: nl.FloatArray) -> nl.FloatArray:
        return x

    def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        return grad_y

    def get_config(self) -> dict[str, Any]:
        return {"width": self.width, "mode": self.mode}


class NoConfig(Gate):
    def get_config(self) -> dict[str, Any]:
        raise NotImplementedError


def test_a_custom_layer_shows_its_get_config_arguments() -> None:
    assert repr(Gate(3)) == "Gate(width=3, mode='soft')"
    listing = repr(nl.Sequential(nl.Linear(3, 3, rng=0), Gate(3, mode="hard")))
    assert "(1) Gate(width=3, mode='hard')" in listing
    assert repr(NoConfig(2)) == "NoConfig()"  # no config to show: as before
    assert repr(Counting()) == "Counting()"  # a config of no arguments
    assert repr(nl.LeakyReLU(0.2)) == "LeakyReLU(negative_slope=0.2)"  # built-ins keep theirs
