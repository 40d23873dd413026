"""SGD's dampening, Adam's amsgrad, AdamW and RMSprop against their rules written out by hand.

The references are PyTorch's documented rules in plain numpy expressions, one line per formula and
new arrays at every step, sharing no code with nnlite.optim; the tolerance and its reasoning are
test_optim.py's (rtol 1e-12, judged against the largest |w| along the trajectory). Each is also
checked step by step against torch.optim itself when torch is installed, in
test_optim_torch.py.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nnlite as nl
from nnlite.optim import SGD, Adam, AdamW, Optimizer, RMSprop
from tests.test_optim import (
    Array,
    Problem,
    assert_matches,
    learning_rates,
    peak_bytes_of_a_step,
    problems,
    run,
)


def sgd_with_dampening_by_hand(
    w: Array, grads: list[Array], lr: float, momentum: float, dampening: float, weight_decay: float
) -> list[Array]:
    """PyTorch's SGD with dampening: the first velocity is g itself, later ones are dampened."""
    trajectory: list[Array] = []
    v = None
    for grad in grads:
        g = grad + weight_decay * w
        v = g if v is None else momentum * v + (1 - dampening) * g
        w = w - lr * v
        trajectory.append(w)
    return trajectory


def adam_by_hand(
    w: Array,
    grads: list[Array],
    lr: float,
    betas: tuple[float, float],
    eps: float,
    weight_decay: float,
    amsgrad: bool,
    decoupled: bool,
) -> list[Array]:
    """Adam in the textbook form; AMSGrad divides by the largest v so far; AdamW (decoupled)
    shrinks w before the step instead of adding weight_decay * w to g."""
    beta1, beta2 = betas
    trajectory: list[Array] = []
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    v_max = np.zeros_like(w)
    for t, grad in enumerate(grads, start=1):
        if decoupled:
            w = w * (1 - lr * weight_decay)
            g = grad
        else:
            g = grad + weight_decay * w
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        v_max = np.maximum(v_max, v)
        m_hat = m / (1 - beta1**t)
        v_hat = (v_max if amsgrad else v) / (1 - beta2**t)
        w = w - lr * m_hat / (np.sqrt(v_hat) + eps)
        trajectory.append(w)
    return trajectory


def rmsprop_by_hand(
    w: Array,
    grads: list[Array],
    lr: float,
    alpha: float,
    eps: float,
    weight_decay: float,
    momentum: float,
    centered: bool,
) -> list[Array]:
    """PyTorch's RMSprop: s the mean of g^2, a of g; b the momentum buffer."""
    trajectory: list[Array] = []
    s = np.zeros_like(w)
    a = np.zeros_like(w)
    b = np.zeros_like(w)
    for grad in grads:
        g = grad + weight_decay * w
        s = alpha * s + (1 - alpha) * g**2
        if centered:
            a = alpha * a + (1 - alpha) * g
            denominator = np.sqrt(s - a**2) + eps
        else:
            denominator = np.sqrt(s) + eps
        if momentum > 0:
            b = momentum * b + g / denominator
            w = w - lr * b
        else:
            w = w - lr * g / denominator
        trajectory.append(w)
    return trajectory


def check_against(reference: Any, make: Any, problem: Problem, settings: dict[str, Any]) -> None:
    expected = [
        reference(w, [grads[i] for grads in problem.grads], **settings)
        for i, w in enumerate(problem.initial)
    ]
    for t, parameters in enumerate(run(make, problem)):
        for i, parameter in enumerate(parameters):
            assert_matches(parameter.data, expected[i][t], [problem.initial[i], *expected[i]])


@given(
    problem=problems(),
    lr=learning_rates,
    momentum=st.floats(0.01, 0.99),
    dampening=st.one_of(st.just(0.5), st.floats(0.0, 1.0)),
    weight_decay=st.one_of(st.just(0.0), st.floats(0.0, 1.0)),
)
def test_sgd_dampening_follows_the_rule_written_out(
    problem: Problem, lr: float, momentum: float, dampening: float, weight_decay: float
) -> None:
    settings: dict[str, Any] = {"lr": lr, "momentum": momentum, "dampening": dampening}
    settings["weight_decay"] = weight_decay
    check_against(sgd_with_dampening_by_hand, lambda ps: SGD(ps, **settings), problem, settings)


def test_dampening_leaves_the_first_step_alone_and_scales_the_later_gradients() -> None:
    """Constant g, momentum m, dampening d: v_1 = g, v_t = m v_(t-1) + (1 - d) g."""
    w = nl.Parameter([1.0])
    optimizer = SGD([w], lr=1.0, momentum=0.5, dampening=0.75)
    w.grad[...] = 4.0
    optimizer.step()  # v = 4
    assert w.data.tolist() == [-3.0]
    optimizer.step()  # v = 0.5 * 4 + 0.25 * 4 = 3
    assert w.data.tolist() == [-6.0]


