"""The gradient checker must fail on wrong backward passes, and only on those.

Each broken layer below is a correct layer with one deliberate mistake in ``backward``. Every test
here shows that ``check_gradients`` or ``check_layer`` raises AssertionError on it (or, where the
mistake is invisible by construction, that it does not, so the catching cases are not vacuous).
The last section is the other side: correct layers with kinks (ReLU, |x|) must never fail, even with
inputs exactly at the kink or within a finite-difference step of it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nnlite as nl
from nnlite.testing import check_gradients, check_layer
from nnlite.testing import strategies as nst

# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------


SMALL: dict[str, Any] = {"max_features": 3, "max_batch": 3}
"""check_layer bounds for the bug-finding tests: big enough to show every bug here (n, N >= 2),
small enough that shrinking a failing example is quick."""


def normal(shape: tuple[int, ...], seed: int) -> nl.FloatArray:
    """Standard normal values from a seeded generator."""
    return np.random.default_rng(seed).standard_normal(shape)


def worst_of(message: str) -> tuple[tuple[int, ...], float, float]:
    """(worst index, analytic, numeric) from the first failure described in ``message``."""
    match = re.search(r"worst at index \(([^)]*)\): analytic ([^,\s]+), numeric ([^,\s]+)", message)
    assert match is not None, message
    index = tuple(int(part) for part in match.group(1).split(",") if part.strip())
    return index, float(match.group(2)), float(match.group(3))


# --------------------------------------------------------------------------------------------------
# Correct layers with kinks, written out here independently of nnlite's own ReLU and LeakyReLU,
# used by the broken ones and by the last section.
# --------------------------------------------------------------------------------------------------


class ReLU(nl.Layer):
    """y = max(x, 0); subgradient 0 at x = 0."""

    def forward(self, x: nl.FloatArray) -> nl.FloatArray:
        self.x = x
        return np.maximum(x, 0.0)

    def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        return grad_y * (self.x > 0)


class ReLUOneAtZero(ReLU):
    """ReLU with the other subgradient convention: 1 at x = 0."""

    def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        return grad_y * (self.x >= 0)


class Abs(nl.Layer):
    """y = |x|; subgradient sign(0) = 0 at x = 0."""

    def forward(self, x: nl.FloatArray) -> nl.FloatArray:
        self.x = x
        return np.abs(x)

    def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        return grad_y * np.sign(self.x)


class LeakyReLU(nl.Layer):
    """y = x for x > 0, 0.01 x otherwise."""

    slope = 0.01

    def forward(self, x: nl.FloatArray) -> nl.FloatArray:
        self.x = x
        return np.where(x > 0, x, self.slope * x)

    def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        return grad_y * np.where(self.x > 0, 1.0, self.slope).astype(grad_y.dtype)


# --------------------------------------------------------------------------------------------------
# Broken layers: each overrides only backward.
# --------------------------------------------------------------------------------------------------


class IgnoresGradY(nl.Linear):
    """Backward uses ones instead of the upstream gradient grad_y."""

    def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        return super().backward(np.ones_like(grad_y))


class TransposedWeightGrad(nl.Linear):
    """dL/dW is transposed: (x^T grad_y)^T (shapes only agree on a square layer)."""

    def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        self.weight.grad += (self.x.T @ grad_y).T
        self.bias.grad += grad_y.sum(axis=0)  # type: ignore[union-attr]
        return grad_y @ self.weight.data.T


class TransposedInputGrad(nl.Linear):
    """dL/dx uses W instead of W^T (shapes only agree on a square layer)."""

    def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        self.weight.grad += self.x.T @ grad_y
        self.bias.grad += grad_y.sum(axis=0)  # type: ignore[union-attr]
        return grad_y @ self.weight.data


class BiasMeanNotSum(nl.Linear):
    """dL/db averages grad_y over the batch instead of summing it (right only when N = 1)."""

    def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        self.weight.grad += self.x.T @ grad_y
        self.bias.grad += grad_y.mean(axis=0)  # type: ignore[union-attr]
        return grad_y @ self.weight.data.T


class WeightFromFirstRow(nl.Linear):
    """dL/dW uses only the first sample of the batch (right only when N = 1)."""

    def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        self.weight.grad += self.x[:1].T @ grad_y[:1]
        self.bias.grad += grad_y.sum(axis=0)  # type: ignore[union-attr]
        return grad_y @ self.weight.data.T


class AbsWithoutSign(Abs):
    """d|x|/dx taken as 1 everywhere: the sign is forgotten (right only for x >= 0)."""

    def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        return grad_y.copy()


class LeakyReLUWrongSlope(LeakyReLU):
    """Backward uses slope 0.1 for x <= 0 where forward uses 0.01."""

    def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        return grad_y * np.where(self.x > 0, 1.0, 0.1).astype(grad_y.dtype)


class InputGradScaled(nl.Linear):
    """dL/dx off by a relative ``rel``: too large for rel > 0, too small below."""

    rel = 1e-6

    def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        return super().backward(grad_y) * (1 + self.rel)


class WeightGradScaled(nl.Linear):
    """dL/dW off by a relative ``rel``: too large for rel > 0, too small below."""

    rel = 1e-6

    def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        self.weight.grad += self.rel * (self.x.T @ grad_y)
        return super().backward(grad_y)


class BiasGradScaled(nl.Linear):
    """dL/db off by a relative ``rel``: too large for rel > 0, too small below."""

    rel = 1e-6

    def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        self.bias.grad += self.rel * grad_y.sum(axis=0)  # type: ignore[union-attr]
        return super().backward(grad_y)


class SigmoidScaled(nl.Sigmoid):
    """Sigmoid's dL/dx off by a relative ``rel``: too large for rel > 0, too small below."""

    rel = 1e-6

    def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        return super().backward(grad_y) * (1 + self.rel)


