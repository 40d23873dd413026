"""confusion_matrix, precision_recall_f1 and fit's metrics: against small cases computed by hand,
and against scikit-learn when it is installed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import nnlite as nl
from nnlite.errors import ArgumentTypeError, ArgumentValueError, ShapeError
from nnlite.metrics import METRICS, classes, confusion_matrix, evaluate, precision_recall_f1

TRUE = [0, 0, 1, 2, 2, 2]
PRED = [0, 1, 1, 2, 2, 0]


def one_hot(labels: list[int], k: int) -> np.ndarray:
    return np.eye(k)[labels]


def test_the_confusion_matrix_by_hand() -> None:
    expected = np.array([[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    np.testing.assert_array_equal(confusion_matrix(TRUE, PRED), expected)
    assert confusion_matrix(TRUE, PRED).dtype == np.int64
    wider = confusion_matrix(TRUE, PRED, num_classes=4)
    np.testing.assert_array_equal(wider[:3, :3], expected)
    assert wider[3].sum() == wider[:, 3].sum() == 0
    np.testing.assert_array_equal(confusion_matrix([1, 1, 0], [1, 0, 0]), [[1, 0], [1, 1]])
    np.testing.assert_array_equal(confusion_matrix([], []), [[0]])


@pytest.mark.parametrize(
    ("true", "pred", "error", "message"),
    [
        ([0, 1], [0], ShapeError, r"same shape \(N,\), got \(2,\) and \(1,\)"),
        ([[0, 1]], [[0, 1]], ShapeError, "same shape"),
        (
            [0, -1],
            [0, 0],
            ValueError,
            "^confusion_matrix: y_true must hold class labels, ints >= 0, got -1$",
        ),
        ([0, 1], [0.5, 1.0], ValueError, "y_pred must hold class labels, ints >= 0, got 0.5$"),
        ([0, 1], [0, np.nan], ValueError, "y_pred must hold class labels, ints >= 0, got nan$"),
        (["a"], [0], ValueError, "y_true must hold class labels, ints >= 0, got <U1$"),
    ],
)
def test_the_confusion_matrix_refuses_what_are_not_labels(
    true: object, pred: object, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        confusion_matrix(true, pred)  # type: ignore[arg-type]


def test_num_classes_must_hold_every_label() -> None:
    with pytest.raises(
        ArgumentValueError, match=r"^confusion_matrix: num_classes must be an int >= 3, got 2$"
    ):
        confusion_matrix(TRUE, PRED, num_classes=2)


def test_classes_reads_outputs_as_accuracy_does() -> None:
    np.testing.assert_array_equal(classes([[0.2], [0.5], [0.9]]), [0, 1, 1])
    np.testing.assert_array_equal(classes([[-0.1], [0.0]], threshold=0.0), [0, 1])
    np.testing.assert_array_equal(classes([[0.1, 0.7, 0.2], [3.0, 1.0, 2.0]]), [1, 0])


def test_classes_are_ints_for_one_column_too() -> None:
    """(N,) ints, as documented, for one column as for several: labels confusion_matrix takes."""
    assert classes([[0.2], [0.9]]).dtype == np.int64
    assert classes([[0.2, 0.9]]).dtype.kind == "i"


@pytest.mark.parametrize(
    ("prediction", "error", "message"),
    [
        (
            "text",
            TypeError,
            r"^classes expects prediction as a float32/float64 array, or numbers, lists or "
            r"integer arrays; got a str$",
        ),
        (np.ones(3), ShapeError, r"^classes expects prediction of shape \(N, k\), got \(3,\)$"),
    ],
)
def test_classes_refuses_what_are_not_outputs_in_full(
    prediction: object, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        classes(prediction)  # type: ignore[arg-type]


def test_macro_precision_recall_f1_by_hand() -> None:
    """From the confusion matrix above: per class precision 1/2, 1/2, 2/2; recall 1/2, 1/1, 2/3;
    F1 1/2, 2/3, 4/5; each averaged over the three classes."""
    scores = precision_recall_f1(one_hot(PRED, 3), one_hot(TRUE, 3))
    assert scores["precision"] == pytest.approx(2 / 3, rel=1e-15)
    assert scores["recall"] == pytest.approx(13 / 18, rel=1e-15)
    assert scores["f1"] == pytest.approx(59 / 90, rel=1e-15)


def test_binary_precision_recall_f1_by_hand() -> None:
    """Class 1's: 3 rows of class 1, 2 of them found; 4 rows predicted 1, 2 of them right."""
    Y = np.array([[1.0], [1.0], [1.0], [0.0], [0.0], [0.0]])
    outputs = np.array([[0.9], [0.6], [0.1], [0.8], [0.5], [0.2]])
    scores = precision_recall_f1(outputs, Y)
    assert scores == pytest.approx({"precision": 2 / 4, "recall": 2 / 3, "f1": 4 / 7}, rel=1e-15)
    raised = precision_recall_f1(outputs, Y, threshold=0.55)  # now 3 predicted 1, 2 right
    assert raised == pytest.approx({"precision": 2 / 3, "recall": 2 / 3, "f1": 2 / 3}, rel=1e-15)