adam_kinds = st.sampled_from([(False, False), (True, False), (False, True), (True, True)])


@given(
    problem=problems(),
    lr=learning_rates,
    beta1=st.one_of(st.just(0.9), st.floats(0.0, 0.999)),
    beta2=st.one_of(st.just(0.999), st.floats(0.0, 0.999)),
    kind=adam_kinds,
    weight_decay=st.one_of(st.just(0.0), st.floats(0.0, 1.0)),
)
def test_amsgrad_and_adamw_follow_the_rule_written_out(
    problem: Problem,
    lr: float,
    beta1: float,
    beta2: float,
    kind: tuple[bool, bool],
    weight_decay: float,
) -> None:
    """Adam's own weight decay re-enters g (see test_optim.py), so it is checked there, in
    PyTorch's order; here decay is drawn only for AdamW, whose decay never enters g."""
    amsgrad, decoupled = kind
    settings: dict[str, Any] = {"lr": lr, "betas": (beta1, beta2), "eps": 1e-8}
    settings["amsgrad"] = amsgrad
    settings["weight_decay"] = weight_decay if decoupled else 0.0
    kind_of = AdamW if decoupled else Adam
    check_against(
        adam_by_hand,
        lambda ps: kind_of(ps, **settings),
        problem,
        {**settings, "decoupled": decoupled},
    )


def test_amsgrad_divides_by_the_largest_second_moment() -> None:
    """A large gradient then zeros: Adam's v decays, so its steps grow back relative to m; with
    amsgrad v_max holds the large g^2, and each step is m_hat / sqrt(v_max_hat)."""
    w = nl.Parameter([0.0])
    optimizer = Adam([w], lr=1.0, betas=(0.5, 0.5), eps=1e-12, amsgrad=True)
    w.grad[...] = 2.0
    optimizer.step()  # m = 1, v = v_max = 2; m_hat = 2, v_hat = 4: w = -2 / (2 + eps)
    np.testing.assert_allclose(w.data, [-2 / (2 + 1e-12)], rtol=1e-15)
    w.grad[...] = 0.0
    optimizer.step()  # m = 0.5, v = 1, v_max = 2; m_hat = 2/3, v_max_hat = 8/3 (v_hat: 4/3)
    first = -2 / (2 + 1e-12)
    np.testing.assert_allclose(w.data, [first - (2 / 3) / (np.sqrt(8 / 3) + 1e-12)], rtol=1e-15)
    np.testing.assert_array_equal(optimizer.max_exp_avg_sq[0], [2.0])


def test_adamw_decays_every_weight_at_the_same_rate() -> None:
    """Gradient 0 with Adam's state at zero: AdamW's step is the decay alone, w (1 - lr wd)."""
    w = nl.Parameter([2.0, -4.0, 1e-3])
    optimizer = AdamW([w], lr=0.1, weight_decay=0.5)
    assert optimizer.weight_decay == 0.5
    assert AdamW([nl.Parameter([1.0])]).weight_decay == 0.01  # PyTorch's default
    optimizer.step()
    np.testing.assert_array_equal(w.data, np.array([2.0, -4.0, 1e-3]) * (1 - 0.05))


@given(
    problem=problems(),
    lr=st.floats(1e-3, 0.1),
    alpha=st.one_of(st.just(0.99), st.floats(0.5, 0.99)),
    eps=st.one_of(st.just(1e-8), st.floats(1e-6, 1e-2)),
    weight_decay=st.one_of(st.just(0.0), st.floats(0.0, 0.1)),
    momentum=st.one_of(st.just(0.0), st.just(0.9), st.floats(0.0, 0.99)),
    centered=st.booleans(),
)
def test_rmsprop_follows_the_rule_written_out(
    problem: Problem,
    lr: float,
    alpha: float,
    eps: float,
    weight_decay: float,
    momentum: float,
    centered: bool,
) -> None:
    """alpha >= 0.5 over at most 4 steps keeps s - a^2 >= alpha^t (1 - alpha^t) g^2-ish away
    from cancelling to rounding noise, where two orders of the same formula could differ."""
    settings: dict[str, Any] = {"lr": lr, "alpha": alpha, "eps": eps}
    settings["weight_decay"] = weight_decay
    settings.update(momentum=momentum, centered=centered)
    check_against(rmsprop_by_hand, lambda ps: RMSprop(ps, **settings), problem, settings)


