"""nnlite.optim: SGD and Adam against their update rules written out by hand, in place.

The references below are PyTorch's documented rules written out in plain numpy expressions, one
line per formula, with new arrays at every step (the textbook m_hat and v_hat for Adam), and they
share no code with nnlite.optim. Two more independent checks are closed forms for a constant
gradient: SGD's velocity is a geometric series, and every Adam step then moves w by
lr * g / (|g| + eps).

Tolerance: rtol 1e-12, with atol 1e-12 times the largest |w| along the reference trajectory. The
update w - lr * d rounds relative to its terms, and both terms are at most twice that largest |w|
(lr * d is the difference of two consecutive w), so where the terms cancel (w lands near 0) the
rounding is judged against them, not against the near-zero result. nnlite computes the same
formulas in another order (in place, Adam's bias corrections as scalars), which differs from the
references by a few ulps (Adam with weight decay is the exception, compared with PyTorch's order:
see its test); a wrong rule (a missing bias correction, dampening, decay applied to w
instead of g) is off by 1e-4 or more at these magnitudes.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import nnlite as nl
from nnlite.optim import SGD, Adam, Optimizer
from nnlite.testing import strategies as nst

Array = nl.FloatArray

RTOL = 1e-12


def assert_matches(actual: Array, expected: Array, trajectory: list[Array]) -> None:
    """actual == expected to RTOL, rounding judged against the largest |w| seen (see above)."""
    scale = max(float(np.max(np.abs(w), initial=0.0)) for w in trajectory)
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=RTOL * scale)


# ---------------------------------------------------------------------------------------------
# The update rules, written out
# ---------------------------------------------------------------------------------------------


def sgd_by_hand(
    w: Array,
    grads: list[Array],
    lr: float,
    momentum: float,
    nesterov: bool,
    weight_decay: float,
) -> list[Array]:
    """w after each step of PyTorch's SGD (no dampening), one parameter."""
    trajectory: list[Array] = []
    v = None
    for grad in grads:
        g = grad + weight_decay * w
        if momentum != 0:
            v = g if v is None else momentum * v + g
            d = g + momentum * v if nesterov else v
        else:
            d = g
        w = w - lr * d
        trajectory.append(w)
    return trajectory


def adam_by_hand(
    w: Array,
    grads: list[Array],
    lr: float,
    betas: tuple[float, float],
    eps: float,
    weight_decay: float,
) -> list[Array]:
    """w after each step of Adam (no amsgrad) in the textbook form, with m_hat and v_hat."""
    beta1, beta2 = betas
    trajectory: list[Array] = []
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    for t, grad in enumerate(grads, start=1):
        g = grad + weight_decay * w
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        m_hat = m / (1 - beta1**t)
        v_hat = v / (1 - beta2**t)
        w = w - lr * m_hat / (np.sqrt(v_hat) + eps)
        trajectory.append(w)
    return trajectory


def adam_by_hand_in_pytorch_order(
    w: Array,
    grads: list[Array],
    lr: float,
    betas: tuple[float, float],
    eps: float,
    weight_decay: float,
) -> list[Array]:
    """The same rule with the bias corrections as scalars, in torch.optim.Adam's order:
    w = w - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)."""
    beta1, beta2 = betas
    trajectory: list[Array] = []
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    for t, grad in enumerate(grads, start=1):
        g = grad + weight_decay * w
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        denominator = np.sqrt(v) / np.sqrt(1 - beta2**t) + eps
        w = w - lr / (1 - beta1**t) * (m / denominator)
        trajectory.append(w)
    return trajectory


# ---------------------------------------------------------------------------------------------
# Drawn problems: a few parameters of drawn shapes, a gradient for each at each step
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """Initial values of each parameter, and grads[t][i]: the gradient of parameter i at step t."""

    initial: list[Array]
    grads: list[list[Array]]


@st.composite
def problems(draw: st.DrawFn, dtype: Any = np.float64) -> Problem:
    shapes = draw(
        st.lists(hnp.array_shapes(min_dims=0, max_dims=2, max_side=4), min_size=1, max_size=3)
    )
    n_steps = draw(st.integers(min_value=1, max_value=4))
    initial = [draw(nst.arrays(shape, dtype=dtype)) for shape in shapes]
    grads = [[draw(nst.arrays(shape, dtype=dtype)) for shape in shapes] for _ in range(n_steps)]
    return Problem(initial, grads)


