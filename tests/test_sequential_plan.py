"""A Sequential's plan (nnlite._plan): the first batch of each signature runs every layer's checks,
later ones the layers' methods as written. The two paths give the same numbers, bit for bit, and
every error the checks give is still given, with the same message, after the plan is engaged.

The reference for "the checked path" is either the layers called one by one (each call checked
at its own boundary), or a fresh Sequential's first batch, which always runs the checks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import nnlite as nl
from nnlite import layer as layer_module
from nnlite._plan import locate
from nnlite.interop import LayerKind, layer_kinds

DTYPES = [np.float64, np.float32]
LOSSES = [nl.MSELoss, nl.BCELoss, nl.BCEWithLogitsLoss, nl.SoftmaxCrossEntropyLoss]
BUILTIN_KINDS = [
    kind
    for kind in layer_kinds()
    if kind.layer.__module__.startswith("nnlite.") and kind.sample_shape is None
]


def network(kind: LayerKind, dtype: type, seed: int = 0) -> nl.Sequential:
    """Linear, the kind's example (twice, to sit both before and after a Linear), Sigmoid."""
    first = kind.example(3)
    width = kind.output_width(first, 3) or 3
    second = kind.example(4)
    return nl.Sequential(
        nl.Linear(2, 3, rng=seed, dtype=dtype),
        first,
        nl.Linear(width, 4, rng=seed + 1, dtype=dtype),
        second,
        nl.Linear(kind.output_width(second, 4) or 4, 2, rng=seed + 2, dtype=dtype),
        nl.Sigmoid(),
    )


def data(dtype: type, n: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Inputs, and one-hot targets (valid for every loss: values in {0, 1}, rows summing to 1)."""
    generator = np.random.default_rng(1)
    x: np.ndarray = generator.normal(size=(n, 2)).astype(dtype)
    t: np.ndarray = np.eye(2, dtype=dtype)[generator.integers(0, 2, n)]
    return x, t


def planned(model: nl.Sequential, x: np.ndarray = None) -> bool:  # type: ignore[assignment]
    """Whether the model has a plan for x's signature (the last forward's, by default), which
    its next forward of such an x runs."""
    plans = model._plans or {}
    if x is None:
        return model._last_plan is not None and model._last_plan in plans.values()
    return (type(x), x.shape, x.dtype) in plans


def checked_step(
    model: nl.Sequential, loss: nl.Loss, x: np.ndarray, t: np.ndarray, whole: bool
) -> tuple[object, ...]:
    """One step with every layer called through its own checks, one by one."""
    for parameter in model.parameters():
        parameter.zero_grad()
    y = x
    for layer in model.layers:
        y = layer.forward(y)
    value = loss(y, t)
    grad = loss.backward()
    first = next(i for i, layer in enumerate(model.layers) if layer.parameters())
    for layer in reversed(model.layers[first + 1 :] if not whole else model.layers):
        grad = layer.backward(grad)
    if not whole:
        model.layers[first].backward_parameters(grad)
    return outcome(model, value, y, grad if whole else None)


def sequential_step(
    model: nl.Sequential, loss: nl.Loss, x: np.ndarray, t: np.ndarray, whole: bool
) -> tuple[object, ...]:
    """The same step through the Sequential (which plans from its second batch on)."""
    for parameter in model.parameters():
        parameter.zero_grad()
    y = model(x)
    value = loss(y, t)
    if whole:
        grad = model.backward(loss.backward())
        return outcome(model, value, y, grad)
    model.backward_parameters(loss.backward())
    return outcome(model, value, y, None)


def outcome(model: nl.Layer, value: float, y: np.ndarray, grad_x: object) -> tuple[object, ...]:
    """Everything a step gives, as bytes and dtypes, to compare bit for bit; then an update."""
    grads = [(p.grad.dtype, p.grad.tobytes()) for p in model.parameters()]
    for parameter in model.parameters():
        parameter.data -= 0.5 * parameter.grad
    grad = None if grad_x is None else (grad_x.dtype, grad_x.tobytes())  # type: ignore[attr-defined]
    return value, y.dtype, y.tobytes(), grad, grads


@pytest.mark.parametrize("whole", [True, False], ids=["backward", "backward_parameters"])
@pytest.mark.parametrize("loss_class", LOSSES, ids=lambda c: c.__name__)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("kind", BUILTIN_KINDS, ids=lambda k: k.name)
def test_the_plan_gives_the_checked_numbers_bit_for_bit(
    kind: LayerKind, dtype: type, loss_class: type[nl.Loss], whole: bool
) -> None:
    reference, subject = network(kind, dtype), network(kind, dtype)
    loss = loss_class()
    for step in range(4):
        x, t = data(dtype, n=5 if step != 2 else 3)  # step 2: another signature, a new plan
        assert planned(subject, x) == (step in (1, 3))
        assert checked_step(reference, loss, x, t, whole) == sequential_step(
            subject, loss, x, t, whole
        )


class CheckedSequential(nl.Sequential):
    """The checked path, written out: a Sequential that calls every layer through its checks on
    every batch, as Sequential did before it made plans (the errors located as it locates them).
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        for index, layer in enumerate(self.layers):
            x = located(index, layer, layer.forward, x)
        return x

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        for index in reversed(range(len(self.layers))):
            grad_y = located(index, self.layers[index], self.layers[index].backward, grad_y)
        return grad_y

    def backward_parameters(self, grad_y: np.ndarray) -> None:
        first = next((i for i, layer in enumerate(self.layers) if layer.parameters()), None)
        if first is None:
            return
        for index in reversed(range(first + 1, len(self.layers))):
            grad_y = located(index, self.layers[index], self.layers[index].backward, grad_y)
        located(first, self.layers[first], self.layers[first].backward_parameters, grad_y)


