"""The losses' boundary checks and BCELoss's clamp edges, pinned where mutation testing found them
unpinned.

Every message is compared in full: it names the loss, says what was expected and what came. The
clamp's edges come from BCELoss's docstring: dL/dy = -(t / y - (1 - t) / (1 - y)) / N where
eps <= y <= 1 - eps (the ends included), and 0 only where the clamp is active.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import nnlite as nl
from nnlite.errors import DTypeError, ShapeError, StateError

EXPECTED = "as a float32/float64 array, or numbers, lists or integer arrays"


@pytest.mark.parametrize(
    ("prediction", "target", "message"),
    [
        (None, [[1.0]], f"MSELoss() expects prediction {EXPECTED}; got None"),
        ([[1.0]], "a", f"MSELoss() expects target {EXPECTED}; got a str"),
    ],
    ids=["prediction", "target"],
)
def test_a_value_that_is_no_array_is_named_by_its_role(
    prediction: object, target: object, message: str
) -> None:
    with pytest.raises(DTypeError) as caught:
        nl.MSELoss()(prediction, target)  # type: ignore[arg-type]
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("loss", "prediction", "got"),
    [(nl.MSELoss(), np.float64(1.0), "()"), (nl.BCELoss(), np.zeros((0, 1)), "(0, 1)")],
    ids=["0-d", "no rows"],
)
def test_a_prediction_without_rows_is_refused(loss: nl.Loss, prediction: object, got: str) -> None:
    with pytest.raises(ShapeError) as caught:
        loss(prediction, prediction)  # type: ignore[arg-type]
    assert str(caught.value) == (
        f"{type(loss).__name__}() expects a prediction of shape (N, ...) with N >= 1 rows, "
        f"got {got}"
    )


def test_a_failed_forward_leaves_nothing_for_backward() -> None:
    """After a refused forward, backward is the StateError of a loss never computed."""
    loss = nl.MSELoss()
    loss(np.ones((2, 1)), np.zeros((2, 1)))
    with pytest.raises(ShapeError):
        loss(np.ones((2, 1)), np.zeros((3, 1)))
    with pytest.raises(StateError) as caught:
        loss.backward()
    assert str(caught.value) == "MSELoss().backward() was called before the loss was computed"


class ReturnsAList(nl.Loss):
    def forward(self, prediction: nl.FloatArray, target: nl.FloatArray) -> float:
        return 0.0

    def backward(self) -> nl.FloatArray:
        return [0.0, 0.0]  # type: ignore[return-value]  # wrong on purpose


class ReturnsAWrongShape(nl.Loss):
    def forward(self, prediction: nl.FloatArray, target: nl.FloatArray) -> float:
        return 0.0

    def backward(self) -> nl.FloatArray:
        return np.zeros(3)


@pytest.mark.parametrize(
    ("loss", "returned"),
    [(ReturnsAList(), "list"), (ReturnsAWrongShape(), "(3,)")],
    ids=["a list", "a wrong shape"],
)
def test_backward_must_return_an_array_of_the_predictions_shape(
    loss: nl.Loss, returned: str
) -> None:
    loss(np.zeros((2, 1)), np.zeros((2, 1)))
    with pytest.raises(ShapeError) as caught:
        loss.backward()
    assert str(caught.value) == (
        f"{type(loss).__name__}().backward must return a gradient of the prediction's shape "
        f"(2, 1), returned {returned}"
    )


def test_a_loss_that_writes_no_math_says_what_to_implement() -> None:
    class Unwritten(nl.Loss):
        pass

    with pytest.raises(NotImplementedError) as caught:
        Unwritten()(np.zeros((1, 1)), np.zeros((1, 1)))
    assert str(caught.value) == "Unwritten must implement forward(prediction, target)"
    with pytest.raises(NotImplementedError) as caught:
        Unwritten().backward()
    assert str(caught.value) == "Unwritten must implement backward()"


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_bce_gradient_at_the_clamps_ends_is_the_derivative(dtype: type[np.floating[Any]]) -> None:
    """y = eps and y = 1 - eps lie inside [eps, 1 - eps]: there dL/dy is the formula, not 0."""
    eps = np.finfo(dtype).eps
    y = np.array([[eps], [1 - eps]], dtype=dtype)
    t = np.array([[1.0], [0.0]], dtype=dtype)
    loss = nl.BCELoss()
    loss(y, t)
    grad = loss.backward()
    y64, t64 = y.astype(np.float64), t.astype(np.float64)
    expected = -(t64 / y64 - (1 - t64) / (1 - y64)) / 2  # -1/(2 eps) and +1/(2 eps)
    np.testing.assert_allclose(grad, expected, rtol=1e-5 if dtype == np.float32 else 1e-12)
    assert grad.dtype == dtype


# The losses' formulas in torch (nnlite.interop.to_torch), on the docstrings' hand-worked
# examples: the same value and gradient as nnlite's, written from the formulas. Fast, exact
# cases, beside the property test in test_interop.py.

WORKED = [
    (nl.MSELoss, [[1.0], [3.0]], [[0.0], [1.0]], 1.25, [[0.5], [1.0]]),
    (
        nl.BCELoss,
        [[0.5], [0.8]],
        [[1.0], [0.0]],
        -(np.log(0.5) + np.log(0.2)) / 2,
        [[-1.0], [2.5]],
    ),
    # y = 0 with t = 1 costs -log(eps) / N at the clamp, where the gradient is 0.
    (nl.BCELoss, [[0.0], [0.5]], [[1.0], [0.0]], (52 * np.log(2) + np.log(2)) / 2, [[0.0], [1.0]]),
    # y = 1 with t = 0: clamped to 1 - eps, the same cost.
    (nl.BCELoss, [[1.0], [0.5]], [[0.0], [1.0]], (52 * np.log(2) + np.log(2)) / 2, [[0.0], [-1.0]]),
    (nl.BCEWithLogitsLoss, [[0.0], [1000.0]], [[1.0], [1.0]], np.log(2) / 2, [[-0.25], [0.0]]),
    # t = 0: L = log(1 + e^y), dL/dy = sigma(y).
    (nl.BCEWithLogitsLoss, [[2.0]], [[0.0]], np.log1p(np.exp(2.0)), [[1 / (1 + np.exp(-2.0))]]),
    (
        nl.SoftmaxCrossEntropyLoss,
        [[0.0, 0.0, 0.0], [0.0, 0.0, 1000.0]],
        [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]],
        np.log(3) / 2,  # (log 3 + 0) / 2
        [[-1 / 3, 1 / 6, 1 / 6], [0.0, 0.0, 0.0]],  # (softmax - t) / N
    ),
]


@pytest.mark.parametrize(
    ("kind", "prediction", "target", "value", "grad"),
    WORKED,
    ids=["mse", "bce", "bce at 0", "bce at 1", "bce logits", "bce logits t=0", "softmax ce"],
)
def test_a_losss_torch_formula_gives_the_worked_value_and_gradient(
    kind: type[nl.Loss], prediction: Any, target: Any, value: float, grad: Any
) -> None:
    torch = pytest.importorskip("torch")
    from nnlite import interop

    y = torch.tensor(prediction, dtype=torch.float64, requires_grad=True)
    loss = interop.to_torch(kind())(y, torch.tensor(target, dtype=torch.float64))
    loss.backward()
    np.testing.assert_allclose(loss.item(), value, rtol=1e-12)
    np.testing.assert_allclose(y.grad.numpy(), np.array(grad), rtol=1e-12, atol=1e-300)
    nnlite_loss = kind()
    np.testing.assert_allclose(
        nnlite_loss(np.array(prediction), np.array(target)), value, rtol=1e-12
    )
    np.testing.assert_allclose(nnlite_loss.backward(), np.array(grad), rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("shape", [(3,), (2, 0)])
def test_softmax_cross_entropys_torch_formula_refuses_a_prediction_not_n_by_c(
    shape: tuple[int, ...],
) -> None:
    torch = pytest.importorskip("torch")
    from nnlite.losses import _softmax_cross_entropy_in_torch

    y = torch.zeros(shape, dtype=torch.float64)
    with pytest.raises(ValueError, match="expects prediction of shape") as caught:
        _softmax_cross_entropy_in_torch(torch, y, y)
    assert str(caught.value) == (
        f"SoftmaxCrossEntropyLoss expects prediction of shape (N, C), got {shape}"
    )