learning_rates = st.floats(min_value=1e-3, max_value=1.0)
decays = st.one_of(st.just(0.0), st.floats(min_value=0.0, max_value=1.0))


@st.composite
def sgd_settings(draw: st.DrawFn) -> dict[str, Any]:
    momentum = draw(st.one_of(st.just(0.0), st.just(0.9), st.floats(0.0, 0.99)))
    return {
        "lr": draw(learning_rates),
        "momentum": momentum,
        "nesterov": momentum > 0 and draw(st.booleans()),
        "weight_decay": draw(decays),
    }


@st.composite
def adam_settings(draw: st.DrawFn, decays: st.SearchStrategy[float] = decays) -> dict[str, Any]:
    betas = st.one_of(st.just(0.9), st.just(0.999), st.floats(0.0, 0.999))
    return {
        "lr": draw(learning_rates),
        "betas": (draw(betas), draw(betas)),
        "eps": draw(st.one_of(st.just(1e-8), st.floats(1e-10, 1e-2))),
        "weight_decay": draw(decays),
    }


def run(
    make: Callable[[list[nl.Parameter]], Optimizer], problem: Problem
) -> Iterator[list[nl.Parameter]]:
    """Step an optimizer through the problem, yielding the parameters after each step.

    Gradients are written into the existing grad arrays, as backward does. Checks, at every step,
    that the step left the gradients alone and kept every array object.
    """
    parameters = [nl.Parameter(w) for w in problem.initial]
    optimizer = make(parameters)
    arrays = [(p.data, p.grad) for p in parameters]
    for grads in problem.grads:
        for parameter, grad in zip(parameters, grads, strict=True):
            parameter.grad[...] = grad
        optimizer.step()
        for parameter, grad, (data, grad_array) in zip(parameters, grads, arrays, strict=True):
            assert parameter.data is data
            assert parameter.grad is grad_array
            np.testing.assert_array_equal(parameter.grad, grad)  # read, never written
        yield parameters


# ---------------------------------------------------------------------------------------------
# The rules
# ---------------------------------------------------------------------------------------------


@given(problem=problems(), settings=sgd_settings())
def test_sgd_follows_the_rule_written_out(problem: Problem, settings: dict[str, Any]) -> None:
    expected = [
        sgd_by_hand(w, [grads[i] for grads in problem.grads], **settings)
        for i, w in enumerate(problem.initial)
    ]
    steps = run(lambda parameters: SGD(parameters, **settings), problem)
    for t, parameters in enumerate(steps):
        for i, parameter in enumerate(parameters):
            assert_matches(parameter.data, expected[i][t], [problem.initial[i], *expected[i]])


@given(problem=problems(), settings=adam_settings(decays=st.just(0.0)))
def test_adam_follows_the_textbook_rule(problem: Problem, settings: dict[str, Any]) -> None:
    """Without weight decay, where the two forms agree to rounding (see adam_with_weight_decay)."""
    expected = [
        adam_by_hand(w, [grads[i] for grads in problem.grads], **settings)
        for i, w in enumerate(problem.initial)
    ]
    steps = run(lambda parameters: Adam(parameters, **settings), problem)
    for t, parameters in enumerate(steps):
        for i, parameter in enumerate(parameters):
            assert_matches(parameter.data, expected[i][t], [problem.initial[i], *expected[i]])


