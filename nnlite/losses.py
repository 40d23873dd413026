"""Losses: a scalar L(y, t) of a prediction y and a target t, and its gradient dL/dy.

One pair of names in every loss: the prediction y, which is the last layer's output (values,
probabilities or logits, as each loss says), and the target t. The methods call them
``prediction`` and ``target``. (The derivation writes y_hat and Y for them.)

Every loss averages over N, the number of rows (samples) of the prediction, so a loss and its
gradient do not grow with the batch size.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from nnlite._boundary import Checked
from nnlite._kinds import LossKind, TorchFormula, register
from nnlite._validation import as_float_array, label
from nnlite.errors import ArgumentValueError, ShapeError, StateError
from nnlite.layers.activations import sigmoid
from nnlite.typing import FloatArray


class Loss(Checked):
    """L(y, t): ``loss(prediction, target) -> float``, then ``backward() -> dL/dy``.

    A subclass writes ``forward(prediction, target) -> float`` (caching what backward needs) and
    ``backward() -> grad_prediction``. As with :class:`~nnlite.Layer`, the base class wraps both
    with the boundary checks (the mechanism is :mod:`nnlite._boundary`): prediction and target are
    converted by the dtype rule and the target is then cast to the prediction's dtype (so a
    float32 model's loss gradient stays float32); the prediction must have at least one row;
    backward before forward is a StateError; backward must return a gradient of the prediction's
    shape.
    """

    _prediction_shape: tuple[int, ...] | None = None

    def forward(self, prediction: FloatArray, target: FloatArray) -> float:
        """L(y, t) of the prediction y and the target t; cache what backward needs. Subclasses
        implement this."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement forward(prediction, target)"
        )

    def backward(self) -> FloatArray:
        """dL/dy, of the prediction's shape, for the last forward. Subclasses implement this."""
        raise NotImplementedError(f"{type(self).__name__} must implement backward()")

    def __call__(self, prediction: ArrayLike, target: ArrayLike) -> float:
        """Run forward: ``loss(prediction, target)`` is ``loss.forward(prediction, target)``."""
        return self.forward(prediction, target)  # type: ignore[arg-type]  # the wrapper converts

    def extra_repr(self) -> str:
        """The constructor arguments shown in ``repr`` (empty by default)."""
        return ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"


# The boundary checks (nnlite._boundary wraps them around the methods a subclass writes).


def _forward_checks(
    loss: Loss,
    forward: Callable[[Loss, FloatArray, FloatArray], float],
    prediction: object,
    target: object,
) -> float:
    """forward's: both by the dtype rule, the target in the prediction's dtype, N >= 1 rows."""
    prediction = as_float_array(prediction, loss, "prediction")
    target = as_float_array(target, loss, "target")
    if target.dtype != prediction.dtype:
        target = target.astype(prediction.dtype)
    loss._prediction_shape = None
    if prediction.ndim == 0 or prediction.shape[0] == 0:
        raise ShapeError(
            f"{label(loss)} expects a prediction of shape (N, ...) with N >= 1 rows, "
            f"got {prediction.shape}"
        )
    value = float(forward(loss, prediction, target))
    loss._prediction_shape = prediction.shape
    return value


def _backward_checks(loss: Loss, backward: Callable[[Loss], FloatArray]) -> FloatArray:
    """backward's: a forward ran, and the gradient has the prediction's shape."""
    if loss._prediction_shape is None:
        raise StateError(f"{label(loss)}.backward() was called before the loss was computed")
    grad = backward(loss)
    if not isinstance(grad, np.ndarray) or grad.shape != loss._prediction_shape:
        got = grad.shape if isinstance(grad, np.ndarray) else type(grad).__name__
        raise ShapeError(
            f"{label(loss)}.backward must return a gradient of the prediction's shape "
            f"{loss._prediction_shape}, returned {got}"
        )
    return grad


Loss._boundary_checks = {"forward": _forward_checks, "backward": _backward_checks}


def _first(where: np.ndarray[Any, np.dtype[np.bool_]]) -> tuple[int, ...]:
    """The index of the first True element of ``where`` (which has one)."""
    return tuple(int(i) for i in np.argwhere(where)[0])


