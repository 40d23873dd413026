"""The derivation (eq. 1-9, see docs/derivation.md), checked independently.

The reference values here are written out from the equations themselves, as explicit loops over
i (sample), k and l (weight indices), with the textbook sigmoid 1 / (1 + exp(-x)) and the
derivative in the form y (1 - y), exactly as the derivation writes them. None of nnlite's own
functions (its sigmoid, Sigmoid's backward, Linear's matrix products) is used for a reference
value, so a test passes only if nnlite's layers, chained by Sequential, reproduce the
derivation.

Tolerances: rtol 1e-10 with atol 1e-14. nnlite evaluates the same quantities in another order
(BLAS matrix products instead of these loops, which sum in another order), so the results agree
only up to rounding, and where a sum over samples cancels, rounding relative to the (near-zero)
result is unbounded: that is what the atol covers.
With |X| <= 3, Y and y_hat in [0, 1] and nnlite's initial weights |W| <= 1/sqrt(fan_in) <= 1, every
term of eq. 7 is at most 1/N * 1 * 1/4 * 1, and every term of eq. 9 at most
1/N * 1 * 1/4 * 1 * 1/4 * 3, so each gradient's terms sum (in absolute value) to at most about 0.25
(0.75 with three outputs), and the loss and y_hat are at most 1. Rounding in sums of at most
6 products of a handful of factors is then a few tens of ulps of that, ~1e-15: 1e-14 is a bound
with room to spare, and still far below any real error (a wrong factor changes gradients by
~1e-3 or more at these magnitudes).
"""

# The reference code keeps the derivation's names: indices i, k, l and matrices H, Z, O.
# ruff: noqa: E741

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import nnlite as nl
from nnlite.testing import check_gradients
from nnlite.testing import strategies as nst

Array = nl.FloatArray

RTOL = 1e-10
ATOL = 1e-14  # rounding where a sum over samples cancels; see the module docstring
MAX_MAGNITUDE = 3.0  # |X| bound, so the textbook sigmoid's exp(-x) stays far from overflow


# ---------------------------------------------------------------------------------------------
# Drawn cases and the reference computation written out from the equations
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One drawn example: the network's widths and seed, a batch X and targets Y."""

    n_in: int
    n_hidden: int
    n_out: int
    seed: int
    X: Array
    Y: Array


@st.composite
def cases(draw: st.DrawFn, *, min_out: int = 1, max_out: int = 1) -> Case:
    """N in 1..6, n_in in 1..5, n_hidden in 1..5, a seed, X with |X| <= 3, Y in [0, 1]."""
    n = draw(st.integers(min_value=1, max_value=6), label="N")
    n_in = draw(st.integers(min_value=1, max_value=5), label="n_in")
    n_hidden = draw(st.integers(min_value=1, max_value=5), label="n_hidden")
    n_out = draw(st.integers(min_value=min_out, max_value=max_out), label="n_out")
    seed = draw(nst.seeds(), label="seed")
    x = draw(nst.arrays((n, n_in), max_magnitude=MAX_MAGNITUDE), label="X")
    y = draw(
        hnp.arrays(
            np.float64,
            (n, n_out),
            elements=st.floats(min_value=0.0, max_value=1.0, allow_subnormal=False),
        ),
        label="Y",
    )
    return Case(n_in=n_in, n_hidden=n_hidden, n_out=n_out, seed=seed, X=x, Y=y)


def textbook_sigmoid(x: Array | float) -> Any:
    """sigma(x) = 1 / (1 + e^-x), as eq. 3 writes it, in one expression (not nnlite's function)."""
    return 1.0 / (1.0 + np.exp(-x))


@dataclass(frozen=True)
class Derivation:
    """Every quantity of eq. 1-9 for one batch, computed by hand."""

    H: Array  # eq. 2
    Z: Array  # eq. 3
    Z1: Array  # [Z, 1]: Z with the appended bias column
    O: Array  # eq. 4
    y_hat: Array  # eq. 5
    loss: float  # eq. 1
    grad_W2: Array  # eq. 7
    grad_W1: Array  # eq. 9


