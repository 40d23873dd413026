"""Parameter, a trainable array and the gradient backward accumulates into it; Buffer, state."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from nnlite._validation import as_float_array
from nnlite.typing import FloatArray


class _Tensor:
    """What a Parameter and a Buffer share: ``data``, an array, with its shape, dtype and size."""

    data: FloatArray

    def __init__(self, data: ArrayLike) -> None:
        name = type(self).__name__
        self.data = np.array(as_float_array(data, name, "data"), copy=True)

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of ``data``."""
        return self.data.shape

    @property
    def dtype(self) -> np.dtype[np.floating]:
        """The dtype of ``data``."""
        return self.data.dtype

    @property
    def size(self) -> int:
        """The number of scalars in ``data``."""
        return self.data.size

    def extra_repr(self) -> str:
        return f"shape={self.shape}, dtype={self.dtype}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"


class Parameter(_Tensor):
    """A trainable tensor: ``data`` and its gradient ``grad``, of the same shape and dtype.

    A layer holds its parameters as plain attributes (``self.weight = Parameter(...)``); that is all
    it takes for ``Layer.parameters()`` to find them. ``backward`` adds into ``grad`` (``+=``) so
    gradients accumulate over calls until ``zero_grad()``.

    Args:
        data: the initial values, converted by nnlite's dtype rule (float32 stays float32, lists and
            integers become float64) and copied, so the caller's array is never trained in place.

    Attributes:
        data: the values, an ndarray.
        grad: dL/d(data), same shape and dtype, zeros at creation.

    Examples:
        >>> p = nl.Parameter([[1.0, 2.0]])
        >>> p.grad
        array([[0., 0.]])
    """

    grad: FloatArray

    def __init__(self, data: ArrayLike) -> None:
        super().__init__(data)
        self.grad = np.zeros_like(self.data)

    def zero_grad(self) -> None:
        """Set ``grad`` to zero in place (the array object is kept)."""
        self.grad.fill(0)


class Buffer(_Tensor):
    """Non-trainable state a layer keeps between calls, such as BatchNorm's running mean.

    Found like a :class:`Parameter` (any attribute holding one, under a dotted name), kept out of
    ``parameters()`` (no optimizer updates it and it has no ``grad``), and included in
    ``state_dict()`` / ``load_state_dict()``, so it is saved and loaded with the model. A layer
    updates ``data`` in place (``self.running_mean.data *= ...``), as it would a parameter.

    Args:
        data: the initial values, converted by nnlite's dtype rule and copied.

    Attributes:
        data: the values, an ndarray.

    Examples:
        >>> nl.Buffer(np.zeros(3))
        Buffer(shape=(3,), dtype=float64)
    """