class MSELossScaled(nl.MSELoss):
    """MSELoss's dL/dprediction off by a relative ``rel``: too large for rel > 0."""

    rel = 1e-6

    def backward(self) -> nl.FloatArray:
        return super().backward() * (1 + self.rel)


class ScaleWithWrongParameterHalf(nl.Layer):
    """y = s x: backward is right, but backward_parameters, which training uses, forgets the x."""

    def __init__(self) -> None:
        self.s = nl.Parameter([1.5])

    def forward(self, x: nl.FloatArray) -> nl.FloatArray:
        self.x = x
        return self.s.data * x

    def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        self.s.grad += np.sum(grad_y * self.x)
        return self.s.data * grad_y

    def backward_parameters(self, grad_y: nl.FloatArray) -> None:
        self.s.grad += np.sum(grad_y)


# --------------------------------------------------------------------------------------------------
# A backward_parameters that disagrees with a correct backward
# --------------------------------------------------------------------------------------------------


def test_a_backward_parameters_that_disagrees_with_backward_is_caught() -> None:
    x = np.full((4, 3), 2.0)
    message = r"backward_parameters does not add the gradient backward adds for parameter 's'"
    with pytest.raises(AssertionError, match=message):
        check_gradients(ScaleWithWrongParameterHalf(), x)
    with pytest.raises(AssertionError, match=message.replace("'s'", "'0.s'")):
        check_gradients(nl.Sequential(ScaleWithWrongParameterHalf(), nl.Sigmoid()), x)
    with pytest.raises(AssertionError, match="backward_parameters"):
        check_layer(lambda n: ScaleWithWrongParameterHalf(), checks="gradients")


# --------------------------------------------------------------------------------------------------
# A backward that ignores grad_y
# --------------------------------------------------------------------------------------------------


@given(x=nst.inputs(3))
def test_ignoring_grad_y_is_caught(x: nl.FloatArray) -> None:
    """With the default random grad_y, dL/db = N (a sum of ones) is wrong for every input."""
    with pytest.raises(AssertionError, match="gradient of the parameter 'bias' is wrong"):
        check_gradients(IgnoresGradY(3, 2, rng=0), x)


