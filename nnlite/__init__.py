"""nnlite: an object-oriented neural-net mini-framework on numpy, with explicit backward passes.

Import it as ``import nnlite as nl``. The gradient-testing toolkit is :mod:`nnlite.testing`, the
optimizers are in :mod:`nnlite.optim` and the data sets in :mod:`nnlite.datasets`.
"""

from nnlite import datasets, optim, testing
from nnlite._validation import as_float_array
from nnlite.errors import (
    ConversionError,
    DTypeError,
    LoadError,
    MissingExtraError,
    NnliteError,
    SaveError,
    ShapeError,
    StateError,
    TrainingError,
)
from nnlite.layer import Layer
from nnlite.layers import (
    AvgPool2d,
    BiasAppend,
    Conv2d,
    Flatten,
    Identity,
    LeakyReLU,
    Linear,
    MaxPool2d,
    ReLU,
    Sigmoid,
    Tanh,
    Unflatten,
)
from nnlite.losses import BCELoss, BCEWithLogitsLoss, Loss, MSELoss, SoftmaxCrossEntropyLoss
from nnlite.networks import digits_cnn, two_layer_network
from nnlite.parameter import Buffer, Parameter
from nnlite.sequential import Sequential
from nnlite.serialization import load, save
from nnlite.training import History, accuracy, evaluate, fit, predict
from nnlite.typing import FloatArray

__version__ = "0.1.0"

__all__ = [
    "AvgPool2d",
    "BCELoss",
    "BCEWithLogitsLoss",
    "BiasAppend",
    "Buffer",
    "Conv2d",
    "ConversionError",
    "DTypeError",
    "Flatten",
    "FloatArray",
    "History",
    "Identity",
    "Layer",
    "LeakyReLU",
    "Linear",
    "LoadError",
    "Loss",
    "MSELoss",
    "MaxPool2d",
    "MissingExtraError",
    "NnliteError",
    "Parameter",
    "ReLU",
    "SaveError",
    "Sequential",
    "ShapeError",
    "Sigmoid",
    "SoftmaxCrossEntropyLoss",
    "StateError",
    "Tanh",
    "TrainingError",
    "Unflatten",
    "__version__",
    "accuracy",
    "as_float_array",
    "datasets",
    "digits_cnn",
    "evaluate",
    "fit",
    "load",
    "optim",
    "predict",
    "save",
    "testing",
    "two_layer_network",
]
