"""Sequential: the container's properties (chaining, batching, accumulation, naming, errors)."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nnlite as nl
from nnlite.testing import strategies as nst

Array = nl.FloatArray

EPS = float(np.finfo(np.float64).eps)


# ---------------------------------------------------------------------------------------------
# Drawn models
# ---------------------------------------------------------------------------------------------


@st.composite
def models(draw: st.DrawFn, *, max_blocks: int = 4) -> tuple[nl.Sequential, int]:
    """A Sequential of 1..max_blocks drawn blocks, and its input width.

    A block is a Linear (with or without bias), a Sigmoid, a BiasAppend, or a nested
    Sequential(Linear, Sigmoid), so nesting and every built-in layer are exercised. Widths are
    tracked so the model always fits together.
    """
    rng = np.random.default_rng(draw(nst.seeds(), label="seed"))
    n_in = draw(nst.feature_widths(), label="n_in")
    width = n_in
    layers: list[nl.Layer] = []
    for _ in range(draw(st.integers(min_value=1, max_value=max_blocks), label="n_blocks")):
        kind = draw(st.sampled_from(["linear", "sigmoid", "bias_append", "nested"]))
        if kind == "linear":
            out = draw(nst.feature_widths())
            layers.append(nl.Linear(width, out, bias=draw(st.booleans()), rng=rng))
            width = out
        elif kind == "sigmoid":
            layers.append(nl.Sigmoid())
        elif kind == "bias_append":
            layers.append(nl.BiasAppend())
            width += 1
        else:
            out = draw(nst.feature_widths())
            layers.append(nl.Sequential(nl.Linear(width, out, rng=rng), nl.Sigmoid()))
            width = out
    return nl.Sequential(*layers), n_in


@st.composite
def models_with_batches(
    draw: st.DrawFn, *, min_batch: int = 1
) -> tuple[nl.Sequential, Array, Array]:
    """A drawn model, an input batch X (|X| <= 3) and a target Y of the output's shape."""
    model, n_in = draw(models(), label="model")
    n = draw(st.integers(min_value=min_batch, max_value=6), label="N")
    x = draw(nst.arrays((n, n_in), max_magnitude=3.0), label="X")
    y = draw(nst.arrays(np.shape(model(x)), max_magnitude=1.0), label="Y")
    return model, x, y


def grads(model: nl.Layer) -> dict[str, Array]:
    """A copy of every parameter's gradient, by name."""
    return {name: p.grad.copy() for name, p in model.named_parameters()}


def mse_backward(model: nl.Layer, x: Array, y: Array) -> Array:
    """Forward, MSELoss, and backward through the model; returns dL/dx."""
    loss = nl.MSELoss()
    loss(model(x), y)
    return model.backward(loss.backward())


def rounding_atol(*terms: Array) -> float:
    """An absolute tolerance for two sums of the same terms added in different orders.

    Where the terms cancel, the sums can differ by a few ulps of the largest term however small
    the result is, which no relative tolerance of the result covers: allow 64 ulps of the largest
    term (rounding in the terms themselves, computed through a few layers, plus the sum's own).
    """
    largest = max((float(np.max(np.abs(t), initial=0.0)) for t in terms), default=0.0)
    return 64 * EPS * largest


# ---------------------------------------------------------------------------------------------
# backward is the chain rule in reverse
# ---------------------------------------------------------------------------------------------


@given(case=models_with_batches(), data=st.data())
def test_backward_is_the_layers_backwards_chained_by_hand_in_reverse(
    case: tuple[nl.Sequential, Array, Array], data: st.DataObject
) -> None:
    model, x, _ = case
    twin = copy.deepcopy(model)
    y = model(x)
    np.testing.assert_array_equal(twin(x), y)
    grad_y = data.draw(nst.arrays(y.shape), label="grad_y")

    grad_x = model.backward(grad_y)

    grad = grad_y
    for layer in reversed(list(twin)):
        grad = layer.backward(grad)
    np.testing.assert_array_equal(grad_x, grad)  # the same operations: exactly equal
    expected = grads(twin)
    actual = grads(model)
    assert actual.keys() == expected.keys()
    for name in expected:
        np.testing.assert_array_equal(actual[name], expected[name], err_msg=name)


@given(case=models_with_batches())
def test_forward_is_the_layers_forwards_chained_in_order(
    case: tuple[nl.Sequential, Array, Array],
) -> None:
    model, x, _ = case
    twin = copy.deepcopy(model)
    out = x
    for layer in twin:
        out = layer(out)
    np.testing.assert_array_equal(model(x), out)


