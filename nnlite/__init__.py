"""nnlite: an object-oriented neural-net mini-framework on numpy, with explicit backward passes.

Import it as ``import nnlite as nl``. The gradient-testing toolkit is :mod:`nnlite.testing`.
"""

from nnlite import testing
from nnlite._validation import FloatArray, as_float_array
from nnlite.errors import DTypeError, LoadError, NnliteError, ShapeError, StateError
from nnlite.layer import Layer
from nnlite.layers import BiasAppend, Linear, Sigmoid
from nnlite.losses import Loss, MSELoss
from nnlite.networks import two_layer_network
from nnlite.parameter import Parameter
from nnlite.sequential import Sequential

__version__ = "0.1.0"

__all__ = [
    "BiasAppend",
    "DTypeError",
    "FloatArray",
    "Layer",
    "Linear",
    "LoadError",
    "Loss",
    "MSELoss",
    "NnliteError",
    "Parameter",
    "Sequential",
    "ShapeError",
    "Sigmoid",
    "StateError",
    "__version__",
    "as_float_array",
    "testing",
    "two_layer_network",
]
