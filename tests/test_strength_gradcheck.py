"""check_gradients' own arithmetic, pinned where mutation testing found it unpinned.

Each test fails on a named change to ``nnlite/testing/gradcheck.py`` that the rest of the suite let
pass: the one-sided estimates divided by 3h instead of 2h (then a gradient at 0.7 times the truth
passes), and the branch for a tensor with no elements (which no other test reached).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence

import numpy as np
import pytest

import nnlite as nl
from nnlite.testing import _compare, _estimate, check_gradients, checks, gradcheck
from nnlite.testing._estimate import DirectionalEstimate, directional_estimate
from nnlite.testing.gradcheck import TensorCheck, upstream_generator

X = np.array([[0.1, 0.5, -0.9], [1.3, -0.2, 0.7]])


class ScaledSine(nl.Layer):
    """y = sin(x), with backward's dL/dx multiplied by ``factor`` (1: correct)."""

    def __init__(self, factor: float = 1.0) -> None:
        super().__init__()
        self.factor = factor

    def forward(self, x: nl.FloatArray) -> nl.FloatArray:
        self.x = x
        return np.sin(x)

    def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        return self.factor * np.cos(self.x) * grad_y

    def get_config(self) -> dict[str, float]:
        return {"factor": self.factor}


def test_the_correct_sine_passes() -> None:
    """The control: the catching tests below fail for the factor, not for the layer."""
    assert check_gradients(ScaledSine(), X).passed


@pytest.mark.parametrize("factor", [0.7, 0.9, 1 - 1e-5, 1 + 1e-5, 1.1, 1.3])
def test_a_gradient_off_by_a_factor_is_caught(factor: float) -> None:
    """Too small or too large, by 30% or by a relative 1e-5: each one fails."""
    with pytest.raises(AssertionError, match="gradient of the input is wrong"):
        check_gradients(ScaledSine(factor), X)


def sine_along(direction: nl.FloatArray, x: nl.FloatArray) -> Callable[[float], nl.FloatArray]:
    return lambda t: np.sin(x + t * direction)


def test_every_estimate_of_a_smooth_slope_is_the_slope() -> None:
    """R, F and B each agree with the slope: R to 1e-9, F and B to their truncation error.

    d/dt sum(w * sin(x + t d)) at t = 0 is sum(w cos(x) d), the reference (closed form). The
    one-sided differences are second order, off by h^2 f'''(0) / 3: two thirds of the measured
    truncation error |D(h) - D(2h)| = h^2 f'''(0) / 2.
    """
    rng = np.random.default_rng(3)
    x, d, w = (rng.standard_normal(5) for _ in range(3))
    slope = float(np.sum(w * np.cos(x) * d))
    estimate = directional_estimate(sine_along(d, x), w, condition=0.0, slope_magnitude=0.0)
    assert estimate.value == pytest.approx(slope, rel=1e-9)
    assert 0 < estimate.truncation < 1e-6 * abs(slope)
    assert estimate.low < estimate.high  # F and B differ here: both are compared
    for one_sided in (estimate.low, estimate.high):
        assert abs(one_sided - slope) <= estimate.truncation
    assert estimate.smooth
    # The tolerance is a finite-difference error, far below a relative 1e-6 of the slope.
    assert 0 < estimate.tolerance < 1e-6 * abs(slope)
    assert estimate.accepts(slope)
    assert not estimate.accepts(slope * (1 + 1e-5))
    assert not estimate.accepts(slope * (1 - 1e-5))


@pytest.mark.parametrize(
    ("f", "left", "right"),
    [(abs, -1.0, 1.0), (lambda t: max(t, 0.0), 0.0, 1.0), (lambda t: max(-2 * t, 0.0), -2.0, 0.0)],
)
def test_at_a_kink_the_one_sided_estimates_are_the_one_sided_slopes(
    f, left: float, right: float
) -> None:
    """At a kink F and B are the two one-sided slopes, exactly (the stencil's points are exact)."""
    estimate = directional_estimate(
        lambda t: np.array([f(t)]), np.ones(1), condition=0.0, slope_magnitude=0.0
    )
    assert (estimate.low, estimate.high) == (left, right)
    assert estimate.value == pytest.approx((left + right) / 2, abs=1e-12)
    assert not estimate.smooth
    assert estimate.accepts(left)
    assert estimate.accepts(right)


def test_a_batch_of_no_rows_is_checked_and_passes() -> None:
    """Zero rows: the input's gradient has no elements, and its check is all zeros.

    The parameters' gradients, sums over no rows, are zero and checked as zero.
    """
    layer = nl.Linear(3, 2, rng=0)
    report = check_gradients(layer, np.empty((0, 3)))
    assert report["input"] == TensorCheck("input", (0, 3), 0.0, 0.0, (), 0.0, 0.0, 0.0, 0, 0.0)
    assert report.passed
    for name in ("weight", "bias"):
        check = report[name]
        assert check.passed
        assert (check.analytic, check.numeric, check.max_abs_error) == (0.0, 0.0, 0.0)


class DoubleWithEmptyParameter(nl.Layer):
    """y = 2 x, holding a parameter of no elements; backward's dL/dx is 2 times ``factor``."""

    def __init__(self, factor: float = 1.0) -> None:
        super().__init__()
        self.factor = factor
        self.unused = nl.Parameter(np.zeros((0,)))

    def forward(self, x: nl.FloatArray) -> nl.FloatArray:
        return 2 * x

    def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        return 2 * self.factor * grad_y

    def get_config(self) -> dict[str, float]:
        return {"factor": self.factor}


def test_a_parameter_with_no_elements_passes_with_zeros() -> None:
    report = check_gradients(DoubleWithEmptyParameter(), X)
    assert report["unused"] == TensorCheck("unused", (0,), 0.0, 0.0, (), 0.0, 0.0, 0.0, 0, 0.0)
    assert report.passed


def test_a_parameter_with_no_elements_hides_no_failure() -> None:
    """The wrong input gradient fails, and the failure names the input alone."""
    with pytest.raises(AssertionError, match="gradient of the input is wrong") as caught:
        check_gradients(DoubleWithEmptyParameter(factor=1.01), X)
    failures = str(caught.value).split("\n\n")[0]
    assert "unused" not in failures


