"""The built-in layers."""

from nnlite.layers.activations import Identity, LeakyReLU, ReLU, Sigmoid, Tanh
from nnlite.layers.bias_append import BiasAppend
from nnlite.layers.conv2d import Conv2d
from nnlite.layers.flatten import Flatten, Unflatten
from nnlite.layers.linear import Linear
from nnlite.layers.pooling import AvgPool2d, MaxPool2d

__all__ = [
    "AvgPool2d",
    "BiasAppend",
    "Conv2d",
    "Flatten",
    "Identity",
    "LeakyReLU",
    "Linear",
    "MaxPool2d",
    "ReLU",
    "Sigmoid",
    "Tanh",
    "Unflatten",
]
