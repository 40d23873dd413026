"""The loss suite: every built-in loss passes it, and each loss check catches a broken loss."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import nnlite as nl
from nnlite.testing import check_loss
from nnlite.testing import strategies as nst
from nnlite.testing.checks import losses as loss_checks

PROBABILITIES = nst.arrays(nst.batch_shapes()).map(lambda z: 0.02 + 0.96 / (1 + np.exp(-z)))

BUILT_IN: dict[str, tuple[type[nl.Loss], dict[str, Any]]] = {
    "MSELoss": (nl.MSELoss, {}),
    "BCELoss": (nl.BCELoss, {"predictions": PROBABILITIES, "targets": nst.probabilities}),
    "BCEWithLogitsLoss": (nl.BCEWithLogitsLoss, {"targets": nst.probabilities}),
    "SoftmaxCrossEntropyLoss": (nl.SoftmaxCrossEntropyLoss, {"targets": nst.one_hot}),
}


@pytest.mark.parametrize("name", list(BUILT_IN))
def test_built_in_loss_passes_the_loss_suite(name: str) -> None:
    factory, options = BUILT_IN[name]
    check_loss(factory, **options)


class SquaredByNSquared(nl.MSELoss):
    """The value divides by N^2 where the gradient divides by N (thinc's L2Distance)."""

    def forward(self, prediction, target):
        return super().forward(prediction, target) / len(prediction)


class Float64Gradient(nl.MSELoss):
    def backward(self):
        return super().backward().astype(np.float64)


class MutatesTarget(nl.MSELoss):
    def forward(self, prediction, target):
        value = super().forward(prediction, target)
        target *= 0
        return value


class KeepsItsGradient(nl.MSELoss):
    """backward returns the same array every call, overwritten by the next."""

    def backward(self):
        gradient = super().backward()
        kept: nl.FloatArray | None = getattr(self, "kept", None)
        if kept is None or kept.shape != gradient.shape:
            kept = self.kept = np.empty_like(gradient)
        kept[...] = gradient
        return kept


class NoisyLoss(nl.MSELoss):
    def forward(self, prediction, target):
        return super().forward(prediction, target) + 1e-6 * np.random.default_rng().random()


P = np.array([[0.5, -1.0], [2.0, 0.25], [1.0, 1.0]])
T = np.array([[0.0, 1.0], [1.0, -1.0], [0.5, 0.5]])


@pytest.mark.parametrize(
    ("broken", "check", "message"),
    [
        (SquaredByNSquared, "gradients", "gradient of the prediction is wrong"),
        (SquaredByNSquared, "mean_over_rows", "a loss averages over the N rows"),
        (Float64Gradient, "dtypes", "the gradient float64"),
        (MutatesTarget, "no_mutation", "forward modified the target"),
        (KeepsItsGradient, "no_mutation", "was changed by the next call"),
        (NoisyLoss, "deterministic", "two calls at the same prediction and target differ"),
    ],
    ids=lambda value: value if isinstance(value, str) and " " not in value else None,
)
def test_each_loss_check_catches_its_broken_loss(broken, check, message) -> None:
    with pytest.raises(AssertionError, match=message):
        getattr(loss_checks, f"check_loss_{check}")(broken(), P, T)
    with pytest.raises(AssertionError, match=message):
        check_loss(broken, checks=check)


def test_the_plain_gradient_check_passes_the_contract_bugs() -> None:
    for broken in (Float64Gradient, MutatesTarget, KeepsItsGradient):
        nl.testing.check_gradients(broken(), P, T)


def test_an_unknown_loss_check_name_is_refused() -> None:
    with pytest.raises(ValueError, match="no loss check named"):
        check_loss(nl.MSELoss(), checks="accumulates")