def test_ignoring_grad_y_names_every_wrong_tensor() -> None:
    with pytest.raises(AssertionError) as caught:
        check_gradients(IgnoresGradY(3, 2, rng=0), normal((4, 3), seed=1))
    message = str(caught.value)
    assert "gradient of the input is wrong" in message
    assert "gradient of the parameter 'weight' is wrong" in message
    assert "gradient of the parameter 'bias' is wrong" in message


def test_check_layer_catches_ignoring_grad_y() -> None:
    with pytest.raises(AssertionError, match="gradient of the parameter 'bias' is wrong"):
        check_layer(lambda n: IgnoresGradY(n, 2, rng=0), **SMALL, checks="gradients")


def test_ignoring_grad_y_is_invisible_with_grad_y_of_ones() -> None:
    """Why the default upstream gradient is random: with ones the same bug passes."""
    x = normal((4, 3), seed=1)
    report = check_gradients(IgnoresGradY(3, 2, rng=0), x, grad_y=np.ones((4, 2)))
    assert report.passed


# --------------------------------------------------------------------------------------------------
# Transposes on a square layer
# --------------------------------------------------------------------------------------------------


@given(seed=nst.seeds())
def test_transposed_weight_gradient_is_caught(seed: int) -> None:
    """x and grad_y from different seeds: with x == grad_y, x^T grad_y is symmetric."""
    x = normal((4, 3), seed)
    with pytest.raises(AssertionError, match="gradient of the parameter 'weight' is wrong"):
        check_gradients(TransposedWeightGrad(3, 3, rng=0), x, rng=seed + 1)


@given(seed=nst.seeds())
def test_transposed_input_gradient_is_caught(seed: int) -> None:
    with pytest.raises(AssertionError, match="gradient of the input is wrong"):
        check_gradients(TransposedInputGrad(3, 3, rng=0), normal((4, 3), seed))


@pytest.mark.parametrize("broken", [TransposedWeightGrad, TransposedInputGrad])
def test_check_layer_catches_transposes(broken: type[nl.Linear]) -> None:
    """check_layer must find a width n >= 2 (at n = 1 a transpose changes nothing)."""
    with pytest.raises(AssertionError, match="is wrong"):
        check_layer(lambda n: broken(n, n, rng=0), **SMALL, checks="gradients")


# --------------------------------------------------------------------------------------------------
# A wrong reduction over the batch: invisible at N = 1, caught at N > 1
# --------------------------------------------------------------------------------------------------

BATCH_BUGS = [(BiasMeanNotSum, "bias"), (WeightFromFirstRow, "weight")]


@pytest.mark.parametrize(("broken", "_name"), BATCH_BUGS)
@given(x=nst.arrays((1, 3)), grad_y=nst.arrays((1, 2)))
def test_batch_reduction_bug_passes_at_one_sample(
    broken: type[nl.Linear], _name: str, x: nl.FloatArray, grad_y: nl.FloatArray
) -> None:
    """At N = 1 the wrong reduction computes the right numbers: the bug is really invisible."""
    assert check_gradients(broken(3, 2, rng=0), x, grad_y=grad_y).passed


@given(x=nst.arrays(st.tuples(st.integers(min_value=2, max_value=5), st.just(3))))
def test_bias_mean_instead_of_sum_is_caught_for_every_batch_of_two_or_more(
    x: nl.FloatArray,
) -> None:
    with pytest.raises(AssertionError, match="gradient of the parameter 'bias' is wrong"):
        check_gradients(BiasMeanNotSum(3, 2, rng=0), x)


@pytest.mark.parametrize("n_samples", [2, 3, 5])
def test_weight_from_first_row_is_caught_at_batch_of_two_or_more(n_samples: int) -> None:
    with pytest.raises(AssertionError, match="gradient of the parameter 'weight' is wrong"):
        check_gradients(WeightFromFirstRow(3, 2, rng=0), normal((n_samples, 3), seed=n_samples))