# ---------------------------------------------------------------------------------------------
# Batches: the mean of samples, and order does not matter
# ---------------------------------------------------------------------------------------------


@given(case=models_with_batches())
def test_batch_gradient_is_the_mean_of_per_sample_gradients(
    case: tuple[nl.Sequential, Array, Array],
) -> None:
    """MSELoss is 1/(2N) sum_i: the batch loss is the mean of the one-sample losses, and so is
    its gradient with respect to every parameter."""
    model, x, y = case
    n = x.shape[0]
    mse_backward(model, x, y)
    batch = grads(model)

    per_sample: dict[str, list[Array]] = {name: [] for name in batch}
    for i in range(n):
        model.zero_grad()
        mse_backward(model, x[i : i + 1], y[i : i + 1])
        for name, grad in grads(model).items():
            per_sample[name].append(grad)

    for name, samples in per_sample.items():
        mean = np.mean(samples, axis=0)
        np.testing.assert_allclose(
            batch[name], mean, rtol=1e-10, atol=rounding_atol(*samples), err_msg=name
        )


@given(case=models_with_batches(min_batch=2), data=st.data())
def test_permuting_the_batch_permutes_grad_x_and_keeps_parameter_gradients(
    case: tuple[nl.Sequential, Array, Array], data: st.DataObject
) -> None:
    model, x, y = case
    n = x.shape[0]
    order = np.array(data.draw(st.permutations(range(n)), label="order"))
    twin = copy.deepcopy(model)

    grad_x = mse_backward(model, x, y)
    grad_x_permuted = mse_backward(twin, x[order], y[order])

    # each row of grad_x depends only on its own sample: the rows move with the samples
    np.testing.assert_allclose(
        grad_x_permuted, grad_x[order], rtol=1e-12, atol=rounding_atol(grad_x)
    )
    expected = grads(model)
    for name, grad in grads(twin).items():
        # the same terms summed in another order
        np.testing.assert_allclose(
            grad, expected[name], rtol=1e-12, atol=rounding_atol(expected[name]), err_msg=name
        )


# ---------------------------------------------------------------------------------------------
# Accumulation and zero_grad
# ---------------------------------------------------------------------------------------------


@given(case=models_with_batches(), data=st.data())
def test_gradients_accumulate_until_zero_grad_zeros_them_in_place(
    case: tuple[nl.Sequential, Array, Array], data: st.DataObject
) -> None:
    model, x, _ = case
    grad_y = data.draw(nst.arrays(np.shape(model(x))), label="grad_y")
    arrays = {name: p.grad for name, p in model.named_parameters()}
    for grad in arrays.values():
        np.testing.assert_array_equal(grad, 0.0)  # fresh parameters start at zero

    grad_x_first = model.backward(grad_y)
    once = grads(model)
    grad_x_second = model.backward(grad_y)  # the same cached forward: the same contribution
    twice = grads(model)

    np.testing.assert_array_equal(grad_x_second, grad_x_first)  # grad_x is not accumulated
    for name in once:
        np.testing.assert_array_equal(twice[name], 2 * once[name], err_msg=name)  # g + g == 2g

    model.zero_grad()
    for name, p in model.named_parameters():
        assert p.grad is arrays[name], f"zero_grad replaced the array of {name}"
        np.testing.assert_array_equal(p.grad, 0.0, err_msg=name)

    model.backward(grad_y)  # and after zero_grad, accumulation starts over
    for name, grad in grads(model).items():
        np.testing.assert_array_equal(grad, once[name], err_msg=name)


# ---------------------------------------------------------------------------------------------
# Parameters and their names
# ---------------------------------------------------------------------------------------------


def test_named_parameters_are_named_by_layer_index() -> None:
    model = nl.Sequential(
        nl.Linear(2, 3, rng=0), nl.Sigmoid(), nl.BiasAppend(), nl.Linear(4, 1, bias=False, rng=1)
    )
    named = list(model.named_parameters())
    assert [name for name, _ in named] == ["0.weight", "0.bias", "3.weight"]
    assert named[0][1] is model[0].weight  # type: ignore[attr-defined]
    assert named[1][1] is model[0].bias  # type: ignore[attr-defined]
    assert named[2][1] is model[3].weight  # type: ignore[attr-defined]


