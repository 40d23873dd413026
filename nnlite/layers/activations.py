"""Elementwise activations."""

from __future__ import annotations

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

    Example:
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
