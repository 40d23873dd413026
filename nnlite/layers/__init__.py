"""The built-in layers."""

from nnlite.layers.activations import Identity, LeakyReLU, ReLU, Sigmoid, Tanh
from nnlite.layers.batch_norm import BatchNorm1d
from nnlite.layers.bias_append import BiasAppend
from nnlite.layers.dropout import Dropout
from nnlite.layers.layer_norm import LayerNorm
from nnlite.layers.linear import Linear
from nnlite.layers.residual import Residual
from nnlite.layers.softmax import LogSoftmax, Softmax

__all__ = [
    "BatchNorm1d",
    "BiasAppend",
    "Dropout",
    "Identity",
    "LayerNorm",
    "LeakyReLU",
    "Linear",
    "LogSoftmax",
    "ReLU",
    "Residual",
    "Sigmoid",
    "Softmax",
    "Tanh",
]
