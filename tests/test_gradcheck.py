"""The gradient-checking toolkit itself: check_gradients' report, side effects and arguments, and
check_layer's contract. (That the checker catches wrong backward passes is in
test_checker_catches_bugs.py.)"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nnlite as nl
from nnlite.testing import GradientReport, TensorCheck, check_gradients, check_layer
from nnlite.testing import strategies as nst

# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------


def normal(shape: tuple[int, ...], seed: int) -> nl.FloatArray:
    """Standard normal values from a seeded generator."""
    return np.random.default_rng(seed).standard_normal(shape)


def spy_layer() -> tuple[nl.Layer, list[nl.FloatArray]]:
    """An identity layer, and the list into which its backward records every grad_y it receives.

    The list is captured by the class, not held by the instance, so it survives the deep copy
    check_gradients makes of the layer.
    """
    received: list[nl.FloatArray] = []

    class Spy(nl.Layer):
        """y = x; records grad_y."""

        def forward(self, x: nl.FloatArray) -> nl.FloatArray:
            return x.copy()

        def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
            received.append(grad_y.copy())
            return grad_y.copy()

    return Spy(), received


def state_of(owner: object, prefix: str = "") -> dict[str, Any]:
    """Everything a layer holds, flattened: arrays as (dtype, shape, bytes), sub-layers recursed."""

    def exact(array: np.ndarray[Any, Any]) -> tuple[str, tuple[int, ...], bytes]:
        return array.dtype.str, array.shape, array.tobytes()

    state: dict[str, Any] = {}
    for name, value in vars(owner).items():
        key = prefix + name
        if isinstance(value, np.ndarray):
            state[key] = exact(value)
        elif isinstance(value, nl.Parameter):
            state[key + ".data"] = exact(value.data)
            state[key + ".grad"] = exact(value.grad)
        elif isinstance(value, nl.Layer):
            state.update(state_of(value, key + "."))
        elif isinstance(value, (list, tuple)) and any(isinstance(v, nl.Layer) for v in value):
            for index, item in enumerate(value):
                state.update(state_of(item, f"{key}.{index}."))
        else:
            state[key] = value
    return state


# (factory, input shape, expected tensor names)
LAYERS: list[tuple[Callable[[], nl.Layer], tuple[int, int], list[str]]] = [
    (lambda: nl.Linear(3, 2, rng=0), (4, 3), ["input", "weight", "bias"]),
    (lambda: nl.Linear(3, 2, bias=False, rng=0), (4, 3), ["input", "weight"]),
    (nl.Sigmoid, (4, 3), ["input"]),
    (nl.BiasAppend, (4, 3), ["input"]),
    (lambda: nl.two_layer_network(3, 4, 2, rng=0), (4, 3), ["input", "0.weight", "3.weight"]),
    (
        lambda: nl.Sequential(
            nl.Linear(3, 4, rng=0), nl.Sequential(nl.Sigmoid(), nl.Linear(4, 2, rng=1))
        ),
        (4, 3),
        ["input", "0.weight", "0.bias", "1.1.weight", "1.1.bias"],
    ),
]
LAYER_IDS = ["Linear", "Linear-no-bias", "Sigmoid", "BiasAppend", "two_layer_network", "nested"]


# --------------------------------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("make", "x_shape", "names"), LAYERS, ids=LAYER_IDS)
def test_report_has_one_check_per_tensor_input_first(
    make: Callable[[], nl.Layer], x_shape: tuple[int, int], names: list[str]
) -> None:
    layer = make()
    report = check_gradients(layer, normal(x_shape, seed=1))
    assert isinstance(report, GradientReport)
    assert all(isinstance(t, TensorCheck) for t in report.tensors)
    assert [t.name for t in report.tensors] == names
    assert names == ["input"] + [name for name, _ in layer.named_parameters()]
    parameter_shapes = [p.shape for p in layer.parameters()]
    assert [t.shape for t in report.tensors] == [x_shape, *parameter_shapes]
    assert report.passed
    assert all(t.passed and t.n_failed == 0 for t in report.tensors)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize(("make", "x_shape", "_names"), LAYERS, ids=LAYER_IDS)
def test_errors_are_small_on_correct_layers(
    make: Callable[[], nl.Layer], x_shape: tuple[int, int], _names: list[str], seed: int
) -> None:
    """On standard normal inputs the errors are rounding-sized and far inside the tolerance."""
    report = check_gradients(make(), normal(x_shape, seed), rng=seed)
    assert report.max_abs_error < 1e-9
    assert report.max_abs_error == max(t.max_abs_error for t in report.tensors)
    assert report.max_rel_error == max(t.max_rel_error for t in report.tensors)
    for tensor in report.tensors:
        assert tensor.max_error_ratio < 0.5, str(report)
        assert abs(tensor.analytic - tensor.numeric) <= tensor.tolerance


@given(model=nst.two_layer_networks(), data=st.data())
def test_correct_networks_pass_on_drawn_inputs(model: nl.Sequential, data: st.DataObject) -> None:
    x = data.draw(nst.inputs(model[0].in_features), label="x")  # type: ignore[attr-defined]
    report = check_gradients(model, x, rng=data.draw(nst.seeds(), label="rng"))
    assert report.passed
    assert all(t.max_error_ratio <= 1.0 for t in report.tensors)


def test_mse_loss_is_checked_with_prediction_and_target() -> None:
    prediction, target = normal((4, 3), seed=1), normal((4, 3), seed=2)
    report = check_gradients(nl.MSELoss(), prediction, target)
    assert [(t.name, t.shape) for t in report.tensors] == [("prediction", (4, 3))]
    assert report.passed
    assert report.max_abs_error < 1e-9
    assert str(report).startswith("gradient check of MSELoss(): passed")


def test_str_lists_every_tensor_with_its_shape() -> None:
    report = check_gradients(nl.two_layer_network(3, 4, 2, rng=0), normal((5, 3), seed=0))
    text = str(report)
    lines = text.splitlines()
    assert lines[0] == "gradient check of Sequential(5 layers): passed"
    for name, shape in [("input", (5, 3)), ("0.weight", (3, 4)), ("3.weight", (5, 2))]:
        assert re.search(rf"^  {re.escape(name)} +{re.escape(str(shape))} ", text, re.M), text
    assert "FAILED" not in text
    assert len(lines) == 2 + len(report.tensors)  # title, header, one row per tensor


def test_report_is_indexed_by_tensor_name() -> None:
    report = check_gradients(nl.two_layer_network(3, 4, 2, rng=0), normal((5, 3), seed=0))
    assert report["input"] is report.tensors[0]
    assert report["0.weight"] is report.tensors[1]
    assert report["3.weight"].shape == (5, 2)


def test_unknown_tensor_name_raises_key_error_naming_the_known_ones() -> None:
    report = check_gradients(nl.two_layer_network(3, 4, 2, rng=0), normal((5, 3), seed=0))
    with pytest.raises(KeyError, match=re.escape("['input', '0.weight', '3.weight']")):
        report["weight"]


# --------------------------------------------------------------------------------------------------
# No side effects
# --------------------------------------------------------------------------------------------------

STATEFUL_LAYERS: list[tuple[Callable[[], nl.Layer], int]] = [
    (lambda: nl.Linear(3, 2, rng=0), 2),
    (lambda: nl.Linear(3, 2, rng=0, dtype=np.float32), 2),
    (nl.Sigmoid, 3),
    (lambda: nl.two_layer_network(3, 4, 2, rng=0), 2),
]


@pytest.mark.parametrize(
    ("make", "n_out"), STATEFUL_LAYERS, ids=["Linear", "Linear-float32", "Sigmoid", "network"]
)
def test_layer_parameters_grads_and_caches_are_left_bit_for_bit(
    make: Callable[[], nl.Layer], n_out: int
) -> None:
    """After a forward and backward of its own (nonzero grads, cached input), a layer checked on a
    different batch holds exactly what it held before: same arrays, same bits, same dtypes."""
    layer = make()
    dtype = layer.parameters()[0].dtype if layer.parameters() else np.dtype(np.float64)
    x_own = normal((2, 3), seed=5).astype(dtype)
    layer.backward(np.ones_like(layer(x_own)))
    before = state_of(layer)
    arrays_before = [(p.data, p.grad) for p in layer.parameters()]

    check_gradients(layer, normal((4, 3), seed=6))

    assert state_of(layer) == before
    same_objects = zip(layer.parameters(), arrays_before, strict=True)
    assert all(p.data is data and p.grad is grad for p, (data, grad) in same_objects)
    assert all(p.dtype == dtype and p.grad.dtype == dtype for p in layer.parameters())
    assert layer.backward(np.ones((2, n_out))).shape == (2, 3)  # the cache is still the own batch


def test_float32_layer_is_checked_and_stays_float32() -> None:
    layer = nl.Linear(3, 2, rng=0, dtype=np.float32)
    x = normal((4, 3), seed=0).astype(np.float32)
    report = check_gradients(layer, x)
    assert report.passed
    assert layer.weight.dtype == np.float32
    assert layer.bias is not None
    assert layer.bias.dtype == np.float32
    assert layer.weight.grad.dtype == np.float32
    assert not layer.weight.grad.any()  # a fresh layer's grads are still zero
    assert x.dtype == np.float32


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_callers_x_and_grad_y_are_not_modified(dtype: type[np.floating[Any]]) -> None:
    x = normal((4, 3), seed=0).astype(dtype)
    grad_y = normal((4, 2), seed=1).astype(dtype)
    x_bytes, grad_y_bytes = x.tobytes(), grad_y.tobytes()
    check_gradients(nl.Linear(3, 2, rng=0), x)
    check_gradients(nl.Linear(3, 2, rng=0), x, grad_y=grad_y)
    assert x.tobytes() == x_bytes
    assert x.dtype == dtype
    assert grad_y.tobytes() == grad_y_bytes
    assert grad_y.dtype == dtype


def test_loss_state_and_callers_arrays_are_not_modified() -> None:
    """A loss that computed a value before the check still backpropagates that value after it."""
    loss = nl.MSELoss()
    loss(normal((2, 1), seed=0), normal((2, 1), seed=1))
    gradient_before = loss.backward()
    prediction, target = normal((4, 3), seed=2), normal((4, 3), seed=3)
    prediction_bytes, target_bytes = prediction.tobytes(), target.tobytes()

    check_gradients(loss, prediction, target)

    assert loss.backward().tobytes() == gradient_before.tobytes()
    assert prediction.tobytes() == prediction_bytes
    assert target.tobytes() == target_bytes


# --------------------------------------------------------------------------------------------------
# The upstream gradient
# --------------------------------------------------------------------------------------------------


def received_grad_y(x: nl.FloatArray, **kwargs: Any) -> nl.FloatArray:
    """The grad_y that check_gradients hands to backward, for an identity layer on x."""
    spy, received = spy_layer()
    check_gradients(spy, x, **kwargs)
    assert received, "backward was never called"
    assert all(np.array_equal(r, received[0]) for r in received)
    return received[0]


def test_default_grad_y_is_random_normal_not_ones() -> None:
    grad_y = received_grad_y(np.zeros((100, 5)))
    assert grad_y.shape == (100, 5)
    assert grad_y.dtype == np.float64
    assert not np.all(grad_y == 1.0)
    assert (grad_y < 0).any()
    assert (grad_y > 0).any()
    assert len(np.unique(grad_y)) == grad_y.size
    assert abs(grad_y.mean()) < 0.2  # 500 standard normals: standard error 0.045
    assert 0.85 < grad_y.std() < 1.15


def test_default_grad_y_is_reproducible_and_set_by_rng() -> None:
    x = np.zeros((4, 3))
    default = received_grad_y(x)
    assert np.array_equal(received_grad_y(x), default)
    assert np.array_equal(received_grad_y(x, rng=0), default)  # the default seed is 0
    assert not np.array_equal(received_grad_y(x, rng=1), default)
    assert np.array_equal(received_grad_y(x, rng=7), received_grad_y(x, rng=7))
    generator = np.random.default_rng(7)
    expected = np.random.default_rng(7).standard_normal((4, 3))
    assert np.array_equal(received_grad_y(x, rng=generator), expected)  # a Generator is used as is


@pytest.mark.parametrize("seed", [0, 1, 7, 42, 123])
def test_default_grad_y_is_independent_of_data_drawn_from_the_same_seed(seed: int) -> None:
    """Data drawn with default_rng(seed) is never also the upstream gradient of rng=seed: for a
    LayerNorm, grad_y = x makes dL/dx about 0, and a wrong backward passes."""
    x = np.random.default_rng(seed).standard_normal((6, 4))
    grad_y = received_grad_y(x, rng=seed)
    assert abs(np.corrcoef(x.ravel(), grad_y.ravel())[0, 1]) < 0.6
    assert not np.allclose(grad_y, x)


@pytest.mark.parametrize(
    "given_grad_y",
    [
        [[1.0, -2.0, 0.5]],
        np.array([[1.0, -2.0, 0.5]], dtype=np.float32),
        np.array([[1, -2, 3]]),
    ],
    ids=["list", "float32", "int"],
)
def test_explicit_grad_y_is_used_as_given(given_grad_y: Any) -> None:
    grad_y = received_grad_y(np.ones((1, 3)), grad_y=given_grad_y)
    assert grad_y.dtype == np.float64
    assert np.array_equal(grad_y, np.asarray(given_grad_y, dtype=np.float64))


def test_explicit_grad_y_checks_a_layer() -> None:
    x, grad_y = normal((4, 3), seed=0), normal((4, 2), seed=1)
    report = check_gradients(nl.two_layer_network(3, 4, 2, rng=0), x, grad_y=grad_y)
    assert report.passed
    assert [t.name for t in report.tensors] == ["input", "0.weight", "3.weight"]


@pytest.mark.parametrize("shape", [(2, 4), (4, 3), (4,), (1, 4, 2)])
def test_wrong_shaped_grad_y_raises_a_clear_error(shape: tuple[int, ...]) -> None:
    with pytest.raises(
        ValueError,
        match=re.escape(f"grad_y must have the output's shape (4, 2), got {shape}"),
    ):
        check_gradients(nl.Linear(3, 2, rng=0), np.ones((4, 3)), grad_y=np.ones(shape))


# --------------------------------------------------------------------------------------------------
# Wrong arguments
# --------------------------------------------------------------------------------------------------


def test_loss_without_target_is_a_type_error() -> None:
    with pytest.raises(TypeError, match=re.escape("check_gradients(loss, prediction, target)")):
        check_gradients(nl.MSELoss(), np.ones((4, 1)))  # type: ignore[call-overload]


def test_layer_with_target_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="takes no target; pass grad_y="):
        check_gradients(  # type: ignore[call-overload]
            nl.Linear(3, 2), np.ones((4, 3)), np.ones((4, 2))
        )


def test_loss_with_grad_y_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="takes no grad_y"):
        check_gradients(  # type: ignore[call-overload]
            nl.MSELoss(), np.ones((4, 1)), np.zeros((4, 1)), grad_y=np.ones((4, 1))
        )


@pytest.mark.parametrize(
    ("subject", "type_name"),
    [(np.tanh, "ufunc"), (lambda x: x, "function"), (nl.Linear, "type"), (np.ones(3), "ndarray")],
    ids=["ufunc", "function", "layer-class", "array"],
)
def test_a_subject_that_is_not_a_layer_or_loss_is_a_type_error(
    subject: object, type_name: str
) -> None:
    with pytest.raises(TypeError, match=f"expects a Layer or a Loss, got a {type_name}$"):
        check_gradients(subject, np.ones((4, 3)))  # type: ignore[call-overload]


# --------------------------------------------------------------------------------------------------
# check_layer
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "factory",
    [
        lambda n: nl.Linear(n, 3, rng=0),
        lambda n: nl.Sigmoid(),
        lambda n: nl.BiasAppend(),
        lambda n: nl.two_layer_network(n, 3, 2, rng=0),
    ],
    ids=["Linear", "Sigmoid", "BiasAppend", "two_layer_network"],
)
def test_check_layer_passes_correct_layers(factory: Callable[[int], nl.Layer]) -> None:
    """Runs without ImportError (hypothesis is installed) and returns None on a correct layer."""
    assert check_layer(factory) is None  # type: ignore[func-returns-value]


def test_check_layer_draws_widths_and_batches_within_bounds() -> None:
    """Widths within 1..max_features, batch sizes within 1..max_batch, N = 1 and N > 1 both."""
    shapes: list[tuple[int, ...]] = []

    class Recorder(nl.Sigmoid):
        """Sigmoid that records its input shapes."""

        def forward(self, x: nl.FloatArray) -> nl.FloatArray:
            shapes.append(x.shape)
            return super().forward(x)

    widths: list[int] = []

    def factory(n: int) -> nl.Layer:
        widths.append(n)
        return Recorder()

    check_layer(factory, max_features=4, max_batch=3)
    assert widths
    assert all(1 <= n <= 4 for n in widths)
    assert all(len(shape) == 2 and 1 <= shape[0] <= 3 for shape in shapes)
    assert 1 in {shape[0] for shape in shapes}
    assert max(shape[0] for shape in shapes) > 1


@pytest.mark.parametrize(
    ("factory", "got"),
    [
        (lambda n: nl.MSELoss(), "MSELoss"),
        (lambda n: nl.Sigmoid, "type"),
        (lambda n: None, "NoneType"),
    ],
    ids=["loss", "layer-class", "None"],
)
def test_check_layer_rejects_a_factory_that_does_not_return_a_layer(
    factory: Callable[[int], Any], got: str
) -> None:
    """The factory is tried once before hypothesis starts, so the error is plain."""
    message = rf"^check_layer: factory\(1\) must return a Layer, got a {got}$"
    with pytest.raises(TypeError, match=message):
        check_layer(factory)


@pytest.mark.parametrize("not_a_factory", [3, nl.Linear(2, 2, rng=0)], ids=["int", "layer"])
def test_check_layer_rejects_a_factory_that_is_not_one(not_a_factory: object) -> None:
    with pytest.raises(TypeError, match=r"check_layer expects a factory\(n_features\) -> Layer"):
        check_layer(not_a_factory)  # type: ignore[arg-type]


class ReturnsItsInput(nl.Layer):
    """y = x, returning the very array it was given (as an Identity layer may)."""

    def forward(self, x: nl.FloatArray) -> nl.FloatArray:
        return x

    def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        return grad_y


class ReturnsItsInputWrongBackward(ReturnsItsInput):
    """Its backward doubles the gradient."""

    def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        return 2 * grad_y


def test_a_layer_returning_its_input_array_is_checked() -> None:
    """The checker perturbs its copy of x in place; outputs that alias x must not follow along."""
    x = np.arange(6.0).reshape(2, 3)
    assert check_gradients(ReturnsItsInput(), x).passed
    with pytest.raises(AssertionError, match="gradient of the input is wrong"):
        check_gradients(ReturnsItsInputWrongBackward(), x)


class EmptyParameter(nl.Layer):
    """y = 2 x, with a parameter of no elements that nothing reads."""

    def __init__(self) -> None:
        super().__init__()
        self.unused = nl.Parameter(np.zeros((0, 3)))

    def forward(self, x: nl.FloatArray) -> nl.FloatArray:
        return 2 * x

    def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        return 2 * grad_y


def test_a_tensor_of_no_elements_passes_with_nothing_to_report() -> None:
    """An empty batch, or a parameter of size 0, has no element to differ: it passes, its
    errors 0 and its worst index (), and the other tensors are still checked."""
    report = check_gradients(nl.Linear(3, 2, rng=0), np.zeros((0, 3)))
    assert report.passed
    empty = report["input"]
    assert (empty.shape, empty.worst_index, empty.n_failed) == ((0, 3), (), 0)
    assert (empty.max_abs_error, empty.max_rel_error, empty.max_error_ratio) == (0.0, 0.0, 0.0)
    assert (empty.analytic, empty.numeric, empty.tolerance) == (0.0, 0.0, 0.0)
    report = check_gradients(EmptyParameter(), np.ones((2, 3)))
    assert [(t.name, t.shape, t.worst_index) for t in report.tensors] == [
        ("input", (2, 3), report["input"].worst_index),
        ("unused", (0, 3), ()),
    ]
    assert report["input"].n_failed == 0