def _check_same_shape(loss: Loss, prediction: FloatArray, target: FloatArray) -> None:
    """Require a target of exactly the prediction's shape: no broadcasting."""
    if prediction.shape != target.shape:
        raise ShapeError(
            f"{label(loss)} expects target of the prediction's shape {prediction.shape}, "
            f"got {target.shape}"
        )


class MSELoss(Loss):
    """L = 1/(2N) sum_i sum_j (t_ij - y_ij)^2, N the number of rows (eq. 1).

    The derivation's eq. 1, its y_hat and Y written y and t. The 1/2 cancels the 2 of the
    square's derivative, and 1/N makes L a mean over samples.

    Shape:
        prediction y: (N, ...) and target t: exactly the same shape (no broadcasting: (N, 1)
        against (N,) is an error, not an (N, N) matrix of differences).

    Returns:
        loss (float): the loss, from ``forward``; ``backward`` returns dL/dy = -(t - y) / N, of
            the prediction's shape.

    Raises:
        ShapeError: the target's shape differs from the prediction's.

    Examples:
        >>> loss = nl.MSELoss()
        >>> loss(np.array([[1.0], [3.0]]), np.array([[0.0], [1.0]]))  # (1 + 4) / (2 * 2)
        1.25
        >>> loss.backward()
        array([[0.5],
               [1. ]])
    """

    def forward(self, prediction: FloatArray, target: FloatArray) -> float:
        """L = 1/(2N) sum (t - y)^2 (eq. 1)."""
        _check_same_shape(self, prediction, target)
        self.residual: FloatArray = target - prediction  # t - y
        n = prediction.shape[0]
        # np.vdot(r, r) is sum_ij r_ij^2: one pass, no temporary r**2 (and 5x faster on a tiny r)
        return float(np.vdot(self.residual, self.residual) / (2 * n))

    def backward(self) -> FloatArray:
        """dL/dy = -(t - y) / N (the first factor of eq. 7 and 9)."""
        n = self.residual.shape[0]
        grad: FloatArray = self.residual / -n  # -(t - y) / N, in one pass
        return grad


class BCELoss(Loss):
    """L = -1/N sum_i sum_j [t_ij log y_ij + (1 - t_ij) log(1 - y_ij)], N the number of rows.

    Binary cross-entropy of predicted probabilities y (a Sigmoid's output, say) against targets t
    (labels 0 and 1, or soft labels in [0, 1]). So that the log never sees 0, y is first clamped to
    [eps, 1 - eps], with eps the machine epsilon of the prediction's dtype (2.2e-16 in float64,
    1.2e-7 in float32): 1 - eps is then still below 1, and one element adds at most
    -log(eps) (36.0, or 15.9 in float32) to N L. Predictions outside [0, 1] are clamped too;
    targets outside [0, 1] are refused, since they are no probabilities and make the loss
    unbounded below. On logits, :class:`BCEWithLogitsLoss` is more accurate and needs no clamp.

    Shape:
        prediction y: (N, ...) and target t: exactly the same shape (no broadcasting: (N, 1)
        against (N,) is an error).

    Returns:
        loss (float): the loss of the clamped y, from ``forward``; ``backward`` returns its
            derivative, dL/dy = -(t / y - (1 - t) / (1 - y)) / N = (y - t) / (N y (1 - y)) where
            eps <= y <= 1 - eps, and 0 where the clamp is active (the clamped loss is flat there).

    Raises:
        ShapeError: the target's shape differs from the prediction's.
        ArgumentValueError: (a ValueError) a target is outside [0, 1] (or NaN).

    Examples:
        >>> loss = nl.BCELoss()
        >>> loss(np.array([[0.5], [0.8]]), np.array([[1.0], [0.0]]))  # -(log 0.5 + log 0.2) / 2
        1.151292546497023
        >>> loss.backward()  # (y - t) / (N y (1 - y))
        array([[-1. ],
               [ 2.5]])
    """

    def forward(self, prediction: FloatArray, target: FloatArray) -> float:
        """L = -1/N sum [t log y + (1 - t) log(1 - y)], y clamped to [eps, 1 - eps]."""
        _check_same_shape(self, prediction, target)
        outside = ~((target >= 0) & (target <= 1))  # NaN too: no comparison holds for it
        if outside.any():
            index = _first(outside)
            raise ArgumentValueError(
                f"{label(self)}: target must hold probabilities in [0, 1] (labels 0 and 1, or "
                f"soft labels), got {float(target[index])!r} at index {index}"
            )
        eps = np.finfo(prediction.dtype).eps
        self.at_clamp = (prediction < eps) | (prediction > 1 - eps)  # where dL/dy = 0
        self.y: FloatArray = np.clip(prediction, eps, 1 - eps)
        self.t = target
        n = prediction.shape[0]
        log_likelihood = target * np.log(self.y) + (1 - target) * np.log1p(-self.y)
        return float(-np.sum(log_likelihood) / n)

    def backward(self) -> FloatArray:
        """dL/dy = (y - t) / (N y (1 - y)), and 0 where y was clamped."""
        n = self.y.shape[0]
        grad = (self.y - self.t) / (n * self.y * (1 - self.y))
        return np.where(self.at_clamp, 0.0, grad)


