"""Sequential's repr, and its plan (nnlite._plan) as Sequential drives it: that a later batch of a
signature runs the plan made by the first, that a plan that stops is dropped, how many plans are
kept, and that the checked path a plan hands over to goes on from the right layer and says which
layer an error passed through. Pinned where mutation testing found them unpinned."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest

import nnlite as nl
import nnlite.sequential as sequential_module
from nnlite._plan import Plan

# --- repr ------------------------------------------------------------------------------------


class Empty(nl.Layer):
    """The identity, holding a parameter with no elements: a layer with shapes but no count."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nl.Parameter(np.zeros(0))

    def forward(self, x: Any) -> Any:
        return x * 1.0

    def backward(self, grad_y: Any) -> Any:
        return grad_y * 1.0


def test_repr_aligns_the_layers_with_parameters_and_indents_nested_ones() -> None:
    model = nl.Sequential(
        nl.Linear(2, 3, rng=0),
        nl.Sigmoid(),
        nl.Sequential(nl.Linear(3, 1, bias=False, rng=0)),
        nl.BiasAppend(),
        Empty(),
    )
    # Written out by hand: the widest one-line layer, (0), sets the column of the shapes; a layer
    # without parameters, and a nested Sequential (which says its own), have no such column;
    # a layer whose parameters hold no value shows its shapes and no count; no line ends in space.
    expected = "\n".join(
        [
            "Sequential(",
            "  (0) Linear(in_features=2, out_features=3)  weight (2, 3), bias (3,)  9 params",
            "  (1) Sigmoid()",
            "  (2) Sequential(",
            "    (0) Linear(in_features=3, out_features=1, bias=False)  weight (3, 1)  3 params",
            "  )  # 3 parameters",
            "  (3) BiasAppend()",
            "  (4) Empty()" + " " * 30 + "  w (0,)",
            ")  # 12 parameters",
        ]
    )
    assert repr(model) == expected


def test_repr_of_an_empty_sequential() -> None:
    assert repr(nl.Sequential()) == "Sequential(\n)  # 0 parameters"


# --- the plan, engaged -----------------------------------------------------------------------


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Counts of the checked forward that makes a plan, of a plan's forward and backward, and of
    the test for parameters that finding the first layer holding one makes."""
    counts = {"checked forward": 0, "plan forward": 0, "plan backward": 0, "holds": 0}

    def counting(name: str, function: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            counts[name] += 1
            return function(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(
        nl.Sequential,
        "_forward_and_plan",
        counting("checked forward", nl.Sequential._forward_and_plan),
    )
    monkeypatch.setattr(Plan, "forward", counting("plan forward", Plan.forward))
    monkeypatch.setattr(Plan, "backward", counting("plan backward", Plan.backward))
    monkeypatch.setattr(
        sequential_module,
        "_holds_parameters",
        counting("holds", sequential_module._holds_parameters),
    )
    return counts


def _network() -> nl.Sequential:
    return nl.Sequential(nl.Linear(3, 4, rng=0), nl.Sigmoid(), nl.Linear(4, 2, rng=1))


def test_later_batches_of_a_signature_run_its_plan(calls: dict[str, int]) -> None:
    model = _network()
    rng = np.random.default_rng(0)
    for _ in range(3):
        model(rng.standard_normal((5, 3)))
        model.backward(np.ones((5, 2)))
    assert calls["checked forward"] == 1
    assert calls["plan forward"] == 2
    assert calls["plan backward"] == 3  # the first batch's backward runs the plan just made


def test_a_signature_seen_before_finds_its_plan_again(calls: dict[str, int]) -> None:
    """Batches of 5, 2 and 5 rows: the third finds the first's plan among those kept."""
    model = _network()
    for rows in (5, 2, 5, 2):
        model(np.ones((rows, 3)))
    assert calls["checked forward"] == 2
    assert calls["plan forward"] == 2


def test_no_more_plans_are_kept_than_the_bound() -> None:
    model = _network()
    for rows in range(1, 2 * sequential_module._MAX_PLANS + 2):
        model(np.ones((rows, 3)))
        assert model._plans is not None
        assert 1 <= len(model._plans) <= sequential_module._MAX_PLANS


class Flip(nl.Layer):
    """The identity, or, while ``flip`` is set, the identity in float32: a plan made without it
    stops at this layer's output."""

    flip = False

    def forward(self, x: Any) -> Any:
        return x.astype(np.float32) if self.flip else x * 1.0

    def backward(self, grad_y: Any) -> Any:
        return grad_y * 1.0


def test_a_plan_that_stops_is_dropped_and_the_next_batch_makes_a_new_one(
    calls: dict[str, int],
) -> None:
    flip = Flip()
    model = nl.Sequential(nl.Linear(3, 2, rng=0), flip)
    x = np.ones((4, 3))
    model(x)
    flip.flip = True
    assert model(x).dtype == np.float32  # the plan stopped at Flip: the checks went on
    assert model._plans is None or (type(x), x.shape, x.dtype) not in model._plans
    flip.flip = False
    assert model(x).dtype == np.float64
    assert calls["checked forward"] == 2  # a new plan, not the dropped one
    assert calls["plan forward"] == 1


