"""What a layer holds: parameters, buffers and layers found in attributes, lists, tuples and dicts;
train and eval modes; state_dict with buffers."""

from __future__ import annotations

import numpy as np
import pytest

import nnlite as nl


class ListOfParameters(nl.Layer):
    """y = x * a + b, its parameters kept in a list attribute."""

    def __init__(self) -> None:
        self.coefficients = [nl.Parameter([2.0]), nl.Parameter([1.0])]

    def forward(self, x: nl.FloatArray) -> nl.FloatArray:
        self.x = x
        a, b = self.coefficients
        return x * a.data + b.data

    def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        a, b = self.coefficients
        a.grad += np.sum(grad_y * self.x)
        b.grad += np.sum(grad_y)
        return grad_y * a.data


class DictOfLayers(nl.Layer):
    """Two heads kept in a dict, and a nested list inside a tuple."""

    def __init__(self) -> None:
        self.heads = {"left": nl.Linear(2, 1, rng=0), "right": nl.Linear(2, 1, rng=1)}
        self.deep = ([nl.Linear(1, 1, rng=2)],)

    def forward(self, x: nl.FloatArray) -> nl.FloatArray:
        return self.heads["left"](x) + self.heads["right"](x)

    def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        return self.heads["left"].backward(grad_y) + self.heads["right"].backward(grad_y)


def test_parameters_in_a_list_attribute_are_found() -> None:
    layer = ListOfParameters()
    assert [name for name, _ in layer.named_parameters()] == ["coefficients.0", "coefficients.1"]
    nl.optim.SGD(layer.parameters(), lr=0.1)  # not "nothing to train"


def test_layers_in_a_dict_and_in_nested_containers_are_found() -> None:
    layer = DictOfLayers()
    assert [name for name, _ in layer.named_parameters()] == [
        "heads.left.weight",
        "heads.left.bias",
        "heads.right.weight",
        "heads.right.bias",
        "deep.0.0.weight",
        "deep.0.0.bias",
    ]
    assert [name for name, _ in layer.named_sublayers()] == [
        "heads.left",
        "heads.right",
        "deep.0.0",
    ]


def test_a_dict_key_that_cannot_be_a_name_is_refused_naming_the_attribute() -> None:
    class BadKeys(nl.Layer):
        def __init__(self) -> None:
            self.heads = {1: nl.Linear(1, 1, rng=0), "a.b": nl.Linear(1, 1, rng=0)}

    with pytest.raises(TypeError, match=r"dict attribute 'heads' under the key 1"):
        BadKeys().parameters()


def test_a_dict_of_plain_values_is_not_a_problem() -> None:
    class WithConfig(nl.Identity):
        def __init__(self) -> None:
            self.table = {1: 0.5, (2, 3): "x"}

    assert WithConfig().parameters() == []


def test_a_cycle_is_walked_once() -> None:
    outer = nl.Sequential(nl.Linear(1, 1, rng=0))
    outer.layers[0].parent = outer  # type: ignore[attr-defined]
    assert [name for name, _ in outer.named_parameters()] == ["0.weight", "0.bias"]


def test_a_tied_parameter_is_listed_and_zeroed_once() -> None:
    first, second = nl.Linear(2, 2, rng=0), nl.Linear(2, 2, rng=1)
    second.weight = first.weight
    model = nl.Sequential(first, second)
    assert [name for name, _ in model.named_parameters()] == ["0.weight", "0.bias", "1.bias"]
    first.weight.grad += 1.0
    model.zero_grad()
    assert not first.weight.grad.any()


def test_train_and_eval_reach_every_layer_held() -> None:
    inner = DictOfLayers()
    model = nl.Sequential(nl.Linear(2, 2, rng=0), nl.Sequential(inner))
    assert model.training
    assert inner.heads["left"].training
    assert model.eval() is model
    assert not any(layer.training for _, layer in model.named_sublayers())
    assert not model.training
    model.train()
    assert all(layer.training for _, layer in model.named_sublayers())
    with pytest.raises(TypeError, match="mode to be a bool"):
        model.train("no")


class RunningSum(nl.Layer):
    """y = x; in training mode, adds each batch's column sums into a buffer."""

    def __init__(self, n: int) -> None:
        self.total = nl.Buffer(np.zeros(n))

    def forward(self, x: nl.FloatArray) -> nl.FloatArray:
        if self.training:
            self.total.data += x.sum(axis=0)
        return x.copy()

    def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        return grad_y


def test_buffers_are_found_kept_out_of_parameters_and_in_the_state() -> None:
    running, linear = RunningSum(2), nl.Linear(2, 2, rng=0)
    model = nl.Sequential(running, linear)
    assert [name for name, _ in model.named_buffers()] == ["0.total"]
    assert model.parameters() == [linear.weight, linear.bias]
    model(np.ones((3, 2)))
    state = model.state_dict()
    assert list(state) == ["0.total", "1.weight", "1.bias"]
    np.testing.assert_array_equal(state["0.total"], [3.0, 3.0])
    fresh_running = RunningSum(2)
    fresh = nl.Sequential(fresh_running, nl.Linear(2, 2, rng=5))
    fresh.load_state_dict(state)
    np.testing.assert_array_equal(fresh_running.total.data, [3.0, 3.0])
    with pytest.raises(nl.LoadError, match=r"missing key '0\.total'"):
        fresh.load_state_dict({k: v for k, v in state.items() if k != "0.total"})


def test_a_buffer_copies_its_data_and_has_no_grad() -> None:
    values = np.zeros(2)
    buffer = nl.Buffer(values)
    buffer.data += 1
    assert not values.any()
    assert not hasattr(buffer, "grad")
    assert buffer.shape == (2,)
    assert buffer.dtype == np.dtype(np.float64)
    assert buffer.size == 2