@given(problem=problems(), settings=adam_settings())
def test_adam_with_weight_decay_follows_the_rule_in_pytorch_order(
    problem: Problem, settings: dict[str, Any]
) -> None:
    """With decay, w re-enters g = grad + weight_decay * w, so a rounding difference in w re-enters
    the step amplified by lr * weight_decay / (sqrt(v_hat) + eps), up to ~1e8 once g has cancelled
    to the size of eps (hypothesis finds such cases: betas 0, decay 1, a gradient then 0). Two
    association orders can then differ far beyond 1e-12, so this reference uses PyTorch's."""
    expected = [
        adam_by_hand_in_pytorch_order(w, [grads[i] for grads in problem.grads], **settings)
        for i, w in enumerate(problem.initial)
    ]
    steps = run(lambda parameters: Adam(parameters, **settings), problem)
    for t, parameters in enumerate(steps):
        for i, parameter in enumerate(parameters):
            assert_matches(parameter.data, expected[i][t], [problem.initial[i], *expected[i]])


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_momentum_sums_a_geometric_series(nesterov: bool) -> None:
    """Constant g: v_t = g (1 - m^t) / (1 - m), and d_t = v_t, or g + m v_t with Nesterov."""
    lr, m, steps = 0.1, 0.9, 5
    g = np.array([1.0, -2.0, 0.5])
    w = nl.Parameter([3.0, 1.0, -1.0])
    optimizer = SGD([w], lr=lr, momentum=m, nesterov=nesterov)
    w.grad[...] = g
    for _ in range(steps):
        optimizer.step()
    v = [g * (1 - m**t) / (1 - m) for t in range(1, steps + 1)]
    d = [g + m * v_t if nesterov else v_t for v_t in v]
    expected = np.array([3.0, 1.0, -1.0]) - lr * np.sum(d, axis=0)
    np.testing.assert_allclose(w.data, expected, rtol=RTOL)


def test_adam_with_a_constant_gradient_moves_lr_per_step() -> None:
    """Constant g, no decay: m_hat = g and v_hat = g^2 at every t, so w -= lr g / (|g| + eps)."""
    lr, eps, steps = 0.01, 1e-3, 7
    g = np.array([2.0, -0.5, 1e-4])
    w = nl.Parameter([1.0, 1.0, 1.0])
    optimizer = Adam([w], lr=lr, betas=(0.8, 0.99), eps=eps)
    w.grad[...] = g
    for _ in range(steps):
        optimizer.step()
    np.testing.assert_allclose(w.data, 1.0 - steps * lr * g / (np.abs(g) + eps), rtol=RTOL)
    assert optimizer.step_count == steps


@pytest.mark.parametrize(
    "make",
    [
        lambda ps: SGD(ps, lr=0.1),
        lambda ps: SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
        lambda ps: Adam(ps, lr=0.1),
    ],
    ids=["sgd", "sgd-nesterov-decay", "adam"],
)
@given(problem=problems(dtype=np.float32))
def test_float32_parameters_stay_float32_and_in_place(
    make: Callable[[list[nl.Parameter]], Optimizer], problem: Problem
) -> None:
    """The state is float32 too, so nothing is promoted; the values track the same optimizer run
    in float64 (itself checked against the rules above). Adam is run without weight decay here:
    0.01 * w rounds differently in float32, and where grad + 0.01 * w cancels to the size of eps
    the step amplifies that by lr * 0.01 / eps (see the weight-decay test above)."""
    as64: list[Array] = [w.astype(np.float64) for w in problem.initial]
    grads64: list[list[Array]] = [[g.astype(np.float64) for g in grads] for grads in problem.grads]
    *_, reference = run(make, Problem(as64, grads64))
    *_, parameters = run(make, problem)
    for parameter, expected in zip(parameters, reference, strict=True):
        assert parameter.dtype == np.float32
        assert parameter.data.dtype == parameter.grad.dtype == np.float32
        # float32 rounding (eps 1.2e-7) over at most 4 steps, judged against the values' scale
        scale = max(float(np.max(np.abs(expected.data), initial=0.0)), 1.0)
        np.testing.assert_allclose(parameter.data, expected.data, rtol=1e-5, atol=1e-5 * scale)


def test_one_optimizer_can_hold_float32_and_float64_parameters() -> None:
    p32 = nl.Parameter(np.ones(3, dtype=np.float32))
    p64 = nl.Parameter(np.ones((2, 2)))
    optimizer = Adam([p32, p64], lr=0.5, weight_decay=0.01)
    p32.grad[...] = 1.0
    p64.grad[...] = -1.0
    optimizer.step()
    assert p32.data.dtype == np.float32
    assert p64.data.dtype == np.float64
    assert [m.dtype for m in optimizer.exp_avg] == [np.float32, np.float64]
    assert [v.dtype for v in optimizer.exp_avg_sq] == [np.float32, np.float64]
    sgd = SGD([p32, p64], lr=0.1, momentum=0.9)
    assert [v.dtype for v in sgd.velocity] == [np.float32, np.float64]
    np.testing.assert_allclose(p32.data, 0.5, rtol=1e-6)
    np.testing.assert_allclose(p64.data, 1.5, rtol=1e-7)