# --- What the reports say: the wording is the interface a failing test shows its reader. ---


def test_a_failure_is_described_with_the_values_and_the_tolerance() -> None:
    """Written by hand: error |0.5 - 0.25| = 0.25, relative 0.25 / max(0.5, 0.25) = 0.5."""
    check = TensorCheck("0.weight", (2, 3), 0.25, 0.5, (1, 2), 0.5, 0.25, 1e-3, 2, 250.0)
    assert check.describe_failure() == (
        "gradient of the parameter '0.weight' is wrong: 2 of 6 elements differ from finite "
        "differences\n"
        "  worst at index (1, 2): analytic 0.5, numeric 0.25\n"
        "  error 0.25 (relative 0.5), allowed 0.001 (the estimated finite-difference error)"
    )


@pytest.mark.parametrize(("name", "what"), [("input", "input"), ("prediction", "prediction")])
def test_a_failure_names_the_input_or_the_prediction(name: str, what: str) -> None:
    """Both values 0: the relative error is 0, not a division by zero."""
    check = TensorCheck(name, (4,), 0.0, 0.0, (3,), 0.0, 0.0, 0.0, 1, 0.0)
    assert check.describe_failure() == (
        f"gradient of the {what} is wrong: 1 of 4 elements differ from finite differences\n"
        "  worst at index (3,): analytic 0, numeric 0\n"
        "  error 0 (relative 0), allowed 0 (the estimated finite-difference error)"
    )


def test_a_report_prints_as_a_table() -> None:
    """Columns padded to the longest name (at least "tensor"), a failing row marked."""
    passing = TensorCheck("input", (2, 3), 1e-9, 2e-8, (0, 0), 1.0, 1.0, 1e-6, 0, 0.5)
    failing = TensorCheck("0.weight", (3,), 0.25, 0.5, (1,), 0.5, 0.25, 1e-3, 2, 250.0)
    report = nl.testing.GradientReport("Sequential", (passing, failing))
    assert str(report) == (
        "gradient check of Sequential: FAILED\n"
        "  tensor    shape         max abs err  max rel err  err/allowed\n"
        "  input     (2, 3)           1.00e-09     2.00e-08      5.0e-01\n"
        "  0.weight  (3,)             2.50e-01     5.00e-01      2.5e+02  FAILED (2 elements)"
    )
    short = nl.testing.GradientReport("Sigmoid", (passing,))
    assert str(short) == (
        "gradient check of Sigmoid: passed\n"
        "  tensor  shape         max abs err  max rel err  err/allowed\n"
        "  input   (2, 3)           1.00e-09     2.00e-08      5.0e-01"
    )


def test_an_interval_accepts_its_ends_and_nothing_beyond() -> None:
    """[low - tolerance, high + tolerance] = [0.5, 2.5], closed; exact binary values."""
    estimate = DirectionalEstimate(1.5, 1.0, 2.0, 0.5, 0.0, 0.0)
    assert estimate.accepts(0.5)
    assert estimate.accepts(2.5)
    assert not estimate.accepts(np.nextafter(0.5, 0.0))
    assert not estimate.accepts(np.nextafter(2.5, 3.0))
    assert not estimate.accepts(float("nan"))


# --- A loss: its checks name the loss and the array, and leave the loss as it was. ---


@pytest.mark.parametrize("role", ["prediction", "target"])
def test_a_loss_given_text_names_itself_and_the_array(role: str) -> None:
    arrays = {"prediction": np.zeros((2, 1)), "target": np.zeros((2, 1))}
    arrays[role] = "text"  # type: ignore[assignment]
    with pytest.raises(TypeError, match=rf"^MSELoss\(\) expects {role} as a float32/float64 array"):
        check_gradients(nl.MSELoss(), arrays["prediction"], arrays["target"])


@pytest.mark.parametrize("role", ["prediction", "target"])
def test_a_loss_given_nan_names_the_checker_and_the_array(role: str) -> None:
    arrays = {"prediction": np.zeros((2, 1)), "target": np.zeros((2, 1))}
    arrays[role][1, 0] = np.nan
    with pytest.raises(
        ValueError,
        match=rf"^check_gradients\(MSELoss\(\)\): the {role} holds nan at index \(1, 0\) \(1 "
        "non-finite element\\): gradients can only be checked at finite values$",
    ):
        check_gradients(nl.MSELoss(), arrays["prediction"], arrays["target"])


class BrokenLoss(nl.Loss):
    """L = sum(sqrt(y)) (not finite for y < 0), or its backward not finite, as ``mistake`` says.

    It also counts its calls in a list, to show that the checker works on a copy.
    """

    def __init__(self, mistake: str = "") -> None:
        self.mistake = mistake
        self.calls: list[int] = []

    def forward(self, prediction: nl.FloatArray, target: nl.FloatArray) -> float:
        self.calls.append(1)
        self.y = prediction
        with np.errstate(invalid="ignore"):
            value = float(np.sum(np.sqrt(prediction)))
        return math.nan if self.mistake == "value" else value

    def backward(self) -> nl.FloatArray:
        grad = 0.5 / np.sqrt(self.y)
        return grad * np.nan if self.mistake == "backward" else grad


@pytest.mark.parametrize(
    ("mistake", "prediction", "what"),
    [
        ("value", 1.0, "the loss"),
        ("backward", 1.0, "backward's gradient of the prediction"),
        ("", 1e-9, "the finite-difference estimate of the prediction"),
    ],
)
def test_a_loss_that_is_not_finite_is_named_with_the_array(
    mistake: str, prediction: float, what: str
) -> None:
    """sqrt near 1e-9: the stencil (h = 2^-13) reaches below 0, where the loss is NaN."""
    with pytest.raises(AssertionError, match=rf"^BrokenLoss\(\): {what} is not finite"):
        check_gradients(BrokenLoss(mistake), np.full((2, 1), prediction), np.zeros((2, 1)))


def test_a_loss_is_checked_on_a_copy() -> None:
    loss = BrokenLoss()
    check_gradients(loss, np.ones((2, 1)), np.zeros((2, 1)))
    assert loss.calls == []