def located(index: int, layer: nl.Layer, method: Callable[[Any], Any], value: Any) -> Any:
    try:
        return method(value)
    except Exception as error:
        locate(error, index, layer)
        raise


def checked(make: Callable[[], nl.Sequential]) -> CheckedSequential:
    """The layers ``make`` gives, in a CheckedSequential."""
    return CheckedSequential(*make().layers)


def engaged(make: Callable[[], nl.Sequential], x: np.ndarray) -> nl.Sequential:
    """A model whose plan for x's signature is made and has run a step."""
    model = make()
    for _ in range(2):
        model.backward(model(x) - 1)
        model.backward_parameters(model(x) - 1)
    assert planned(model)
    return model


def result(step: Callable[[nl.Sequential], object], model: nl.Sequential) -> tuple[object, ...]:
    """What ``step(model)`` gives: its values as bytes, or its exception's type, message, notes."""
    try:
        value = step(model)
    except Exception as error:  # the reference's messages name it a CheckedSequential
        message = str(error).replace("CheckedSequential(", "Sequential(")
        return type(error), message, getattr(error, "__notes__", None)
    arrays = value if isinstance(value, tuple) else (value,)
    return tuple(None if a is None else np.asarray(a).tobytes() for a in arrays)


def two_layer() -> nl.Sequential:
    return nl.two_layer_network(2, 3, rng=0)


X = np.linspace(-1, 1, 8).reshape(4, 2)


def forward_and_backward(model: nl.Sequential, x: np.ndarray = X) -> tuple[object, ...]:
    model.zero_grad()
    y = model(x)
    grad_x = model.backward(np.ones_like(y))
    model.backward_parameters(np.ones_like(y))
    return y, grad_x, *(p.grad for p in model.parameters())


def swap_weight(shape: tuple[int, ...], dtype: type = np.float64, index: int = 3) -> Any:
    def change(model: nl.Sequential) -> None:
        model.layers[index].weight.data = np.full(shape, 0.5, dtype)  # type: ignore[attr-defined]

    return change


def swap_grad(shape: tuple[int, ...], index: int = 0) -> Any:
    def change(model: nl.Sequential) -> None:
        model.layers[index].weight.grad = np.zeros(shape)  # type: ignore[attr-defined]

    return change


def insert(index: int, layer: Callable[[], nl.Layer]) -> Any:
    def change(model: nl.Sequential) -> None:
        model.layers.insert(index, layer())

    return change


