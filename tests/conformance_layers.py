"""Layers for the conformance suite's own tests: deliberately broken ones, each with the one bug a
named check exists to catch, and correct ones of every kind the suite must not fail.

Imported by tests/test_conformance_*.py (not collected itself: no test_ prefix).
"""

from __future__ import annotations

from typing import Any

import numpy as np

import nnlite as nl

# --------------------------------------------------------------------------------------------------
# Correct layers of the kinds users write
# --------------------------------------------------------------------------------------------------


class Scale(nl.Layer):
    """y = x * s, one learned scale per feature."""

    def __init__(self, n_features: int) -> None:
        self.n_features = n_features
        self.scale = nl.Parameter(np.linspace(0.5, 1.5, n_features))

    def forward(self, x: nl.FloatArray) -> nl.FloatArray:
        self.x = x
        return x * self.scale.data

    def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        self.scale.grad += (grad_y * self.x).sum(axis=0)
        return grad_y * self.scale.data

    def get_config(self) -> dict[str, Any]:
        return {"n_features": self.n_features}


class Dropout(nl.Layer):
    """Inverted dropout: y = x * mask / (1 - p) in training, y = x in evaluation."""

    stochastic = True

    def __init__(self, p: float = 0.5, rng: nl.typing.RngLike = None) -> None:
        self.p = p
        self.rng = np.random.default_rng(rng)

    def forward(self, x: nl.FloatArray) -> nl.FloatArray:
        if not self.training:
            self.mask = np.ones_like(x)
            return x.copy()
        keep = self.rng.random(x.shape) >= self.p
        self.mask = keep.astype(x.dtype) / x.dtype.type(1 - self.p)
        return x * self.mask

    def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        return grad_y * self.mask

    def get_config(self) -> dict[str, Any]:
        return {"p": self.p}


