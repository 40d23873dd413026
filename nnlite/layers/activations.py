"""Elementwise activations."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nnlite._validation import FloatArray
from nnlite.layer import Layer


def sigmoid(h: FloatArray) -> FloatArray:
    """sigma(h) = 1 / (1 + exp(-h)), stable for every finite h (eq. 3).

    exp is only ever taken of -|h| <= 0, so it cannot overflow: with e = exp(-|h|),
    sigma(|h|) = 1 / (1 + e) and sigma(-|h|) = e / (1 + e). Both are accurate to the last bits,
    including far in the tails, where 1 - sigma(h) would round to 0.
    """
    e = np.exp(-np.abs(h))
    s = 1 / (1 + e)  # sigma(|h|)
    return np.where(h >= 0, s, e * s)


def sigmoid_derivative(h: FloatArray) -> FloatArray:
    """sigma'(h) = sigma(h) sigma(-h) = e / (1 + e)^2 with e = exp(-|h|).

    Computed from h, not as y (1 - y): for |h| beyond about 37 (float64) y rounds to 1 and y (1 - y)
    collapses to 0, while e / (1 + e)^2 stays within a rounding error of exp(-|h|).
    """
    e = np.exp(-np.abs(h))
    derivative: FloatArray = e / (1 + e) ** 2
    return derivative


class Sigmoid(Layer):
    """y = sigma(x) = 1 / (1 + exp(-x)), elementwise (eq. 3 and 5).

    Shape:
        x: any shape -> y: the same shape.

    Examples:
        >>> nl.Sigmoid()(np.array([[-1000.0, 0.0, 1000.0]]))
        array([[0. , 0.5, 1. ]])
    """

    def forward(self, x: FloatArray) -> FloatArray:
        """y = sigma(x)."""
        self.x = x  # the derivative is computed from x, accurately in the tails
        return sigmoid(x)

    def backward(self, grad_y: FloatArray) -> FloatArray:
        """dL/dx = dL/dy * sigma(x) sigma(-x) (the sigma(H)(1 - sigma(H)) factor of eq. 9)."""
        return grad_y * sigmoid_derivative(self.x)


def tanh_derivative(x: FloatArray) -> FloatArray:
    """tanh'(x) = 1 - tanh(x)^2 = sech(x)^2 = (2e / (1 + e^2))^2 with e = exp(-|x|).

    Computed from x, not as 1 - y^2: for |x| beyond about 19 (float64) y rounds to +-1 and 1 - y^2
    collapses to 0, while this form stays within a few rounding errors of 4 exp(-2|x|). exp is only
    taken of -|x| <= 0 and e is squared rather than exp(-2|x|) formed, so nothing can overflow.
    """
    e = np.exp(-np.abs(x))
    derivative: FloatArray = (2 * e / (1 + e * e)) ** 2
    return derivative


class Tanh(Layer):
    """y = tanh(x) = (exp(x) - exp(-x)) / (exp(x) + exp(-x)), elementwise.

    Stable for every finite x (numpy's tanh saturates to +-1 without overflow), with an accurate
    derivative in the tails, as :class:`Sigmoid`.

    Shape:
        x: any shape -> y: the same shape.

    Examples:
        >>> nl.Tanh()(np.array([[-1000.0, 0.0, 1000.0]]))
        array([[-1.,  0.,  1.]])
    """

    def forward(self, x: FloatArray) -> FloatArray:
        """y = tanh(x)."""
        self.x = x  # the derivative is computed from x, accurately in the tails
        y: FloatArray = np.tanh(x)
        return y

    def backward(self, grad_y: FloatArray) -> FloatArray:
        """dL/dx = dL/dy * (1 - tanh(x)^2), computed as sech(x)^2 (see :func:`tanh_derivative`)."""
        return grad_y * tanh_derivative(self.x)


class ReLU(Layer):
    """y = max(x, 0), elementwise.

    Shape:
        x: any shape -> y: the same shape.

    Examples:
        >>> nl.ReLU()(np.array([[-1.0, 0.0, 2.0]]))
        array([[0., 0., 2.]])
    """

    def forward(self, x: FloatArray) -> FloatArray:
        """y = max(x, 0)."""
        self.positive = x > 0  # where the derivative is 1
        return np.maximum(x, 0)

    def backward(self, grad_y: FloatArray) -> FloatArray:
        """dL/dx = dL/dy * [x > 0]: the derivative is 1 for x > 0 and 0 for x < 0.

        At the kink x = 0 the derivative does not exist; 0 is used there (a subgradient: any value
        in [0, 1] is one), as in PyTorch.
        """
        return grad_y * self.positive


class LeakyReLU(Layer):
    """y = x for x > 0, negative_slope * x for x <= 0, elementwise.

    Args:
        negative_slope: the slope for x <= 0, a finite number >= 0 (default 0.01; 0 gives ReLU).

    Shape:
        x: any shape -> y: the same shape.

    Raises:
        ValueError: negative_slope is not a finite real number >= 0.

    Examples:
        >>> nl.LeakyReLU(0.1)(np.array([[-2.0, 0.0, 3.0]]))
        array([[-0.2,  0. ,  3. ]])
    """

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        if (
            isinstance(negative_slope, bool)
            or not isinstance(negative_slope, (int, float, np.integer, np.floating))
            or not math.isfinite(negative_slope)
            or negative_slope < 0
        ):
            raise ValueError(
                f"LeakyReLU expects negative_slope to be a finite number >= 0, "
                f"got {negative_slope!r}"
            )
        # A Python float: a numpy float64 scalar would turn float32 arrays into float64.
        self.negative_slope = float(negative_slope)

    def forward(self, x: FloatArray) -> FloatArray:
        """y = max(x, 0) + negative_slope * min(x, 0)."""
        self.positive = x > 0  # where the derivative is 1 rather than negative_slope
        # The slope multiplies only min(x, 0), never a large positive x it would overflow.
        return np.maximum(x, 0) + self.negative_slope * np.minimum(x, 0)

    def backward(self, grad_y: FloatArray) -> FloatArray:
        """dL/dx = dL/dy for x > 0, negative_slope * dL/dy for x <= 0.

        At the kink x = 0 the derivative does not exist; negative_slope is used there (a
        subgradient: any value between negative_slope and 1 is one).
        """
        return np.where(self.positive, grad_y, self.negative_slope * grad_y)

    def get_config(self) -> dict[str, Any]:
        """The constructor argument, for saving: ``{"negative_slope": ...}``."""
        return {"negative_slope": self.negative_slope}

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope!r}"


class Identity(Layer):
    """y = x: a layer that does nothing, as a placeholder in a network.

    The input array itself is returned, not a copy, as ``torch.nn.Identity`` does.

    Shape:
        x: any shape -> y: the same shape.

    Examples:
        >>> nl.Identity()(np.array([[1.0, -2.0]]))
        array([[ 1., -2.]])
    """

    def forward(self, x: FloatArray) -> FloatArray:
        """y = x."""
        return x

    def backward(self, grad_y: FloatArray) -> FloatArray:
        """dL/dx = dL/dy: the derivative of y = x is 1."""
        return grad_y