def test_an_empty_denominator_scores_zero() -> None:
    Y = np.array([[1.0], [0.0]])
    assert precision_recall_f1(np.array([[0.1], [0.2]]), Y) == {
        "precision": 0.0,
        "recall": 0.0,
        "f1": 0.0,
    }
    # A class that is in neither the targets nor the predictions counts 0 in the macro mean.
    scores = precision_recall_f1(one_hot([0, 1], 3), one_hot([0, 1], 3))
    assert scores == pytest.approx({"precision": 2 / 3, "recall": 2 / 3, "f1": 2 / 3})


def test_precision_recall_f1_wants_matching_shapes() -> None:
    with pytest.raises(ShapeError, match=r"precision_recall_f1 expects .* got \(2, 1\) and \(2,"):
        precision_recall_f1(np.zeros((2, 1)), np.zeros((2, 2)))


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("k", [1, 2, 4])
def test_against_scikit_learn(seed: int, k: int) -> None:
    metrics = pytest.importorskip("sklearn.metrics")
    generator = np.random.default_rng(seed)
    n = int(generator.integers(1, 30))
    if k == 1:
        Y = generator.integers(0, 2, size=(n, 1)).astype(float)
        outputs = generator.uniform(size=(n, 1))
    else:
        Y = one_hot(list(generator.integers(0, k, size=n)), k)
        outputs = generator.normal(size=(n, k))
    true, pred = classes(Y), classes(outputs)
    labels = list(range(max(k, 2)))
    np.testing.assert_array_equal(
        confusion_matrix(true, pred, num_classes=len(labels)),
        metrics.confusion_matrix(true, pred, labels=labels),
    )
    expected = metrics.precision_recall_fscore_support(
        true,
        pred,
        labels=None if k == 1 else labels,
        average="binary" if k == 1 else "macro",
        zero_division=0,
    )
    scores = precision_recall_f1(outputs, Y)
    assert [scores["precision"], scores["recall"], scores["f1"]] == pytest.approx(
        list(expected[:3]), rel=1e-14, abs=1e-15
    )


# -- evaluate and fit ---------------------------------------------------------------------------

X, Y = nl.datasets.two_moons(60, rng=0)
X_VAL, Y_VAL = nl.datasets.two_moons(30, rng=1)


def test_fit_records_the_metrics_asked_for() -> None:
    model = nl.two_layer_network(2, 4, rng=0)
    history = nl.fit(model, nl.MSELoss(), nl.optim.SGD(model.parameters(), lr=1.0), X, Y,
                     epochs=3, rng=0, validation_data=(X_VAL, Y_VAL), progress=False,
                     metrics=("recall", "f1"))  # fmt: skip
    assert len(history.val_recall) == len(history.val_f1) == 3
    assert history.val_precision == []
    final = precision_recall_f1(model(X_VAL), Y_VAL)
    assert (history.val_recall[-1], history.val_f1[-1]) == (final["recall"], final["f1"])
    assert evaluate(model, nl.MSELoss(), X_VAL, Y_VAL, metrics=("f1",))["f1"] == final["f1"]


def test_fit_without_metrics_records_none() -> None:
    model = nl.two_layer_network(2, 4, rng=0)
    history = nl.fit(model, nl.MSELoss(), nl.optim.SGD(model.parameters(), lr=1.0), X, Y,
                     epochs=1, validation_data=(X_VAL, Y_VAL), progress=False)  # fmt: skip
    assert history.val_precision == history.val_recall == history.val_f1 == []


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"metrics": ("f1",)}, ValueError, r"^fit: metrics \(f1\) need validation_data$"),
        (
            {"metrics": ("f1", "auc"), "validation_data": (X_VAL, Y_VAL)},
            ArgumentValueError,
            r"^fit: metrics must be among .*, got 'auc'$",
        ),
        ({"metrics": "f1", "validation_data": (X_VAL, Y_VAL)}, ArgumentTypeError, "a tuple"),
        (
            {"metrics": ("f1",), "validation_data": (X_VAL, Y_VAL * 0.5)},
            ValueError,
            "need classification targets in validation_data",
        ),
    ],
)
def test_fit_refuses_metrics_it_cannot_measure(
    options: dict[str, object], error: type[Exception], message: str
) -> None:
    model = nl.two_layer_network(2, 4, rng=0)
    with pytest.raises(error, match=message):
        nl.fit(model, nl.MSELoss(), nl.optim.SGD(model.parameters(), lr=1.0), X, Y, epochs=1,
               progress=False, **options)  # type: ignore[arg-type]  # fmt: skip


