"""Linear: the affine map y = x @ W + b of equations 2 and 4."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from nnlite._validation import check_features, positive_int
from nnlite.layer import Layer
from nnlite.parameter import Parameter
from nnlite.typing import FloatArray, RngLike


class Linear(Layer):
    """y = x @ W + b, with W of shape (in_features, out_features) (eq. 2 and 4).

    The weight is laid out (in, out), as in the derivation (H = X W1), so the forward is one matrix
    product with no transpose.

    Args:
        in_features: width of each input row.
        out_features: width of each output row.
        bias: add a learned bias b. The derivation's network has none: it appends a column of ones
            instead (see :class:`BiasAppend`).
        rng: seed or ``np.random.Generator`` for the initial values; the same seed gives the same
            layer. numpy's global random state is never used.
        dtype: float64 (default) or float32; the parameters' dtype.

    Shape:
        x: (N, in_features) -> y: (N, out_features).

    Attributes:
        weight: Parameter of shape (in_features, out_features), uniform in +-1/sqrt(in_features).
        bias: Parameter of shape (out_features,), same init, or None when ``bias=False``.

    Raises:
        ValueError: a width is not a positive int. TypeError: dtype is not float32 or float64.
        ShapeError: (at forward) x is not (N, in_features).

    Examples:
        >>> layer = nl.Linear(3, 2, rng=0)
        >>> layer(np.ones((4, 3))).shape
        (4, 2)
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        bias: bool = True,
        rng: RngLike = None,
        dtype: DTypeLike = np.float64,
    ) -> None:
        super().__init__()
        self.in_features = positive_int("Linear", "in_features", in_features)
        self.out_features = positive_int("Linear", "out_features", out_features)
        self.dtype = _float_dtype(dtype)
        generator = np.random.default_rng(rng)
        bound = 1.0 / math.sqrt(in_features)
        self.weight = Parameter(
            generator.uniform(-bound, bound, (in_features, out_features)).astype(self.dtype)
        )
        self.bias = (
            Parameter(generator.uniform(-bound, bound, out_features).astype(self.dtype))
            if bias
            else None
        )

    def forward(self, x: FloatArray) -> FloatArray:
        """y = x @ W + b."""
        check_features(self, x, self.in_features)
        self.x = x  # dL/dW needs the input
        y = x @ self.weight.data  # eq. 2 and 4: H = X W1, O = [Z, 1] W2
        if self.bias is not None:
            y += self.bias.data
        return y

    def backward(self, grad_y: FloatArray) -> FloatArray:
        """dL/dx = grad_y W^T, once :meth:`backward_parameters` has added dL/dW and dL/db.

        The two halves, as Torch7's ``Module:backward`` is ``updateGradInput`` and
        ``accGradParameters``. It calls Linear's own backward_parameters, not ``self``'s: a
        subclass that overrides backward gets the default backward_parameters, which runs
        backward, and the two would call each other for ever.
        """
        Linear.backward_parameters(self, grad_y)  # eq. 7, 9: dL/dW (and dL/db)
        return grad_y @ self.weight.data.T  # eq. 8, 9: dL/dx[i, k] = sum_l grad_y[i, l] W[k, l]

    def backward_parameters(self, grad_y: FloatArray) -> None:
        """The parameter half of backward: dL/dW += x^T grad_y, dL/db += sum_i grad_y[i]."""
        self.weight.grad += self.x.T @ grad_y  # eq. 7, 9: dL/dW[k, l] = sum_i x[i, k] grad_y[i, l]
        if self.bias is not None:
            self.bias.grad += grad_y.sum(axis=0)

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, for saving: widths, bias and dtype (not rng)."""
        return {
            "in_features": self.in_features,
            "out_features": self.out_features,
            "bias": self.bias is not None,
            "dtype": str(self.dtype),
        }

    def extra_repr(self) -> str:
        text = f"in_features={self.in_features}, out_features={self.out_features}"
        if self.bias is None:
            text += ", bias=False"
        if self.dtype != np.float64:
            text += f", dtype={self.dtype}"
        return text


def _float_dtype(dtype: DTypeLike) -> np.dtype[np.floating]:
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        resolved = None
    # (checked with `is None` first: np.dtype(None) is float64, so None == float64 dtype is True)
    if resolved is None or resolved not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError(f"Linear expects dtype float32 or float64, got {dtype!r}")
    return resolved  # type: ignore[return-value]