@pytest.mark.parametrize(("broken", "name"), BATCH_BUGS)
def test_check_layer_catches_batch_reduction_bugs(broken: type[nl.Linear], name: str) -> None:
    """check_layer draws N from 1 up, so it reaches the batches where the bug shows."""
    with pytest.raises(AssertionError, match=f"gradient of the parameter '{name}' is wrong"):
        check_layer(lambda n: broken(n, 2, rng=0), **SMALL, checks="gradients")


# --------------------------------------------------------------------------------------------------
# A bug that only shows on negative inputs
# --------------------------------------------------------------------------------------------------

NEGATIVE_SIDE_BUGS = [AbsWithoutSign, LeakyReLUWrongSlope]
non_negative_inputs = nst.arrays(nst.batch_shapes()).map(np.abs)  # zeros and tiny values included
negative_inputs = nst.arrays(nst.batch_shapes()).map(lambda a: -np.abs(a) - 1e-3)


@pytest.mark.parametrize("broken", NEGATIVE_SIDE_BUGS)
@given(x=non_negative_inputs)
def test_negative_side_bug_passes_on_non_negative_inputs(
    broken: type[nl.Layer], x: nl.FloatArray
) -> None:
    assert check_gradients(broken(), x).passed


@pytest.mark.parametrize("broken", NEGATIVE_SIDE_BUGS)
@given(x=negative_inputs)
def test_negative_side_bug_is_caught_on_negative_inputs(
    broken: type[nl.Layer], x: nl.FloatArray
) -> None:
    with pytest.raises(AssertionError, match="gradient of the input is wrong"):
        check_gradients(broken(), x)


@pytest.mark.parametrize("broken", NEGATIVE_SIDE_BUGS)
def test_check_layer_catches_negative_side_bugs(broken: type[nl.Layer]) -> None:
    # At x = 0 the per-element interval accepts slope 1, so the shrunk example may be a joint move
    with pytest.raises(AssertionError, match=r"gradient of the input is wrong|along random dir"):
        check_layer(lambda n: broken(), **SMALL, checks="gradients")


# --------------------------------------------------------------------------------------------------
# Scale errors of a relative 1e-6 and 1e-7, in float64
# --------------------------------------------------------------------------------------------------

SCALED_LAYERS: list[tuple[type[nl.Layer], Callable[[], nl.Layer], str]] = [
    (InputGradScaled, lambda: InputGradScaled(3, 2, rng=0), "input"),
    (WeightGradScaled, lambda: WeightGradScaled(3, 2, rng=0), "parameter 'weight'"),
    (BiasGradScaled, lambda: BiasGradScaled(3, 2, rng=0), "parameter 'bias'"),
    (SigmoidScaled, SigmoidScaled, "input"),
]


@pytest.mark.parametrize("rel", [1e-6, 1e-7, -1e-7])
@pytest.mark.parametrize(
    ("make", "what"),
    [(make, what) for _, make, what in SCALED_LAYERS],
    ids=[cls.__name__ for cls, _, _ in SCALED_LAYERS],
)
@given(seed=nst.seeds())
def test_relative_scale_error_is_caught(
    make: Callable[[], nl.Layer], what: str, rel: float, seed: int
) -> None:
    """A backward off by a relative 1e-6 or 1e-7 fails, on inputs uniform in [-6, 6]. Too small
    fails too: the true gradient lies between the one-sided estimates and the central one, and
    an interval that is too wide on one side (a one-sided estimate divided by 3h, not 2h, is 2/3
    of the truth) would let through every gradient scaled down, 0.7 times the truth among them.

    (Beyond that a saturated sigmoid's derivative, below 2.5e-3, approaches the rounding noise of
    its output near 1, and a 1e-7 relative error there is no longer measurable.)
    """
    layer = make()
    layer.rel = rel  # type: ignore[attr-defined]
    x = np.random.default_rng(seed).uniform(-6, 6, (4, 3))
    with pytest.raises(AssertionError, match=f"gradient of the {what} is wrong"):
        check_gradients(layer, x)


