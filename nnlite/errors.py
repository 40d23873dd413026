"""The errors nnlite raises when it is used wrongly.

Each one is also the built-in exception a Python user expects (a shape error is a ``ValueError``, a
dtype error a ``TypeError``, backward before forward a ``RuntimeError``), so ``except ValueError``
keeps working. All share :class:`NnliteError`, which lets a :class:`~nnlite.Sequential` say at which
layer (its index path, as in ``named_parameters``) the error happened.
"""

from __future__ import annotations


class NnliteError(Exception):
    """Base of nnlite's errors: a message, and where inside a Sequential it happened.

    ``layer_path`` is the index path of the failing layer inside nested Sequentials, outermost
    first, e.g. ``(1, 3)`` for layer 3 of the Sequential at index 1. Empty outside a Sequential.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        self.layer_path: tuple[int, ...] = ()

    def __str__(self) -> str:
        if not self.layer_path:
            return self.message
        return f"{position(self.layer_path)}: {self.message}"


def position(path: tuple[int, ...]) -> str:
    """Where a layer sits in nested Sequentials, as every message says it: ``(1, 0)`` is
    "Sequential layer 1.0", outermost index first; "" for no path (the model itself)."""
    return f"Sequential layer {'.'.join(map(str, path))}" if path else ""


class ShapeError(NnliteError, ValueError):
    """An array had a shape the layer or loss that received it cannot take."""


class DTypeError(NnliteError, TypeError):
    """A value could not be used as a float array (see :func:`nnlite.as_float_array`)."""


class StateError(NnliteError, RuntimeError):
    """A call came in the wrong order, e.g. ``backward`` before ``forward``."""


class LoadError(NnliteError, ValueError):
    """A saved model, file or state dict could not be loaded; nothing was changed."""


class MissingExtraError(NnliteError, ImportError):
    """An optional dependency is not installed; the message names the extra that installs it."""


class SaveError(NnliteError, TypeError):
    """A model could not be saved (a layer without get_config, a config that is not JSON);
    nothing was written."""


class TrainingError(NnliteError, RuntimeError):
    """Training could not go on, e.g. the loss stopped being a finite number."""


class ConversionError(NnliteError, TypeError):
    """A layer, loss or module has no counterpart in the other engine; the message names it, says
    where it is (its index path in the Sequential) and lists what converts."""


class ArgumentError(NnliteError):
    """An argument to a constructor or function broke its rule; the message names the owner, the
    argument, the rule and the value: "Linear: in_features must be an int >= 1, got 0"."""


class ArgumentTypeError(ArgumentError, TypeError):
    """An argument of the wrong type, such as a str where a number belongs."""


class ArgumentValueError(ArgumentError, ValueError):
    """An argument of the right type outside its allowed range."""