# ---------------------------------------------------------------------------------------------
# A step makes at most one temporary, of the parameter it updates
# ---------------------------------------------------------------------------------------------

LARGE = 100_000  # elements: a float64 temporary of this size is 800 kB


class AllocatingSGD(Optimizer):
    """w = w - lr * grad in expression form: two parameter-sized temporaries at once per step
    (lr * grad, then w - lr * grad before it is copied into w)."""

    def step(self) -> None:
        for parameter in self.parameters:
            parameter.data[...] = parameter.data - 0.1 * parameter.grad


def peak_bytes_of_a_step(optimizer: Optimizer) -> int:
    """The most memory a steady-state step holds at once beyond what existed before it."""
    optimizer.step()
    optimizer.step()  # first steps may fill caches (numpy's, Python's); measure after them
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        for _ in range(3):
            optimizer.step()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - before


_PARAMETER_BYTES = [8 * LARGE, 4 * 3 * LARGE]  # the float64 and the float32 parameter below


@pytest.mark.parametrize(
    ("make", "temporaries"),
    [
        (lambda ps: SGD(ps, lr=0.1), 1),
        (lambda ps: SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01), 1),
        (lambda ps: SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01), 1),
        (lambda ps: Adam(ps), 0),
        (lambda ps: Adam(ps, weight_decay=0.01), 0),
    ],
    ids=["sgd", "sgd-momentum-decay", "sgd-nesterov-decay", "adam", "adam-decay"],
)
def test_a_step_holds_at_most_one_temporary_of_a_parameter(
    make: Callable[[list[nl.Parameter]], Optimizer], temporaries: int
) -> None:
    """SGD's update, w -= lr * d, makes one temporary of the parameter it updates, freed before the
    next parameter's (as the hand-written step; scratch held for it would be held all run long);
    its intermediates (weight decay, Nesterov) and all of Adam's go into scratch made once. So a
    steady-state step holds at most one temporary of the largest parameter, plus a few hundred
    bytes (about 600 measured); the slack, 4 kB, is 200 times below that temporary."""
    parameters = [
        nl.Parameter(np.ones(LARGE)),
        nl.Parameter(np.ones((3, LARGE), dtype=np.float32)),
    ]
    for parameter in parameters:
        parameter.grad[...] = 0.5
    assert peak_bytes_of_a_step(make(parameters)) < temporaries * max(_PARAMETER_BYTES) + 4096


def test_the_allocation_measure_catches_a_temporary() -> None:
    """The measure above can fail: an expression-form step shows its two 800 kB temporaries,
    more than the one the bound allows."""
    parameter = nl.Parameter(np.ones(LARGE))
    assert peak_bytes_of_a_step(AllocatingSGD([parameter])) >= 2 * 8 * LARGE


# ---------------------------------------------------------------------------------------------
# zero_grad, params, and the base class
# ---------------------------------------------------------------------------------------------


def test_zero_grad_zeros_every_grad_in_place() -> None:
    model = nl.two_layer_network(2, 3, rng=0)
    optimizer = SGD(model.parameters(), lr=0.1)
    loss = nl.MSELoss()
    loss(model(np.ones((4, 2))), np.zeros((4, 1)))
    model.backward(loss.backward())
    grads = [p.grad for p in model.parameters()]
    assert all(grad.any() for grad in grads)
    optimizer.zero_grad()
    for parameter, grad in zip(model.parameters(), grads, strict=True):
        assert parameter.grad is grad
        assert not grad.any()


def test_params_are_read_once_so_a_generator_works() -> None:
    model = nl.two_layer_network(2, 3, rng=0)
    optimizer = SGD((p for p in model.parameters()), lr=1.0)
    assert optimizer.parameters == model.parameters()
    for _ in range(2):  # a generator read at each step would be empty the second time
        before = [p.data.copy() for p in model.parameters()]
        for p in model.parameters():
            p.grad[...] = 1.0
        optimizer.step()
        for p, old in zip(model.parameters(), before, strict=True):
            np.testing.assert_array_equal(p.data, old - 1.0)


