"""Scale: y = x * s, one learned scale per feature, a layer kind added from outside nnlite.

This file is all a new kind takes: the layer, and beside it its entry for the registry, SCALE,
with its formula in PyTorch and its ONNX node. ``nnlite.interop.register(SCALE)`` is the one line
that adds it; nothing in nnlite changes (tests/test_layer_kinds.py shows what then works).
torch and onnx are not imported here: the converters are handed them when they run.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import nnlite as nl
from nnlite.interop import LayerKind, OnnxGraph, TorchFormula


class Scale(nl.Layer):
    """y = x * s, with s one learned scale per feature.

    Shape:
        x: (N, n_features) -> y: (N, n_features).
    """

    def __init__(self, n_features: int) -> None:
        super().__init__()
        self.n_features = n_features
        self.scale = nl.Parameter(np.linspace(0.5, 1.5, n_features))  # not all 1: a wrong
        # gradient shows

    def forward(self, x: nl.FloatArray) -> nl.FloatArray:
        """y = x * s."""
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise nl.ShapeError(
                f"{self!r} expects input of shape (N, {self.n_features}), got {x.shape}"
            )
        self.x = x  # dL/ds needs the input
        return x * self.scale.data

    def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        """dL/ds += sum_i grad_y[i] * x[i], and dL/dx = grad_y * s."""
        self.scale.grad += (grad_y * self.x).sum(axis=0)
        return grad_y * self.scale.data

    def get_config(self) -> dict[str, Any]:
        return {"n_features": self.n_features}

    def extra_repr(self) -> str:
        return f"n_features={self.n_features}"


def _in_torch(torch: Any, x: Any, scale: Any) -> Any:
    """y = x * s in torch; ``scale`` is the module's copy of the parameter of that name."""
    return x * scale


def _to_onnx(graph: OnnxGraph, layer: Scale, x: str) -> str:
    """One ``Mul`` by the scales, an initializer named after the layer's position."""
    return graph.node("Mul", [x, graph.constant("scale", layer.scale.data)])


SCALE = LayerKind(
    Scale,
    example=Scale,
    input_width=lambda layer: layer.n_features,
    torch=TorchFormula(_in_torch),
    onnx=_to_onnx,
)