def test_the_metrics_go_into_a_checkpoint_and_older_ones_load(tmp_path: Path) -> None:
    path = tmp_path / "c.npz"
    model = nl.two_layer_network(2, 4, rng=0)
    optimizer = nl.optim.Adam(model.parameters())
    history = nl.fit(model, nl.MSELoss(), optimizer, X, Y, epochs=2, checkpoint=path,
                     validation_data=(X_VAL, Y_VAL), progress=False,
                     metrics=("precision",))  # fmt: skip
    assert nl.load_checkpoint(path, model, optimizer).history.val_precision == history.val_precision
    with np.load(path, allow_pickle=False) as archive:
        entries = {name: archive[name] for name in archive.files}
    document = json.loads(entries["checkpoint.json"].item())
    for name in ("val_precision", "val_recall", "val_f1"):  # a history saved before they were
        del document["history"][name]
    entries["checkpoint.json"] = np.array(json.dumps(document))
    np.savez(tmp_path / "older.npz", **entries)
    older = nl.load_checkpoint(tmp_path / "older.npz", model, optimizer).history
    assert older.val_precision == []
    assert older.loss == history.loss


def test_train_plot_draws_the_metrics(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    from nnlite.cli import main

    drawn: list[list[tuple[str, list[float]]]] = []
    save = Figure.savefig

    def keep(figure: Figure, *arguments: object, **keywords: object) -> None:
        drawn.append(
            [(str(line.get_label()), list(line.get_ydata())) for line in figure.axes[1].lines]  # type: ignore[arg-type]
        )
        save(figure, *arguments, **keywords)  # type: ignore[arg-type]

    monkeypatch.setattr(Figure, "savefig", keep)
    path = tmp_path / "xor.png"
    arguments = ["train", "--dataset", "xor", "--epochs", "3", "--no-progress", "--plot", str(path)]
    assert main(arguments) == 0
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    (lines,) = drawn
    assert [name for name, _ in lines] == ["accuracy", "precision", "recall", "F1"]
    assert all(len(values) == 3 and all(0 <= v <= 100 for v in values) for _, values in lines)


EVALUATE_REFUSES = [
    (
        {"metrics": {"f1"}},
        ArgumentTypeError,
        r"^evaluate: metrics must be a tuple of names of \('precision', 'recall', 'f1'\), got a "
        r"set$",
    ),
    (
        {"metrics": ("auc", "f1", "roc")},
        ArgumentValueError,
        r"^evaluate: metrics must be among \('precision', 'recall', 'f1'\), got 'auc', 'roc'$",
    ),
    (
        {"metrics": ("recall", "f1"), "Y": np.full((2, 1), 0.5)},
        ValueError,
        r"^evaluate: recall, f1 need a classification target \(a column of 0s and 1s, or "
        r"one-hot rows\)$",
    ),
]


@pytest.mark.parametrize(("options", "error", "message"), EVALUATE_REFUSES)
def test_evaluate_refuses_metrics_it_cannot_measure_in_full(
    options: dict[str, object], error: type[Exception], message: str
) -> None:
    arguments: dict[str, object] = {"X": np.ones((2, 1)), "Y": np.ones((2, 1)), **options}
    with pytest.raises(error, match=message):
        evaluate(nl.Identity(), nl.MSELoss(), **arguments)  # type: ignore[arg-type]


def test_evaluate_reads_the_metrics_at_its_threshold() -> None:
    """Logits read at 0: rows 1, 2 and 4 predicted 1, of which rows 1 and 2 are (precision 2/3,
    recall 2/2); read at the default 0.5, only row 1 is (precision 1, recall 1/2)."""
    logits = np.array([[2.0], [0.3], [-1.0], [0.1]])
    Y = np.array([[1.0], [1.0], [0.0], [0.0]])
    at_zero = evaluate(nl.Identity(), nl.MSELoss(), logits, Y, threshold=0.0, metrics=METRICS)
    assert at_zero["precision"] == pytest.approx(2 / 3)
    assert at_zero["recall"] == 1.0
    assert at_zero["f1"] == pytest.approx(0.8)
    at_half = evaluate(nl.Identity(), nl.MSELoss(), logits, Y, metrics=METRICS)
    assert at_half["precision"] == 1.0
    assert at_half["recall"] == 0.5
