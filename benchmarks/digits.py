"""Digits, end to end: nnlite's ``fit`` against scikit-learn's MLPClassifier on the real digits."""

from __future__ import annotations

import importlib
import statistics
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import nnlite as nl
from benchmarks.problem import SEED
from nnlite.cli import DEFAULTS, OPTIMIZERS
from nnlite.errors import MissingExtraError

TARGET_ACCURACY = 0.97
TEST_SIZE = 0.25
MLP_ARGUMENTS: dict[str, Any] = {
    "hidden_layer_sizes": (100,),
    "activation": "logistic",
    "random_state": SEED,
}
"""scikit-learn's MLPClassifier as the derivation's network: one hidden layer of 100 sigmoids."""
MAX_ITER = 2000


@dataclass
class DigitsResult:
    """Wall times (medians over ``repeats`` interleaved runs) and accuracies on the digits."""

    repeats: int
    train_rows: int
    test_rows: int
    nnlite_to_target: float | None  # seconds until the test accuracy first reached 97%
    nnlite_epoch_reached: int | None
    nnlite_total: float
    nnlite_epochs: int
    nnlite_accuracy: float  # after all the epochs
    sklearn_fit: float  # MLPClassifier.fit until its own stopping rule
    sklearn_iterations: int
    sklearn_accuracy: float
    sklearn_to_target: float | None  # epoch by epoch with partial_fit, scored after each
    sklearn_epoch_reached: int | None
    sklearn_settings: dict[str, Any] = field(default_factory=dict)  # its other defaults
    versions: dict[str, str] = field(default_factory=dict)


def measure_digits(repeats: int) -> DigitsResult | None:
    """Train both on the digits (stratified 75/25 split, seed 0); None when sklearn is missing.

    nnlite: two_layer_network with ``nnlite train``'s digits defaults, ``fit`` with the test rows
    as validation data, so ``History.val_accuracy`` says when 97% is first reached; the time to
    reach it is the sum of ``History.seconds`` up to that epoch (training and the per-epoch
    evaluation). ``MLPClassifier(**MLP_ARGUMENTS, max_iter=MAX_ITER)``: ``fit`` runs to its own
    stopping rule (its default tol and n_iter_no_change);
    separately, a fresh one trained epoch by epoch with ``partial_fit`` and scored on the test
    rows after each epoch gives its time to 97%.
    """
    try:
        X, Y = nl.datasets.load_digits()
        sklearn: Any = importlib.import_module("sklearn")
        neural_network: Any = importlib.import_module("sklearn.neural_network")
    except (MissingExtraError, ImportError):
        return None
    X_train, X_test, Y_train, Y_test = nl.datasets.train_test_split(
        X, Y, test_size=TEST_SIZE, stratify=True, rng=SEED
    )
    labels_train, labels_test = Y_train.argmax(axis=1), Y_test.argmax(axis=1)
    defaults = DEFAULTS["digits"]

    def run_nnlite() -> tuple[float | None, int | None, float, int, float]:
        model = nl.two_layer_network(X.shape[1], defaults.hidden, Y.shape[1], rng=SEED)
        optimizer = OPTIMIZERS[defaults.optimizer](model, defaults.lr)  # as nnlite train does
        start = time.perf_counter()
        history = nl.fit(
            model,
            nl.MSELoss(),
            optimizer,
            X_train,
            Y_train,
            epochs=defaults.epochs,
            batch_size=defaults.batch_size,
            rng=SEED,
            validation_data=(X_test, Y_test),
            progress=False,
        )
        total = time.perf_counter() - start
        reached = next(
            (epoch for epoch, value in enumerate(history.val_accuracy) if value >= TARGET_ACCURACY),
            None,
        )
        to_target = None if reached is None else sum(history.seconds[: reached + 1])
        return to_target, reached, total, history.epochs, history.val_accuracy[-1]

    def classifier(max_iter: int) -> Any:
        return neural_network.MLPClassifier(**MLP_ARGUMENTS, max_iter=max_iter)

    def run_sklearn_fit() -> tuple[float, int, float]:
        model = classifier(MAX_ITER)
        start = time.perf_counter()
        model.fit(X_train, labels_train)
        seconds = time.perf_counter() - start
        return seconds, int(model.n_iter_), float(model.score(X_test, labels_test))

    def run_sklearn_epochs(max_epochs: int = MAX_ITER) -> tuple[float | None, int | None]:
        model = classifier(1)
        classes = np.arange(Y.shape[1])
        start = time.perf_counter()
        for epoch in range(max_epochs):
            model.partial_fit(X_train, labels_train, classes=classes)
            if model.score(X_test, labels_test) >= TARGET_ACCURACY:
                return time.perf_counter() - start, epoch
        return None, None

    nnlite_runs, fit_runs, epoch_runs = [], [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MLPClassifier's ConvergenceWarning, if max_iter is hit
        for _ in range(repeats):
            nnlite_runs.append(run_nnlite())
            fit_runs.append(run_sklearn_fit())
            epoch_runs.append(run_sklearn_epochs())

    def median_or_none(values: list[float | None]) -> float | None:
        present = [value for value in values if value is not None]
        return statistics.median(present) if len(present) == len(values) else None

    return DigitsResult(
        repeats=repeats,
        train_rows=len(X_train),
        test_rows=len(X_test),
        nnlite_to_target=median_or_none([run[0] for run in nnlite_runs]),
        nnlite_epoch_reached=nnlite_runs[0][1],
        nnlite_total=statistics.median(run[2] for run in nnlite_runs),
        nnlite_epochs=nnlite_runs[0][3],
        nnlite_accuracy=nnlite_runs[0][4],
        sklearn_fit=statistics.median(run[0] for run in fit_runs),
        sklearn_iterations=fit_runs[0][1],
        sklearn_accuracy=fit_runs[0][2],
        sklearn_to_target=median_or_none([run[0] for run in epoch_runs]),
        sklearn_epoch_reached=epoch_runs[0][1],
        sklearn_settings={
            key: value
            for key, value in classifier(MAX_ITER).get_params().items()
            if key in ("solver", "learning_rate_init", "batch_size", "alpha")
        },
        versions={"scikit-learn": str(sklearn.__version__)},
    )