class BCEWithLogitsLoss(Loss):
    """L = 1/N sum_i sum_j [max(y_ij, 0) - y_ij t_ij + log(1 + exp(-|y_ij|))], N the rows.

    Binary cross-entropy of sigma(y) against targets t, taken from logits y: elementwise,
    -[t log sigma(y) + (1 - t) log(1 - sigma(y))] = max(y, 0) - y t + log(1 + exp(-|y|)), which is
    :class:`BCELoss` of ``sigmoid(y)`` without its clamp. In this form exp is only taken of
    -|y| <= 0, so the loss is finite for every finite y (a confidently wrong logit costs about |y|)
    and accurate to its last digits, also where it is tiny (log1p(exp(-|y|)) ~ exp(-|y|)).

    Shape:
        prediction y: (N, ...) logits and target t: exactly the same shape (no broadcasting:
        (N, 1) against (N,) is an error).

    Returns:
        loss (float): the loss, from ``forward``; ``backward`` returns dL/dy = (sigma(y) - t) / N.

    Raises:
        ShapeError: the target's shape differs from the prediction's.

    Examples:
        >>> loss = nl.BCEWithLogitsLoss()
        >>> loss(np.array([[0.0], [1000.0]]), np.array([[1.0], [1.0]]))  # (log 2 + 0) / 2
        0.34657359027997264
        >>> loss.backward()  # (sigma(y) - t) / N
        array([[-0.25],
               [ 0.  ]])
    """

    def forward(self, prediction: FloatArray, target: FloatArray) -> float:
        """L = 1/N sum [max(y, 0) - y t + log(1 + exp(-|y|))]."""
        _check_same_shape(self, prediction, target)
        self.y, self.t = prediction, target
        n = prediction.shape[0]
        y, t = prediction, target
        elementwise = np.maximum(y, 0) - y * t + np.log1p(np.exp(-np.abs(y)))
        # Divided before summing, so that N terms near the largest float have a finite mean.
        return float(np.sum(elementwise / n))

    def backward(self) -> FloatArray:
        """dL/dy = (sigma(y) - t) / N, computed as ((1 - t) sigma(y) - t sigma(-y)) / N.

        The two are equal (sigma(y) + sigma(-y) = 1), but sigma(y) - t cancels where t = 1 and
        sigma(y) ~ 1: for y beyond about 37 sigma(y) rounds to 1 and the gradient to 0, while
        -sigma(-y) keeps it to the last digit (and likewise for t = 0 and y << 0).
        """
        n = self.y.shape[0]
        y, t = self.y, self.t
        grad: FloatArray = ((1 - t) * sigmoid(y) - t * sigmoid(-y)) / n
        return grad