@pytest.mark.parametrize(
    ("params", "error", "message"),
    [
        ([], ValueError, r"^SGD expects an iterable of Parameters .*got none"),
        (iter(()), ValueError, r"^SGD expects .*got none"),
        (nl.Linear(2, 1, rng=0), TypeError, r"got the layer Linear\(.*pass its \.parameters\(\)"),
        (nl.Parameter([1.0]), TypeError, r"got a single Parameter: pass \[parameter\]"),
        (3, TypeError, r"^SGD expects an iterable of Parameters .*got an int"),
        ([nl.Parameter([1.0]), np.ones(2)], TypeError, r"got an array of .* at position 1"),
        ([nl.Parameter([1.0]), "weight"], TypeError, r"got a str at position 1"),
    ],
    ids=["empty", "empty-generator", "a-model", "one-parameter", "an-int", "array", "str"],
)
def test_params_must_be_parameters(params: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        SGD(params, lr=0.1)


def test_the_same_parameter_twice_is_refused() -> None:
    shared = nl.Parameter([1.0])
    with pytest.raises(ValueError, match=r"^Adam got the same Parameter at positions 0 and 2"):
        Adam([shared, nl.Parameter([2.0]), shared])


def test_a_parameter_that_changed_shape_or_dtype_is_refused() -> None:
    parameter = nl.Parameter(np.ones(3))
    optimizer = SGD([parameter], lr=0.1, momentum=0.9)
    parameter.grad = np.ones(1)  # would broadcast silently into the (3,) state
    with pytest.raises(
        nl.ShapeError, match=r"parameter 0 .* grad of shape \(1,\), expected \(3,\)"
    ):
        optimizer.step()
    parameter.grad = np.ones(3, dtype=np.float32)
    with pytest.raises(nl.DTypeError, match=r"has grad an array of dtype float32.*float64"):
        optimizer.step()
    parameter.grad = np.ones(3)
    parameter.data = np.ones((3, 1))
    with pytest.raises(nl.ShapeError, match=r"has data of shape \(3, 1\), expected \(3,\)"):
        optimizer.step()


def test_the_base_class_is_abstract_and_a_subclass_needs_only_step() -> None:
    with pytest.raises(TypeError, match="abstract"):
        Optimizer([nl.Parameter([1.0])])  # type: ignore[abstract]

    class SignDescent(Optimizer):
        """w = w - 0.5 * sign(grad)."""

        def step(self) -> None:
            for parameter in self.parameters:
                parameter.data -= 0.5 * np.sign(parameter.grad)

    parameter = nl.Parameter([1.0, 1.0])
    optimizer = SignDescent([parameter])
    parameter.grad[...] = [3.0, -0.1]
    optimizer.step()
    np.testing.assert_array_equal(parameter.data, [0.5, 1.5])
    optimizer.zero_grad()
    assert not parameter.grad.any()


def test_repr_shows_the_hyperparameters() -> None:
    parameters = [nl.Parameter([1.0])]
    assert repr(SGD(parameters, lr=0.1, momentum=0.9)) == (
        "SGD(lr=0.1, momentum=0.9, nesterov=False, weight_decay=0.0)"
    )
    assert repr(Adam(parameters)) == (
        "Adam(lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay=0.0)"
    )


# ---------------------------------------------------------------------------------------------
# Bad hyperparameters
# ---------------------------------------------------------------------------------------------

BAD_SETTINGS = [
    (SGD, {"lr": 0.0}, ValueError, r"^SGD: lr must be a finite number > 0, got 0\.0$"),
    (SGD, {"lr": -0.1}, ValueError, r"^SGD: lr must be a finite number > 0, got -0\.1$"),
    (SGD, {"lr": float("inf")}, ValueError, r"^SGD: lr must be a finite number > 0, got inf$"),
    (SGD, {"lr": float("nan")}, ValueError, r"^SGD: lr must be a finite number > 0, got nan$"),
    (SGD, {"lr": "0.1"}, TypeError, r"^SGD: lr must be a number > 0, got '0\.1'$"),
    (SGD, {"lr": True}, TypeError, r"^SGD: lr must be a number > 0, got True$"),
    (SGD, {"lr": None}, TypeError, r"^SGD: lr must be a number > 0, got None$"),
    (SGD, {"lr": 0.1, "momentum": 1.0}, ValueError, r"^SGD: momentum .* in \[0, 1\), got 1\.0$"),
    (SGD, {"lr": 0.1, "momentum": -0.5}, ValueError, r"^SGD: momentum .* in \[0, 1\), got -0\.5"),
    (SGD, {"lr": 0.1, "weight_decay": -1}, ValueError, r"^SGD: weight_decay .* >= 0, got -1$"),
    (SGD, {"lr": 0.1, "nesterov": True}, ValueError, r"nesterov=True needs momentum > 0, got mo"),
    (SGD, {"lr": 0.1, "nesterov": 1}, TypeError, r"^SGD: nesterov must be a bool, got 1$"),
    (Adam, {"lr": 0}, ValueError, r"^Adam: lr must be a finite number > 0, got 0$"),
    (Adam, {"betas": 0.9}, TypeError, r"^Adam: betas must be a pair .* in \[0, 1\), got 0\.9$"),
    (Adam, {"betas": (0.9,)}, TypeError, r"^Adam: betas must be a pair .*got \(0\.9,\)$"),
    (Adam, {"betas": (1.0, 0.999)}, ValueError, r"^Adam: betas\[0\] .* in \[0, 1\), got 1\.0$"),
    (Adam, {"betas": (0.9, -0.1)}, ValueError, r"^Adam: betas\[1\] .* in \[0, 1\), got -0\.1$"),
    (Adam, {"betas": (0.9, "a")}, TypeError, r"^Adam: betas\[1\] must be a number"),
    (Adam, {"eps": 0.0}, ValueError, r"^Adam: eps must be a finite number > 0, got 0\.0$"),
    (Adam, {"weight_decay": -1e-4}, ValueError, r"^Adam: weight_decay .* >= 0, got -0\.0001$"),
    (Adam, {"weight_decay": float("nan")}, ValueError, r"^Adam: weight_decay .* got nan$"),
]


@pytest.mark.parametrize(("optimizer", "settings", "error", "message"), BAD_SETTINGS)
def test_a_bad_hyperparameter_names_optimizer_argument_range_and_value(
    optimizer: type[Optimizer], settings: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        optimizer([nl.Parameter([1.0])], **settings)


def test_lr_is_required_for_sgd() -> None:
    with pytest.raises(TypeError, match="lr"):
        SGD([nl.Parameter([1.0])])  # type: ignore[call-arg]


def test_numpy_scalars_are_accepted_as_hyperparameters() -> None:
    lr: Any = np.float32(0.5)  # not a float to a type checker, but a real number
    optimizer = SGD([nl.Parameter([1.0])], lr=lr, momentum=np.float64(0.5))
    assert (optimizer.lr, optimizer.momentum) == (0.5, 0.5)
    assert type(optimizer.lr) is float


# ---------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------

XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = np.array([[0.0], [1.0], [1.0], [0.0]])


def train_xor(optimizer_for: Callable[[list[nl.Parameter]], Optimizer], seed: int) -> list[float]:
    """300 full-batch steps on XOR with the derivation's network; the loss before each step."""
    model = nl.two_layer_network(2, 4, rng=seed)
    loss = nl.MSELoss()
    optimizer = optimizer_for(model.parameters())
    losses = []
    for _ in range(300):
        optimizer.zero_grad()
        losses.append(loss(model(XOR_X), XOR_Y))
        model.backward(loss.backward())
        optimizer.step()
    losses.append(loss(model(XOR_X), XOR_Y))
    assert np.array_equal(model(XOR_X) > 0.5, XOR_Y > 0.5), "XOR not learned"
    return losses


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sgd_with_momentum_learns_xor(seed: int) -> None:
    losses = train_xor(lambda ps: SGD(ps, lr=2.0, momentum=0.9), seed)
    assert losses[-1] < losses[0] / 5


def test_adam_learns_xor() -> None:
    losses = train_xor(lambda ps: Adam(ps, lr=0.05), seed=0)
    assert losses[-1] < losses[0] / 5