def test_nested_sequentials_give_dotted_index_paths() -> None:
    inner = nl.Sequential(nl.Linear(3, 2, rng=1), nl.Sigmoid())
    deeper = nl.Sequential(nl.Sigmoid(), nl.Sequential(nl.Linear(2, 2, bias=False, rng=2)))
    model = nl.Sequential(nl.Linear(2, 3, rng=0), inner, deeper)
    named = dict(model.named_parameters())
    assert list(named) == ["0.weight", "0.bias", "1.0.weight", "1.0.bias", "2.1.0.weight"]
    assert named["1.0.weight"] is inner[0].weight  # type: ignore[attr-defined]
    assert named["2.1.0.weight"] is deeper[1][0].weight  # type: ignore[index]
    # the nested Sequential names its own parameters from its own index
    assert [name for name, _ in inner.named_parameters()] == ["0.weight", "0.bias"]


@given(case=models())
def test_parameters_lists_each_parameter_of_each_layer_once(
    case: tuple[nl.Sequential, int],
) -> None:
    model, _ = case
    expected: list[nl.Parameter] = []
    for layer in model:
        expected.extend(layer.parameters())
    parameters = model.parameters()
    assert len({id(p) for p in parameters}) == len(parameters)
    assert [id(p) for p in parameters] == [id(p) for p in expected]
    assert [p for _, p in model.named_parameters()] == parameters
    assert model.num_parameters() == sum(p.size for p in expected)


def test_a_parameter_shared_by_two_layers_is_listed_once() -> None:
    first, second = nl.Linear(3, 3, rng=0), nl.Linear(3, 3, rng=1)
    second.weight = first.weight  # tied weights
    model = nl.Sequential(first, nl.Sigmoid(), second)
    assert [name for name, _ in model.named_parameters()] == ["0.weight", "0.bias", "2.bias"]
    assert len(model.parameters()) == 3
    assert model.num_parameters() == 9 + 3 + 3


# ---------------------------------------------------------------------------------------------
# The container: len, indexing, slicing, iteration
# ---------------------------------------------------------------------------------------------


def test_len_indexing_slicing_and_iteration_give_the_same_layer_objects() -> None:
    layers: list[nl.Layer] = [
        nl.Linear(2, 3, rng=0),
        nl.Sigmoid(),
        nl.BiasAppend(),
        nl.Linear(4, 1, rng=1),
    ]
    model = nl.Sequential(*layers)

    assert len(model) == 4
    assert len(nl.Sequential()) == 0
    for index, layer in enumerate(layers):
        assert model[index] is layer
    assert model[-1] is layers[-1]
    assert [id(layer) for layer in model] == [id(layer) for layer in layers]

    middle = model[1:3]
    assert type(middle) is nl.Sequential
    assert len(middle) == 2
    assert middle[0] is layers[1]
    assert middle[1] is layers[2]
    assert [id(layer) for layer in model[::2]] == [id(layers[0]), id(layers[2])]
    assert len(model[4:]) == 0

    with pytest.raises(IndexError):
        model[4]


@given(case=models_with_batches(), data=st.data())
def test_a_split_model_computes_the_same_as_the_whole(
    case: tuple[nl.Sequential, Array, Array], data: st.DataObject
) -> None:
    model, x, _ = case
    cut = data.draw(st.integers(min_value=0, max_value=len(model)), label="cut")
    expected = model(x)
    np.testing.assert_array_equal(model[cut:](model[:cut](x)), expected)


# ---------------------------------------------------------------------------------------------
# repr
# ---------------------------------------------------------------------------------------------


def test_repr_has_one_line_per_layer_with_shapes_counts_and_a_total() -> None:
    model = nl.Sequential(
        nl.Linear(2, 3, rng=0), nl.Sigmoid(), nl.BiasAppend(), nl.Linear(4, 1, bias=False, rng=1)
    )
    lines = repr(model).splitlines()

    assert len(lines) == len(model) + 2  # header, one line per layer, total
    assert lines[0] == "Sequential("
    assert "(0) Linear(in_features=2, out_features=3)" in lines[1]
    assert "weight (2, 3), bias (3,)" in lines[1]
    assert lines[1].rstrip().endswith("9 params")
    assert "(1) Sigmoid()" in lines[2]
    assert "params" not in lines[2]
    assert "(2) BiasAppend()" in lines[3]
    assert "(3) Linear(in_features=4, out_features=1, bias=False)" in lines[4]
    assert "weight (4, 1)" in lines[4]
    assert lines[4].rstrip().endswith("4 params")
    assert lines[-1].startswith(")")
    assert "13 parameters" in lines[-1]


