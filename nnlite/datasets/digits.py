"""The real 8x8 handwritten digits, which scikit-learn ships inside its package."""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np

from nnlite.datasets.labels import Float64Array, one_hot
from nnlite.errors import MissingExtraError

_EXTRA_HINT = 'pip install "nnlite[datasets]"'


def load_digits() -> tuple[Float64Array, Float64Array]:
    """The 1797 real 8x8 handwritten digits that scikit-learn ships inside its package.

    The UCI optical-recognition digits (``sklearn.datasets.load_digits``): each image is 8x8
    pixels of ink counts 0..16, flattened row by row and divided by 16. Nothing is downloaded.

    Returns:
        ``(X, Y)``: X of shape (1797, 64) with values in [0, 1]; Y one-hot of shape (1797, 10),
        column k for the digit k.

    Raises:
        MissingExtraError: (an ImportError) scikit-learn is not installed; the message says to
            install the extra, ``pip install "nnlite[datasets]"``.

    Examples:
        It needs scikit-learn, so the docstring test run skips it.

        >>> from nnlite import datasets
        >>> X, Y = datasets.load_digits()  # doctest: +SKIP
        >>> X.shape, Y.shape  # doctest: +SKIP
        ((1797, 64), (1797, 10))
    """
    try:
        # imported by name so that the optional dependency needs no type stubs
        sklearn_datasets: Any = importlib.import_module("sklearn.datasets")
    except ImportError as error:
        raise MissingExtraError(
            f"nnlite.datasets.load_digits needs scikit-learn, which ships the digits: {_EXTRA_HINT}"
        ) from error
    digits = sklearn_datasets.load_digits()
    x = np.asarray(digits.data, dtype=np.float64) / 16.0
    return x, one_hot(np.asarray(digits.target), 10)
