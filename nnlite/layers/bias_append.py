"""BiasAppend: the column of ones that gives the next Linear its bias row (between eq. 3 and 4)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from nnlite._kinds import LayerKind, TorchFormula, register
from nnlite._validation import check_rows
from nnlite.layer import Layer
from nnlite.typing import FloatArray

if TYPE_CHECKING:
    from nnlite.interop.onnx import OnnxGraph


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


# --- What the rest of nnlite knows of BiasAppend (nnlite._kinds): saving, the command, the tests,
# and PyTorch (which has no such module: nnlite.interop.BiasAppend is made from the formula) and
# ONNX. torch is handed to the converters, never imported here.


def _in_torch(torch: Any, x: Any) -> Any:
    """y = [x, 1], the ones in x's dtype and on x's device."""
    ones = torch.ones(x.shape[0], 1, dtype=x.dtype, device=x.device)
    return torch.cat([x, ones], dim=1)


def _to_onnx(graph: OnnxGraph, layer: BiasAppend, x: str) -> str:
    """``Concat(x, ones, axis=1)``, the ones ``ConstantOfShape([N, 1])`` with N read from
    ``Shape(x)`` at run time, so the batch size stays free."""
    batch = graph.node("Shape", [x], start=0, end=1)  # [N]
    one = graph.constant("one", np.array([1], dtype=np.int64))
    shape = graph.node("Concat", [batch, one], axis=0)  # [N, 1]
    ones = graph.node("ConstantOfShape", [shape], value=graph.tensor(np.ones(1, graph.dtype)))
    return graph.node("Concat", [x, ones], axis=1)


register(
    LayerKind(
        BiasAppend,
        example=lambda n: BiasAppend(),
        output_width=lambda layer, width: None if width is None else width + 1,
        torch=TorchFormula(_in_torch),
        onnx=_to_onnx,
    )
)