CHANGES = {
    "nothing": lambda model: None,
    "a weight of another width": swap_weight((3, 2)),
    "a weight of another depth": swap_weight((2, 1)),
    "a weight of the same shape": swap_weight((4, 1)),
    "a float32 weight": swap_weight((4, 1), np.float32),
    "the first weight in float32": swap_weight((2, 3), np.float32, index=0),
    "a grad of another shape": swap_grad((3, 3)),
    "a grad that broadcasts": swap_grad((1, 3)),
    "a layer inserted into layers": insert(1, lambda: nl.Linear(3, 4, rng=5)),
    "a layer of the right width inserted": insert(2, lambda: nl.Linear(3, 3, rng=5)),
    "a layer appended to layers": lambda model: model.layers.append(nl.Linear(1, 2, rng=5)),
    "a layer removed from layers": lambda model: model.layers.pop(1),
    "a layer replaced in layers": lambda model: model.layers.__setitem__(1, nl.Tanh()),
    "a layer put first": insert(0, lambda: nl.Linear(3, 2, rng=5)),
    "evaluation mode": lambda model: model.eval(),
}


@pytest.mark.parametrize("change", list(CHANGES.values()), ids=list(CHANGES))
@pytest.mark.parametrize(
    "x",
    [X, X[:3], X.astype(np.float32), np.hstack([X, X])[:, :3], X.ravel()],
    ids=["same batch", "fewer rows", "float32", "three columns", "one dimension"],
)
def test_after_a_change_the_plan_gives_what_the_checks_give(
    change: Callable[[nl.Sequential], None], x: np.ndarray
) -> None:
    subject, reference = engaged(two_layer, X), checked(two_layer)
    change(subject)
    change(reference)
    for _ in range(2):  # and again, on whatever plan the changed model made, if any
        expected = result(lambda model: forward_and_backward(model, x), reference)
        assert result(lambda model: forward_and_backward(model, x), subject) == expected


def test_each_error_case_still_raises_once_the_plan_is_engaged() -> None:
    """The cases the design names, each with its own message."""
    model = engaged(two_layer, X)
    with pytest.raises(nl.ShapeError, match=r"^Sequential layer 0: Linear.*\(N, 2\), got \(4, 3\)"):
        model(np.ones((4, 3)))  # a changed batch shape
    model = engaged(two_layer, X)
    model.layers[3].weight.data = np.ones((4, 2))  # type: ignore[attr-defined]  # swapped
    assert model(X).shape == (4, 2)
    with pytest.raises(nl.ShapeError, match=r"grad_y of the output's shape \(4, 2\), got \(4, 1\)"):
        model.backward(np.ones((4, 1)))
    model = engaged(two_layer, X)
    optimizer = nl.optim.SGD(model.parameters(), lr=0.1)
    model.layers[0].weight.data = model.layers[0].weight.data.astype(np.float32)  # type: ignore[attr-defined]
    model.backward(model(X) - 1)
    with pytest.raises(nl.DTypeError, match="dtype"):
        optimizer.step()  # a changed dtype
    model = engaged(two_layer, X)
    model.layers.insert(2, nl.Linear(3, 5, rng=0))  # a layer inserted into layers
    with pytest.raises(nl.ShapeError, match=r"^Sequential layer 4: Linear.*, got \(4, 6\)$"):
        model(X)
    model = engaged(two_layer, X)
    model.layers.insert(2, nl.Sigmoid())  # the same, valid: it is run
    assert np.array_equal(model(X), nl.Sequential(*model.layers)(X))


class Shifty(nl.Layer):
    """y = x, until told otherwise: a user layer whose output or gradient goes wrong late."""

    def __init__(self) -> None:
        self.forward_result: Callable[[np.ndarray], object] = lambda x: x
        self.backward_result: Callable[[np.ndarray], object] = lambda g: g

    def forward(self, x: np.ndarray) -> np.ndarray:
        return self.forward_result(x)  # type: ignore[return-value]

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        return self.backward_result(grad_y)  # type: ignore[return-value]


def with_shifty() -> nl.Sequential:
    return nl.Sequential(
        nl.Linear(2, 3, rng=0), Shifty(), nl.Sigmoid(), nl.Linear(3, 1, rng=1), nl.Sigmoid()
    )


LATE: dict[str, tuple[str, Callable[[np.ndarray], object]]] = {
    "forward returns a list": ("forward_result", lambda x: x.tolist()),
    "forward returns another shape": ("forward_result", lambda x: x[:, :2]),
    "forward returns another dtype": ("forward_result", lambda x: x.astype(np.float32)),
    "forward returns ints": ("forward_result", lambda x: (x > 0).astype(np.int64)),
    "forward raises": ("forward_result", lambda x: 1 / 0),
    "backward returns another shape": ("backward_result", lambda g: g[:, :2]),
    "backward returns a list": ("backward_result", lambda g: g.tolist()),
    "backward returns float16": ("backward_result", lambda g: g.astype(np.float16)),
    "backward raises": ("backward_result", lambda g: {"present": g}["missing"]),
}


