"""BiasAppend: the column of ones that gives the next Linear its bias row (between eq. 3 and 4)."""

from __future__ import annotations

import numpy as np

from nnlite._validation import check_rows
from nnlite.layer import Layer
from nnlite.typing import FloatArray


class BiasAppend(Layer):
    """y = [x, 1]: append a column of ones as the last column.

    The next Linear's last weight row then multiplies that constant 1 and acts as its bias, as in
    the derivation's O = [Z, 1] W2.

    Shape:
        x: (N, d) -> y: (N, d + 1).

    Examples:
        >>> nl.BiasAppend()(np.array([[2.0, 3.0]]))
        array([[2., 3., 1.]])
    """

    def forward(self, x: FloatArray) -> FloatArray:
        """y = [x, 1]."""
        check_rows(self, x)
        n, d = x.shape
        y = np.empty((n, d + 1), dtype=x.dtype)
        y[:, :d] = x
        y[:, d] = 1
        return y

    def backward(self, grad_y: FloatArray) -> FloatArray:
        """dL/dx = grad_y without its last column.

        The ones column is a constant, so its gradient goes nowhere: this is why eq. 9 multiplies by
        the rows of W2 that meet Z, and never by W2's bias row.
        """
        return grad_y[:, :-1]
