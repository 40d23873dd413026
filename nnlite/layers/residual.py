"""Residual: a skip connection, y = x + inner(x), around a layer or a Sequential block."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nnlite._architecture import input_width
from nnlite._kinds import LayerKind, TorchFormula, register
from nnlite._validation import label
from nnlite.errors import ArgumentTypeError, ShapeError
from nnlite.layer import Layer
from nnlite.layers.activations import Tanh
from nnlite.layers.linear import Linear
from nnlite.sequential import Sequential
from nnlite.typing import FloatArray

if TYPE_CHECKING:
    from nnlite.interop.onnx import OnnxGraph


class Residual(Layer):
    """y = x + inner(x): the input added to what the inner layer makes of it.

    The derivative is the identity plus the inner layer's, so backward is the sum of the two
    paths: dL/dx = dL/dy + inner.backward(dL/dy). The skip path holds no parameter, so the
    parameter gradients are the inner layer's, named ``inner.weight`` and so on.

    Args:
        inner: the layer (often a Sequential block) whose output must have its input's shape.

    Shape:
        x: whatever ``inner`` takes -> y: the same shape.

    Raises:
        ArgumentTypeError: (a TypeError) inner is not a Layer. ShapeError: (at forward)
            inner(x) does not have the shape of x.

    Examples:
        >>> block = nl.Residual(nl.Sequential(nl.Linear(2, 2, rng=0), nl.Tanh()))
        >>> [name for name, _ in block.named_parameters()]
        ['inner.0.weight', 'inner.0.bias']
    """

    def __init__(self, inner: Layer) -> None:
        super().__init__()
        if not isinstance(inner, Layer):
            raise ArgumentTypeError(f"Residual: inner must be a Layer, got {inner!r}")
        self.inner = inner

    def forward(self, x: FloatArray) -> FloatArray:
        """y = x + inner(x)."""
        inner_y = self.inner(x)
        if inner_y.shape != x.shape:
            raise ShapeError(
                f"{label(self)}: inner(x) has shape {inner_y.shape}, but y = x + inner(x) needs "
                f"the shape of x, {x.shape}"
            )
        return x + inner_y

    def backward(self, grad_y: FloatArray) -> FloatArray:
        """dL/dx = dL/dy + inner.backward(dL/dy): the skip path's and the inner path's."""
        return grad_y + self.inner.backward(grad_y)

    def backward_parameters(self, grad_y: FloatArray) -> None:
        """The inner layer's parameter gradients only: the skip path holds no parameter."""
        self.inner.backward_parameters(grad_y)

    def get_config(self) -> dict[str, Any]:
        """No arguments of its own: a file records the inner layer as the kind's sublayer."""
        return {}

    def __repr__(self) -> str:
        inner = repr(self.inner)
        if "\n" not in inner:
            return f"Residual({inner})"
        return "Residual(\n  " + inner.replace("\n", "\n  ") + "\n)"  # a block, indented


# --- What the rest of nnlite knows of Residual (nnlite._kinds): a container, so its entry names
# the layer it holds (saving records it, PyTorch's module holds it converted); PyTorch has no
# such module, nnlite.interop.Residual is made from the formula; ONNX is the inner graph and an
# Add.


def _in_torch(torch: Any, x: Any, inner: Any) -> Any:
    """y = x + inner(x), ``inner`` the converted inner module."""
    return x + inner(x)


def _to_onnx(graph: OnnxGraph, layer: Residual, x: str) -> str:
    """The inner layer's nodes, then ``Add(x, .)``."""
    return graph.node("Add", [x, graph.sublayer(layer.inner, x)])


register(
    LayerKind(
        Residual,
        example=lambda n: Residual(
            Sequential(Linear(n, 4, rng=n), Tanh(), Linear(4, n, rng=n + 1))
        ),
        input_width=lambda layer: input_width(layer.inner),
        sublayers=lambda layer: {"inner": layer.inner},
        torch=TorchFormula(_in_torch),
        onnx=_to_onnx,
    )
)
