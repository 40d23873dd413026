"""Small classification data sets, the target conventions, and a train/test split.

The target conventions every part of nnlite uses:

- X has shape (N, d): one row per sample.
- A binary problem's Y has shape (N, 1), with values 0.0 and 1.0 (the class-1 indicator, what a
  sigmoid output predicts).
- A K-class problem (K >= 3, or any K when built by :func:`one_hot`) has a one-hot Y of shape
  (N, K): row i is 1.0 in column ``label[i]`` and 0.0 elsewhere.

Everything is float64. The generators are numpy-only; every random one takes ``rng`` (a seed, a
Generator or None), passed through ``np.random.default_rng(rng)``, so the same seed gives
bit-identical data and numpy's global random state is never touched. Only :func:`load_digits`
needs scikit-learn, which ships the digits inside its package: ``pip install "nnlite[datasets]"``.
"""

from nnlite.datasets.digits import load_digits
from nnlite.datasets.labels import Float64Array, IntArray, labels_of, one_hot
from nnlite.datasets.split import train_test_split
from nnlite.datasets.synthetic import circles, spirals, two_moons, xor

__all__ = [
    "Float64Array",
    "IntArray",
    "circles",
    "labels_of",
    "load_digits",
    "one_hot",
    "spirals",
    "train_test_split",
    "two_moons",
    "xor",
]
