"""Linear: the affine map y = x @ W + b of equations 2 and 4."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import DTypeLike

from nnlite._constraints import FloatDtype, Integer
from nnlite._kinds import LayerKind, TorchConversion, register
from nnlite._validation import check_features
from nnlite.init import initialize, uniform
from nnlite.layer import Layer
from nnlite.parameter import Parameter
from nnlite.typing import FloatArray, RngLike

if TYPE_CHECKING:
    from nnlite.interop.onnx import OnnxGraph


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
        init: the weight's initialisation, a name of :mod:`nnlite.init`: ``"uniform"`` (the
            default, PyTorch's), ``"xavier"``, ``"he"``, ``"kaiming_uniform"``, ``"zeros"``, ...
            with fan_in = in_features and fan_out = out_features. The bias is drawn as by
            default whatever the weight's scheme (as PyTorch keeps it when a weight is
            re-initialised).

    Shape:
        x: (N, in_features) -> y: (N, out_features).

    Attributes:
        weight: Parameter of shape (in_features, out_features), uniform in +-1/sqrt(in_features)
            by default (see ``init``).
        bias: Parameter of shape (out_features,), uniform in +-1/sqrt(in_features), or None when
            ``bias=False``.

    Raises:
        ArgumentValueError: (a ValueError) a width is an int below 1, or init is not a scheme's
            name. ArgumentTypeError: (a TypeError) a width is not an int, or dtype is not float32
            or float64.
        ShapeError: (at forward) x is not (N, in_features).

    Examples:
        >>> layer = nl.Linear(3, 2, rng=0)
        >>> layer(np.ones((4, 3))).shape
        (4, 2)
        >>> nl.Linear(3, 2, init="zeros", rng=0).weight.data
        array([[0., 0.],
               [0., 0.],
               [0., 0.]])
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        bias: bool = True,
        rng: RngLike = None,
        dtype: DTypeLike = np.float64,
        init: str = "uniform",
    ) -> None:
        super().__init__()
        self.in_features = Integer(low=1).check("Linear", "in_features", in_features)
        self.out_features = Integer(low=1).check("Linear", "out_features", out_features)
        self.dtype = FloatDtype().check("Linear", "dtype", dtype)
        generator = np.random.default_rng(rng)
        n_in, n_out = self.in_features, self.out_features
        weight = initialize("Linear", init, (n_in, n_out), n_in, n_out, generator, self.dtype)
        self.weight = Parameter(weight)
        self.bias = (
            Parameter(
                uniform((n_out,), fan_in=n_in, fan_out=n_out, rng=generator, dtype=self.dtype)
            )
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
        """The constructor arguments, for saving: widths, bias and dtype (not rng or init: the
        weights are saved)."""
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


# --- What the rest of nnlite knows of Linear (nnlite._kinds): saving, the command, the tests, and
# PyTorch and ONNX. torch is handed to the converters, never imported here.


def _to_torch(torch: Any, layer: Linear) -> Any:
    """``torch.nn.Linear`` with weight W^T, of shape (out, in), and the same bias and dtype."""
    module = torch.nn.utils.skip_init(  # no random init: every value is overwritten
        torch.nn.Linear,
        layer.in_features,
        layer.out_features,
        bias=layer.bias is not None,
        dtype=getattr(torch, str(layer.dtype)),
    )
    with torch.no_grad():
        module.weight.copy_(torch.from_numpy(layer.weight.data.T))  # (in, out) -> (out, in)
        if layer.bias is not None:
            module.bias.copy_(torch.from_numpy(layer.bias.data))
    return module


def _from_torch(torch: Any, module: Any) -> Linear:
    """The Linear of a ``torch.nn.Linear``: its weight transposed back to (in, out)."""
    dtypes = {torch.float32: np.float32, torch.float64: np.float64}
    if module.weight.dtype not in dtypes:
        raise TypeError(f"its parameters are {module.weight.dtype}, not float32 or float64")
    layer = Linear(
        module.in_features,
        module.out_features,
        bias=module.bias is not None,
        rng=0,  # overwritten below; a fixed seed avoids drawing fresh entropy
        dtype=dtypes[module.weight.dtype],
    )
    layer.weight.data[...] = module.weight.detach().cpu().numpy().T  # (out, in) -> (in, out)
    if layer.bias is not None:
        layer.bias.data[...] = module.bias.detach().cpu().numpy()
    return layer


def _to_onnx(graph: OnnxGraph, layer: Linear, x: str) -> str:
    """``MatMul(x, W)``, W in nnlite's (in, out) layout, then ``Add(., b)`` with a bias."""
    y = graph.node("MatMul", [x, graph.constant("weight", layer.weight.data)])
    if layer.bias is not None:
        y = graph.node("Add", [y, graph.constant("bias", layer.bias.data)])
    return y


def _state_size(config: Mapping[str, Any]) -> int:
    """How many values ``Linear(**config)`` allocates: in * out, plus out for a bias."""
    n_in, n_out = config.get("in_features"), config.get("out_features")
    if type(n_in) is not int or type(n_out) is not int or n_in < 1 or n_out < 1:
        return 0  # its constructor refuses it, before allocating anything
    return n_in * n_out + (n_out if config.get("bias", True) else 0)


register(
    LayerKind(
        Linear,
        example=lambda n: Linear(n, 3, rng=n),
        input_width=lambda layer: layer.in_features,
        output_width=lambda layer, width: layer.out_features,
        state_size=_state_size,
        torch=TorchConversion(
            lambda torch: torch.nn.Linear, to_torch=_to_torch, from_torch=_from_torch
        ),
        onnx=_to_onnx,
    )
)