def test_repr_of_nested_and_large_models() -> None:
    inner = nl.Sequential(nl.Linear(3, 2, rng=1), nl.Sigmoid())
    model = nl.Sequential(nl.Linear(100, 30, rng=0), nl.Sigmoid(), nl.Linear(30, 3, rng=2), inner)
    text = repr(model)
    lines = text.splitlines()

    assert "(0) Linear(in_features=100, out_features=30)" in lines[1]
    assert "3,030 params" in lines[1]  # thousands separated
    assert any("(3) Sequential(" in line for line in lines)
    nested = lines[lines.index(next(line for line in lines if "(3) Sequential(" in line)) + 1]
    assert "(0) Linear(in_features=3, out_features=2)" in nested
    assert nested.startswith("    ")  # indented one level deeper than the outer layers
    assert "8 parameters" in text  # the nested total
    total = 3030 + 93 + 8
    assert model.num_parameters() == total
    assert f"{total:,} parameters" in lines[-1]


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------


def test_a_non_layer_argument_is_a_type_error_naming_its_position() -> None:
    with pytest.raises(TypeError, match=r"position 1") as info:
        nl.Sequential(nl.Linear(2, 2, rng=0), 3)  # type: ignore[arg-type]
    assert "int" in str(info.value)
    assert "()" not in str(info.value).split("position 1")[1]  # no class hint for an instance

    with pytest.raises(TypeError, match=r"position 0"):
        nl.Sequential(np.ones((2, 2)))  # type: ignore[arg-type]


def test_a_layer_class_without_parentheses_is_hinted() -> None:
    with pytest.raises(TypeError, match=r"position 1.*forget the \(\)"):
        nl.Sequential(nl.Linear(2, 2, rng=0), nl.Sigmoid)  # type: ignore[arg-type]


def test_the_same_layer_object_twice_is_a_value_error() -> None:
    sigmoid = nl.Sigmoid()
    with pytest.raises(ValueError, match=r"same Sigmoid object at position 0 and at position 2"):
        nl.Sequential(sigmoid, nl.Linear(2, 2, rng=0), sigmoid)
    # also when the repeat hides inside a nested Sequential
    linear = nl.Linear(2, 2, rng=0)
    with pytest.raises(ValueError, match=r"position 0 and at position 1\.1"):
        nl.Sequential(linear, nl.Sequential(nl.Sigmoid(), linear))


def test_a_shape_error_inside_names_the_layer_index_and_is_a_value_error() -> None:
    # BiasAppend makes the width 4, and the Linear at index 3 expects 3
    model = nl.Sequential(
        nl.Linear(2, 3, rng=0), nl.Sigmoid(), nl.BiasAppend(), nl.Linear(3, 1, rng=1)
    )
    with pytest.raises(ValueError, match=r"^Sequential layer 3: Linear\(in_features=3") as info:
        model(np.zeros((5, 2)))
    assert isinstance(info.value, nl.ShapeError)
    assert "(N, 3)" in str(info.value)
    assert "(5, 4)" in str(info.value)

    with pytest.raises(ValueError, match=r"^Sequential layer 0: "):
        model(np.zeros((5, 7)))


def test_a_shape_error_in_a_nested_sequential_names_the_index_path() -> None:
    model = nl.Sequential(
        nl.Linear(2, 3, rng=0), nl.Sequential(nl.Linear(4, 2, rng=1), nl.Sigmoid())
    )
    with pytest.raises(ValueError, match=r"^Sequential layer 1\.0: Linear\(in_features=4"):
        model(np.zeros((2, 2)))
    # the path is not carried over to the next error
    with pytest.raises(ValueError, match=r"^Sequential layer 0: "):
        model(np.zeros((2, 5)))


def test_backward_before_forward_is_a_runtime_error_naming_the_sequential() -> None:
    model = nl.Sequential(nl.Linear(2, 3, rng=0), nl.Sigmoid())
    with pytest.raises(RuntimeError, match=r"Sequential.*backward\(\).*before forward"):
        model.backward(np.zeros((1, 3)))
    assert all(np.all(p.grad == 0) for p in model.parameters())  # nothing was accumulated


def test_a_wrong_grad_shape_names_both_shapes() -> None:
    model = nl.two_layer_network(2, 3, rng=0)
    model(np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"Sequential") as info:
        model.backward(np.zeros((4, 2)))
    message = str(info.value)
    assert "(4, 1)" in message  # the output's shape
    assert "(4, 2)" in message  # the shape that came
    assert all(np.all(p.grad == 0) for p in model.parameters())  # nothing was accumulated


