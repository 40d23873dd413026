"""What every layer check starts from: a working copy of the layer, run forward once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from nnlite._validation import as_float_array, label
from nnlite.layer import Layer
from nnlite.testing._pinning import Pinned, replica
from nnlite.testing.gradcheck import require_finite_input, upstream_generator
from nnlite.typing import FloatArray, RngLike


@dataclass
class Run:
    """A check's working copy of the layer, run once forward at x, and what it needs."""

    subject: str
    layer: Layer
    x: FloatArray
    pinned: Pinned
    y: FloatArray
    grad_y: FloatArray
    rng: np.random.Generator

    @property
    def eps(self) -> float:
        """The machine epsilon of the layer's output (float32's at least)."""
        return float(np.finfo(np.result_type(self.y.dtype, np.float32)).eps)

    def forward(self, x: FloatArray | None = None) -> FloatArray:
        """Forward (pinned) at x, by default the check's own; a copy of the output."""
        return np.array(self.pinned.forward(self.x if x is None else x), copy=True)

    def backward(self, grad_y: FloatArray | None = None) -> FloatArray:
        """backward at grad_y (a copy of it), by default the check's own; a copy of dL/dx."""
        upstream = self.grad_y if grad_y is None else grad_y
        return np.array(self.layer.backward(upstream.copy()), copy=True)

    def grads(self) -> dict[str, FloatArray]:
        """A copy of every parameter's grad, by name."""
        return {name: p.grad.copy() for name, p in self.layer.named_parameters()}


def start(
    check: str,
    layer: Layer,
    x: ArrayLike,
    grad_y: ArrayLike | None,
    rng: RngLike,
    *,
    mode: bool | None = None,
    dtype: type[np.floating[Any]] | None = None,
) -> Run:
    """Copy the layer (in ``dtype`` and training mode ``mode`` if given), run it forward at x, draw
    grad_y if not given (from :func:`~nnlite.testing.gradcheck.upstream_generator`), zero the
    grads."""
    if not isinstance(layer, Layer):
        raise TypeError(f"check_{check} expects a Layer, got a {type(layer).__name__}")
    subject = label(layer)
    work = replica(layer, dtype)
    if mode is not None:
        work.train(mode)
    values = np.array(as_float_array(x, work, "input"), dtype=dtype, copy=True)
    require_finite_input(values, f"check_{check}({subject})", "x")
    pinned = Pinned(work)
    y = np.array(pinned.forward(values), copy=True)
    generator = upstream_generator(rng)
    if grad_y is None:
        upstream = generator.standard_normal(y.shape).astype(y.dtype)
    else:
        upstream = np.array(as_float_array(grad_y, work, "grad_y"), dtype=y.dtype, copy=True)
        if upstream.shape != y.shape:
            raise ValueError(
                f"check_{check}: grad_y must have the output's shape {y.shape}, "
                f"got {upstream.shape}"
            )
        require_finite_input(upstream, f"check_{check}({subject})", "grad_y")
    work.zero_grad()
    return Run(subject, work, values, pinned, y, upstream, generator)