@pytest.mark.parametrize("target", [1e4, 1e6, 1e8])
def test_a_correct_loss_far_from_a_large_target_passes(target: float) -> None:
    """The target is an input of the loss too: L = (t - y)^2 / 2N rounds like t^2, and the
    tolerance must count the target's share of that rounding (the condition of L in t), or a
    correct MSELoss fails."""
    prediction = np.array([[0.1], [-0.3], [0.2]])
    assert check_gradients(nl.MSELoss(), prediction, np.full((3, 1), target)).passed


# --- backward_parameters must add what backward adds, to rounding. ---


class SkewedLinear(nl.Linear):
    """A Linear whose backward_parameters adds dL/dW[1, 0] times (1 + ``skew``); backward is right
    (Linear.backward calls Linear's own backward_parameters)."""

    def __init__(self, skew: float) -> None:
        super().__init__(3, 2, rng=0)
        self.skew = skew

    def backward_parameters(self, grad_y: nl.FloatArray) -> None:
        before = self.weight.grad.copy()
        nl.Linear.backward_parameters(self, grad_y)
        self.weight.grad[1, 0] += self.skew * (self.weight.grad[1, 0] - before[1, 0])

    def get_config(self) -> dict[str, float]:
        return {"skew": self.skew}


@pytest.mark.parametrize("scale", [1.0, 1e-3])
def test_backward_parameters_off_by_a_relative_1e_6_is_caught(scale: float) -> None:
    """At any scale of the gradients: the tolerance is relative to them, not to 1."""
    x = scale * np.random.default_rng(4).standard_normal((4, 3))
    with pytest.raises(
        AssertionError,
        match=r"backward_parameters does not add the gradient backward adds for parameter "
        r"'weight'\n  worst at index \(1, 0\): backward ",
    ):
        check_gradients(SkewedLinear(1e-6), x)


@pytest.mark.parametrize("skew", [-1.0, 1.0])
def test_backward_parameters_that_adds_nothing_or_twice_is_caught(skew: float) -> None:
    """The message shows both values at the worst element: here got = (1 + skew) expected."""
    with pytest.raises(AssertionError, match="backward_parameters does not add") as caught:
        check_gradients(SkewedLinear(skew), np.random.default_rng(5).standard_normal((4, 3)))
    match = re.search(r"backward (\S+), backward_parameters (\S+)$", str(caught.value))
    assert match is not None
    expected, got = float(match.group(1)), float(match.group(2))
    assert expected != 0
    assert got == pytest.approx((1 + skew) * expected, rel=1e-9, abs=1e-12)


def test_backward_parameters_off_by_rounding_passes() -> None:
    """A relative 1e-12, rounding's size: the two are the layer's own arithmetic, differently
    ordered, and may differ by that much."""
    x = np.random.default_rng(6).standard_normal((4, 3))
    assert check_gradients(SkewedLinear(1e-12), x).passed


def test_a_seed_sequence_for_the_upstream_gradient_is_used_as_it_is() -> None:
    """Not as an int stream number, and not replaced by fresh entropy: the same SeedSequence
    gives the same draws as numpy's own generator of it."""
    drawn = upstream_generator(np.random.SeedSequence(7)).standard_normal(4)
    expected = np.random.default_rng(np.random.SeedSequence(7)).standard_normal(4)
    np.testing.assert_array_equal(drawn, expected)


class NaNGradient(nl.Linear):
    """A Linear whose backward returns a NaN dL/dx, or adds a NaN dL/dW, as ``where`` says."""

    def __init__(self, where: str) -> None:
        super().__init__(3, 2, rng=0)
        self.where = where

    def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        grad_x = nl.Linear.backward(self, grad_y)
        if self.where == "input":
            grad_x[0, 0] = np.nan
        else:
            self.weight.grad[0, 0] = np.nan
        return grad_x

    def get_config(self) -> dict[str, str]:
        return {"where": self.where}


@pytest.mark.parametrize(("where", "words"), [("input", "input"), ("weight", "parameter 'weight'")])
def test_a_gradient_that_is_not_finite_is_named(where: str, words: str) -> None:
    with pytest.raises(
        AssertionError, match=rf": backward's gradient of the {words} is not finite: nan at index"
    ):
        check_gradients(NaNGradient(where), X)


class ScaleWithOffsetParameterHalf(nl.Layer):
    """y = w * x (elementwise): backward is right; backward_parameters adds ``offset`` more."""

    def __init__(self, offset: list[float]) -> None:
        super().__init__()
        self.w = nl.Parameter([2.0, 3.0])
        self.offset = offset

    def forward(self, x: nl.FloatArray) -> nl.FloatArray:
        self.x = x
        return self.w.data * x

    def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        self.w.grad += np.sum(grad_y * self.x, axis=0)
        return self.w.data * grad_y

    def backward_parameters(self, grad_y: nl.FloatArray) -> None:
        self.w.grad += np.sum(grad_y * self.x, axis=0) + np.array(self.offset)

    def get_config(self) -> dict[str, list[float]]:
        return {"offset": self.offset}


def test_backward_parameters_reports_the_element_furthest_beyond_its_tolerance() -> None:
    """The worst element is the one that exceeds its own tolerance most, not the largest error.

    With x = [1e6, 1] and grad_y = 1, dL/dw = [1e6, 1]; each element may differ by sqrt(eps) of
    (its own size + the largest, 1e6): about 0.0298 for w[0] and 0.0149 for w[1]. Off by 0.05 and
    0.04, w[0] has the larger error but is 0.0202 beyond its tolerance, w[1] 0.0251: w[1] is the
    one reported, with both values.
    """
    layer = ScaleWithOffsetParameterHalf([0.05, 0.04])
    with pytest.raises(AssertionError) as caught:
        check_gradients(layer, np.array([[1e6, 1.0]]), grad_y=np.ones((1, 2)))
    assert str(caught.value) == (
        "check_gradients(ScaleWithOffsetParameterHalf(offset=[0.05, 0.04])) failed: "
        "backward_parameters does not add the gradient backward adds for parameter 'w'\n"
        "  worst at index (1,): backward 1, backward_parameters 1.04"
    )
    # The control: with no offset the same layer passes.
    assert check_gradients(
        ScaleWithOffsetParameterHalf([0.0, 0.0]), np.array([[1e6, 1.0]]), grad_y=np.ones((1, 2))
    ).passed


