"""The derivation's network, built from the layers."""

from __future__ import annotations

import numpy as np

from nnlite.layers import BiasAppend, Linear, Sigmoid
from nnlite.sequential import Sequential
from nnlite.typing import RngLike


def two_layer_network(
    n_in: int, n_hidden: int, n_out: int = 1, *, rng: RngLike = None
) -> Sequential:
    """The two-layer sigmoid network of the derivation (eq. 2-5).

    H = X W1, Z = sigma(H), O = [Z, 1] W2, y_hat = sigma(O); that is
    ``Sequential(Linear(n_in, n_hidden, bias=False), Sigmoid(), BiasAppend(),
    Linear(n_hidden + 1, n_out, bias=False), Sigmoid())``.

    Args:
        n_in: input features. n_hidden: hidden units. n_out: outputs (1 in the derivation).
        rng: seed or Generator; both weight matrices are drawn from one generator, so the same seed
            gives the same network. Each is Linear's default, ``init="uniform"``: uniform in
            +-1/sqrt(fan_in), fan_in its number of rows (see :mod:`nnlite.init`).

    Shape:
        X: (N, n_in) -> y_hat: (N, n_out). W1 is ``model[0].weight``, (n_in, n_hidden); W2 is
        ``model[3].weight``, (n_hidden + 1, n_out), its last row the bias.

    Examples:
        >>> model = nl.two_layer_network(2, 3, rng=0)
        >>> model(np.zeros((4, 2))).shape
        (4, 1)
    """
    generator = np.random.default_rng(rng)
    return Sequential(
        Linear(n_in, n_hidden, bias=False, rng=generator),  # H = X W1          (eq. 2)
        Sigmoid(),  # Z = sigma(H)                                              (eq. 3)
        BiasAppend(),  # [Z, 1]
        Linear(n_hidden + 1, n_out, bias=False, rng=generator),  # O = [Z, 1] W2 (eq. 4)
        Sigmoid(),  # y_hat = sigma(O)                                          (eq. 5)
    )