def derivation_by_loops(X: Array, Y: Array, W1: Array, W2: Array) -> Derivation:
    """Eq. 1-9 for the derivation's single-output network, as explicit loops over i, k, l."""
    n, n_in = X.shape
    n_hidden = W1.shape[1]
    assert Y.shape == (n, 1)
    assert W2.shape == (n_hidden + 1, 1)

    # eq. 2: H = X W1
    H = np.zeros((n, n_hidden))
    for i in range(n):
        for l in range(n_hidden):
            H[i, l] = sum(X[i, k] * W1[k, l] for k in range(n_in))
    # eq. 3: Z = sigma(H)
    Z = np.zeros((n, n_hidden))
    for i in range(n):
        for l in range(n_hidden):
            Z[i, l] = textbook_sigmoid(H[i, l])
    # appending a bias column: [Z, 1]
    Z1 = np.ones((n, n_hidden + 1))
    Z1[:, :n_hidden] = Z
    # eq. 4: O = [Z, 1] W2
    O = np.zeros(n)
    for i in range(n):
        O[i] = sum(Z1[i, k] * W2[k, 0] for k in range(n_hidden + 1))
    # eq. 5: y_hat = sigma(O)
    y_hat = np.array([textbook_sigmoid(O[i]) for i in range(n)])
    y = Y[:, 0]

    # eq. 1: L = 1/(2N) sum_i (Y_i - y_hat_i)^2
    loss = sum((y[i] - y_hat[i]) ** 2 for i in range(n)) / (2 * n)

    # eq. 7: dL/dW2[k, 1] = sum_i -1/N (Y_i - y_hat_i) y_hat_i (1 - y_hat_i) Z_ik, k over [Z, 1]
    grad_W2 = np.zeros((n_hidden + 1, 1))
    for k in range(n_hidden + 1):
        grad_W2[k, 0] = sum(
            -1.0 / n * (y[i] - y_hat[i]) * y_hat[i] * (1 - y_hat[i]) * Z1[i, k] for i in range(n)
        )

    # eq. 9: dL/dW1[k, l] = sum_i -1/N (Y_i - y_hat_i) y_hat_i (1 - y_hat_i) W2[l, 1]
    #                              sigma(H_il) (1 - sigma(H_il)) X_ik,  l over Z only (no bias row)
    grad_W1 = np.zeros((n_in, n_hidden))
    for k in range(n_in):
        for l in range(n_hidden):
            grad_W1[k, l] = sum(
                -1.0
                / n
                * (y[i] - y_hat[i])
                * y_hat[i]
                * (1 - y_hat[i])
                * W2[l, 0]
                * textbook_sigmoid(H[i, l])
                * (1 - textbook_sigmoid(H[i, l]))
                * X[i, k]
                for i in range(n)
            )

    return Derivation(
        H=H, Z=Z, Z1=Z1, O=O[:, None], y_hat=y_hat[:, None], loss=loss, grad_W2=grad_W2,
        grad_W1=grad_W1,
    )  # fmt: skip


@dataclass(frozen=True)
class General:
    """Eq. 1, 7, 9 generalised to n_out outputs (a sum over outputs m as well), and dL/dX."""

    y_hat: Array
    loss: float
    grad_W2: Array
    grad_W1: Array
    grad_X: Array


def derivation_by_einsum(X: Array, Y: Array, W1: Array, W2: Array) -> General:
    """Eq. 1-9 with an output index m: L = 1/(2N) sum_i sum_m (Y_im - y_hat_im)^2."""
    n = X.shape[0]
    n_hidden = W1.shape[1]
    H = np.einsum("ik,kl->il", X, W1)  # eq. 2
    Z = textbook_sigmoid(H)  # eq. 3
    Z1 = np.concatenate([Z, np.ones((n, 1))], axis=1)  # [Z, 1]
    O = np.einsum("ik,km->im", Z1, W2)  # eq. 4
    y_hat = textbook_sigmoid(O)  # eq. 5
    loss = float(np.einsum("im,im->", Y - y_hat, Y - y_hat)) / (2 * n)  # eq. 1
    # the first two factors of eq. 7 and 9, for every sample i and output m
    delta = -1.0 / n * (Y - y_hat) * y_hat * (1 - y_hat)
    grad_W2 = np.einsum("im,ik->km", delta, Z1)  # eq. 7
    W2_z = W2[:n_hidden]  # eq. 9 multiplies by the rows of W2 that meet Z, not the bias row
    grad_W1 = np.einsum("im,lm,il,ik->kl", delta, W2_z, Z * (1 - Z), X)  # eq. 9
    # the same chain one step further, dH_il/dX_ik = W1_kl: dL/dX
    grad_X = np.einsum("im,lm,il,kl->ik", delta, W2_z, Z * (1 - Z), W1)
    return General(y_hat=y_hat, loss=loss, grad_W2=grad_W2, grad_W1=grad_W1, grad_X=grad_X)


@dataclass(frozen=True)
class Run:
    """What nnlite computed: the weights it started from, y_hat, the loss, and dL/dX."""

    W1: Array
    W2: Array
    y_hat: Array
    loss: float
    grad_X: Array
    model: nl.Sequential