class WiderEachCall(nl.Layer):
    """y = x repeated once more along the features at each call: not a function of x alone."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def forward(self, x: nl.FloatArray) -> nl.FloatArray:
        self.calls += 1
        return np.tile(x, (1, self.calls))

    def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        return grad_y[:, :3]


def test_a_forward_whose_shape_changes_between_calls_is_named_with_both_shapes() -> None:
    """Two calls at X (2 x 3) return 2 x 3, then 2 x 6: the message says so, shapes and all."""
    with pytest.raises(AssertionError) as caught:
        check_gradients(WiderEachCall(), X)
    assert str(caught.value) == (
        "WiderEachCall(): forward is not deterministic: two calls at the same input returned "
        "shapes (2, 3) and (2, 6)"
    )


def test_a_loss_whose_target_cannot_move_is_checked_at_a_label_target() -> None:
    """BCELoss refuses a target moved outside [0, 1], so the estimates of dL/dtarget at labels
    0 and 1 are left out; dL/dprediction is still checked, and the right one passes."""
    prediction = np.array([[0.2], [0.7], [0.9]])
    target = np.array([[0.0], [1.0], [1.0]])
    report = check_gradients(nl.BCELoss(), prediction, target)
    assert report.passed
    assert [t.name for t in report.tensors] == ["prediction"]


class DriftsAfterTheFirstCall(nl.Layer):
    """y = ``scale`` everywhere at the first call; at later calls y[1, 2] is ``ulps`` units in the
    last place above it: a forward off by rounding, in one element."""

    def __init__(self, ulps: int, scale: float = 1.0) -> None:
        super().__init__()
        self.ulps = ulps
        self.scale = scale
        self.calls = 0

    def forward(self, x: nl.FloatArray) -> nl.FloatArray:
        self.calls += 1
        y = np.full_like(x, self.scale)
        if self.calls > 1:
            y[1, 2] += self.ulps * np.spacing(self.scale)
        return y

    def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        return np.zeros_like(grad_y)

    def get_config(self) -> dict[str, float]:
        return {"ulps": self.ulps, "scale": self.scale}


@pytest.mark.parametrize(
    ("scale", "moved"), [(1.0, "1.0000000000000038"), (0.5, "0.5000000000000019")]
)
def test_a_forward_may_differ_by_8_eps_of_its_scale_and_no_more(scale: float, moved: str) -> None:
    """y = s everywhere (s a power of two, whose unit in the last place is s eps), so an element
    may move by 8 eps (s + s) = 16 units: 16 passes, 17 fails, and the message shows where and
    both values (s + 17 s eps)."""
    checks.check_deterministic(DriftsAfterTheFirstCall(16, scale), X)
    with pytest.raises(AssertionError) as caught:
        checks.check_deterministic(DriftsAfterTheFirstCall(17, scale), X)
    assert str(caught.value).startswith(
        f"check_deterministic(DriftsAfterTheFirstCall(ulps=17, scale={scale})) failed: forward is "
        f"not deterministic: two calls at the same input differ, at index (1, 2): {scale} then "
        f"{moved}. A random layer must declare stochastic = True"
    )


class DriftingForward(nl.Layer):
    """y = ``base`` at the first call, ``base + drift`` at every later one."""

    def __init__(self, base: nl.FloatArray, drift: nl.FloatArray) -> None:
        super().__init__()
        self.base, self.drift = base, drift
        self.calls = 0

    def forward(self, x: nl.FloatArray) -> nl.FloatArray:
        self.calls += 1
        return self.base.copy() if self.calls == 1 else self.base + self.drift

    def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        return np.zeros_like(grad_y)


def test_the_element_reported_as_not_deterministic_is_the_one_furthest_beyond_its_bound() -> None:
    """y = 1 but y[0, 0] = 2, so max |y| = 2: y[0, 0] may move by 8 eps (2 + 2) = 32 eps and the
    others by 8 eps (1 + 2) = 24 eps. y[0, 0] moved by 30 eps is within its bound; y[1, 2] moved
    by 25 eps, a smaller move, is not, and it is the element named."""
    eps = np.finfo(np.float64).eps
    base = np.ones((2, 3))
    base[0, 0] = 2.0
    drift = np.zeros((2, 3))
    drift[0, 0], drift[1, 2] = 30 * eps, 25 * eps
    with pytest.raises(AssertionError) as caught:
        checks.check_deterministic(DriftingForward(base, drift), X)
    assert str(caught.value).startswith(
        "check_deterministic(DriftingForward()) failed: forward is not deterministic: two calls at "
        "the same input differ, at index (1, 2): 1.0 then 1.0000000000000056. "
    )


# --- Bad input to the checker: each message names the checker, the layer and the array. ---

_AT_FINITE = "gradients can only be checked at finite values"


def test_text_for_the_input_or_grad_y_names_the_layer_and_the_array() -> None:
    """A DTypeError (a TypeError) from the layer's own dtype rule, naming the argument's role."""
    expects = "expects {} as a float32/float64 array, or numbers, lists or integer arrays; got a "
    with pytest.raises(TypeError) as caught:
        check_gradients(nl.Sigmoid(), [["a"]])
    assert (
        str(caught.value) == "Sigmoid() " + expects.format("input") + "list that numpy reads as <U1"
    )
    with pytest.raises(TypeError) as caught:
        check_gradients(nl.Sigmoid(), X, grad_y=[["a", "b", "c"]] * 2)
    assert str(caught.value) == (
        "Sigmoid() " + expects.format("grad_y") + "list that numpy reads as <U1"
    )


def test_a_non_finite_input_or_grad_y_is_named_with_its_first_element_and_count() -> None:
    with pytest.raises(ValueError, match="holds") as caught:
        check_gradients(nl.Sigmoid(), np.array([[1.0, np.nan]]))
    assert str(caught.value) == (
        "check_gradients(Sigmoid()): x holds nan at index (0, 1) (1 non-finite element): "
        + _AT_FINITE
    )
    with pytest.raises(ValueError, match="holds") as caught:
        check_gradients(nl.Sigmoid(), X, grad_y=np.full((2, 3), np.inf))
    assert str(caught.value) == (
        "check_gradients(Sigmoid()): grad_y holds inf at index (0, 0) (6 non-finite elements): "
        + _AT_FINITE
    )


def test_a_non_finite_parameter_is_named_by_its_dotted_name() -> None:
    linear = nl.Linear(3, 2, rng=0)
    linear.weight.data[1, 0] = np.nan
    with pytest.raises(ValueError, match="holds") as caught:
        check_gradients(linear, X)
    assert str(caught.value) == (
        "check_gradients(Linear(in_features=3, out_features=2)): parameter 'weight' holds nan at "
        f"index (1, 0) (1 non-finite element): {_AT_FINITE}"
    )
    inner = nl.Linear(3, 2, rng=0)
    assert inner.bias is not None
    inner.bias.data[1] = np.inf
    model = nl.Sequential(inner)
    with pytest.raises(ValueError, match="holds") as caught:
        check_gradients(model, X)
    assert str(caught.value) == (
        "check_gradients(Sequential(1 layer)): parameter '0.bias' holds inf at index (1,) "
        f"(1 non-finite element): {_AT_FINITE}"
    )


class LogOfInput(nl.Layer):
    """y = log(x): at a finite x <= 0 forward's output is not finite."""

    def forward(self, x: nl.FloatArray) -> nl.FloatArray:
        self.x = x
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(x)

    def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        return grad_y / self.x