class SoftmaxCrossEntropyLoss(Loss):
    """L = -1/N sum_i sum_c t_ic log softmax(y_i)_c, softmax(y_i)_c = exp(y_ic) / sum_k exp(y_ik).

    Cross-entropy of the softmax of logits y (one row per sample, one column per class) against
    targets t (one-hot rows, or one probability distribution per row). Computed by the log-sum-exp
    trick: with m_i = max_c y_ic, log softmax(y_i)_c = (y_ic - m_i) - log sum_k exp(y_ik - m_i),
    where every exp is of a number <= 0 and the sum lies in [1, C], so nothing overflows for finite
    logits. Two refinements keep every digit:

    - the shifted logits are kept halved, (y - m) / 2, since +1e308 and -1e308 in one row are
      further apart than the largest float;
    - the sum is 1 + r, with r the sum over the other classes, and its log is log1p(r): for a
      confident row r is tiny, and log(1 + r) would round it away (the loss of y = (0, 40) with
      t = (0, 1) is exp(-40), not 0). backward avoids the same cancellation in softmax - t.

    Shape:
        prediction y: (N, C) logits with C >= 1, and target t: (N, C), exactly the prediction's
        shape, or (N,) class labels, whole numbers in 0 .. C - 1, which stand for the one-hot
        rows ``nl.datasets.one_hot`` would make of them.

    Returns:
        loss (float): the loss, from ``forward``; ``backward`` returns
            dL/dy = (softmax(y) * sum_c t_ic - t) / N, which is (softmax(y) - t) / N when each row
            of t sums to 1.

    Raises:
        ShapeError: the prediction is not 2-D with at least one column, or the target is
            neither (N, C) nor (N,).
        ArgumentValueError: (a ValueError) a class label of an (N,) target is not a whole
            number in 0 .. C - 1.

    Examples:
        >>> loss = nl.SoftmaxCrossEntropyLoss()
        >>> y, t = np.array([[0.0, 0.0], [0.0, 1000.0]]), np.array([[1.0, 0.0], [0.0, 1.0]])
        >>> loss(y, t)  # (log 2 + 0) / 2
        0.34657359027997264
        >>> loss.backward()  # (softmax(y) - t) / N
        array([[-0.25,  0.25],
               [ 0.  ,  0.  ]])
    """

    def forward(self, prediction: FloatArray, target: FloatArray) -> float:
        """L = -1/N sum_i sum_c t_ic [(y_ic - m_i) - log sum_k exp(y_ik - m_i)]."""
        if prediction.ndim != 2 or prediction.shape[1] == 0:
            raise ShapeError(
                f"{label(self)} expects prediction of shape (N, C): logits, one row per sample "
                f"and one column for each of C >= 1 classes; got {prediction.shape}"
            )
        y, t = prediction, _target_rows(self, prediction, target)
        half_shifted = y / 2 - y.max(axis=1, keepdims=True) / 2  # (y - m) / 2
        exp_shifted = np.exp(half_shifted) ** 2  # exp(y - m): in [0, 1], exactly 1 at the max
        n_classes = y.shape[1]
        is_max = np.arange(n_classes) == np.argmax(y, axis=1)[:, np.newaxis]  # one a row
        rest = np.sum(np.where(is_max, 0.0, exp_shifted), axis=1, keepdims=True)  # sum - 1
        self.softmax = exp_shifted / (1 + rest)
        # 1 - softmax_c = sum_{k != c} exp(y_k - m) / (1 + rest), formed without subtracting.
        self.one_minus_softmax = np.where(is_max, rest, 1 + rest - exp_shifted) / (1 + rest)
        self.t = t
        # Row i: -sum_c t_c log softmax_c = log(1 + rest) sum_c t_c - sum_c t_c (y_c - m).
        row_loss = np.log1p(rest[:, 0]) * t.sum(axis=1) - 2 * np.sum(t * half_shifted, axis=1)
        n = y.shape[0]
        return float(np.sum(row_loss / n))  # divided first, as a mean that cannot overflow early

    def backward(self) -> FloatArray:
        """dL/dy = (softmax(y) * sum_c t_ic - t) / N, as (softmax (T - t) - t (1 - softmax)) / N.

        With T = sum_c t_ic the two are equal; the second does not cancel where t_ic = 1 and
        softmax ~ 1 (a confident, correct row), where softmax - 1 would round to 0.
        """
        n = self.softmax.shape[0]
        t = self.t
        target_sum = t.sum(axis=1, keepdims=True)  # T
        grad: FloatArray = (self.softmax * (target_sum - t) - t * self.one_minus_softmax) / n
        return grad


