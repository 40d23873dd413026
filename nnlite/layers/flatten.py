"""Flatten and Unflatten: a batch of images (or any samples) as rows, and rows as images."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from nnlite._constraints import Integer, TupleOf
from nnlite._kinds import LayerKind, TorchConversion, register
from nnlite._validation import label
from nnlite.errors import ShapeError
from nnlite.layer import Layer
from nnlite.typing import FloatArray, Floats2d

if TYPE_CHECKING:
    from nnlite.interop.onnx import OnnxGraph


class Flatten(Layer):
    """y[n] = x[n] flattened, row-major: each sample of a batch becomes one row.

    Between convolutions and a Linear: images (N, C, H, W) become rows (N, C H W), pixel
    (c, i, j) in column (c H + i) W + j, as ``torch.nn.Flatten()`` and ``x.reshape(N, -1)``
    order them.

    Shape:
        x: (N, d1, d2, ...), two dimensions or more -> y: (N, d1 d2 ...).

    Raises:
        ShapeError: (at forward) x has fewer than two dimensions.

    Examples:
        >>> nl.Flatten()(np.zeros((4, 3, 8, 8))).shape
        (4, 192)
    """

    def forward(self, x: FloatArray) -> Floats2d:
        """y = x.reshape(N, -1)."""
        if x.ndim < 2:
            raise ShapeError(f"{label(self)} expects input of shape (N, ...), got {x.shape}")
        self.x_shape = x.shape  # backward gives the gradient this shape back
        return x.reshape(x.shape[0], -1)

    def backward(self, grad_y: Floats2d) -> FloatArray:
        """dL/dx = grad_y reshaped to x's shape: a reshape moves values, it changes none."""
        return grad_y.reshape(self.x_shape)


class Unflatten(Layer):
    """y[n] = x[n] reshaped to ``shape``, row-major: each row becomes a sample of that shape.

    The inverse of :class:`Flatten`. It lets a model that works on images take rows, such as
    the flattened digits (N, 64): ``Unflatten((1, 8, 8))`` makes them images (N, 1, 8, 8) for a
    Conv2d, so the model takes the same data, and the same ``nnlite`` commands, as a network of
    Linear layers. ``torch.nn.Unflatten(1, shape)`` in PyTorch.

    Args:
        shape: the shape of one sample of the output, a tuple (or list) of ints >= 1.

    Shape:
        x: (N, prod(shape)) -> y: (N, *shape).

    Raises:
        ArgumentValueError: (a ValueError) shape is empty or has a size below 1.
        ArgumentTypeError: (a TypeError) shape is not a tuple or list of ints.
        ShapeError: (at forward) x is not (N, prod(shape)).

    Examples:
        >>> nl.Unflatten((1, 8, 8))(np.zeros((4, 64))).shape
        (4, 1, 8, 8)
    """

    def __init__(self, shape: Sequence[int]) -> None:
        super().__init__()
        self.shape = TupleOf(Integer(low=1)).check("Unflatten", "shape", shape)
        self.in_features = math.prod(self.shape)

    def forward(self, x: Floats2d) -> FloatArray:
        """y = x.reshape(N, *shape)."""
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ShapeError(
                f"{label(self)} expects input of shape (N, {self.in_features}), got {x.shape}"
            )
        return x.reshape(x.shape[0], *self.shape)

    def backward(self, grad_y: FloatArray) -> Floats2d:
        """dL/dx = grad_y as rows again: a reshape moves values, it changes none."""
        return grad_y.reshape(grad_y.shape[0], self.in_features)

    def get_config(self) -> dict[str, Any]:
        """The constructor argument, for saving: ``{"shape": [...]}``."""
        return {"shape": list(self.shape)}

    def extra_repr(self) -> str:
        return f"shape={self.shape}"


# --- What the rest of nnlite knows of Flatten and Unflatten (nnlite._kinds): saving, the command,
# the tests, and PyTorch and ONNX. torch is handed to the converters, never imported here.


def _flatten_from_torch(torch: Any, module: Any) -> Flatten:
    """Flatten of a ``torch.nn.Flatten()`` that keeps the batch dimension and flattens the rest."""
    if (module.start_dim, module.end_dim) != (1, -1):
        raise ValueError(
            "nnlite's Flatten flattens all but the batch dimension (start_dim=1, end_dim=-1), "
            f"got start_dim={module.start_dim}, end_dim={module.end_dim}"
        )
    return Flatten()


def _unflatten_from_torch(torch: Any, module: Any) -> Unflatten:
    """Unflatten of a ``torch.nn.Unflatten(1, shape)``."""
    if module.dim != 1:
        raise ValueError(f"nnlite's Unflatten unflattens dimension 1 only, got dim={module.dim}")
    return Unflatten(tuple(module.unflattened_size))


def _unflatten_to_onnx(graph: OnnxGraph, layer: Unflatten, x: str) -> str:
    """``Reshape(x, [0, *shape])``, the 0 keeping the batch size, whatever it is."""
    shape = graph.constant("shape", np.array([0, *layer.shape], dtype=np.int64))
    return graph.node("Reshape", [x, shape])


register(
    LayerKind(
        Flatten,
        example=lambda c: Flatten(),
        # Rows stay rows of the same width; of images it cannot tell a width.
        output_width=lambda layer, width: width,
        sample_shape=(2, 3, 2),
        torch=TorchConversion(
            lambda torch: torch.nn.Flatten,
            to_torch=lambda torch, layer: torch.nn.Flatten(),
            from_torch=_flatten_from_torch,
        ),
        onnx=lambda graph, layer, x: graph.node("Flatten", [x], axis=1),
    )
)
register(
    LayerKind(
        Unflatten,
        example=lambda n: Unflatten((1, n)),
        input_width=lambda layer: layer.in_features,
        output_width=lambda layer, width: layer.shape[0] if len(layer.shape) == 1 else None,
        sample_shape=(6,),
        torch=TorchConversion(
            lambda torch: torch.nn.Unflatten,
            to_torch=lambda torch, layer: torch.nn.Unflatten(1, layer.shape),
            from_torch=_unflatten_from_torch,
        ),
        onnx=_unflatten_to_onnx,
    )
)
