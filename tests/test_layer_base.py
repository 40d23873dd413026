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


# ---------------------------------------------------------------------------------------------
# backward_parameters: the parameter half of backward
# ---------------------------------------------------------------------------------------------


def test_backward_parameters_defaults_to_backward_and_returns_nothing() -> None:
    x, grad_y = np.array([[1.0, -2.0, 3.0]]), np.array([[0.5, 0.25, -1.0]])
    by_backward, by_parameters = Scale(3), Scale(3)
    by_backward(x)
    by_backward.backward(grad_y)
    by_parameters(x)
    by_parameters.backward_parameters(grad_y)
    np.testing.assert_array_equal(by_parameters.scale.grad, by_backward.scale.grad)


def test_backward_parameters_checks_grad_y_as_backward_does() -> None:
    layer = nl.Linear(2, 3, rng=0)
    with pytest.raises(nl.StateError, match=r"Linear.*backward_parameters\(\) was called before"):
        layer.backward_parameters(np.ones((1, 3)))
    layer(np.ones((4, 2)))
    with pytest.raises(nl.ShapeError, match=r"backward_parameters expects .*\(4, 3\), got \(4, 2"):
        layer.backward_parameters(np.ones((4, 2)))
    with pytest.raises(nl.DTypeError, match=r"grad_y"):
        layer.backward_parameters(np.ones((4, 3), dtype=complex))
    assert np.all(layer.weight.grad == 0)  # nothing was accumulated by the refused calls
    layer.backward_parameters([[1, 2, 3]] * 4)  # type: ignore[arg-type]  # lists: the dtype rule
    np.testing.assert_array_equal(layer.weight.grad, np.full((2, 3), 4.0) * [1, 2, 3])


def test_linear_backward_parameters_adds_what_backward_adds_without_the_input_gradient() -> None:
    rng = np.random.default_rng(0)
    x, grad_y = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    a, b = nl.Linear(3, 2, rng=1), nl.Linear(3, 2, rng=1)
    a(x)
    a.backward(grad_y)
    b(x)
    b.backward_parameters(grad_y)
    np.testing.assert_array_equal(b.weight.grad, a.weight.grad)
    assert b.bias is not None
    assert a.bias is not None
    np.testing.assert_array_equal(b.bias.grad, a.bias.grad)
    np.testing.assert_allclose(a.weight.grad, x.T @ grad_y, rtol=1e-14)  # eq. 7's form


def test_a_subclass_whose_super_call_changes_the_shape_is_checked_at_its_own_boundary() -> None:
    """The parent's wrapper lets a super() call through: the inner Linear output (N, 3) is not
    the layer's output (N, 1), and only the outer shapes are checked."""

    class SummedLinear(nl.Linear):
        def forward(self, x: nl.FloatArray) -> nl.FloatArray:
            return super().forward(x).sum(axis=1, keepdims=True)

        def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
            return super().backward(np.repeat(grad_y, self.out_features, axis=1))

        def backward_parameters(self, grad_y: nl.FloatArray) -> None:
            super().backward_parameters(np.repeat(grad_y, self.out_features, axis=1))

    layer = SummedLinear(2, 3, rng=0)
    assert layer(np.ones((4, 2))).shape == (4, 1)
    with pytest.raises(nl.ShapeError, match=r"output's shape \(4, 1\), got \(4, 3\)"):
        layer.backward(np.ones((4, 3)))
    check_layer(lambda n: SummedLinear(n, 3, rng=0))


