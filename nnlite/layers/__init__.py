"""The built-in layers."""

from nnlite.layers.activations import Sigmoid
from nnlite.layers.bias_append import BiasAppend
from nnlite.layers.linear import Linear

__all__ = ["BiasAppend", "Linear", "Sigmoid"]
