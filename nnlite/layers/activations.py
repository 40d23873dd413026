"""Elementwise activations."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from nnlite._constraints import Real
from nnlite._kinds import LayerKind, TorchConversion, register
from nnlite._numerics import exp_ignoring_overflow
from nnlite.layer import Layer
from nnlite.typing import FloatArray

if TYPE_CHECKING:
    from nnlite.interop.onnx import OnnxGraph


def sigmoid(h: FloatArray) -> FloatArray:
    """sigma(h) = 1 / (1 + exp(-h)), elementwise, for every finite h (eq. 3).

    The textbook form, which is accurate everywhere, tails included: for h far below 0, exp(-h) is
    huge and 1 / (1 + exp(-h)) keeps every digit of the tiny result; for h far above 0, exp(-h) is
    tiny and the result rounds to 1, as it should. Below h = -709 (float64) or -88 (float32)
    exp(-h) overflows to inf and 1 / (1 + inf) = 0, the right answer (the true value is below the
    smallest normal number): that overflow is expected, so it is not reported.
    """
    # Computed in the one array it returns, a step at a time. Measured with one nl.fit step of the
    # benchmark's two_layer_network at its medium size (N = 256, 256-256-10, float64): written as
    # the expression, whose temporaries are handed back to the system and faulted in again at
    # every step (149 page faults a step instead of 75), the step takes 8% to 14% longer (two
    # runs). At the other sizes, and in float32, the two are within 3% of each other.
    y = np.negative(h, out=np.empty_like(h))  # -h; out=: an array even when h is 0-d
    exp_ignoring_overflow(y, out=y)  # exp(-h); its inf below h = -709 gives the right 0
    y += 1  # 1 + exp(-h)
    return np.reciprocal(y, out=y)  # 1 / (1 + exp(-h))


class Sigmoid(Layer):
    """y = sigma(x) = 1 / (1 + exp(-x)), elementwise (eq. 3 and 5).

    The derivative is the derivation's sigma(x) (1 - sigma(x)) = y (1 - y), from the cached output.
    Where sigma(x) rounds to 1 (x above about 37 in float64, 17 in float32) it rounds to 0, an
    absolute error below the float's epsilon, as in PyTorch and every framework that keeps the
    output.

    Shape:
        x: any shape -> y: the same shape.

    Examples:
        >>> nl.Sigmoid()(np.array([[-1000.0, 0.0, 1000.0]]))
        array([[0. , 0.5, 1. ]])
    """

    def forward(self, x: FloatArray) -> FloatArray:
        """y = sigma(x)."""
        self.y = sigmoid(x)  # eq. 3 and 5: Z = sigma(H), y_hat = sigma(O); backward needs only y
        return self.y

    def backward(self, grad_y: FloatArray) -> FloatArray:
        """dL/dx = dL/dy * y (1 - y): the sigma(H)(1 - sigma(H)) factor of eq. 9 (and of eq. 7).

        Grouped as the chain rule, dL/dy times dy/dx, which is also the fast order, measured: the
        ungrouped ``grad_y * y * (1 - y)`` frees two temporaries at once, which go back to the
        system and are faulted in again at every step, 17% of an ``nl.fit`` step at the
        benchmark's medium size (N = 256, 256-256-10, float64).
        """
        grad_x = grad_y * (self.y * (1 - self.y))  # eq. 9: dL/dH = dL/dZ * Z (1 - Z)
        return np.asarray(grad_x)  # numpy makes the product of 0-d arrays a scalar


def tanh_derivative(x: FloatArray) -> FloatArray:
    """tanh'(x) = 1 - tanh(x)^2 = sech(x)^2 = (2e / (1 + e^2))^2 with e = exp(-|x|).

    Computed from x, not as 1 - y^2: for |x| beyond about 19 (float64) y rounds to +-1 and 1 - y^2
    collapses to 0, while this form stays within a few rounding errors of 4 exp(-2|x|). exp is only
    taken of -|x| <= 0 and e is squared rather than exp(-2|x|) formed, so nothing can overflow.
    """
    e = np.exp(-np.abs(x))
    derivative: FloatArray = (2 * e / (1 + e * e)) ** 2
    return derivative


class Tanh(Layer):
    """y = tanh(x) = (exp(x) - exp(-x)) / (exp(x) + exp(-x)), elementwise.

    Stable for every finite x (numpy's tanh saturates to +-1 without overflow). The derivative is
    computed from the cached input, accurate in the tails (see :func:`tanh_derivative`).

    Shape:
        x: any shape -> y: the same shape.

    Examples:
        >>> nl.Tanh()(np.array([[-1000.0, 0.0, 1000.0]]))
        array([[-1.,  0.,  1.]])
    """

    def forward(self, x: FloatArray) -> FloatArray:
        """y = tanh(x)."""
        self.x = x  # the derivative is computed from x, accurately in the tails
        return np.asarray(np.tanh(x))  # numpy makes the tanh of a 0-d array a scalar

    def backward(self, grad_y: FloatArray) -> FloatArray:
        """dL/dx = dL/dy * (1 - tanh(x)^2), computed as sech(x)^2 (see :func:`tanh_derivative`)."""
        return np.asarray(grad_y * tanh_derivative(self.x))  # a 0-d product is a scalar too


class ReLU(Layer):
    """y = max(x, 0), elementwise.

    Shape:
        x: any shape -> y: the same shape.

    Examples:
        >>> nl.ReLU()(np.array([[-1.0, 0.0, 2.0]]))
        array([[0., 0., 2.]])
    """

    def forward(self, x: FloatArray) -> FloatArray:
        """y = max(x, 0)."""
        self.positive = x > 0  # where the derivative is 1
        return np.asarray(np.maximum(x, 0))  # numpy makes the maximum of 0-d arrays a scalar

    def backward(self, grad_y: FloatArray) -> FloatArray:
        """dL/dx = dL/dy * [x > 0]: the derivative is 1 for x > 0 and 0 for x < 0.

        At the kink x = 0 the derivative does not exist; 0 is used there (a subgradient: any value
        in [0, 1] is one), as in PyTorch.
        """
        return np.asarray(grad_y * self.positive)  # a 0-d product is a scalar too


class LeakyReLU(Layer):
    """y = x for x > 0, negative_slope * x for x <= 0, elementwise.

    Args:
        negative_slope: the slope for x <= 0, a finite number >= 0 (default 0.01; 0 gives ReLU).

    Shape:
        x: any shape -> y: the same shape.

    Raises:
        ArgumentValueError: (a ValueError) negative_slope is a number below 0 or not finite.
        ArgumentTypeError: (a TypeError) negative_slope is not a real number.

    Examples:
        >>> nl.LeakyReLU(0.1)(np.array([[-2.0, 0.0, 3.0]]))
        array([[-0.2,  0. ,  3. ]])
    """

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        # Checked and made a Python float: a numpy float64 scalar would turn float32 arrays into
        # float64.
        self.negative_slope = Real(low=0).check("LeakyReLU", "negative_slope", negative_slope)

    def forward(self, x: FloatArray) -> FloatArray:
        """y = max(x, 0) + negative_slope * min(x, 0)."""
        self.positive = x > 0  # where the derivative is 1 rather than negative_slope
        # The slope multiplies only min(x, 0), never a large positive x it would overflow.
        y = np.maximum(x, 0) + self.negative_slope * np.minimum(x, 0)
        return np.asarray(y)  # numpy makes the result of 0-d arrays a scalar

    def backward(self, grad_y: FloatArray) -> FloatArray:
        """dL/dx = dL/dy for x > 0, negative_slope * dL/dy for x <= 0.

        At the kink x = 0 the derivative does not exist; negative_slope is used there (a
        subgradient: any value between negative_slope and 1 is one).
        """
        return np.where(self.positive, grad_y, self.negative_slope * grad_y)

    def get_config(self) -> dict[str, Any]:
        """The constructor argument, for saving: ``{"negative_slope": ...}``."""
        return {"negative_slope": self.negative_slope}

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope!r}"


class Identity(Layer):
    """y = x: a layer that does nothing, as a placeholder in a network.

    The input array itself is returned, not a copy, as ``torch.nn.Identity`` does.

    Shape:
        x: any shape -> y: the same shape.

    Examples:
        >>> nl.Identity()(np.array([[1.0, -2.0]]))
        array([[ 1., -2.]])
    """

    def forward(self, x: FloatArray) -> FloatArray:
        """y = x."""
        return x

    def backward(self, grad_y: FloatArray) -> FloatArray:
        """dL/dx = dL/dy: the derivative of y = x is 1."""
        return grad_y


# --- What the rest of nnlite knows of these layers (nnlite._kinds): saving, the command, the
# tests, and PyTorch and ONNX. Each is its torch.nn namesake and one ONNX op of its input, except
# LeakyReLU in a float64 ONNX graph.


def _leaky_relu_to_onnx(graph: OnnxGraph, layer: LeakyReLU, x: str) -> str:
    """``LeakyRelu(alpha=negative_slope)``, or where float32 cannot hold the slope exactly in a
    float64 graph, ``Relu(x) + slope * (x - Relu(x))`` with a float64 slope."""
    slope = layer.negative_slope
    if graph.dtype == np.float32 or float(np.float32(slope)) == slope:
        return graph.node("LeakyRelu", [x], alpha=slope)
    # LeakyRelu's alpha is a float32 attribute: a slope such as 0.1 would be rounded to float32,
    # an error of 1.5e-8. So in float64, nnlite's own formula with a double:
    # max(x, 0) + slope * min(x, 0), min(x, 0) being x - max(x, 0), exactly.
    positive = graph.node("Relu", [x])
    negative = graph.node("Sub", [x, positive])
    scaled = graph.node("Mul", [negative, graph.constant("slope", np.array(slope, graph.dtype))])
    return graph.node("Add", [positive, scaled])


# One entry per layer, written out rather than made by a helper: an entry is data, and a helper
# run at import would be code no test can reach with a mutant (see docs/contributing.md).
register(
    LayerKind(
        Sigmoid,
        example=lambda n: Sigmoid(),
        any_shape=True,
        torch=TorchConversion(lambda torch: torch.nn.Sigmoid),
        onnx="Sigmoid",
    )
)
register(
    LayerKind(
        Tanh,
        example=lambda n: Tanh(),
        any_shape=True,
        torch=TorchConversion(lambda torch: torch.nn.Tanh),
        onnx="Tanh",
    )
)
register(
    LayerKind(
        ReLU,
        example=lambda n: ReLU(),
        any_shape=True,
        torch=TorchConversion(lambda torch: torch.nn.ReLU),
        onnx="Relu",
    )
)
register(
    LayerKind(
        LeakyReLU,
        example=lambda n: LeakyReLU(),
        any_shape=True,
        torch=TorchConversion(lambda torch: torch.nn.LeakyReLU, arguments=("negative_slope",)),
        onnx=_leaky_relu_to_onnx,
    )
)
register(
    LayerKind(
        Identity,
        example=lambda n: Identity(),
        any_shape=True,
        torch=TorchConversion(lambda torch: torch.nn.Identity),
        onnx="Identity",
    )
)
