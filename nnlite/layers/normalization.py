"""What BatchNorm1d and LayerNorm share: one normalization, over the batch or over each sample.

Both compute x_hat = (x - mu) / sqrt(sigma^2 + eps) and y = x_hat * weight + bias, with mu and
sigma^2 the mean and the (biased) variance over some axes: BatchNorm1d's over the batch, one pair
per feature; LayerNorm's over each sample's trailing axes, one pair per sample. So their backward
is one formula too, :func:`normalization_backward`, derived step by step on the Layer
derivations page of the docs. The two layers are in ``batch_norm.py`` and ``layer_norm.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nnlite.layer import Layer
from nnlite.typing import FloatArray


def moments(x: FloatArray, axes: tuple[int, ...]) -> tuple[FloatArray, FloatArray]:
    """mu = 1/m sum x and sigma^2 = 1/m sum (x - mu)^2 over ``axes`` (m values), kept as axes of
    length 1 so they broadcast against x. sigma^2 is the biased variance, the one normalized by."""
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    return mean, var


def normalization_backward(
    grad_x_hat: FloatArray, x_hat: FloatArray, inv_std: FloatArray, axes: tuple[int, ...]
) -> FloatArray:
    """dL/dx = (dL/dx_hat - mean(dL/dx_hat) - x_hat * mean(dL/dx_hat * x_hat)) / sqrt(sigma^2 + eps)

    for x_hat = (x - mu) / sqrt(sigma^2 + eps) with mu and sigma^2 the mean and variance over
    ``axes``, the means taken over the same axes: the chain rule through x_hat, mu and sigma^2
    together (the two means are what flows back through mu and through sigma^2).
    """
    grad_x: FloatArray = inv_std * (
        grad_x_hat
        - grad_x_hat.mean(axis=axes, keepdims=True)
        - x_hat * (grad_x_hat * x_hat).mean(axis=axes, keepdims=True)
    )
    return grad_x


# --- Copying parameters and buffers to and from PyTorch's namesakes, by name.


def torch_dtype(torch: Any, module: Any) -> Any:
    """The numpy dtype of a module's parameters; a TypeError for anything but float32/float64."""
    dtypes = {torch.float32: np.float32, torch.float64: np.float64}
    if module.weight is None:
        raise TypeError(
            "it has no weight and bias (affine=False), which nnlite's layers always have"
        )
    if module.weight.dtype not in dtypes:
        raise TypeError(f"its parameters are {module.weight.dtype}, not float32 or float64")
    return dtypes[module.weight.dtype]


def copy_to_torch(torch: Any, layer: Layer, module: Any) -> Any:
    """``module`` with every parameter and buffer of ``layer``, by name, in place."""
    with torch.no_grad():
        for name, values in layer.state_dict().items():
            target = getattr(module, name)
            target.copy_(torch.from_numpy(values).to(target.dtype))  # num_batches_tracked: int
    return module


def copy_from_torch(module: Any, layer: Layer) -> Layer:
    """``layer`` with every parameter and buffer of ``module``, by name, in place."""
    for name, values in layer.state_dict().items():
        own = getattr(layer, name).data
        own[...] = getattr(module, name).detach().cpu().numpy().astype(values.dtype)
    return layer