class LayerNorm(nl.Layer):
    """y = (x - mean(x)) / sqrt(var(x) + eps) * gain + bias, over each row's features."""

    def __init__(self, n_features: int, eps: float = 1e-5) -> None:
        self.n_features, self.eps = n_features, eps
        self.gain = nl.Parameter(np.ones(n_features))
        self.bias = nl.Parameter(np.zeros(n_features))

    def forward(self, x: nl.FloatArray) -> nl.FloatArray:
        mean = x.mean(axis=-1, keepdims=True)
        self.inv_std = 1 / np.sqrt(x.var(axis=-1, keepdims=True) + self.eps)
        self.x_hat = (x - mean) * self.inv_std
        return self.x_hat * self.gain.data + self.bias.data

    def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        self.gain.grad += (grad_y * self.x_hat).sum(axis=0)
        self.bias.grad += grad_y.sum(axis=0)
        g = self.gain_factor(grad_y)
        return self.inv_std * (
            g
            - g.mean(axis=-1, keepdims=True)
            - self.x_hat * (g * self.x_hat).mean(axis=-1, keepdims=True)
        )

    def gain_factor(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        """dL/dx_hat = grad_y * gain."""
        return grad_y * self.gain.data

    def get_config(self) -> dict[str, Any]:
        return {"n_features": self.n_features, "eps": self.eps}


class BatchCenter(nl.Layer):
    """y = x - mean over the batch (a row-mixing layer that declares it)."""

    mixes_rows = True

    def forward(self, x: nl.FloatArray) -> nl.FloatArray:
        return x - x.mean(axis=0)

    def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        return grad_y - grad_y.mean(axis=0)


class RunningCenter(nl.Layer):
    """y = x - batch mean in training (updating a running mean), x - running mean in evaluation:
    a stateful, row-mixing layer that declares both."""

    mixes_rows = True
    stateful = True

    def __init__(self, n_features: int) -> None:
        self.n_features = n_features
        self.running_mean = nl.Buffer(np.zeros(n_features))

    def forward(self, x: nl.FloatArray) -> nl.FloatArray:
        if self.training:
            mean = x.mean(axis=0)
            self.running_mean.data *= 0.9
            self.running_mean.data += 0.1 * mean
            return x - mean
        return x - self.running_mean.data

    def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        if self.training:
            return grad_y - grad_y.mean(axis=0)
        return grad_y.copy()

    def get_config(self) -> dict[str, Any]:
        return {"n_features": self.n_features}


class Conv1d(nl.Layer):
    """y[n, o, l] = sum_{c, k} x[n, c, l + k] w[o, c, k] + b[o]: a 'valid' 1-D convolution on
    (N, C, L) input."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, rng: int = 0):
        g = np.random.default_rng(rng)
        self.weight = nl.Parameter(g.uniform(-1, 1, (out_channels, in_channels, kernel_size)))
        self.bias = nl.Parameter(g.uniform(-1, 1, out_channels))

    def forward(self, x: nl.FloatArray) -> nl.FloatArray:
        k = self.weight.shape[2]
        self.windows = np.lib.stride_tricks.sliding_window_view(x, k, axis=2)  # (N, C, L', k)
        self.x_shape = x.shape
        y: nl.FloatArray = np.einsum("nclk,ock->nol", self.windows, self.weight.data)
        return y + self.bias.data[:, None]

    def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        self.weight.grad += np.einsum("nclk,nol->ock", self.windows, grad_y)
        self.bias.grad += grad_y.sum(axis=(0, 2))
        grad_x = np.zeros(self.x_shape, dtype=grad_y.dtype)
        k = self.weight.shape[2]
        for j in range(k):  # x[:, :, l + j] met weight[:, :, j] for every output position l
            grad_x[:, :, j : j + grad_y.shape[2]] += np.einsum(
                "nol,oc->ncl", grad_y, self.weight.data[:, :, j]
            )
        return grad_x


class Residual(nl.Layer):
    """y = x + inner(x)."""

    def __init__(self, inner: nl.Layer) -> None:
        self.inner = inner

    def forward(self, x: nl.FloatArray) -> nl.FloatArray:
        return x + self.inner(x)

    def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        return grad_y + self.inner.backward(grad_y)


class TiedPair(nl.Layer):
    """y = (x W) W^T: an encoder and a decoder that share one weight (tied, listed once)."""

    def __init__(self, n_features: int, n_hidden: int = 2) -> None:
        self.encode = nl.Linear(n_features, n_hidden, bias=False, rng=0)
        self.decode_weight = self.encode.weight  # the same Parameter

    def forward(self, x: nl.FloatArray) -> nl.FloatArray:
        self.h = self.encode(x)
        return self.h @ self.decode_weight.data.T

    def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        self.decode_weight.grad += grad_y.T @ self.h
        return self.encode.backward(grad_y @ self.decode_weight.data)


class AliasingLinear(nl.Layer):
    """y = x W, keeping an alias of its parameter's array (self.W is self.weight.data)."""

    def __init__(self, n_features: int) -> None:
        self.weight = nl.Parameter(np.linspace(-1, 1, n_features * 2).reshape(n_features, 2))
        self.W = self.weight.data

    def forward(self, x: nl.FloatArray) -> nl.FloatArray:
        self.x = x
        return x @ self.W

    def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        self.weight.grad += self.x.T @ grad_y
        return grad_y @ self.W.T


class RowMax(nl.Layer):
    """y = max over each row's features; at a tie the first maximum gets the gradient (correct)."""

    def forward(self, x: nl.FloatArray) -> nl.FloatArray:
        self.argmax = np.argmax(x, axis=1)
        self.x_shape = x.shape
        return x.max(axis=1, keepdims=True)

    def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        grad_x = np.zeros(self.x_shape, dtype=grad_y.dtype)
        grad_x[np.arange(len(grad_x)), self.argmax] = grad_y[:, 0]
        return grad_x


class Cube(nl.Layer):
    """y = 1000 x^3: huge but correct gradients."""

    def forward(self, x: nl.FloatArray) -> nl.FloatArray:
        self.x = x
        return 1000 * x**3

    def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        return grad_y * 3000 * self.x**2


class Abs(nl.Layer):
    """y = |x|, with subgradient 0 at 0."""

    def forward(self, x: nl.FloatArray) -> nl.FloatArray:
        self.x = x
        return np.abs(x)

    def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        return grad_y * np.sign(self.x)


class ListOfScales(nl.Layer):
    """y = x * a * b, its two parameters kept in a list attribute."""

    def __init__(self, n_features: int) -> None:
        self.factors = [
            nl.Parameter(np.full(n_features, 2.0)),
            nl.Parameter(np.full(n_features, 3.0)),
        ]

    def forward(self, x: nl.FloatArray) -> nl.FloatArray:
        self.x = x
        a, b = self.factors
        return x * a.data * b.data

    def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        a, b = self.factors
        a.grad += (grad_y * self.x * b.data).sum(axis=0)
        b.grad += (grad_y * self.x * a.data).sum(axis=0)
        return grad_y * a.data * b.data


# --------------------------------------------------------------------------------------------------
# Broken layers: one bug each
# --------------------------------------------------------------------------------------------------


class LayerNormWithoutGain(LayerNorm):
    """dL/dx_hat forgets the gain: right while gain = 1, the initial value."""

    def gain_factor(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        return grad_y


class NaNForward(nl.Layer):
    """Forward returns NaN and backward 42."""

    def forward(self, x: nl.FloatArray) -> nl.FloatArray:
        return np.full_like(x, np.nan)

    def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        return np.full_like(grad_y, 42.0)


class NoisyDouble(nl.Layer):
    """y = 2x + 1e-3 noise, undeclared, with a backward of 3 grad_y."""

    def __init__(self) -> None:
        self.rng = np.random.default_rng(0)

    def forward(self, x: nl.FloatArray) -> nl.FloatArray:
        return 2 * x + 1e-3 * self.rng.standard_normal(x.shape)

    def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        return 3 * grad_y


class DropoutTimes1000(Dropout):
    """A declared Dropout whose backward multiplies by 1000."""

    def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        return 1000 * grad_y * self.mask


class UndeclaredDropout(Dropout):
    """A correct Dropout that does not declare stochastic."""

    stochastic = False


class AssigningLinear(nl.Linear):
    """Linear whose backward assigns the weight gradient (=) instead of adding (+=)."""

    def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        self.weight.grad[...] = self.x.T @ grad_y
        if self.bias is not None:
            self.bias.grad += grad_y.sum(axis=0)
        return grad_y @ self.weight.data.T


class AssigningBackwardParameters(nl.Linear):
    """Linear whose backward_parameters assigns (=) what backward adds."""

    def backward_parameters(self, grad_y: nl.FloatArray) -> None:
        self.weight.grad[...] = self.x.T @ grad_y
        if self.bias is not None:
            self.bias.grad[...] = grad_y.sum(axis=0)


class GradYInPlace(Scale):
    """backward scales grad_y in place and returns it."""

    def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        self.scale.grad += (grad_y * self.x).sum(axis=0)
        grad_y *= self.scale.data
        return grad_y


class XInPlace(Scale):
    """forward doubles x in place (y = 2 x s, right backward for it)."""

    def forward(self, x: nl.FloatArray) -> nl.FloatArray:
        x *= 2
        self.x = x
        return x * self.scale.data


class ReusedBuffer(Scale):
    """forward returns the same buffer every call."""

    def forward(self, x: nl.FloatArray) -> nl.FloatArray:
        self.x = x
        buffer = getattr(self, "buffer", None)
        if buffer is None or buffer.shape != x.shape or buffer.dtype != x.dtype:
            buffer = self.buffer = np.empty_like(x)
        np.multiply(x, self.scale.data, out=buffer)
        return buffer


class ConsumesCache(Scale):
    """backward halves the cached x each time: right once, wrong the second time."""

    def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        grad_x = super().backward(grad_y)
        self.x = self.x * 0.5
        return grad_x


class RemembersFirstBatch(nl.Layer):
    """y = x + sum of the first batch it ever saw: hidden state, the same at a repeated call."""

    def forward(self, x: nl.FloatArray) -> nl.FloatArray:
        if getattr(self, "first", None) is None:
            self.first = float(x.sum())
        return x + self.first

    def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        return grad_y.copy()


class Float64Output(Scale):
    """forward multiplies by a float64 scalar: float32 in, float64 out."""

    def forward(self, x: nl.FloatArray) -> nl.FloatArray:
        self.x = x
        return x * self.scale.data * np.float64(1.0)


class Float64Grad(Scale):
    """backward replaces the parameter's grad with a float64 array."""

    def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        self.scale.grad = self.scale.grad + (grad_y * self.x).sum(axis=0).astype(np.float64)
        return grad_y * self.scale.data


class UndeclaredBatchCenter(BatchCenter):
    """A correct row-mixing layer that does not declare mixes_rows."""

    mixes_rows = False


class DividesByBatch(Scale):
    """y = x s / N: rows independent of each other, but not of the batch size."""

    def forward(self, x: nl.FloatArray) -> nl.FloatArray:
        self.x = x
        return x * self.scale.data / len(x)

    def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        self.scale.grad += (grad_y * self.x).sum(axis=0) / len(self.x)
        return grad_y * self.scale.data / len(self.x)


class EveryTiedMax(RowMax):
    """Row max whose backward gives every tied maximum the full gradient."""

    def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        x_max = np.take_along_axis(self.x, self.argmax[:, None], axis=1)
        return grad_y * (self.x == x_max)

    def forward(self, x: nl.FloatArray) -> nl.FloatArray:
        self.x = x
        return super().forward(x)


class ForgetsAnArgument(Scale):
    """get_config forgets the offset: a rebuild has offset 0."""

    def __init__(self, n_features: int, offset: float = 0.0) -> None:
        super().__init__(n_features)
        self.offset = offset

    def forward(self, x: nl.FloatArray) -> nl.FloatArray:
        return super().forward(x) + self.offset


def forgets_an_argument(n: int) -> ForgetsAnArgument:
    return ForgetsAnArgument(n, offset=1.5)


class StateInAPlainArray(nl.Layer):
    """Keeps a learned-looking offset in a plain array, not a Buffer: state_dict misses it."""

    def __init__(self, n_features: int) -> None:
        self.n_features = n_features
        self.offset = np.linspace(1.0, 2.0, n_features)

    def forward(self, x: nl.FloatArray) -> nl.FloatArray:
        return x + self.offset

    def backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        return grad_y.copy()

    def get_config(self) -> dict[str, Any]:
        return {"n_features": self.n_features}


def state_in_a_plain_array(n: int) -> StateInAPlainArray:
    layer = StateInAPlainArray(n)
    layer.offset = layer.offset * 3  # changed after construction, as training would
    return layer


class BypassesTheBoundary(Scale):
    """Installs its backward on the instance, which skips the base class's checks."""

    def __init__(self, n_features: int) -> None:
        super().__init__(n_features)
        self.backward = self._unchecked_backward  # type: ignore[method-assign]

    def _unchecked_backward(self, grad_y: nl.FloatArray) -> nl.FloatArray:
        x = getattr(self, "x", 1.0)
        self.scale.grad += (grad_y * x).sum(axis=0)
        return np.asarray(grad_y * self.scale.data)