def _target_rows(
    loss: SoftmaxCrossEntropyLoss, prediction: FloatArray, target: FloatArray
) -> FloatArray:
    """The target as (N, C) rows: as given, or the one-hot rows of (N,) class labels."""
    n, n_classes = prediction.shape
    if target.shape == (n,):
        invalid = ~((target >= 0) & (target < n_classes) & (target == np.floor(target)))
        if invalid.any():
            index = _first(invalid)
            raise ArgumentValueError(
                f"{label(loss)}: a target of shape (N,) holds class labels, whole numbers in "
                f"0 .. {n_classes - 1} for {n_classes} classes, got {float(target[index])!r} at "
                f"index {index}"
            )
        rows: FloatArray = np.zeros(prediction.shape, prediction.dtype)
        rows[np.arange(n), target.astype(np.intp)] = 1
        return rows
    if target.shape != prediction.shape:
        raise ShapeError(
            f"{label(loss)} expects target of the prediction's shape {prediction.shape} (one-hot "
            f"rows, or one distribution per row) or ({n},) class labels, got {target.shape}"
        )
    return target


# --- What the rest of nnlite knows of the losses (nnlite._kinds): their formulas in torch, from
# which nnlite.interop makes the modules nnlite.interop.MSELoss, ... They keep nnlite's averaging
# over rows, which is not torch's own losses' mean. torch is handed in, never imported here.


def _mse_in_torch(torch: Any, prediction: Any, target: Any) -> Any:
    """L = 1/(2N) sum (t - y)^2: not ``torch.nn.MSELoss``, the mean without the 1/2."""
    return ((target - prediction) ** 2).sum() / (2 * prediction.shape[0])


def _bce_in_torch(torch: Any, prediction: Any, target: Any) -> Any:
    """L = -1/N sum [t log y + (1 - t) log(1 - y)], y clamped to [eps, 1 - eps], as BCELoss
    (torch's own clamps the log at -100 instead, and takes the mean)."""
    eps = torch.finfo(prediction.dtype).eps
    y = prediction.clamp(eps, 1 - eps)  # its gradient is 0 where the clamp is active
    log_likelihood = target * torch.log(y) + (1 - target) * torch.log1p(-y)
    return -log_likelihood.sum() / prediction.shape[0]


def _bce_with_logits_in_torch(torch: Any, prediction: Any, target: Any) -> Any:
    """L = -1/N sum [t log sigma(y) + (1 - t) log sigma(-y)], with ``logsigmoid``: its terms
    are all >= 0 and its derivative is exact at 0."""
    log_sigmoid = torch.nn.functional.logsigmoid
    log_likelihood = target * log_sigmoid(prediction) + (1 - target) * log_sigmoid(-prediction)
    return -log_likelihood.sum() / prediction.shape[0]


def _softmax_cross_entropy_in_torch(torch: Any, prediction: Any, target: Any) -> Any:
    """L = -1/N sum_i sum_c t_ic log softmax(y_i)_c, with ``log_softmax``; t is one
    distribution per row, not class indices (``torch.nn.CrossEntropyLoss`` takes either)."""
    if prediction.ndim != 2 or prediction.shape[1] == 0:
        raise ValueError(
            f"SoftmaxCrossEntropyLoss expects prediction of shape (N, C), got "
            f"{tuple(prediction.shape)}"
        )
    log_softmax = torch.nn.functional.log_softmax(prediction, dim=1)
    return -(target * log_softmax).sum() / prediction.shape[0]


register(LossKind(MSELoss, torch=TorchFormula(_mse_in_torch)))
register(LossKind(BCELoss, torch=TorchFormula(_bce_in_torch)))
register(LossKind(BCEWithLogitsLoss, torch=TorchFormula(_bce_with_logits_in_torch)))
register(LossKind(SoftmaxCrossEntropyLoss, torch=TorchFormula(_softmax_cross_entropy_in_torch)))
