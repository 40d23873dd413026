"""Dropout: in training, each value zeroed with probability p and the rest scaled by 1 / (1 - p)."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnlite._constraints import Real
from nnlite._kinds import LayerKind, TorchConversion, register
from nnlite.layer import Layer
from nnlite.typing import FloatArray, RngLike


class Dropout(Layer):
    """y = x * m / (1 - p) in training mode, m_i ~ Bernoulli(1 - p); y = x in evaluation mode.

    Inverted dropout, as in PyTorch: each value is kept with probability 1 - p and scaled up by
    1 / (1 - p), so that E[y] = x and evaluation needs no rescaling. The mask is drawn afresh at
    every forward in training mode and kept for backward, whose derivative is the same mask:
    dL/dx = dL/dy * m / (1 - p). In evaluation mode the layer is the identity and returns its
    input array itself, as ``torch.nn.Dropout`` does.

    Args:
        p: the probability of zeroing a value, in [0, 1] (p = 1 zeroes everything).
        rng: seed or ``np.random.Generator`` of the masks; every random number comes from
            ``self.rng`` (so the conformance suite can hold it fixed). numpy's global random
            state is never used. Not saved: a loaded Dropout draws from fresh entropy.

    Shape:
        x: any shape -> y: the same shape.

    Raises:
        ArgumentValueError: (a ValueError) p is outside [0, 1]. ArgumentTypeError: (a TypeError)
            p is not a real number.

    Examples:
        >>> layer = nl.Dropout(0.5, rng=0)
        >>> layer(np.ones((2, 4)))
        array([[2., 0., 0., 0.],
               [2., 2., 2., 2.]])
        >>> layer.eval()(np.ones((2, 4)))
        array([[1., 1., 1., 1.],
               [1., 1., 1., 1.]])
    """

    stochastic = True

    def __init__(self, p: float = 0.5, *, rng: RngLike = None) -> None:
        super().__init__()
        self.p = Real(low=0, high=1).check("Dropout", "p", p)
        # 1 / (1 - p), and 0 for p = 1, where every value is dropped (PyTorch's output too).
        self.scale = 0.0 if self.p == 1 else 1 / (1 - self.p)
        self.rng = np.random.default_rng(rng)
        self.mask: FloatArray | None = None

    def forward(self, x: FloatArray) -> FloatArray:
        """y = x * m / (1 - p) in training, y = x in evaluation."""
        if not self.training:
            self.mask = None  # the identity: backward passes grad_y through
            return x
        keep = self.rng.random(x.shape) >= self.p  # each value kept with probability 1 - p
        # m / (1 - p) as a bool times a scalar of x's dtype: float32 stays float32.
        self.mask = keep * x.dtype.type(self.scale)
        return x * self.mask

    def backward(self, grad_y: FloatArray) -> FloatArray:
        """dL/dx = dL/dy * m / (1 - p), forward's mask; dL/dx = dL/dy in evaluation mode."""
        if self.mask is None:
            return grad_y
        return grad_y * self.mask

    def get_config(self) -> dict[str, Any]:
        """The constructor argument, for saving: ``{"p": ...}`` (not rng)."""
        return {"p": self.p}

    def extra_repr(self) -> str:
        return f"p={self.p!r}"


# --- What the rest of nnlite knows of Dropout (nnlite._kinds): saving, the command, the tests,
# and PyTorch (torch.nn.Dropout, the same p) and ONNX, which is the model in evaluation mode:
# the identity.

register(
    LayerKind(
        Dropout,
        example=lambda n: Dropout(0.3, rng=0),
        any_shape=True,
        torch=TorchConversion(lambda torch: torch.nn.Dropout, arguments=("p",)),
        onnx="Identity",
    )
)
