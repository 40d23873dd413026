"""The Layer contract: subclassing, parameter discovery, accumulation, and the boundary checks."""

from __future__ import annotations

import numpy as np
import pytest

import nnlite as nl
from nnlite.testing import check_gradients, check_layer


class Scale(nl.Layer):
    """y = x * s, with one learned scalar s per feature: a user's own layer."""

    def __init__(self, n_features: int) -> None:
        super().__init__()
        self.scale = nl.Parameter(np.linspace(0.5, 1.5, n_features))

    def forward(self, x: nl.FloatArray) -> nl.FloatArray:
        self.x = x
        return x * self.scale.data

    def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        self.scale.grad += np.sum(grad_y * self.x, axis=0)
        return grad_y * self.scale.data


class NoSuperInit(nl.Layer):
    """A layer that never calls super().__init__(): parameters are still found."""

    def __init__(self) -> None:
        self.weight = nl.Parameter([2.0])

    def forward(self, x: nl.FloatArray) -> nl.FloatArray:
        self.x = x
        return x * self.weight.data

    def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        self.weight.grad += np.sum(grad_y * self.x)
        return grad_y * self.weight.data


class Block(nl.Layer):
    """A composite layer holding layers in attributes and in a list."""

    def __init__(self) -> None:
        self.first = nl.Linear(2, 2, rng=0)
        self.rest = [nl.Sigmoid(), nl.Linear(2, 1, bias=False, rng=1)]

    def forward(self, x: nl.FloatArray) -> nl.FloatArray:
        x = self.first(x)
        for layer in self.rest:
            x = layer(x)
        return x

    def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        for layer in reversed(self.rest):
            grad_y = layer.backward(grad_y)
        return self.first.backward(grad_y)


def test_a_user_layer_passes_the_property_test() -> None:
    check_layer(Scale)


def test_parameters_are_found_without_super_init() -> None:
    layer = NoSuperInit()
    assert [name for name, _ in layer.named_parameters()] == ["weight"]
    assert layer.parameters()[0] is layer.weight
    np.testing.assert_array_equal(layer([[1.0, 3.0]]), [[2.0, 6.0]])
    assert check_gradients(layer, [[1.0, 3.0]]).passed


def test_parameters_of_held_layers_get_dotted_names() -> None:
    block = Block()
    assert [name for name, _ in block.named_parameters()] == [
        "first.weight",
        "first.bias",
        "rest.1.weight",
    ]
    assert block.num_parameters() == 4 + 2 + 2
    check_gradients(block, np.arange(6.0).reshape(3, 2))


def test_a_shared_parameter_is_listed_once() -> None:
    layer = Scale(3)
    layer.alias = layer.scale  # type: ignore[attr-defined]
    assert [name for name, _ in layer.named_parameters()] == ["scale"]


def test_gradients_accumulate_until_zero_grad() -> None:
    layer = nl.Linear(3, 2, rng=0)
    x = np.arange(6.0).reshape(2, 3)
    grad_y = np.array([[1.0, -2.0], [0.5, 3.0]])
    layer(x)
    layer.backward(grad_y)
    once = layer.weight.grad.copy()
    layer.backward(grad_y)
    np.testing.assert_array_equal(layer.weight.grad, 2 * once)
    grad_buffer = layer.weight.grad
    layer.zero_grad()
    assert layer.weight.grad is grad_buffer  # zeroed in place, not replaced
    assert not layer.weight.grad.any()
    assert layer.bias is not None
    assert not layer.bias.grad.any()


def test_calling_a_layer_is_forward() -> None:
    layer = Scale(2)
    np.testing.assert_array_equal(layer([[2.0, 2.0]]), layer.forward(np.array([[2.0, 2.0]])))


def test_backward_before_forward_is_a_runtime_error_naming_the_layer() -> None:
    with pytest.raises(RuntimeError, match=r"Linear\(in_features=3, out_features=2\)\.backward"):
        nl.Linear(3, 2, rng=0).backward(np.ones((1, 2)))
    with pytest.raises(nl.StateError, match="Scale"):
        Scale(2).backward(np.ones((1, 2)))


def test_backward_after_a_failed_forward_is_refused() -> None:
    """A forward that raised leaves no stale cache for backward to use."""
    layer = nl.Linear(3, 2, rng=0)
    layer(np.ones((4, 3)))
    with pytest.raises(ValueError, match="expects input"):
        layer(np.ones((4, 5)))
    with pytest.raises(RuntimeError, match="before forward"):
        layer.backward(np.ones((4, 2)))


def test_grad_of_the_wrong_shape_names_both_shapes() -> None:
    layer = nl.Sigmoid()
    layer(np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"\(4, 3\), got \(3, 4\)"):
        layer.backward(np.zeros((3, 4)))


def test_backward_returning_the_wrong_shape_is_reported() -> None:
    class Broken(nl.Layer):
        def forward(self, x: nl.FloatArray) -> nl.FloatArray:
            return x.sum(axis=1, keepdims=True)

        def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
            return grad_y  # should be broadcast back to the input's (N, d)

    layer = Broken()
    layer(np.ones((2, 3)))
    with pytest.raises(
        nl.ShapeError, match=r"grad_x of the input's shape \(2, 3\), returned \(2, 1\)"
    ):
        layer.backward(np.ones((2, 1)))


def test_forward_must_return_an_array() -> None:
    class ReturnsList(nl.Layer):
        def forward(self, x: nl.FloatArray) -> nl.FloatArray:
            return x.tolist()  # not an ndarray: the point of the test

    with pytest.raises(TypeError, match=r"ReturnsList.*must return an ndarray"):
        ReturnsList()(np.ones((1, 1)))


def test_a_subclass_calling_super_forward_is_checked_once() -> None:
    class Doubled(nl.Linear):
        def forward(self, x: nl.FloatArray) -> nl.FloatArray:
            return 2 * super().forward(x)

        def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
            return super().backward(2 * grad_y)

    check_layer(lambda n: Doubled(n, 3, rng=0))


def test_a_layer_without_forward_says_so() -> None:
    class Empty(nl.Layer):
        pass

    with pytest.raises(NotImplementedError, match=r"Empty must implement forward"):
        Empty()(np.ones((1, 1)))
    with pytest.raises(NotImplementedError, match=r"Empty must implement backward"):
        Empty().backward(np.ones((1, 1)))
