"""The built-in layers."""

from nnlite.layers.activations import Identity, LeakyReLU, ReLU, Sigmoid, Tanh
from nnlite.layers.bias_append import BiasAppend
from nnlite.layers.dropout import Dropout
from nnlite.layers.linear import Linear
from nnlite.layers.softmax import LogSoftmax, Softmax

__all__ = [
    "BiasAppend",
    "Dropout",
    "Identity",
    "LeakyReLU",
    "Linear",
    "LogSoftmax",
    "ReLU",
    "Sigmoid",
    "Softmax",
    "Tanh",
]