def test_a_forward_that_is_not_finite_at_a_finite_input_is_named() -> None:
    """log(0) = -inf at index (0, 1), the one element of the two that is not finite."""
    with pytest.raises(AssertionError) as caught:
        check_gradients(LogOfInput(), np.array([[1.0, 0.0]]))
    assert str(caught.value) == (
        "LogOfInput(): forward's output is not finite: -inf at index (0, 1) (1 of 2 elements), at "
        "a finite input"
    )


@pytest.mark.parametrize(("where", "words"), [("input", "input"), ("weight", "parameter 'weight'")])
def test_a_gradient_that_is_not_finite_is_named_with_the_layer(where: str, words: str) -> None:
    with pytest.raises(AssertionError) as caught:
        check_gradients(NaNGradient(where), X)
    assert str(caught.value) == (
        f"NaNGradient(in_features=3, out_features=2): backward's gradient of the "
        f"{words} is not finite: nan at index (0, 0) (1 of 6 elements), at a finite input"
    )


# --- A layer may write its output into one buffer it returns at every call. ---


class DoubleIntoBuffer(nl.Layer):
    """y = 2 x + ``drift`` * (the number of calls before this one), written into one array that
    every call returns; ``drift`` 0: a correct, deterministic layer."""

    def __init__(self, drift: float = 0.0) -> None:
        super().__init__()
        self.drift = drift
        self.calls = 0
        self.out = np.zeros(0)

    def forward(self, x: nl.FloatArray) -> nl.FloatArray:
        if self.out.shape != x.shape:
            self.out = np.zeros_like(x)
        np.multiply(x, 2.0, out=self.out)
        self.out += self.drift * self.calls
        self.calls += 1
        return self.out

    def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        return 2.0 * grad_y

    def get_config(self) -> dict[str, float]:
        return {"drift": self.drift}


def test_a_layer_that_returns_one_buffer_at_every_call_is_checked_on_copies() -> None:
    """Each output is copied as it comes: the estimates are of 2 x, whose slope 2 is right; and a
    drifting forward is caught as such, not compared with the buffer it has overwritten."""
    assert check_gradients(DoubleIntoBuffer(), X).passed
    with pytest.raises(AssertionError) as caught:
        check_gradients(DoubleIntoBuffer(drift=1e-3), X)
    assert str(caught.value).startswith(
        "DoubleIntoBuffer(drift=0.001): forward is not deterministic: two calls at the same input "
        "differ, at index (0, 0): 0.2 then 0.201. "
    )


# --- The report's parts, written by hand: what a reader of a failure sees. ---


def test_a_failure_on_a_subset_says_how_many_were_checked_of_how_many() -> None:
    """max_elements chose 3 of 1200: "2 of 3 checked (of 1200)"; relative error by the larger
    magnitude, |-0.5 - 0.25| / 0.5 = 1.5."""
    check = TensorCheck("w", (30, 40), 0.75, 1.5, (7, 9), -0.5, 0.25, 1e-3, 2, 750.0, n_checked=3)
    assert check.describe_failure() == (
        "gradient of the parameter 'w' is wrong: 2 of 3 checked (of 1200) elements differ from "
        "finite differences\n"
        "  worst at index (7, 9): analytic -0.5, numeric 0.25\n"
        "  error 0.75 (relative 1.5), allowed 0.001 (the estimated finite-difference error)"
    )


def test_a_report_row_of_a_subset_says_so_with_thousands_separated() -> None:
    failing = TensorCheck("w", (30, 400), 0.75, 1.5, (7, 9), -0.5, 0.25, 1e-3, 2, 750.0, 1200)
    passing = TensorCheck("input", (5,), 0.0, 0.0, (0,), 1.0, 1.0, 1e-6, 0, 0.0, 1)
    report = nl.testing.GradientReport("Net", (passing, failing))
    assert str(report) == (
        "gradient check of Net: FAILED\n"
        "  tensor  shape         max abs err  max rel err  err/allowed\n"
        "  input   (5,)             0.00e+00     0.00e+00      0.0e+00  (1 of 5 elements checked)\n"
        "  w       (30, 400)        7.50e-01     1.50e+00      7.5e+02  FAILED (2 elements)  "
        "(1,200 of 12,000 elements checked)"
    )
    assert not report.passed
    assert (report.max_abs_error, report.max_rel_error) == (0.75, 1.5)