@pytest.mark.parametrize("rel", [1e-6, 1e-7])
@given(seed=nst.seeds())
def test_relative_scale_error_of_mse_loss_is_caught(rel: float, seed: int) -> None:
    loss = MSELossScaled()
    loss.rel = rel
    prediction, target = normal((4, 3), seed), normal((4, 3), seed + 1)
    with pytest.raises(AssertionError, match="gradient of the prediction is wrong"):
        check_gradients(loss, prediction, target)


@pytest.mark.parametrize("rel", [1e-6, 1e-7, -1e-7, -0.3])
def test_relative_scale_error_deep_in_a_network_is_caught(rel: float) -> None:
    """A 1e-6 or 1e-7 error in the weight gradient of layer 3 of a network is caught, and so is
    one that makes it too small (0.7 times the truth)."""
    broken = WeightGradScaled(5, 2, bias=False, rng=1)
    broken.rel = rel
    model = nl.Sequential(nl.Linear(3, 4, bias=False, rng=0), nl.Sigmoid(), nl.BiasAppend(), broken)
    with pytest.raises(
        AssertionError, match=re.escape("gradient of the parameter '3.weight' is wrong")
    ):
        check_gradients(model, normal((4, 3), seed=2))


# --------------------------------------------------------------------------------------------------
# The failure message says what is wrong, where, and by how much
# --------------------------------------------------------------------------------------------------


def test_message_for_the_input() -> None:
    """Only dL/dx[0, 2] is nonzero (1), and the broken backward doubles it to 2."""
    layer = InputGradScaled(3, 2, rng=0)
    layer.rel = 1.0
    layer.weight.data[...] = [[0.0, 0.0], [0.0, 0.0], [0.0, 2.0]]
    with pytest.raises(AssertionError) as caught:
        check_gradients(layer, np.ones((1, 3)), grad_y=np.array([[0.0, 0.5]]))
    message = str(caught.value)
    assert "gradient of the input is wrong: 1 of 3 elements differ" in message
    assert "worst at index (0, 2): analytic 2, numeric 1\n" in message
    assert "parameter 'weight' is wrong" not in message
    assert "parameter 'bias' is wrong" not in message


def test_message_for_the_weight() -> None:
    """Only dL/dW[2, 1] = x[0, 2] grad_y[0, 1] = 0.5 is nonzero; the broken backward doubles it."""
    layer = WeightGradScaled(3, 2, rng=0)
    layer.rel = 1.0
    with pytest.raises(AssertionError) as caught:
        check_gradients(layer, np.array([[0.0, 0.0, 1.0]]), grad_y=np.array([[0.0, 0.5]]))
    message = str(caught.value)
    assert "gradient of the parameter 'weight' is wrong: 1 of 6 elements differ" in message
    assert "worst at index (2, 1): analytic 1, numeric 0.5\n" in message
    assert "gradient of the input is wrong" not in message
    assert "parameter 'bias' is wrong" not in message


def test_message_for_the_bias() -> None:
    layer = BiasGradScaled(3, 2, rng=0)
    layer.rel = 1.0
    with pytest.raises(
        AssertionError,
        match=re.escape(
            "gradient of the parameter 'bias' is wrong: 1 of 2 elements differ from finite "
            "differences\n  worst at index (1,): analytic 1, numeric 0.5\n"
        ),
    ):
        check_gradients(layer, np.ones((1, 3)), grad_y=np.array([[0.0, 0.5]]))


def test_message_names_the_parameter_path_inside_a_sequential() -> None:
    """A bug in layer 3 is reported as '3.weight'; the input and '0.weight' are not blamed."""
    broken = WeightGradScaled(5, 1, bias=False, rng=1)
    broken.rel = 1.0
    model = nl.Sequential(
        nl.Linear(3, 4, bias=False, rng=0), nl.Sigmoid(), nl.BiasAppend(), broken, nl.Sigmoid()
    )
    with pytest.raises(AssertionError) as caught:
        check_gradients(model, normal((4, 3), seed=3))
    message = str(caught.value)
    assert "gradient of the parameter '3.weight' is wrong: 5 of 5 elements differ" in message
    assert "'0.weight' is wrong" not in message
    assert "gradient of the input is wrong" not in message
    assert re.search(r"\n  3\.weight +\(5, 1\) .*FAILED \(5 elements\)", message), message