def run_nnlite(model: nl.Sequential, X: Array, Y: Array) -> Run:
    """Forward, MSELoss, loss.backward(), model.backward(grad), as a user would."""
    W1 = model[0].weight.data.copy()  # type: ignore[attr-defined]
    W2 = model[3].weight.data.copy()  # type: ignore[attr-defined]
    y_hat = model(X)
    loss_fn = nl.MSELoss()
    loss = loss_fn(y_hat, Y)
    grad_X = model.backward(loss_fn.backward())
    return Run(W1=W1, W2=W2, y_hat=y_hat, loss=loss, grad_X=grad_X, model=model)


def run_case(case: Case) -> tuple[Run, Derivation]:
    """The derivation's network (n_out = 1) from the drawn seed, run by nnlite and by hand."""
    model = nl.two_layer_network(case.n_in, case.n_hidden, rng=case.seed)
    run = run_nnlite(model, case.X, case.Y)
    return run, derivation_by_loops(case.X, case.Y, run.W1, run.W2)


def assert_close(actual: Array | float, desired: Array | float) -> None:
    np.testing.assert_allclose(actual, desired, rtol=RTOL, atol=ATOL)


# ---------------------------------------------------------------------------------------------
# The network's structure
# ---------------------------------------------------------------------------------------------


@given(
    n_in=nst.feature_widths(),
    n_hidden=nst.feature_widths(),
    n_out=st.integers(min_value=1, max_value=3),
    seed=nst.seeds(),
)
def test_two_layer_network_is_exactly_the_derivations_layers(
    n_in: int, n_hidden: int, n_out: int, seed: int
) -> None:
    model = nl.two_layer_network(n_in, n_hidden, n_out, rng=seed)

    assert type(model) is nl.Sequential
    assert [type(layer) for layer in model] == [
        nl.Linear,
        nl.Sigmoid,
        nl.BiasAppend,
        nl.Linear,
        nl.Sigmoid,
    ]
    first, last = model[0], model[3]
    assert isinstance(first, nl.Linear)
    assert isinstance(last, nl.Linear)
    assert (first.in_features, first.out_features) == (n_in, n_hidden)
    assert (last.in_features, last.out_features) == (n_hidden + 1, n_out)
    assert first.bias is None
    assert last.bias is None
    assert first.weight.shape == (n_in, n_hidden)  # W1
    assert last.weight.shape == (n_hidden + 1, n_out)  # W2, its last row the bias
    assert [name for name, _ in model.named_parameters()] == ["0.weight", "3.weight"]
    assert model.num_parameters() == n_in * n_hidden + (n_hidden + 1) * n_out


@given(n_in=nst.feature_widths(), n_hidden=nst.feature_widths(), seed=nst.seeds())
def test_same_seed_gives_the_same_network(n_in: int, n_hidden: int, seed: int) -> None:
    a = nl.two_layer_network(n_in, n_hidden, rng=seed)
    b = nl.two_layer_network(n_in, n_hidden, rng=seed)
    for (name_a, p_a), (name_b, p_b) in zip(
        a.named_parameters(), b.named_parameters(), strict=True
    ):
        assert name_a == name_b
        np.testing.assert_array_equal(p_a.data, p_b.data)


# ---------------------------------------------------------------------------------------------
# Eq. 1-9 against nnlite
# ---------------------------------------------------------------------------------------------


@given(case=cases())
def test_forward_is_eq_2_to_5_composed_by_hand(case: Case) -> None:
    model = nl.two_layer_network(case.n_in, case.n_hidden, rng=case.seed)
    W1 = model[0].weight.data  # type: ignore[attr-defined]
    W2 = model[3].weight.data  # type: ignore[attr-defined]
    by_hand = derivation_by_loops(case.X, case.Y, W1, W2)

    # each prefix of the network is one more equation
    assert_close(model[:1](case.X), by_hand.H)  # eq. 2: H = X W1
    assert_close(model[:2](case.X), by_hand.Z)  # eq. 3: Z = sigma(H)
    z1 = model[:3](case.X)
    assert_close(z1, by_hand.Z1)  # [Z, 1]
    np.testing.assert_array_equal(z1[:, -1], 1.0)  # the appended column is exactly ones
    assert_close(model[:4](case.X), by_hand.O)  # eq. 4: O = [Z, 1] W2
    y_hat = model(case.X)
    assert y_hat.shape == (case.X.shape[0], 1)
    assert_close(y_hat, by_hand.y_hat)  # eq. 5: y_hat = sigma(O)


@given(case=cases())
def test_loss_is_eq_1(case: Case) -> None:
    run, by_hand = run_case(case)
    assert isinstance(run.loss, float)
    assert_close(run.loss, by_hand.loss)


