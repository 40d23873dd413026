"""Draw the figure of the "Train a classifier" tutorial: docs/images/loss_curve.png.

It trains the tutorial's model, exactly as the page does (the same data split, network, optimizer
and seeds), and plots the training and test loss and the test accuracy per epoch. It needs the
digits and matplotlib: ``pip install ".[datasets,plot]"``. Run it from the repository root:

    python docs/scripts/loss_curve.py [OUTPUT.png]

and commit the PNG it writes (by default docs/images/loss_curve.png).
"""

from __future__ import annotations

import sys
from pathlib import Path

import nnlite as nl
from nnlite.plotting import plot_history

DEFAULT_OUTPUT = Path(__file__).resolve().parent.parent / "images" / "loss_curve.png"
EPOCHS = 30


def train() -> nl.History:
    """The tutorial's run: the derivation's network on the digits, 30 epochs of Adam."""
    X, Y = nl.datasets.load_digits()
    X_train, X_test, Y_train, Y_test = nl.datasets.train_test_split(X, Y, stratify=True, rng=0)
    model = nl.two_layer_network(64, 32, 10, rng=0)
    return nl.fit(
        model,
        nl.MSELoss(),
        nl.optim.Adam(model.parameters(), lr=0.005),
        X_train,
        Y_train,
        epochs=EPOCHS,
        batch_size=32,
        rng=0,
        validation_data=(X_test, Y_test),
        progress=False,
    )


def main(argv: list[str]) -> int:
    output = Path(argv[0]) if argv else DEFAULT_OUTPUT
    history = train()
    title = "two_layer_network(64, 32, 10) on the digits, Adam lr 0.005, batch size 32"
    plot_history(history, output, title=title)
    print(f"wrote {output}: {history.epochs} epochs, test accuracy {history.val_accuracy[-1]:.2%}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
