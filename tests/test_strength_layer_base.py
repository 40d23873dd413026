"""Layer's own behaviour where mutation testing found it unpinned: the mode it stores, what
load_state_dict says and skips, the messages of get_config, repr and the boundary checks, a
layer that holds itself, and the keys a dict of members may have."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import nnlite as nl
from nnlite.errors import LoadError


def test_train_stores_a_python_bool_from_numpy_s_too() -> None:
    layer = nl.Sigmoid()
    layer.train(np.False_)  # type: ignore[arg-type]  # numpy's bool is taken too
    assert layer.training is False
    layer.train(np.True_)  # type: ignore[arg-type]
    assert layer.training is True


def test_train_names_a_mode_that_is_no_bool() -> None:
    with pytest.raises(TypeError) as caught:
        nl.Sigmoid().train("yes")  # type: ignore[arg-type]
    assert str(caught.value) == "Sigmoid().train expects mode to be a bool, got 'yes'"


def test_load_state_dict_lists_every_problem_under_the_layer_s_name() -> None:
    layer = nl.Linear(2, 1, rng=0)
    with pytest.raises(LoadError) as caught:
        layer.load_state_dict({"weight": [[1.0], [2.0]]})
    assert str(caught.value) == (
        "Linear(in_features=2, out_features=1).load_state_dict: the state does not fit, nothing "
        "was loaded:\n  missing key 'bias'\n  'weight': expected an ndarray, found a list"
    )


def test_load_state_dict_not_strict_checks_the_keys_after_an_unknown_one() -> None:
    layer = nl.Linear(2, 1, rng=0)
    with pytest.raises(LoadError, match=r"'weight': expected shape \(2, 1\), found \(3,\)"):
        layer.load_state_dict({"junk": np.zeros(1), "weight": np.zeros(3)}, strict=False)


class Two(nl.Layer):
    """The identity, with two constructor arguments."""

    def __init__(self, a: int, b: int) -> None:
        super().__init__()
        self.a, self.b = a, b

    def forward(self, x: Any) -> Any:
        return x * 1.0

    def backward(self, grad_y: Any) -> Any:
        return grad_y * 1.0


class TwoConfigured(Two):
    def get_config(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b}


def test_get_config_names_the_arguments_it_cannot_give() -> None:
    with pytest.raises(NotImplementedError) as caught:
        Two(1, 2).get_config()
    assert str(caught.value) == (
        "Two.__init__ takes a, b: define get_config() returning them so the layer can be saved "
        "and rebuilt"
    )


def test_repr_shows_every_constructor_argument() -> None:
    assert repr(TwoConfigured(1, 2)) == "TwoConfigured(a=1, b=2)"


class Returns(nl.Layer):
    """A layer whose forward and backward return lists, not arrays."""

    def forward(self, x: Any) -> Any:
        return [1.0]

    def backward(self, grad_y: Any) -> Any:
        return [1.0]


class ReturnsGradList(nl.Layer):
    def forward(self, x: Any) -> Any:
        return x * 1.0

    def backward(self, grad_y: Any) -> Any:
        return [1.0]


def test_a_forward_that_returns_no_array_is_named_with_what_it_returned() -> None:
    with pytest.raises(nl.DTypeError) as caught:
        Returns()(np.ones((2, 2)))
    assert str(caught.value) == "Returns().forward must return an ndarray, returned a list"


def test_a_backward_that_returns_no_array_is_named_with_what_it_returned() -> None:
    layer = ReturnsGradList()
    layer(np.ones((2, 2)))
    with pytest.raises(nl.ShapeError) as caught:
        layer.backward(np.ones((2, 2)))
    assert str(caught.value) == (
        "ReturnsGradList().backward must return grad_x of the input's shape (2, 2), returned a list"
    )


class Holder(nl.Layer):
    """The identity, holding whatever it is given as ``held``."""

    def __init__(self, held: Any = None) -> None:
        super().__init__()
        self.held = held

    def forward(self, x: Any) -> Any:
        return x * 1.0

    def backward(self, grad_y: Any) -> Any:
        return grad_y * 1.0


def test_a_layer_that_holds_itself_is_not_its_own_sublayer() -> None:
    layer = Holder(nl.Parameter(np.ones(2)))
    layer.me = layer  # type: ignore[attr-defined]
    assert list(layer.named_sublayers()) == []
    assert [name for name, _ in layer.named_parameters()] == ["held"]


KEYS = "so they must be non-empty str without '.'"


@pytest.mark.parametrize(
    ("held", "name", "key"),
    [
        ({1: nl.Parameter(np.ones(1))}, "held", "1"),
        ({"a.b": nl.Parameter(np.ones(1))}, "held", "'a.b'"),
        ([{1: nl.Parameter(np.ones(1))}], "held.0", "1"),
        ({"a": {"": nl.Parameter(np.ones(1))}}, "held.a", "''"),
    ],
    ids=["int-key", "dotted-key", "in-a-list", "in-a-dict"],
)
def test_a_dict_of_members_with_a_key_that_cannot_name_them_is_refused_by_the_layer(
    held: Any, name: str, key: str
) -> None:
    with pytest.raises(TypeError) as caught:
        list(Holder(held).named_parameters())
    assert str(caught.value) == (
        f"Holder() holds parameters or layers in the dict attribute {name!r} under the key {key}: "
        f"the keys of such a dict name them ({name}.KEY.weight), {KEYS}"
    )
