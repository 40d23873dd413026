"""A convolutional network on the 8x8 digits: train it, and measure its test accuracy.

    python examples/digits_cnn.py                    # seed 0, as nnlite train --model cnn
    python examples/digits_cnn.py --seeds 0 1 2 3 4  # one run per seed, then their mean

Each seed gives the split (stratified, 25% test), the initial weights and the shuffling, as
``nnlite train --model cnn --seed S`` does, so both print the same accuracy. Needs scikit-learn
for the digits (``pip install "nnlite[datasets]"``).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import nnlite as nl
from nnlite import datasets

EPOCHS, LR, BATCH_SIZE = 40, 0.002, 32  # as nnlite train --model cnn


def train_and_test(seed: int) -> tuple[float, float]:
    """Train nl.digits_cnn with ``seed``; return its test accuracy and the training's wall time."""
    X, Y = datasets.load_digits()  # (1797, 64) rows of 8x8 images, one-hot labels (1797, 10)
    X_train, X_test, Y_train, Y_test = datasets.train_test_split(
        X, Y, test_size=0.25, stratify=True, rng=seed
    )
    model = nl.digits_cnn(rng=seed)  # Unflatten, 2 x (Conv2d, ReLU, MaxPool2d), Flatten, Linear
    optimizer = nl.optim.Adam(model.parameters(), lr=LR)
    start = time.perf_counter()
    nl.fit(
        model,
        nl.SoftmaxCrossEntropyLoss(),  # the model's outputs are logits
        optimizer,
        X_train,
        Y_train,
        epochs=EPOCHS,
        batch_size=BATCH_SIZE,
        rng=seed,
        validation_data=(X_test, Y_test),
        progress=False,
    )
    seconds = time.perf_counter() - start
    return nl.accuracy(model(X_test), Y_test), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="default: 0")
    seeds = parser.parse_args().seeds
    accuracies = []
    for seed in seeds:
        test_accuracy, seconds = train_and_test(seed)
        accuracies.append(test_accuracy)
        print(f"seed {seed}: test accuracy {test_accuracy:.2%}, trained in {seconds:.1f} s")
    if len(seeds) > 1:
        print(f"mean test accuracy {np.mean(accuracies):.2%} over {len(seeds)} seeds")


if __name__ == "__main__":
    main()