@pytest.mark.parametrize(("attribute", "behaviour"), list(LATE.values()), ids=list(LATE))
def test_a_user_layer_that_goes_wrong_late_gets_the_checks_message(
    attribute: str, behaviour: Callable[[np.ndarray], object]
) -> None:
    subject, reference = engaged(with_shifty, X), checked(with_shifty)
    for model in (subject, reference):
        setattr(model.layers[1], attribute, behaviour)
    for _ in range(2):
        expected = result(forward_and_backward, reference)
        assert result(forward_and_backward, subject) == expected


def test_a_layer_that_declares_check_every_call_is_checked_every_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Checked(Shifty):
        check_every_call = True

    model = engaged(lambda: nl.Sequential(nl.Linear(2, 3, rng=0), Checked(), nl.Sigmoid()), X)
    converted: list[object] = []
    original = layer_module.as_float_array  # type: ignore[attr-defined]

    def spy(value: object, owner: object = None, role: str = "input") -> Any:
        converted.append((type(owner).__name__, role))
        return original(value, owner, role)

    monkeypatch.setattr(layer_module, "as_float_array", spy)
    model.backward_parameters(model(X))
    assert planned(model)
    assert converted == [
        ("Sequential", "input"),
        ("Checked", "input"),
        ("Sequential", "grad_y"),
        ("Checked", "grad_y"),
    ]


@pytest.mark.parametrize("last", [True, False], ids=["last", "inside"])
def test_a_layer_holding_its_own_method_is_left_to_the_checks(last: bool) -> None:
    """A method held on the instance is not wrapped: what it returns is what the checks of the
    layers after it (or the Sequential's own) see, on every batch."""

    def make() -> nl.Sequential:
        layer = Shifty()
        layer.forward = lambda x: x.tolist()  # type: ignore[method-assign]  # on the instance
        return nl.Sequential(nl.Linear(2, 3, rng=0), layer, *([] if last else [nl.Sigmoid()]))

    subject = make()
    for _ in range(3):
        expected = result(forward_and_backward, checked(make))
        assert expected[0] is (nl.DTypeError if last else nl.StateError)
        assert result(forward_and_backward, subject) == expected


def test_another_call_between_forward_and_backward_sends_backward_through_the_checks() -> None:
    model = engaged(two_layer, X)
    model(X)
    model.layers[4](np.ones((2, 1)))  # the last Sigmoid, on another batch
    with pytest.raises(nl.ShapeError, match=r"^Sequential layer 4: Sigmoid\(\).backward expects"):
        model.backward(np.ones((4, 1)))


def test_a_failed_forward_on_the_plan_leaves_nothing_for_backward() -> None:
    model = engaged(with_shifty, X)
    model.layers[1].forward_result = lambda x: 1 / 0  # type: ignore[attr-defined]
    with pytest.raises(ZeroDivisionError):
        model(X)
    with pytest.raises(nl.StateError, match="before forward"):
        model.backward(np.ones((4, 1)))
    with pytest.raises(nl.StateError, match=r"^Shifty\(\).backward\(\) was called before"):
        model.layers[1].backward(np.ones((4, 3)))


def test_a_layer_that_makes_its_parameter_late_gets_its_gradient() -> None:
    """The first layer holding a parameter is found once, and again when an earlier one gains
    one (a layer may make its parameters on its first forward)."""

    class Lazy(nl.Layer):
        def forward(self, x: np.ndarray) -> np.ndarray:
            self.x = x
            return x * self.scale.data if hasattr(self, "scale") else x

        def backward(self, grad_y: np.ndarray) -> np.ndarray:
            if hasattr(self, "scale"):
                self.scale.grad += (grad_y * self.x).sum(axis=0)
                return grad_y * self.scale.data
            return grad_y

    model = engaged(lambda: nl.Sequential(Lazy(), nl.Linear(2, 1, rng=0)), X)
    model.layers[0].scale = nl.Parameter(np.full(2, 2.0))  # type: ignore[attr-defined]
    model.zero_grad()
    model.backward_parameters(model(X))
    got = [parameter.grad.copy() for parameter in model.parameters()]
    expected = nl.Sequential(*model.layers)  # the same layers, in a Sequential without a plan
    expected.zero_grad()
    expected.backward(expected(X))
    assert len(got) == 3  # scale, and the Linear's weight and bias
    for ours, theirs in zip(got, expected.parameters(), strict=True):
        assert np.array_equal(ours, theirs.grad)
    assert got[0].any()


