"""Every named check catches a deliberately broken layer that a single finite-difference
comparison at one point passes: the proof that each check can fail."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import nnlite as nl
from nnlite.testing import check_layer, checks
from nnlite.testing.gradcheck import check_gradients
from tests import conformance_layers as cl

X = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])
X_TIED = np.array([[1.0, 1.0, -2.0], [0.5, 3.0, 3.0]])


def old_comparison(layer: nl.Layer, x: nl.FloatArray) -> None:
    """The plain comparison: check_gradients at the layer's own parameters, with grad_y of the
    data's own seed, as a user would write it."""
    check_gradients(layer, x, grad_y=np.random.default_rng(1).standard_normal(layer(x).shape))


# (check, factory, fixed example, message) for bugs a single comparison misses
CAUGHT: list[tuple[str, Callable[[int], nl.Layer], nl.FloatArray, str]] = [
    ("accumulates", lambda n: cl.AssigningLinear(n, 2, rng=0), X, r"'weight'\.grad is not the sum"),
    (
        "accumulates",
        lambda n: cl.AssigningBackwardParameters(n, 2, rng=0),
        X,
        r"after backward then backward_parameters",
    ),
    ("no_mutation", cl.GradYInPlace, X, "backward modified its argument grad_y in place"),
    ("no_aliasing", cl.ReusedBuffer, X, "forward's output was changed by the next forward"),
    ("repeatable_backward", cl.ConsumesCache, X, "a second backward after the same forward"),
    ("pure", lambda n: cl.RemembersFirstBatch(), X, "declare stateful = True"),
    ("dtypes", cl.Float64Output, X, "forward's output is float64"),
    ("dtypes", cl.Float64Grad, X, r"parameter 'scale'\.grad is float64"),
    ("row_independent", lambda n: cl.UndeclaredBatchCenter(), X, "declare mixes_rows = True"),
    ("row_independent", cl.DividesByBatch, X, "does the layer depend on the batch size"),
    ("directional", lambda n: cl.EveryTiedMax(), X_TIED, "every tied maximum"),
    ("round_trip", cl.forgets_an_argument, X, "a rebuild from get_config"),
    ("round_trip", cl.state_in_a_plain_array, X, "a rebuild from get_config"),
    ("boundary", cl.BypassesTheBoundary, X, "backward before any forward raised nothing"),
]
IDS = [f"{check}-{type(make(3)).__name__}" for check, make, _, _ in CAUGHT]


@pytest.mark.parametrize(("check", "make", "x", "message"), CAUGHT, ids=IDS)
def test_the_plain_comparison_misses_the_bug(check, make, x, message) -> None:
    old_comparison(make(x.shape[1]), x)


@pytest.mark.parametrize(("check", "make", "x", "message"), CAUGHT, ids=IDS)
def test_the_named_check_catches_it(check, make, x, message) -> None:
    function = getattr(checks, f"check_{check}")
    with pytest.raises(AssertionError, match=rf"^check_{check}\(.*failed: .*{message}"):
        function(make(x.shape[1]), x)


@pytest.mark.parametrize(("check", "make", "x", "message"), CAUGHT, ids=IDS)
def test_check_layer_catches_it(check, make, x, message) -> None:
    if check == "directional":  # a tie must be drawn: two equal features in a row
        from hypothesis import strategies as st

        with pytest.raises(AssertionError, match=message):
            check_layer(lambda shape: make(shape[0]), input_shape=st.just((3,)), max_examples=200)
        return
    with pytest.raises(AssertionError, match=rf"check_{check}\("):
        check_layer(make, checks=check)


def test_the_forward_that_mutates_its_input_is_caught() -> None:
    with pytest.raises(AssertionError, match="forward modified its input x in place"):
        checks.check_no_mutation(cl.XInPlace(3), X)


# --------------------------------------------------------------------------------------------------
# The false passes of the plain comparison, now failures of the gradient check itself
# --------------------------------------------------------------------------------------------------


def test_a_declared_dropout_with_a_backward_times_1000_fails() -> None:
    with pytest.raises(AssertionError, match="gradient of the input is wrong"):
        check_gradients(cl.DropoutTimes1000(0.5, rng=0), X)


def test_an_undeclared_random_layer_fails_as_not_deterministic() -> None:
    with pytest.raises(AssertionError, match=r"forward is not deterministic.*stochastic = True"):
        check_gradients(cl.NoisyDouble(), X)
    with pytest.raises(AssertionError, match=r"^check_deterministic\(.*stochastic = True"):
        checks.check_deterministic(cl.UndeclaredDropout(0.5, rng=0), X)


def test_a_nan_forward_with_a_backward_of_42_fails() -> None:
    with pytest.raises(
        AssertionError, match=r"forward's output is not finite: nan at index \(0, 0\)"
    ):
        check_gradients(cl.NaNForward(), X)
    with pytest.raises(AssertionError, match=r"^check_finite\(NaNForward\(\)\) failed"):
        checks.check_finite(cl.NaNForward(), X)


def test_an_inf_input_is_a_clear_error() -> None:
    x = X.copy()
    x[1, 2] = np.inf
    with pytest.raises(ValueError, match=r"x holds inf at index \(1, 2\)"):
        check_gradients(nl.Sigmoid(), x)


def test_a_gradient_right_only_at_the_initial_parameters_is_caught_by_redrawing_them() -> None:
    check_gradients(cl.LayerNormWithoutGain(3), X)  # gain = 1: the bug is invisible
    with pytest.raises(AssertionError, match="gradient of the input is wrong"):
        check_layer(cl.LayerNormWithoutGain, checks="gradients")


def test_layernorm_with_grad_y_drawn_from_the_data_seed_is_still_checked() -> None:
    """x from default_rng(0) and the default grad_y (rng=0) are unrelated streams: the LayerNorm
    bug below (a relative 1e-6 in dL/dx) is caught; with grad_y = x it would not be."""

    class Slightly(cl.LayerNorm):
        def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
            return super().backward(grad_y) * (1 + 1e-6)

    x = np.random.default_rng(0).normal(size=(4, 5))
    check_gradients(Slightly(5), x, grad_y=x)  # grad_y = x: dL/dx is ~0, nothing to see
    with pytest.raises(AssertionError, match="gradient of the input is wrong"):
        check_gradients(Slightly(5), x)
