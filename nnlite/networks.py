"""Networks built from the layers: the derivation's, and a small CNN for the digits."""

from __future__ import annotations

import numpy as np

from nnlite.layers import (
    BiasAppend,
    Conv2d,
    Flatten,
    Linear,
    MaxPool2d,
    ReLU,
    Sigmoid,
    Unflatten,
)
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
            gives the same network.

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


def digits_cnn(n_out: int = 10, *, rng: RngLike = None) -> Sequential:
    """A small convolutional network for the 8x8 digits, taking them as rows (N, 64).

    Two blocks of a 3x3 convolution (padding 1, so the image keeps its size), ReLU and a 2x2 max
    pool, then a Linear of the 32 channels of 2x2 pixels left to ``n_out`` logits (train it with
    ``SoftmaxCrossEntropyLoss``)::

        (N, 64) -> Unflatten -> (N, 1, 8, 8) -> Conv2d, ReLU -> (N, 16, 8, 8) -> MaxPool2d
                -> (N, 16, 4, 4) -> Conv2d, ReLU -> (N, 32, 4, 4) -> MaxPool2d -> (N, 32, 2, 2)
                -> Flatten -> (N, 128) -> Linear -> (N, n_out)

    6,090 parameters for 10 outputs. ``nnlite train --model cnn`` trains it (Adam, lr 0.002,
    40 epochs of batches of 32): 98.9% test accuracy on the stratified 25% split of seed 0,
    98.7% on average over seeds 0 to 4 (see the tutorial, "A convolutional network on the
    digits").

    Args:
        n_out: outputs, one logit per class.
        rng: seed or Generator; every layer's weights are drawn from one generator, so the same
            seed gives the same network.

    Shape:
        X: (N, 64), each row an 8x8 image row by row -> logits: (N, n_out).

    Examples:
        >>> model = nl.digits_cnn(rng=0)
        >>> model(np.zeros((4, 64))).shape
        (4, 10)
        >>> model.num_parameters()
        6090
    """
    generator = np.random.default_rng(rng)
    return Sequential(
        Unflatten((1, 8, 8)),  # rows as images
        Conv2d(1, 16, 3, padding=1, rng=generator),
        ReLU(),
        MaxPool2d(2),
        Conv2d(16, 32, 3, padding=1, rng=generator),
        ReLU(),
        MaxPool2d(2),
        Flatten(),
        Linear(32 * 2 * 2, n_out, rng=generator),
    )