# --- errors carry the index of the layer they passed out of -------------------------------------


class Boom(nl.Layer):
    def forward(self, x: np.ndarray) -> np.ndarray:
        raise KeyError("boom")

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        return grad_y


@pytest.mark.parametrize("runs", [1, 3], ids=["checked", "after the plan"])
def test_a_user_layers_own_error_gets_a_note_with_the_index_path(runs: int) -> None:
    inner = nl.Sequential(nl.Sigmoid(), Shifty())
    model = nl.Sequential(nl.Linear(2, 2, rng=0), inner)
    for _ in range(runs - 1):
        model(X)
    inner.layers[1].forward_result = lambda x: {"present": x}["missing"]  # type: ignore[attr-defined]
    with pytest.raises(KeyError) as caught:
        model(X)
    assert caught.value.__notes__ == ["in Sequential layer 1.1: Shifty()"]
    with pytest.raises(KeyError) as caught:
        model(X)  # a new exception: one note again
    assert caught.value.__notes__ == ["in Sequential layer 1.1: Shifty()"]


def test_a_note_is_added_to_notes_the_exception_already_had() -> None:
    class Noted(Boom):
        def forward(self, x: np.ndarray) -> np.ndarray:
            error = KeyError("boom")
            error.add_note("the layer's own note")
            raise error

    with pytest.raises(KeyError) as caught:
        nl.Sequential(nl.Sigmoid(), nl.Sequential(Noted()))(X)
    assert caught.value.__notes__ == ["the layer's own note", "in Sequential layer 1.0: Noted()"]


def test_nnlites_own_errors_say_the_index_in_the_message_and_get_no_note() -> None:
    with pytest.raises(nl.ShapeError) as caught:
        nl.Sequential(nl.Sigmoid(), nl.Sequential(nl.Linear(3, 1)))(X)
    assert str(caught.value).startswith("Sequential layer 1.0: Linear")
    assert not hasattr(caught.value, "__notes__")


def test_without_add_note_the_note_goes_into_dunder_notes() -> None:
    """Python 3.10 has no BaseException.add_note: the note is PEP 678's ``__notes__`` list."""
    from nnlite._plan import add_note

    class Old(Exception):
        add_note = None  # type: ignore[assignment]  # as on 3.10

    error = Old("x")
    add_note(error, "first")
    add_note(error, "second")
    assert error.__notes__ == ["first", "second"]


class Scaled(Shifty):
    """y = x * s, with a parameter s and Layer's default backward_parameters (backward, dL/dx
    dropped); backward_result decides what its dL/dx is returned as."""

    def __init__(self) -> None:
        super().__init__()
        self.s = nl.Parameter(np.full(2, 1.5))

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        return x * self.s.data

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        self.s.grad += (grad_y * self.x).sum(axis=0)
        return self.backward_result(grad_y * self.s.data)  # type: ignore[return-value]


@pytest.mark.parametrize(
    "grad_x",
    [lambda g: g, lambda g: g.astype(np.float16), lambda g: g[:, :1]],
    ids=["as it is", "float16", "another shape"],
)
def test_a_first_layer_with_the_default_backward_parameters_adds_its_gradient_once(
    grad_x: Callable[[np.ndarray], object],
) -> None:
    def make() -> nl.Sequential:
        return nl.Sequential(Scaled(), nl.Linear(2, 1, rng=0))

    def step(model: nl.Sequential) -> tuple[object, ...]:
        model.zero_grad()
        model.backward_parameters(model(X))
        return tuple(parameter.grad for parameter in model.parameters())

    subject, reference = engaged(make, X), checked(make)
    for model in (subject, reference):
        model.layers[0].backward_result = grad_x  # type: ignore[attr-defined]
    for _ in range(2):
        assert result(step, subject) == result(step, reference)