def test_a_subclass_that_changes_backward_alone_gets_the_default_backward_parameters() -> None:
    """Linear.backward_parameters was written for Linear.backward: a subclass that changes the
    backward must not train with the parent's parameter half."""

    class Doubled(nl.Linear):
        def forward(self, x: nl.FloatArray) -> nl.FloatArray:
            return 2 * super().forward(x)

        def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
            return super().backward(2 * grad_y)

    assert Doubled.backward_parameters is nl.Layer.backward_parameters
    assert nl.Linear.backward_parameters is not nl.Layer.backward_parameters
    x, grad_y = np.ones((3, 2)), np.ones((3, 4))
    by_backward, by_parameters = Doubled(2, 4, rng=0), Doubled(2, 4, rng=0)
    by_backward(x)
    by_backward.backward(grad_y)
    by_parameters(x)
    by_parameters.backward_parameters(grad_y)
    np.testing.assert_array_equal(by_parameters.weight.grad, by_backward.weight.grad)
    np.testing.assert_array_equal(by_parameters.weight.grad, np.full((2, 4), 6.0))


def test_a_loss_calling_super_forward_is_checked_once_at_its_own_boundary() -> None:
    """Losses share the layers' wrapper and its rule for super() calls: the parent's checks do
    not run again on what the subclass hands it (here a prediction of other rows)."""

    class FirstRowsMSE(nl.MSELoss):
        def forward(self, prediction: nl.FloatArray, target: nl.FloatArray) -> float:
            return super().forward(prediction[:1], target[:1])

        def backward(self) -> nl.FloatArray:
            grad = np.zeros((2, 1))
            grad[:1] = super().backward()
            return grad

    loss = FirstRowsMSE()
    assert loss(np.array([[3.0], [5.0]]), np.array([[1.0], [0.0]])) == 2.0  # (3 - 1)^2 / 2
    np.testing.assert_array_equal(loss.backward(), [[2.0], [0.0]])


def test_the_wrapped_methods_take_their_arguments_by_name_and_refuse_wrong_calls() -> None:
    """The names are the contract's (x, grad_y, prediction, target), whatever a subclass calls
    them: a layer whose forward names its input ``method`` works as any other."""

    class Named(nl.Identity):
        def forward(self, method: nl.FloatArray) -> nl.FloatArray:
            return method

    named = Named().forward(x=np.ones((1, 2)))  # type: ignore[call-arg]
    np.testing.assert_array_equal(named, np.ones((1, 2)))
    layer = nl.Sigmoid()
    np.testing.assert_array_equal(layer.forward(x=np.zeros((1, 2))), [[0.5, 0.5]])
    np.testing.assert_array_equal(layer.backward(grad_y=np.ones((1, 2))), [[0.25, 0.25]])
    assert nl.MSELoss().forward(prediction=np.ones((1, 1)), target=np.zeros((1, 1))) == 0.5
    with pytest.raises(TypeError, match="missing 1 required positional argument: 'x'"):
        layer.forward()  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="takes 2 positional arguments but 3 were given"):
        layer.forward(np.ones(2), np.ones(2))  # type: ignore[call-arg]


def test_the_method_as_written_stays_reachable_unchecked() -> None:
    """``__wrapped__`` is the subclass's own forward: no dtype rule, no shape bookkeeping."""
    layer = nl.Linear(2, 1, rng=0)
    raw = type(layer).forward.__wrapped__  # type: ignore[attr-defined]
    assert raw.__qualname__ == "Linear.forward"
    np.testing.assert_array_equal(raw(layer, np.ones((3, 2))), layer(np.ones((3, 2))))
    with pytest.raises(AttributeError):  # a list is not converted: nothing checks it
        raw(layer, [[1.0, 1.0]])


def test_load_state_dict_is_strict_unless_told_otherwise() -> None:
    """By default every key must be there and nothing else; strict=False skips both kinds."""
    layer = nl.Linear(2, 3, rng=0)
    weight = np.full((2, 3), 7.0)
    with pytest.raises(nl.LoadError, match="missing key 'bias'"):
        layer.load_state_dict({"weight": weight})
    with pytest.raises(nl.LoadError, match="unexpected key 'scale'"):
        layer.load_state_dict({**layer.state_dict(), "scale": np.ones(1)})
    assert not (layer.weight.data == 7.0).any()  # nothing was loaded
    layer.load_state_dict({"weight": weight, "scale": np.ones(1)}, strict=False)
    np.testing.assert_array_equal(layer.weight.data, weight)
