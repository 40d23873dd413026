"""The built-in layers."""

from nnlite.layers.activations import Identity, LeakyReLU, ReLU, Sigmoid, Tanh
from nnlite.layers.batch_norm import BatchNorm1d
from nnlite.layers.bias_append import BiasAppend
from nnlite.layers.conv2d import Conv2d
from nnlite.layers.dropout import Dropout
from nnlite.layers.flatten import Flatten, Unflatten
from nnlite.layers.layer_norm import LayerNorm
from nnlite.layers.linear import Linear
from nnlite.layers.pooling import AvgPool2d, MaxPool2d
from nnlite.layers.residual import Residual
from nnlite.layers.softmax import LogSoftmax, Softmax

__all__ = [
    "AvgPool2d",
    "BatchNorm1d",
    "BiasAppend",
    "Conv2d",
    "Dropout",
    "Flatten",
    "Identity",
    "LayerNorm",
    "LeakyReLU",
    "Linear",
    "LogSoftmax",
    "MaxPool2d",
    "ReLU",
    "Residual",
    "Sigmoid",
    "Softmax",
    "Tanh",
    "Unflatten",
]