@given(case=cases())
def test_w2_gradient_is_eq_7_with_the_bias_row(case: Case) -> None:
    run, by_hand = run_case(case)
    W2 = run.model[3].weight  # type: ignore[attr-defined]
    assert W2.grad.shape == (case.n_hidden + 1, 1)
    assert_close(W2.grad, by_hand.grad_W2)
    # the last row multiplies the appended ones: its gradient is eq. 7 with Z_ik = 1
    n = case.X.shape[0]
    y, y_hat = case.Y[:, 0], by_hand.y_hat[:, 0]
    bias_gradient = sum(-1.0 / n * (y[i] - y_hat[i]) * y_hat[i] * (1 - y_hat[i]) for i in range(n))
    assert_close(W2.grad[-1, 0], bias_gradient)


@given(case=cases())
def test_w1_gradient_is_eq_9_without_w2s_bias_row(case: Case) -> None:
    run, by_hand = run_case(case)
    W1 = run.model[0].weight  # type: ignore[attr-defined]
    assert W1.grad.shape == (case.n_in, case.n_hidden)
    assert_close(W1.grad, by_hand.grad_W1)


@given(case=cases(max_out=3))
def test_einsum_generalisation_reduces_to_the_loops_for_one_output(case: Case) -> None:
    """A check of the two references against each other (n_out = 1 only: the loops' case)."""
    if case.n_out != 1:
        case = Case(case.n_in, case.n_hidden, 1, case.seed, case.X, case.Y[:, :1])
    model = nl.two_layer_network(case.n_in, case.n_hidden, rng=case.seed)
    W1, W2 = model[0].weight.data, model[3].weight.data  # type: ignore[attr-defined]
    loops = derivation_by_loops(case.X, case.Y, W1, W2)
    einsum = derivation_by_einsum(case.X, case.Y, W1, W2)
    assert_close(einsum.y_hat, loops.y_hat)
    assert_close(einsum.loss, loops.loss)
    assert_close(einsum.grad_W2, loops.grad_W2)
    assert_close(einsum.grad_W1, loops.grad_W1)


@given(case=cases(min_out=2, max_out=3))
def test_several_outputs_match_the_einsum_generalisation(case: Case) -> None:
    model = nl.two_layer_network(case.n_in, case.n_hidden, case.n_out, rng=case.seed)
    run = run_nnlite(model, case.X, case.Y)
    by_hand = derivation_by_einsum(case.X, case.Y, run.W1, run.W2)

    assert run.y_hat.shape == (case.X.shape[0], case.n_out)
    assert_close(run.y_hat, by_hand.y_hat)
    assert_close(run.loss, by_hand.loss)
    assert_close(model[3].weight.grad, by_hand.grad_W2)  # type: ignore[attr-defined]
    assert_close(model[0].weight.grad, by_hand.grad_W1)  # type: ignore[attr-defined]
    assert run.grad_X.shape == case.X.shape
    assert_close(run.grad_X, by_hand.grad_X)


# ---------------------------------------------------------------------------------------------
# Finite differences, on drawn networks
# ---------------------------------------------------------------------------------------------


@given(data=st.data())
def test_drawn_networks_pass_check_gradients(data: st.DataObject) -> None:
    model = data.draw(nst.two_layer_networks(), label="model")
    x = data.draw(nst.inputs(model[0].in_features), label="x")  # type: ignore[attr-defined]
    before = {name: p.data.copy() for name, p in model.named_parameters()}

    report = check_gradients(model, x)

    assert report.passed
    assert [t.name for t in report.tensors] == ["input", "0.weight", "3.weight"]
    for name, parameter in model.named_parameters():  # the check works on a copy
        np.testing.assert_array_equal(parameter.data, before[name])
        np.testing.assert_array_equal(parameter.grad, 0.0)


@given(data=st.data())
def test_mse_loss_on_drawn_network_outputs_passes_check_gradients(data: st.DataObject) -> None:
    model = data.draw(nst.two_layer_networks(), label="model")
    x = data.draw(nst.inputs(model[0].in_features), label="x")  # type: ignore[attr-defined]
    y_hat = model(x)
    target = data.draw(
        hnp.arrays(
            np.float64,
            y_hat.shape,
            elements=st.floats(min_value=0.0, max_value=1.0, allow_subnormal=False),
        ),
        label="Y",
    )

    report = check_gradients(nl.MSELoss(), y_hat, target)

    assert report.passed
    assert [t.name for t in report.tensors] == ["prediction"]
    assert report["prediction"].shape == y_hat.shape
