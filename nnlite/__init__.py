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
    BatchNorm1d,
    BiasAppend,
    Dropout,
    Identity,
    LayerNorm,
    LeakyReLU,
    Linear,
    LogSoftmax,
    ReLU,
    Residual,
    Sigmoid,
    Softmax,
    Tanh,
)
from nnlite.losses import BCELoss, BCEWithLogitsLoss, Loss, MSELoss, SoftmaxCrossEntropyLoss
from nnlite.networks import two_layer_network
from nnlite.parameter import Buffer, Parameter
from nnlite.sequential import Sequential
from nnlite.serialization import load, save
from nnlite.training import History, accuracy, evaluate, fit, predict
from nnlite.typing import FloatArray

__version__ = "0.1.0"

__all__ = [
    "BCELoss",
    "BCEWithLogitsLoss",
    "BatchNorm1d",
    "BiasAppend",
    "Buffer",
    "ConversionError",
    "DTypeError",
    "Dropout",
    "FloatArray",
    "History",
    "Identity",
    "Layer",
    "LayerNorm",
    "LeakyReLU",
    "Linear",
    "LoadError",
    "LogSoftmax",
    "Loss",
    "MSELoss",
    "MissingExtraError",
    "NnliteError",
    "Parameter",
    "ReLU",
    "Residual",
    "SaveError",
    "Sequential",
    "ShapeError",
    "Sigmoid",
    "Softmax",
    "SoftmaxCrossEntropyLoss",
    "StateError",
    "Tanh",
    "TrainingError",
    "__version__",
    "accuracy",
    "as_float_array",
    "datasets",
    "evaluate",
    "fit",
    "load",
    "optim",
    "predict",
    "save",
    "testing",
    "two_layer_network",
]
