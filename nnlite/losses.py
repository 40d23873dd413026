"""Losses: a scalar L(prediction, target) and its gradient dL/dprediction.

Every loss averages over N, the number of rows (samples) of the prediction, so a loss and its
gradient do not grow with the batch size.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
from numpy.typing import ArrayLike

from nnlite._validation import FloatArray, as_float_array, label
from nnlite.errors import ShapeError, StateError

_Method = TypeVar("_Method", bound=Callable[..., Any])


class Loss:
    """Base class of every loss: ``loss(prediction, target) -> float``, ``backward() -> dL/dy_hat``.

    A subclass writes ``forward(prediction, target) -> float`` (caching what backward needs) and
    ``backward() -> grad_prediction``. As with :class:`~nnlite.Layer`, the base class wraps both
    with the boundary checks: prediction and target are converted by the dtype rule and the target
    is then cast to the prediction's dtype (so a float32 model's loss gradient stays float32); the
    prediction must have at least one row; backward before forward is a StateError; backward must
    return a gradient of the prediction's shape.
    """

    _prediction_shape: tuple[int, ...] | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "forward" in vars(cls):
            cls.forward = _checked_forward(vars(cls)["forward"])  # type: ignore[method-assign]
        if "backward" in vars(cls):
            cls.backward = _checked_backward(vars(cls)["backward"])  # type: ignore[method-assign]

    def forward(self, prediction: FloatArray, target: FloatArray) -> float:
        """L(prediction, target); cache what backward needs. Subclasses implement this."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement forward(prediction, target)"
        )

    def backward(self) -> FloatArray:
        """dL/dprediction for the last forward. Subclasses implement this."""
        raise NotImplementedError(f"{type(self).__name__} must implement backward()")

    def __call__(self, prediction: ArrayLike, target: ArrayLike) -> float:
        """Run forward: ``loss(prediction, target)`` is ``loss.forward(prediction, target)``."""
        return self.forward(prediction, target)  # type: ignore[arg-type]  # the wrapper converts

    def extra_repr(self) -> str:
        """The constructor arguments shown in ``repr`` (empty by default)."""
        return ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"


def _checked_forward(forward: _Method) -> _Method:
    @functools.wraps(forward)
    def checked(self: Loss, prediction: Any, target: Any) -> float:
        prediction = as_float_array(prediction, self, "prediction")
        target = as_float_array(target, self, "target").astype(prediction.dtype, copy=False)
        self._prediction_shape = None
        if prediction.ndim == 0 or prediction.shape[0] == 0:
            raise ShapeError(
                f"{label(self)} expects a prediction of shape (N, ...) with N >= 1 rows, "
                f"got {prediction.shape}"
            )
        value = float(forward(self, prediction, target))
        self._prediction_shape = prediction.shape
        return value

    return checked  # type: ignore[return-value]


def _checked_backward(backward: _Method) -> _Method:
    @functools.wraps(backward)
    def checked(self: Loss) -> FloatArray:
        if self._prediction_shape is None:
            raise StateError(f"{label(self)}.backward() was called before the loss was computed")
        grad = backward(self)
        if not isinstance(grad, np.ndarray) or grad.shape != self._prediction_shape:
            got = grad.shape if isinstance(grad, np.ndarray) else type(grad).__name__
            raise ShapeError(
                f"{label(self)}.backward must return a gradient of the prediction's shape "
                f"{self._prediction_shape}, returned {got}"
            )
        return grad

    return checked  # type: ignore[return-value]


class MSELoss(Loss):
    """L = 1/(2N) sum_i sum_j (Y_ij - y_hat_ij)^2, N the number of rows (eq. 1).

    The 1/2 cancels the 2 of the square's derivative, and 1/N makes L a mean over samples.

    Shape:
        prediction: (N, ...) and target: exactly the same shape (no broadcasting: (N, 1) against
        (N,) is an error, not an (N, N) matrix of differences).

    Returns:
        forward: the loss, a Python float. backward: dL/dy_hat = -(Y - y_hat) / N, of the
        prediction's shape.

    Example:
        >>> loss = nl.MSELoss()
        >>> loss(np.array([[1.0], [3.0]]), np.array([[0.0], [1.0]]))  # (1 + 4) / (2 * 2)
        1.25
        >>> loss.backward()
        array([[0.5],
               [1. ]])
    """

    def forward(self, prediction: FloatArray, target: FloatArray) -> float:
        """L = 1/(2N) sum (Y - y_hat)^2 (eq. 1)."""
        if prediction.shape != target.shape:
            raise ShapeError(
                f"{label(self)} expects target of the prediction's shape {prediction.shape}, "
                f"got {target.shape}"
            )
        self.residual: FloatArray = target - prediction  # Y - y_hat
        n = prediction.shape[0]
        return float(np.sum(self.residual**2) / (2 * n))

    def backward(self) -> FloatArray:
        """dL/dy_hat = -(Y - y_hat) / N (the first factor of eq. 7 and 9)."""
        n = self.residual.shape[0]
        grad: FloatArray = -self.residual / n
        return grad
