"""nnlite: an object-oriented neural-net mini-framework on numpy, with explicit backward passes.

Import it as ``import nnlite as nl``. The gradient-testing toolkit is :mod:`nnlite.testing`, the
optimizers are in :mod:`nnlite.optim`, the learning-rate schedules in :mod:`nnlite.schedules` and
the data sets in :mod:`nnlite.datasets`.
"""

from nnlite import callbacks, datasets, init, metrics, optim, schedules, testing
from nnlite._validation import as_float_array
from nnlite.checkpoint import load_checkpoint, save_checkpoint
from nnlite.clipping import clip_grad_norm, clip_grad_value
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
    BatchNorm1d,
    BiasAppend,
    Conv2d,
    Dropout,
    Flatten,
    Identity,
    LayerNorm,
    LeakyReLU,
    Linear,
    LogSoftmax,
    MaxPool2d,
    ReLU,
    Residual,
    Sigmoid,
    Softmax,
    Tanh,
    Unflatten,
)
from nnlite.losses import BCELoss, BCEWithLogitsLoss, Loss, MSELoss, SoftmaxCrossEntropyLoss
from nnlite.model_summary import summary
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
    "BatchNorm1d",
    "BiasAppend",
    "Buffer",
    "Conv2d",
    "ConversionError",
    "DTypeError",
    "Dropout",
    "Flatten",
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
    "MaxPool2d",
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
    "Unflatten",
    "__version__",
    "accuracy",
    "as_float_array",
    "callbacks",
    "clip_grad_norm",
    "clip_grad_value",
    "datasets",
    "digits_cnn",
    "evaluate",
    "fit",
    "init",
    "load",
    "load_checkpoint",
    "metrics",
    "optim",
    "predict",
    "save",
    "save_checkpoint",
    "schedules",
    "summary",
    "testing",
    "two_layer_network",
]
