"""Figures of a training run (matplotlib, an optional extra: ``pip install "nnlite[plot]"``)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from nnlite.errors import MissingExtraError
from nnlite.training import History


def plot_history(history: History, path: str | os.PathLike[str], *, title: str = "") -> None:
    """Save a PNG of the loss per epoch (log scale) and the validation scores per epoch.

    The left panel has the training loss and, when ``fit`` was given validation data, the
    validation ("test") loss; the right panel the validation accuracy, when there is one, and the
    precision, recall and F1 that ``fit(..., metrics=...)`` recorded. The file carries no date or
    software version, so the same run gives the same bytes.

    Args:
        history: what :func:`nnlite.fit` returned.
        path: the PNG to write; its folder is created if missing.
        title: a title over both panels.

    Raises:
        MissingExtraError: matplotlib is not installed.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only, no window
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise MissingExtraError(
            'plot_history needs matplotlib: pip install "nnlite[plot]"'
        ) from error
    epochs = np.arange(1, history.epochs + 1)
    figure, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5))
    left.plot(epochs, history.loss, label="train")
    if history.val_loss:
        left.plot(epochs, history.val_loss, label="test")
    left.set(xlabel="epoch", ylabel="loss, 1/(2N) sum of squares", yscale="log", title="loss")
    left.legend()
    scores = {
        "accuracy": history.val_accuracy,
        "precision": history.val_precision,
        "recall": history.val_recall,
        "F1": history.val_f1,
    }
    shown = {name: values for name, values in scores.items() if values}
    for name, values in shown.items():
        right.plot(epochs, 100 * np.array(values), label=name)
    if len(shown) > 1:  # accuracy alone, as before: no legend, the title says it
        right.legend()
        right.set(ylabel="test score (%)", title="test scores")
    else:
        right.set(ylabel="test accuracy (%)", title="test accuracy")
    right.set(xlabel="epoch")
    figure.suptitle(title)
    figure.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(figure)