def test_message_for_a_loss_names_the_prediction() -> None:
    loss = MSELossScaled()
    loss.rel = 1.0
    prediction, target = np.array([[3.0], [1.0]]), np.array([[1.0], [1.0]])  # dL/dpred = [1, 0]
    with pytest.raises(
        AssertionError,
        match=re.escape("gradient of the prediction is wrong: 1 of 2 elements differ"),
    ) as caught:
        check_gradients(loss, prediction, target)
    assert worst_of(str(caught.value)) == ((0, 0), 2.0, 1.0)


@pytest.mark.parametrize(
    ("broken", "name"),
    [(InputGradScaled, "input"), (WeightGradScaled, "weight"), (BiasGradScaled, "bias")],
)
@given(seed=nst.seeds())
def test_message_reports_the_analytic_and_numeric_values_at_the_worst_index(
    broken: type[nl.Linear], name: str, seed: int
) -> None:
    """Parsed from the message: the worst index holds the broken and the true gradient values."""
    layer = broken(3, 2, rng=0)
    layer.rel = 0.5  # type: ignore[attr-defined]
    x, grad_y = normal((4, 3), seed), normal((4, 2), seed + 1)
    w = layer.weight.data
    true = {"input": grad_y @ w.T, "weight": x.T @ grad_y, "bias": grad_y.sum(axis=0)}[name]
    with pytest.raises(AssertionError) as caught:
        check_gradients(layer, x, grad_y=grad_y)
    index, analytic, numeric = worst_of(str(caught.value))
    assert len(index) == true.ndim
    assert analytic == pytest.approx(1.5 * true[index], rel=1e-9)
    assert numeric == pytest.approx(true[index], rel=1e-8, abs=1e-12)


# --------------------------------------------------------------------------------------------------
# Correct layers with kinks never fail
# --------------------------------------------------------------------------------------------------

STEP = 2.0**-13  # the finite-difference step for |v| <= 1 in float64 (eps^(1/4), a power of two)
NEAR_KINK = [0.0, 1e-9, 6e-5, 1.2e-4, STEP, 2.4e-4, 2 * STEP, 3e-4, 1e-3]
KINK_INPUTS = np.array([NEAR_KINK + [-v for v in NEAR_KINK]])  # (1, 18): both sides of the kink
KINKED_LAYERS = [ReLU, ReLUOneAtZero, Abs, LeakyReLU]


@pytest.mark.parametrize("layer_class", KINKED_LAYERS)
@given(grad_y=nst.arrays(KINK_INPUTS.shape))
def test_correct_kinked_layer_passes_at_and_near_the_kink(
    layer_class: type[nl.Layer], grad_y: nl.FloatArray
) -> None:
    """Inputs at 0, and at and around one and two steps from 0 (where x +- h, x +- 2h cross 0)."""
    report = check_gradients(layer_class(), KINK_INPUTS, grad_y=grad_y)
    assert report.passed
    assert report["input"].n_failed == 0


@pytest.mark.parametrize("layer_class", KINKED_LAYERS)
@given(seed=nst.seeds())
def test_correct_kinked_layer_passes_near_the_kink_with_the_default_grad_y(
    layer_class: type[nl.Layer], seed: int
) -> None:
    report = check_gradients(layer_class(), KINK_INPUTS.reshape(3, 6), rng=seed)
    assert report.passed


@pytest.mark.parametrize("layer_class", KINKED_LAYERS)
def test_correct_kinked_layer_passes_check_layer(layer_class: type[nl.Layer]) -> None:
    check_layer(lambda n: layer_class())  # raises AssertionError on any failing example