def test_rmsprop_first_step_is_a_closed_form() -> None:
    """s = (1 - alpha) g^2 after one step, so w moves lr g / (sqrt(1 - alpha) |g| + eps); centered,
    s - a^2 = alpha (1 - alpha) g^2."""
    g = np.array([3.0, -0.5])
    for centered, scale in ((False, np.sqrt(0.25)), (True, np.sqrt(0.75 * 0.25))):
        w = nl.Parameter([1.0, 1.0])
        optimizer = RMSprop([w], lr=0.01, alpha=0.75, eps=1e-3, centered=centered)
        w.grad[...] = g
        optimizer.step()
        np.testing.assert_allclose(w.data, 1.0 - 0.01 * g / (scale * np.abs(g) + 1e-3), rtol=1e-14)


def test_rmsprop_learns_xor() -> None:
    from tests.test_optim import train_xor

    losses = train_xor(lambda ps: RMSprop(ps, lr=0.02, momentum=0.5, centered=True), seed=0)
    assert losses[-1] < losses[0] / 5


@pytest.mark.parametrize(
    ("make", "temporaries"),
    [
        (lambda ps: SGD(ps, lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01), 1),
        (lambda ps: Adam(ps, amsgrad=True, weight_decay=0.01), 0),
        (lambda ps: AdamW(ps, amsgrad=True), 0),
        (lambda ps: RMSprop(ps), 0),
        (lambda ps: RMSprop(ps, momentum=0.9, centered=True, weight_decay=0.01), 0),
    ],
    ids=["sgd-dampening", "adam-amsgrad", "adamw", "rmsprop", "rmsprop-all"],
)
def test_a_step_holds_at_most_one_temporary_of_a_parameter(make: Any, temporaries: int) -> None:
    """As test_optim.py's test of the same name, for the new rules: SGD's update makes one
    temporary of the parameter (800 kB here), the others none."""
    parameters = [nl.Parameter(np.ones(100_000)), nl.Parameter(np.ones(3, dtype=np.float32))]
    for parameter in parameters:
        parameter.grad[...] = 0.5
    assert peak_bytes_of_a_step(make(parameters)) < temporaries * 8 * 100_000 + 4096


def test_repr_shows_the_new_hyperparameters() -> None:
    parameters = [nl.Parameter([1.0])]
    assert repr(SGD(parameters, lr=0.1, momentum=0.9, dampening=0.5)) == (
        "SGD(lr=0.1, momentum=0.9, dampening=0.5, nesterov=False, weight_decay=0.0)"
    )
    assert repr(AdamW(parameters, amsgrad=True)) == (
        "AdamW(lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay=0.01, amsgrad=True)"
    )
    assert repr(RMSprop(parameters)) == (
        "RMSprop(lr=0.01, alpha=0.99, eps=1e-08, weight_decay=0.0, momentum=0.0, centered=False)"
    )


@pytest.mark.parametrize(
    ("optimizer", "settings", "error", "message"),
    [
        (SGD, {"lr": 0.1, "dampening": 1.5}, ValueError, r"^SGD: dampening .* in \[0, 1\], got"),
        (
            SGD,
            {"lr": 0.1, "momentum": 0.9, "nesterov": True, "dampening": 0.1},
            ValueError,
            r"^SGD: nesterov=True needs dampening 0, got dampening=0\.1$",
        ),
        (Adam, {"amsgrad": 1}, TypeError, r"^Adam: amsgrad must be a bool, got 1$"),
        (AdamW, {"weight_decay": -1.0}, ValueError, r"^AdamW: weight_decay .* >= 0, got -1\.0$"),
        (AdamW, {"betas": (0.9, 1.0)}, ValueError, r"^AdamW: betas\[1\] .* in \[0, 1\), got"),
        (RMSprop, {"alpha": -0.1}, ValueError, r"^RMSprop: alpha .* in \[0, 1\], got -0\.1$"),
        (RMSprop, {"eps": 0}, ValueError, r"^RMSprop: eps must be a finite number > 0, got 0$"),
        (RMSprop, {"momentum": 1.0}, ValueError, r"^RMSprop: momentum .* in \[0, 1\), got 1\.0"),
        (RMSprop, {"centered": "yes"}, TypeError, r"^RMSprop: centered must be a bool, got 'ye"),
        (RMSprop, {"lr": "1"}, TypeError, r"^RMSprop: lr must be a number > 0, got '1'$"),
    ],
)
def test_a_bad_new_hyperparameter_is_named(
    optimizer: type[Optimizer], settings: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        optimizer([nl.Parameter([1.0])], **settings)