class Half(nl.Layer):
    """The identity in float16, which the next layer's checks convert to float64."""

    def forward(self, x: Any) -> Any:
        return x.astype(np.float16)

    def backward(self, grad_y: Any) -> Any:
        return grad_y * 1.0


def test_no_plan_skips_the_conversion_of_a_float16_output() -> None:
    """A layer's output that the next layer's checks would convert makes no plan: the next layer
    gets float64 at every batch, not the float16 a plan would pass on."""
    model = nl.Sequential(nl.Linear(3, 3, rng=0), Half(), nl.Linear(3, 2, rng=1))
    for _ in range(3):
        model(np.ones((4, 3)))
        assert model[2].x.dtype == np.float64  # type: ignore[attr-defined]


def test_the_first_layer_holding_parameters_is_found_once(calls: dict[str, int]) -> None:
    """Found once for a layer list; after that a step asks only the layers before it whether they
    have gained a parameter (here the one Sigmoid), not every layer again."""
    model = nl.Sequential(nl.Sigmoid(), nl.Linear(2, 1, rng=0))
    x = np.ones((3, 2))
    model(x)
    model.backward_parameters(np.ones((3, 1)))
    calls["holds"] = 0
    for _ in range(3):
        model(x)
        model.backward_parameters(np.ones((3, 1)))
    assert calls["holds"] == 3


# --- the checked path a plan hands over to ---------------------------------------------------


class Marked(np.ndarray):
    """An ndarray subclass: the checks take it, a plan (which wants exactly ndarray) does not."""


class Marker(nl.Layer):
    """The identity, whose backward returns a Marked array: a plan's backward stops there at every
    batch, and the checks go on from the layer before."""

    def forward(self, x: Any) -> Any:
        return x * 1.0

    def backward(self, grad_y: Any) -> Any:
        return (grad_y * 1.0).view(Marked)


def _marked_network() -> nl.Sequential:
    return nl.Sequential(
        nl.Linear(3, 4, rng=0), nl.Sigmoid(), nl.Linear(4, 2, rng=1), nl.Sigmoid(), Marker()
    )


@pytest.mark.parametrize("method", ["backward", "backward_parameters"])
def test_a_plan_that_stops_in_backward_goes_on_from_the_layer_before(method: str) -> None:
    """The second batch runs the plan, which stops at Marker's gradient; the checks then run every
    layer before it. Its gradients are those of the same batch run through the checks from the
    start, as the first batch of a copy made before any batch."""
    model = _marked_network()
    reference = copy.deepcopy(model)
    rng = np.random.default_rng(1)
    first, second = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    grad_y = rng.standard_normal((5, 2))
    model(first)
    getattr(model, method)(grad_y)
    model.zero_grad()
    model(second)
    got = getattr(model, method)(grad_y)
    reference(second)
    expected = getattr(reference, method)(grad_y)
    if method == "backward":
        np.testing.assert_array_equal(got, expected)
    for (name, p), q in zip(model.named_parameters(), reference.parameters(), strict=True):
        np.testing.assert_array_equal(p.grad, q.grad, err_msg=name)


class Boom(nl.Layer):
    """A layer of yours whose ``where`` method raises a RuntimeError of its own."""

    def __init__(self, where: str) -> None:
        super().__init__()
        self.where = where
        self.weight = nl.Parameter(np.ones((2, 2)))

    def get_config(self) -> dict[str, Any]:
        return {"where": self.where}

    def forward(self, x: Any) -> Any:
        self.x = x
        return x @ self.weight.data

    def backward(self, grad_y: Any) -> Any:
        if self.where == "backward":
            raise RuntimeError("boom")
        self.weight.grad += self.x.T @ grad_y
        return grad_y @ self.weight.data.T

    def backward_parameters(self, grad_y: Any) -> None:
        if self.where == "backward_parameters":
            raise RuntimeError("boom")
        self.weight.grad += self.x.T @ grad_y


@pytest.mark.parametrize(
    ("layers", "method", "index"),
    [
        (lambda: [nl.Linear(2, 2, rng=0), Boom("backward"), Marker()], "backward", 1),
        (lambda: [nl.Linear(2, 2, rng=0), Boom("backward"), Marker()], "backward_parameters", 1),
        (lambda: [Boom("backward_parameters"), Marker()], "backward_parameters", 0),
    ],
    ids=["backward", "backward_parameters-backward", "backward_parameters-first"],
)
def test_an_error_of_yours_on_the_checks_after_a_plan_says_its_layer(
    layers: Any, method: str, index: int
) -> None:
    """Marker stops the plan's backward; the checks then run Boom (its backward, or, as the first
    layer holding a parameter, its backward_parameters), whose error passes through with a note
    naming its index and the layer, its own type and message unchanged."""
    model = nl.Sequential(*layers())
    x = np.ones((3, 2))
    model(x)  # the plan
    with pytest.raises(RuntimeError) as caught:
        getattr(model, method)(np.ones((3, 2)))
    assert str(caught.value) == "boom"
    where = model[index].where  # type: ignore[attr-defined]
    assert caught.value.__notes__ == [f"in Sequential layer {index}: Boom(where={where!r})"]