def test_a_report_gives_the_largest_errors_over_its_tensors() -> None:
    """The largest abs and the largest relative error, each over all tensors (here of different
    tensors); 0 for a report of no tensors, which has passed."""
    a = TensorCheck("a", (2,), 0.5, 1e-3, (0,), 1.0, 1.0, 1.0, 0, 0.1)
    b = TensorCheck("b", (2,), 1e-3, 0.25, (0,), 1.0, 1.0, 1.0, 0, 0.1)
    report = nl.testing.GradientReport("Net", (a, b))
    assert (report.max_abs_error, report.max_rel_error) == (0.5, 0.25)
    assert report.passed
    empty = nl.testing.GradientReport("Nothing", ())
    assert (empty.max_abs_error, empty.max_rel_error, empty.passed) == (0.0, 0.0, True)


def test_an_unknown_name_is_a_key_error_listing_the_names() -> None:
    a = TensorCheck("input", (2,), 0.0, 0.0, (0,), 1.0, 1.0, 1.0, 0, 0.0)
    b = TensorCheck("0.weight", (2,), 0.0, 0.0, (0,), 1.0, 1.0, 1.0, 0, 0.0)
    report = nl.testing.GradientReport("Net", (a, b))
    assert report["0.weight"] is b
    with pytest.raises(KeyError) as caught:
        report["weight"]
    assert caught.value.args == ("no tensor 'weight' in this report; it has ['input', '0.weight']",)


# --- The named checks' comparison helpers, at values worked out by hand. ---

F64_EPS = float(np.finfo(np.float64).eps)
F32_EPS = float(np.finfo(np.float32).eps)
TINY = float(np.finfo(np.float32).smallest_normal)


def test_the_rounding_spread_moves_each_input_by_eps_of_its_scale() -> None:
    """eps = 0.5 and inputs whose moves are exact: v = [0, 4] moves by 0.5 (|v| + 4) = [2, 4]
    (the zero too), w = [1, -2] by 0.5 (|w| + 2) = [1.5, 2], either sign; an output 3 w moves
    three times as far. ``compute`` runs once, then once per trial."""
    calls = []

    def compute(inputs: Sequence[nl.FloatArray]) -> list[nl.FloatArray]:
        calls.append(1)
        v, w = inputs
        return [v, 3 * w]

    spread = _compare.rounding_spread(
        compute, [np.array([0.0, 4.0]), np.array([1.0, -2.0])], 0.5, np.random.default_rng(0)
    )
    np.testing.assert_array_equal(spread[0], [2.0, 4.0])
    np.testing.assert_array_equal(spread[1], [4.5, 6.0])
    assert len(calls) == 4
    _compare.rounding_spread(
        compute, [np.ones(1), np.ones(1)], 0.5, np.random.default_rng(0), trials=1
    )
    assert len(calls) == 6


def test_the_allowed_difference_is_16_times_spread_and_eps_of_value_largest_and_scale() -> None:
    """16 (spread + eps (|v| + max |v| + scale)) + float32's smallest normal; eps at least the
    reference's own dtype's."""
    reference = np.array([1.0, -2.0])
    spread = np.array([0.0, 1e-10])
    allowed = _compare.allowed_difference(reference, spread, 1e-3, scale=10.0)
    expected = 16 * (spread + 1e-3 * (np.array([1.0, 2.0]) + 2.0 + 10.0)) + TINY
    np.testing.assert_allclose(allowed, expected, rtol=1e-15)
    # eps below float64's is raised to it; a float32 reference is held to float32's eps.
    tiny_eps = _compare.allowed_difference(reference, 0.0, 1e-30)
    np.testing.assert_allclose(tiny_eps, 16 * F64_EPS * np.array([3.0, 4.0]) + TINY, rtol=1e-15)
    single = _compare.allowed_difference(reference.astype(np.float32), 0.0, F64_EPS)
    np.testing.assert_allclose(single, 16 * F32_EPS * np.array([3.0, 4.0]) + TINY, rtol=1e-6)
    # An empty reference: nothing to allow, and no reduction error.
    assert _compare.allowed_difference(np.zeros(0), 0.0, F64_EPS).shape == (0,)


def test_the_worst_mismatch_is_the_element_furthest_beyond_what_it_is_allowed() -> None:
    """Errors [0, 3, 0.5] against allowances [0, 2.5, 0.1]: beyond by [0, 0.5, 0.4]; the largest
    error and the largest excess are both element 1 here, then element 2 once its allowance
    shrinks to 0; NaN is always the worst; within every allowance, None."""
    got, expected = np.array([1.0, 5.0, 3.0]), np.array([1.0, 2.0, 2.5])
    assert _compare.worst_mismatch(got, expected, np.array([0.0, 2.5, 0.1])) == (1,)
    assert _compare.worst_mismatch(got, expected, np.array([0.0, 2.9, 0.0])) == (2,)
    assert _compare.worst_mismatch(got, expected, np.array([0.0, 3.0, 0.5])) is None
    assert _compare.worst_mismatch(got, expected, 3.0) is None
    assert _compare.worst_mismatch(np.array([1.0, np.nan, 9.0]), expected, 0.1) == (1,)
    assert _compare.worst_mismatch(got.reshape(3, 1), expected.reshape(3, 1), 0.1) == (1, 0)
    assert _compare.worst_mismatch(np.zeros((0, 2)), np.zeros((0, 2)), 0.0) is None


def test_the_first_true_element_its_index_and_the_zero_d_case() -> None:
    mask = np.array([[False, False, True], [True, False, True]])
    assert _compare.first_true(mask) == (0, 2)
    assert _compare.first_true(np.zeros((2, 2), dtype=bool)) is None
    assert _compare.first_true(np.array(True)) == ()
    assert _compare.first_true(np.array(False)) is None


def test_a_check_fails_with_its_name_and_the_subject() -> None:
    error = _compare.fail(
        "dtypes", "Linear(in_features=3, out_features=2)", "the output is float64"
    )
    assert isinstance(error, AssertionError)
    assert (
        str(error)
        == "check_dtypes(Linear(in_features=3, out_features=2)) failed: the output is float64"
    )
    assert _compare.at(np.array([[0.0, 1 / 3]]), (0, 1)) == "0.3333333333"
    assert _compare.at(np.array([2.0e-20]), (0,)) == "2e-20"