def test_a_failed_forward_leaves_nothing_for_backward() -> None:
    """After a forward that raised, backward is an error, not a backward of an older batch."""
    model = nl.Sequential(nl.Linear(2, 1, rng=0), nl.Sigmoid())
    model(np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"Sequential layer 0"):
        model(np.zeros((3, 3)))
    with pytest.raises(RuntimeError, match=r"before forward"):
        model.backward(np.zeros((3, 1)))


# ---------------------------------------------------------------------------------------------
# backward_parameters: a training step's backward, without gradients nobody needs
# ---------------------------------------------------------------------------------------------


class Recorder(nl.Layer):
    """y = x, recording every backward call: shows which layers a backward reached."""

    def __init__(self) -> None:
        self.calls = 0

    def forward(self, x: Array) -> Array:
        return x

    def backward(self, grad_y: Array) -> Array:
        self.calls += 1
        return grad_y


class NoInputGradient(nl.Linear):
    """A Linear whose dL/dx must not be asked for: its backward is an error."""

    def backward(self, grad_y: Array) -> Array:
        raise AssertionError("the input gradient was computed")

    def backward_parameters(self, grad_y: Array) -> None:
        super().backward_parameters(grad_y)  # Linear's (overriding backward alone resets it)


@given(drawn=models_with_batches())
def test_backward_parameters_adds_exactly_what_backward_adds(
    drawn: tuple[nl.Sequential, Array, Array],
) -> None:
    model, X, _ = drawn
    twin = copy.deepcopy(model)
    grad_y = np.random.default_rng(0).normal(size=model(X).shape)
    model.backward(grad_y)
    twin(X)
    twin.backward_parameters(grad_y)
    for (name, a), (_, b) in zip(model.named_parameters(), twin.named_parameters(), strict=True):
        np.testing.assert_array_equal(b.grad, a.grad, err_msg=name)


def test_backward_parameters_stops_at_the_first_layer_with_parameters() -> None:
    before, after = Recorder(), Recorder()
    first = NoInputGradient(3, 2, rng=0)
    model = nl.Sequential(
        before, nl.BiasAppend(), first, after, nl.Sigmoid(), nl.Linear(2, 1, rng=1)
    )
    model(np.ones((4, 2)))
    model.backward_parameters(np.ones((4, 1)))
    assert (before.calls, after.calls) == (0, 1)
    assert np.all(first.weight.grad != 0)
    with pytest.raises(AssertionError, match="input gradient was computed"):
        model.backward(np.ones((4, 1)))  # the spy works: backward does ask for it


def test_backward_parameters_reaches_into_a_nested_first_sequential() -> None:
    recorder, first = Recorder(), NoInputGradient(2, 2, rng=0)
    model = nl.Sequential(nl.Sequential(recorder, first, nl.Sigmoid()), nl.Linear(2, 1, rng=1))
    model(np.ones((3, 2)))
    model.backward_parameters(np.ones((3, 1)))
    assert recorder.calls == 0
    assert np.all(first.weight.grad != 0)


def test_backward_parameters_of_a_model_without_parameters_does_nothing() -> None:
    recorder = Recorder()
    model = nl.Sequential(recorder, nl.Sigmoid())
    model(np.ones((2, 2)))
    model.backward_parameters(np.ones((2, 2)))
    assert recorder.calls == 0


def test_backward_parameters_errors_name_the_sequential_and_the_layer() -> None:
    model = nl.two_layer_network(2, 3, rng=0)
    with pytest.raises(nl.StateError, match=r"Sequential.*backward_parameters\(\).*before forward"):
        model.backward_parameters(np.zeros((4, 1)))
    model(np.zeros((4, 2)))
    with pytest.raises(nl.ShapeError, match=r"\(4, 1\), got \(4, 2\)"):
        model.backward_parameters(np.zeros((4, 2)))

    class WrongShape(nl.Layer):
        def forward(self, x: Array) -> Array:
            return x

        def backward(self, grad_y: Array) -> Array:
            return grad_y[:, :1]

    model = nl.Sequential(nl.Linear(2, 2, rng=0), WrongShape())
    model(np.zeros((3, 2)))
    with pytest.raises(nl.ShapeError, match=r"^Sequential layer 1: WrongShape\(\)\.backward must"):
        model.backward_parameters(np.zeros((3, 2)))
    assert all(np.all(p.grad == 0) for p in model.parameters())
