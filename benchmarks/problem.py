"""The problem every contender solves: one batch, the initial weights, and the sizes timed.

One training step of the derivation's network (H = X W1, Z = sigma(H), Z1 = [Z, 1], O = Z1 W2,
y_hat = sigma(O), L = 1/(2N) sum (Y - y_hat)^2, the gradients of eq. 7 and 9, W = W - lr grad) on
one batch of N rows. Nothing here touches numpy's global random state: the data and the weights
come from ``np.random.default_rng(seed)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

import nnlite as nl

FloatArray = nl.FloatArray

LR = 0.1
"""The learning rate of every contender's SGD update."""
SEED = 0
DTYPES = ("float64", "float32")


@dataclass(frozen=True)
class Size:
    """One problem size: N rows, n_in inputs, n_hidden hidden units, n_out outputs.

    ``rounds`` is the number of interleaved samples per contender (the median is over them) and
    ``sample_seconds`` how long one sample should last (steps are repeated back to back up to it;
    0 means one step per sample).
    """

    name: str
    n: int
    n_in: int
    n_hidden: int
    n_out: int
    rounds: int
    sample_seconds: float

    @property
    def shape(self) -> str:
        """``"N, n_in, n_hidden, n_out"``, as the tables print it."""
        return f"{self.n}, {self.n_in}, {self.n_hidden}, {self.n_out}"


SIZES = {
    size.name: size
    for size in (
        Size("tiny", 4, 2, 2, 1, rounds=100, sample_seconds=0.005),
        Size("small", 64, 16, 32, 1, rounds=100, sample_seconds=0.005),
        Size("digits", 32, 64, 100, 10, rounds=100, sample_seconds=0.005),  # nnlite train's batch
        Size("medium", 256, 256, 256, 10, rounds=60, sample_seconds=0.02),
        Size("large", 2048, 784, 1024, 10, rounds=20, sample_seconds=0.0),  # one step per sample
    )
}
QUICK_SIZE = Size("tiny", 4, 2, 2, 1, rounds=12, sample_seconds=0.001)
"""The CI smoke run's size: tiny, a few short samples."""

GROWTH_WIDTH = 64
"""d = h = 64 along the batch-size curve."""
GROWTH_BATCH = 256
"""N = 256 along the width curve."""
GROWTH_OUTPUTS = 10
GROWTH_N = (1, 4, 16, 64, 256, 1024, 4096)
GROWTH_H = (16, 32, 64, 128, 256, 512, 1024, 2048)


def growth_size(axis: str, value: int) -> Size:
    """The size of one point of a growth curve: ``axis`` "N" (d = h = 64) or "h" (N = 256, d = 64).

    A sample lasts 5 ms, or 20 ms once a step takes more than about a millisecond, over 40 rounds.
    """
    if axis == "N":
        n, n_hidden = value, GROWTH_WIDTH
    elif axis == "h":
        n, n_hidden = GROWTH_BATCH, value
    else:
        raise ValueError(f"growth_size: axis must be 'N' or 'h', got {axis!r}")
    sample_seconds = 0.02 if n * n_hidden >= 256 * 512 else 0.005
    return Size(f"{axis}={value}", n, GROWTH_WIDTH, n_hidden, GROWTH_OUTPUTS, 40, sample_seconds)


@dataclass
class Problem:
    """One batch and the initial weights, shared by every contender (each trains its own copy).

    Attributes:
        X: inputs, (N, n_in). Y: targets, (N, n_out): one-hot rows, or 0/1 for one output.
        W1: (n_in, n_hidden) and W2: (n_hidden + 1, n_out), the last row of W2 the bias: the
            initial weights of nnlite's two_layer_network for the seed.
    """

    X: FloatArray
    Y: FloatArray
    W1: FloatArray
    W2: FloatArray


def nnlite_network(
    n_in: int, n_hidden: int, n_out: int, dtype: np.dtype[Any], *, rng: int = SEED
) -> nl.Sequential:
    """nnlite's two_layer_network in ``dtype``.

    ``two_layer_network`` has no dtype argument, so for float32 its exact layers are built here
    with ``Linear(..., dtype=float32)``: the same layers, the same draws of the same generator.
    """
    if dtype == np.float64:
        return nl.two_layer_network(n_in, n_hidden, n_out, rng=rng)
    generator = np.random.default_rng(rng)
    return nl.Sequential(
        nl.Linear(n_in, n_hidden, bias=False, rng=generator, dtype=dtype),
        nl.Sigmoid(),
        nl.BiasAppend(),
        nl.Linear(n_hidden + 1, n_out, bias=False, rng=generator, dtype=dtype),
        nl.Sigmoid(),
    )


def make_problem(size: Size, dtype: np.dtype[Any] | str, *, seed: int = SEED) -> Problem:
    """Standard-normal inputs, random class targets, and nnlite's initial weights for ``seed``."""
    dtype = np.dtype(dtype)
    generator = np.random.default_rng(seed)
    X = generator.standard_normal((size.n, size.n_in)).astype(dtype)
    if size.n_out == 1:
        Y = generator.integers(0, 2, (size.n, 1)).astype(dtype)
    else:
        Y = np.eye(size.n_out, dtype=dtype)[generator.integers(0, size.n_out, size.n)]
    model = nnlite_network(size.n_in, size.n_hidden, size.n_out, dtype, rng=seed)
    weights = model.state_dict()  # copies
    return Problem(X, Y, weights["0.weight"], weights["3.weight"])


def nnlite_model(problem: Problem) -> nl.Sequential:
    """nnlite's network holding the problem's initial weights."""
    n_in, n_hidden = problem.W1.shape
    model = nnlite_network(n_in, n_hidden, problem.W2.shape[1], problem.X.dtype)
    model.load_state_dict({"0.weight": problem.W1, "3.weight": problem.W2})
    return model