def test_the_largest_magnitude_is_over_every_array() -> None:
    arrays = [np.array([1.0, -3.0]), np.zeros(0), np.array([[2.5]])]
    assert _compare.largest_magnitude(arrays) == 3.0
    assert _compare.largest_magnitude([np.zeros(0)]) == 0.0
    assert _compare.largest_magnitude([]) == 0.0


def test_a_forward_that_is_not_finite_near_the_input_is_named() -> None:
    """log at x = 1e-5, finite there, but the stencil's x - 2h (h = 2^-13) is below 0: the
    estimate of that element is NaN, and the message says where forward stops being finite."""
    with pytest.raises(AssertionError) as caught:
        check_gradients(LogOfInput(), np.array([[1.0, 1e-5]]), grad_y=np.ones((1, 2)))
    assert str(caught.value) == (
        "LogOfInput(): the finite-difference estimate of the input (forward is not finite near the "
        "input) is not finite: nan at index (0, 1) (1 of 2 elements), at a finite input"
    )


def _estimates_of(value: list[float], **fields: float) -> _estimate._Estimates:
    """Estimates of a 1-d tensor: ``value`` per element, every other field one number for all."""
    shape = np.ones(len(value))

    def field(name: str, default: float) -> nl.FloatArray:
        return fields.get(name, default) * shape

    return _estimate._Estimates(
        value=np.array(value),
        low=np.array(value),
        high=np.array(value),
        truncation=field("truncation", 0.0),
        rounding=field("rounding", 0.0),
        step=field("step", 1.0),
        eps=fields.get("eps", F64_EPS),
    )


def test_the_condition_over_a_subset_is_scaled_up_to_the_whole_tensor() -> None:
    """sum |v df/dv|: v = [1, 2, 3, 4] with df/dv = [1, -1, 1, 1] gives 10; over the subset of
    elements 0 and 2, (1 + 3) scaled by 4 elements / 2 checked = 8."""
    values = np.array([1.0, 2.0, 3.0, 4.0])
    estimates = _estimates_of([1.0, -1.0, 1.0, 1.0])
    assert _estimate._condition(values, estimates) == 10.0
    mask = np.array([True, False, True, False])
    assert _estimate._condition(values, estimates, mask) == 8.0


def test_the_tolerance_is_4_times_truncation_rounding_and_eps_condition_over_h() -> None:
    """4 (truncation + rounding + eps condition / h) + sqrt(eps) |value|, with exact binary
    numbers: eps = 2^-52, h = 2^-13, condition 8, truncation 2^-20, rounding 2^-30, value -4:
    4 (2^-20 + 2^-30 + 2^-36) + 2^-26 4."""
    estimates = _estimates_of(
        [-4.0], truncation=2.0**-20, rounding=2.0**-30, step=2.0**-13, eps=2.0**-52
    )
    expected = 4 * (2.0**-20 + 2.0**-30 + 2.0**-52 * 8 / 2.0**-13) + 2.0**-26 * 4
    assert _estimate._tolerance(estimates, 8.0)[0] == expected


def test_the_step_is_a_power_of_two_near_eps_to_the_quarter_grown_for_large_values() -> None:
    """eps = 2^-52: h = 2^-13 up to |v| = 2^13; beyond, h = eps^(1/2) |v| = 2^-26 |v|."""
    assert _estimate._step(0.0, 2.0**-52) == 2.0**-13
    assert _estimate._step(-0.75, 2.0**-52) == 2.0**-13
    assert _estimate._step(2.0**20, 2.0**-52) == 2.0**-6
    assert _estimate._step(-(2.0**30), 2.0**-52) == 2.0**4


class LinearTimes(nl.Linear):
    """A Linear whose backward scales grad_y by ``factor`` first: every gradient wrong."""

    def __init__(self, factor: float) -> None:
        super().__init__(3, 2, rng=0)
        self.factor = factor

    def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        return nl.Linear.backward(self, self.factor * grad_y)

    def get_config(self) -> dict[str, float]:
        return {"factor": self.factor}


def test_each_failing_tensor_is_described_on_lines_of_its_own_before_the_table() -> None:
    with pytest.raises(AssertionError) as caught:
        check_gradients(LinearTimes(1.1), X)
    failures, table = str(caught.value).split("\n\n")
    lines = failures.split("\n")
    assert lines[0] == "check_gradients(LinearTimes(in_features=3, out_features=2)) failed:"
    assert [line.split(" is wrong")[0] for line in lines[1::3]] == [
        "gradient of the input",
        "gradient of the parameter 'weight'",
        "gradient of the parameter 'bias'",
    ]
    assert len(lines) == 10
    assert table.startswith("gradient check of LinearTimes(in_features=3, out_features=2): FAILED")


def test_the_relative_error_of_a_gradient_at_0_9_times_the_truth_is_about_0_1() -> None:
    """|0.9 g - g| / |g| = 0.1 for every element (less the interval's tiny width), whatever the
    size of g: here g = 0.5 cos x, below 1 everywhere."""
    with pytest.raises(AssertionError) as caught:
        check_gradients(ScaledSine(0.9), X, grad_y=np.full((2, 3), 0.5))
    row = next(line for line in str(caught.value).split("\n") if line.startswith("  input "))
    max_abs, max_rel = (float(word) for word in row.split()[3:5])
    assert max_rel == pytest.approx(0.1, rel=1e-3)
    assert max_abs > 0


# --- _compare, at estimates written by hand: every field of the check it returns. ---


def _estimates_per_element(
    value: list[float],
    low: list[float],
    high: list[float],
    truncation: list[float],
) -> _estimate._Estimates:
    """Estimates whose tolerance is exactly 4 times ``truncation``: eps 0 (no rounding, no
    condition term, no sqrt(eps) share of the value), step 1."""
    return _estimate._Estimates(
        value=np.array(value),
        low=np.array(low),
        high=np.array(high),
        truncation=np.array(truncation),
        rounding=np.zeros(len(value)),
        step=np.ones(len(value)),
        eps=0.0,
    )


def test_compare_measures_each_error_from_the_interval_and_reports_the_worst_by_its_excess() -> (
    None
):
    """Four elements, exact binary numbers, tolerance 4 truncation = [0, 0.125, 0.5, 0.25]:

    - 0: analytic 0, interval [0, 0]: no error; scale 0, so relative 0 (not 0 / 0); and error 0
      over a tolerance of 0 is an excess of 0, not a failure.
    - 1: analytic 0.5 above the interval [0.25, 0.25]: error 0.25, relative 0.25 / 0.5 = 0.5,
      excess 0.25 / 0.125 = 2: the one failure, and the worst.
    - 2: analytic -1 below [-0.75, -0.5]: error 0.25, relative 0.25 / 1, excess 0.5.
    - 3: analytic 2 inside [1, 3]: no error.
    """
    estimates = _estimates_per_element(
        value=[0.0, 0.25, -0.625, 2.0],
        low=[0.0, 0.25, -0.75, 1.0],
        high=[0.0, 0.25, -0.5, 3.0],
        truncation=[0.0, 1 / 32, 1 / 8, 1 / 16],
    )
    analytic = np.array([0.0, 0.5, -1.0, 2.0])
    check = gradcheck._compare("w", analytic, estimates, condition=1.0)
    assert check == TensorCheck(
        name="w",
        shape=(4,),
        max_abs_error=0.25,
        max_rel_error=0.5,
        worst_index=(1,),
        analytic=0.5,
        numeric=0.25,
        tolerance=0.125,
        n_failed=1,
        max_error_ratio=2.0,
        n_checked=None,
    )


def test_compare_of_an_error_within_its_tolerance_reports_how_close_it_came() -> None:
    """One element, analytic 1.25 above the interval [0.75, 1]: error 0.25 within 4 truncation
    = 0.5: a pass, at an excess of 0.5; relative 0.25 / 1.25 = 0.2."""
    estimates = _estimates_per_element([0.875], [0.75], [1.0], [0.125])
    check = gradcheck._compare("input", np.array([1.25]), estimates, condition=0.0)
    assert check == TensorCheck("input", (1,), 0.25, 0.2, (0,), 1.25, 0.875, 0.5, 0, 0.5)


def test_compare_of_an_error_over_no_tolerance_is_an_infinite_excess() -> None:
    """Element 0: error 0.5 with a tolerance of 0: an excess of inf (no division by zero), the
    worst; element 1: error 0 over 0, no excess at all."""
    estimates = _estimates_per_element([0.5, 1.0], [0.5, 1.0], [0.5, 1.0], [0.0, 0.0])
    check = gradcheck._compare("input", np.array([1.0, 1.0]), estimates, condition=0.0)
    assert check == TensorCheck("input", (2,), 0.5, 0.5, (0,), 1.0, 0.5, 0.0, 1, math.inf)


def test_compare_of_a_gross_error_over_a_tiny_tolerance_is_inf_not_an_overflow() -> None:
    """error 1e300 over a tolerance of 4 2^-1074: the quotient overflows to inf, quietly."""
    tiny = 2.0**-1074
    estimates = _estimates_per_element([0.0], [0.0], [0.0], [tiny])
    check = gradcheck._compare("input", np.array([1e300]), estimates, condition=0.0)
    assert check == TensorCheck("input", (1,), 1e300, 1.0, (0,), 1e300, 0.0, 4 * tiny, 1, math.inf)


def test_compare_over_a_subset_leaves_the_other_elements_out_of_every_field() -> None:
    """Elements 0 and 2 checked: 0 exactly (error 0), 2 with analytic 0.375 against 0.25 (error
    0.125 over 0.25: excess 0.5, relative 1/3). Elements 1 and 3 were not estimated (estimates 0,
    tolerance 0) and their analytic values 1 and -2 would be errors of 1 and 2 over no tolerance:
    they count in no field, and the worst is element 2."""
    estimates = _estimates_per_element(
        value=[0.5, 0.0, 0.25, 0.0],
        low=[0.5, 0.0, 0.25, 0.0],
        high=[0.5, 0.0, 0.25, 0.0],
        truncation=[0.0, 0.0, 1 / 16, 0.0],
    )
    analytic = np.array([0.5, 1.0, 0.375, -2.0])
    mask = np.array([True, False, True, False])
    check = gradcheck._compare("w", analytic, estimates, condition=0.0, mask=mask)
    assert check == TensorCheck("w", (4,), 0.125, 1 / 3, (2,), 0.375, 0.25, 0.25, 0, 0.5, 2)


def test_compare_over_a_subset_within_no_error_names_a_checked_element() -> None:
    """Both checked elements exact (excess 0): the worst is the first checked one, never one
    left out, however large its unchecked error."""
    estimates = _estimates_per_element([0.0, 0.5], [0.0, 0.5], [0.0, 0.5], [0.0, 0.0])
    mask = np.array([False, True])
    check = gradcheck._compare("w", np.array([3.0, 0.5]), estimates, condition=0.0, mask=mask)
    assert check == TensorCheck("w", (2,), 0.0, 0.0, (1,), 0.5, 0.5, 0.0, 0, 0.0, 1)


class TimesSum(nl.Layer):
    """y = x * sum(w), w eight equal elements: every element of w has the same estimates."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nl.Parameter(np.full(8, 0.5))

    def forward(self, x: nl.FloatArray) -> nl.FloatArray:
        self.x = x
        return x * np.sum(self.w.data)

    def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        self.w.grad += np.sum(grad_y * self.x)
        return grad_y * np.sum(self.w.data)


def test_the_condition_of_a_subset_is_that_of_the_whole_layer() -> None:
    """The rounding of f counts every element's |v df/dv|, estimated or not: over a subset, the
    subset's sum scaled up to the whole tensor. Here the 8 elements of w are alike, so 4 of them
    scaled by 8 / 4 give the condition of all 8, and the tolerance of each tensor is the one the
    full check gives (the condition's share, eps 36 / h, about 6e-11, is far above rounding)."""
    x, grad_y = np.array([[3.0]]), np.array([[1.0]])
    full = check_gradients(TimesSum(), x, grad_y=grad_y)
    subset = check_gradients(TimesSum(), x, grad_y=grad_y, max_elements=5)
    assert [t.n_checked for t in subset.tensors] == [1, 4]
    for name in ("input", "w"):
        assert subset[name].tolerance == full[name].tolerance
