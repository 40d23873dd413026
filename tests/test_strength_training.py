"""fit's and evaluate's bookkeeping, pinned where mutation testing found it unpinned.

Early stopping's arithmetic (when it stops, which epoch it keeps), the row order without shuffling,
and ``evaluate`` passing its threshold on to ``accuracy``. The validation losses here are scripted:
an "optimizer" sets the one weight of a model to the next value of a list at each step, so the
epochs' validation losses are known before training starts (the reference is the list, not fit).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

import nnlite as nl
from nnlite.training import accuracy, evaluate


class Scripted:
    """An optimizer whose k-th step sets the parameter to ``values[k]``."""

    def __init__(self, parameter: nl.Parameter, values: Sequence[float]) -> None:
        self.parameter = parameter
        self.values = iter(values)

    def step(self) -> None:
        self.parameter.data[...] = next(self.values)


def scripted_fit(weights: Sequence[float], patience: int | None) -> tuple[nl.History, float]:
    """fit with one step an epoch; the validation loss after epoch e is weights[e] ** 2 / 2.

    Returns the history and the weight the model holds at the end.
    """
    model = nl.Linear(1, 1, bias=False, rng=0)
    one = np.ones((1, 1))
    history = nl.fit(
        model,
        nl.MSELoss(),
        Scripted(model.weight, weights),
        one,
        one,
        epochs=len(weights),
        batch_size=1,
        validation_data=(one, np.zeros((1, 1))),  # MSELoss: w^2 / 2
        patience=patience,
        progress=False,
    )
    assert history.val_loss == pytest.approx([w**2 / 2 for w in weights[: history.epochs]])
    return history, float(model.weight.data[0, 0])


# (weights, patience, epochs run, best epoch): the validation loss is half each weight squared.
STOPS = [
    # The best is epoch 2; the epochs after it do not improve; it stops `patience` epochs later.
    ([3, 2, 1, 2, 2, 2, 2, 2, 2, 2], 1, 4, 2),
    ([3, 2, 1, 2, 2, 2, 2, 2, 2, 2], 2, 5, 2),
    ([3, 2, 1, 2, 2, 2, 2, 2, 2, 2], 3, 6, 2),
    # Worse from the start: the best is epoch 0, and it stops at epoch `patience`.
    ([1, 2, 3, 4, 5, 6, 7, 8], 1, 2, 0),
    ([1, 2, 3, 4, 5, 6, 7, 8], 4, 5, 0),
    # An improvement starts the count again: best at 1, then at 4, stop 3 epochs after it.
    ([3, 2, 2.5, 2.5, 1.5, 2, 2, 2, 2, 2], 3, 8, 4),
    # An equal loss is no improvement: the best stays epoch 1.
    ([2, 1, 1, 1, 1, 1, 1, 1], 2, 4, 1),
]


@pytest.mark.parametrize(("weights", "patience", "epochs", "best"), STOPS)
def test_early_stopping_stops_patience_epochs_after_the_best(
    weights: list[float], patience: int, epochs: int, best: int
) -> None:
    history, weight = scripted_fit(weights, patience)
    assert (history.epochs, history.best_epoch, history.stopped_early) == (epochs, best, True)
    assert weight == weights[best]  # the best epoch's weights, restored


def test_early_stopping_that_never_runs_out_of_patience_runs_every_epoch() -> None:
    """Improving every epoch: all epochs run, not stopped early, the last epoch is the best."""
    history, weight = scripted_fit([4, 3, 2, 1], patience=1)
    assert (history.epochs, history.best_epoch, history.stopped_early) == (4, 3, False)
    assert weight == 1


def test_without_patience_nothing_is_restored() -> None:
    history, weight = scripted_fit([1, 2, 3], patience=None)
    assert (history.epochs, history.best_epoch, history.stopped_early) == (3, None, False)
    assert weight == 3


class Recording(nl.Linear):
    """A Linear that records every batch it is given."""

    def __init__(self, in_features: int, out_features: int, *, rng: int) -> None:
        super().__init__(in_features, out_features, rng=rng)
        self.batches: list[nl.FloatArray] = []

    def forward(self, x: nl.FloatArray) -> nl.FloatArray:
        self.batches.append(x[:, 0].copy())
        return super().forward(x)


def batches_seen(shuffle: bool, rng: int = 0) -> list[list[float]]:
    model = Recording(1, 1, rng=0)
    X = np.arange(7.0).reshape(7, 1)
    nl.fit(
        model, nl.MSELoss(), nl.optim.SGD(model.parameters(), lr=0.01), X, X,
        epochs=3, batch_size=3, shuffle=shuffle, rng=rng, progress=False,
    )  # fmt: skip
    return [batch.tolist() for batch in model.batches]


def test_without_shuffle_every_epoch_visits_the_rows_in_order() -> None:
    in_order = [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0]]
    assert batches_seen(shuffle=False) == in_order * 3


def test_with_shuffle_each_epoch_is_a_new_order_of_all_the_rows() -> None:
    seen = batches_seen(shuffle=True)
    epochs = [[row for batch in seen[i : i + 3] for row in batch] for i in range(0, 9, 3)]
    assert [len(batch) for batch in seen] == [3, 3, 1] * 3
    for order in epochs:
        assert sorted(order) == list(np.arange(7.0))
    assert epochs[0] != list(np.arange(7.0))
    assert len({tuple(order) for order in epochs}) == 3
    assert batches_seen(shuffle=True) == seen  # the same seed, the same orders
    assert batches_seen(shuffle=True, rng=1) != seen


# The outputs are the inputs (Identity); which rows count as predicted 1 depends on the threshold.
OUTPUTS = np.array([[-0.2], [0.3], [0.7]])
TARGETS = np.array([[1.0], [1.0], [0.0]])


@pytest.mark.parametrize(
    ("threshold", "expected"), [(0.5, 0.0), (0.0, 1 / 3), (-0.5, 2 / 3), (0.8, 1 / 3)]
)
def test_evaluate_passes_its_threshold_to_accuracy(threshold: float, expected: float) -> None:
    """Counted by hand: predicted 1 where the output is at least the threshold."""
    scores = evaluate(nl.Identity(), nl.MSELoss(), OUTPUTS, TARGETS, threshold=threshold)
    assert scores["accuracy"] == pytest.approx(expected)
    assert accuracy(OUTPUTS, TARGETS, threshold=threshold) == pytest.approx(expected)


def test_evaluate_thresholds_at_one_half_by_default() -> None:
    assert evaluate(nl.Identity(), nl.MSELoss(), OUTPUTS, TARGETS)["accuracy"] == 0.0


# --- What a diverging run says, and which weights it leaves: the three cases, in full. ---


def diverge(
    weights: Sequence[float], *, sigmoid: bool
) -> tuple[str, nl.Sequential, dict[str, nl.FloatArray]]:
    """fit on four rows of positive inputs, one row a step, in order; the k-th step sets every
    weight to ``weights[k]``. Returns the error's message, the model and its initial state."""
    layers: list[nl.Layer] = [nl.Linear(2, 1, bias=False, rng=0)]
    if sigmoid:
        layers.append(nl.Sigmoid())  # saturates: sigmoid(inf) = 1, a finite loss
    model = nl.Sequential(*layers)
    start = model.state_dict()
    X = np.array([[1.0, 2.0], [2.0, 1.0], [1.0, 1.0], [2.0, 2.0]])
    first = model.layers[0]
    assert isinstance(first, nl.Linear)
    optimizer = Scripted(first.weight, weights)
    with pytest.raises(nl.TrainingError) as caught, np.errstate(all="ignore"):
        nl.fit(
            model, nl.MSELoss(), optimizer, X, np.ones((4, 1)),
            epochs=2, batch_size=1, shuffle=False, progress=False,
        )  # fmt: skip
    return str(caught.value), model, start


def test_a_loss_that_overflows_with_finite_weights_keeps_them() -> None:
    message, model, _ = diverge([1e200], sigmoid=False)
    assert message == (
        "fit: the training loss became inf at step 1 (epoch 0, batch 1), with finite weights and "
        "data: the model's outputs overflowed. The learning rate is probably too high: lower the "
        "learning rate. The model holds the weights of that step."
    )
    assert np.all(model.state_dict()["0.weight"] == 1e200)


def test_an_update_that_breaks_a_weight_goes_back_to_before_it() -> None:
    message, model, _ = diverge([0.5, np.inf], sigmoid=False)
    assert message == (
        "fit: the training loss became inf at step 2 (epoch 0, batch 2): the update of step 1 "
        "made '0.weight' non-finite (the data is finite). The learning rate is probably too "
        "high: lower the learning rate. The model holds the weights before that update."
    )
    assert np.all(model.state_dict()["0.weight"] == 0.5)


def test_a_weight_broken_earlier_in_the_epoch_goes_back_to_the_epoch_before() -> None:
    """inf hidden by the sigmoid for two steps, then NaN: the weights before the last update are
    not finite either, so the model goes back to those of the last epoch's end (the start)."""
    message, model, start = diverge([np.inf, np.inf, np.nan], sigmoid=True)
    assert message == (
        "fit: the training loss became nan at step 3 (epoch 0, batch 3): '0.weight' had become "
        "non-finite earlier in epoch 0 (the data is finite). The learning rate is probably too "
        "high: lower the learning rate. The model holds the weights of the end of the epoch "
        "before."
    )
    for name, values in model.state_dict().items():
        np.testing.assert_array_equal(values, start[name], err_msg=name)


# --- predict, accuracy, evaluate: their checks name the function and the argument. ---


def test_predict_in_batches_of_one_is_predict_at_once() -> None:
    model = nl.Linear(2, 3, rng=0)
    X = np.random.default_rng(0).standard_normal((5, 2))
    np.testing.assert_array_equal(nl.predict(model, X, batch_size=1), model(X))


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: nl.predict(nl.Identity(), "text"), TypeError, r"^predict expects X as a float"),
        (
            lambda: nl.predict(nl.Identity(), np.ones((2, 1)), batch_size=0),
            ValueError,
            r"^predict: batch_size must be an int >= 1, got 0$",
        ),
        (lambda: accuracy("text", np.ones((2, 1))), TypeError, r"^accuracy expects prediction as"),
        (lambda: accuracy(np.ones((2, 1)), "text"), TypeError, r"^accuracy expects Y as a float"),
        (
            lambda: evaluate(nl.Identity(), nl.MSELoss(), np.ones((2, 1)), np.ones((3, 1))),
            nl.ShapeError,
            r"^evaluate expects X and Y with the same number of rows, got \(2, 1\) and \(3, 1\)$",
        ),
    ],
)
def test_a_bad_argument_names_the_function_and_the_argument(
    call, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        call()


def test_one_hot_accuracy_compares_each_row_with_its_own_class() -> None:
    """Counted by hand: the argmax of each row of the prediction against that row's class."""
    Y = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    right = np.array([[0.1, 0.8, 0.1], [0.5, 0.2, 0.3], [0.0, 0.1, 0.9]])
    assert accuracy(right, Y) == 1.0
    two_of_three = np.array([[0.1, 0.8, 0.1], [0.2, 0.5, 0.3], [0.0, 0.1, 0.9]])
    assert accuracy(two_of_three, Y) == pytest.approx(2 / 3)


@pytest.mark.parametrize(
    ("Y", "expected"),
    [
        (np.array([[0.0], [1.0]]), True),  # a binary column
        (np.array([[1.0]]), True),  # one row is enough
        (np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]), True),  # one-hot rows
        (np.zeros((0, 1)), False),  # no rows
        (np.array([0.0, 1.0]), False),  # not (N, k)
        (np.array([[1.0, 1.0], [0.0, 1.0]]), False),  # 0s and 1s, but not one-hot
        (np.array([[0.5], [1.0]]), False),  # not 0s and 1s
    ],
)
def test_which_targets_are_classification_targets(Y: nl.FloatArray, expected: bool) -> None:
    assert nl.training.is_classification_target(Y) is expected


# --- fit's own checks and bookkeeping. ---


@pytest.mark.parametrize(("rows", "steps"), [(32, 1), (33, 2), (64, 2), (65, 3)])
def test_fit_takes_batches_of_32_rows_by_default(rows: int, steps: int) -> None:
    model = nl.Linear(1, 1, rng=0)
    counter = Counting()
    X = np.zeros((rows, 1))
    nl.fit(model, nl.MSELoss(), counter, X, X, epochs=1, progress=False)
    assert counter.steps == steps


class Counting:
    """An optimizer that only counts its steps."""

    def __init__(self) -> None:
        self.steps = 0

    def step(self) -> None:
        self.steps += 1


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"X": np.ones((2, 1)), "Y": np.ones((3, 1))},
            nl.ShapeError,
            r"^fit expects X and Y with the same number of rows, got \(2, 1\) and \(3, 1\)$",
        ),
        (
            {"validation_data": (np.ones((2, 1)), np.ones((3, 1)))},
            nl.ShapeError,
            r"^fit validation_data expects X and Y with the same number of rows, got \(2, 1\) "
            r"and \(3, 1\)$",
        ),
        ({"patience": 2}, ValueError, r"^fit: patience \(early stopping\) needs validation_data$"),
        ({"resume": "yes"}, TypeError, r"^fit: resume must be a bool, got 'yes'$"),
        (
            {"schedule": "step"},
            TypeError,
            r"^fit: schedule must be None or an nnlite.schedules schedule, got a str$",
        ),
        (
            {"schedule": nl.schedules.StepLR(nl.optim.SGD([nl.Parameter([1.0])], lr=1.0), 2)},
            ValueError,
            r"^fit: the schedule StepLR\(step_size=2, gamma=0.1\) adjusts another optimizer than "
            r"the one given: make it with this one$",
        ),
        (
            {"metrics": ("precision", "recall")},
            ValueError,
            r"^fit: metrics \(precision, recall\) need validation_data$",
        ),
        (
            {
                "metrics": ("precision", "f1"),
                "validation_data": (np.ones((2, 1)), np.full((2, 1), 0.5)),
            },
            ValueError,
            r"^fit: metrics \(precision, f1\) need classification targets in validation_data "
            r"\(a column of 0s and 1s, or one-hot rows\)$",
        ),
        (
            {"X": np.array([[1.0], [np.nan], [2.0], [3.0], [4.0]]), "Y": np.ones((5, 1))},
            ValueError,
            r"^fit: X must hold only finite numbers, got nan in row 1 \(of 5\): fix or drop the "
            r"rows that are not finite$",
        ),
    ],
)
def test_fit_names_itself_and_the_argument(
    kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    model = nl.Linear(1, 1, rng=0)
    arguments: dict[str, object] = {"X": np.ones((4, 1)), "Y": np.ones((4, 1)), **kwargs}
    with pytest.raises(error, match=message):
        nl.fit(model, nl.MSELoss(), Counting(), epochs=1, progress=False, **arguments)  # type: ignore[arg-type]


def test_a_model_with_a_nan_weight_is_refused_in_full() -> None:
    model = nl.Linear(1, 1, rng=0)
    model.weight.data[0, 0] = np.nan
    with pytest.raises(
        ValueError,
        match=r"^fit: the model's 'weight' must hold only finite numbers, got nan before "
        r"training$",
    ):
        nl.fit(model, nl.MSELoss(), Counting(), np.ones((2, 1)), np.ones((2, 1)), epochs=1)


def test_the_seconds_are_each_epochs_wall_time() -> None:
    model = nl.Linear(1, 1, rng=0)
    start = time.perf_counter()
    history = nl.fit(
        model, nl.MSELoss(), Counting(), np.ones((8, 1)), np.ones((8, 1)), epochs=3,
        progress=False,
    )  # fmt: skip
    elapsed = time.perf_counter() - start
    assert len(history.seconds) == 3
    assert all(seconds > 0 for seconds in history.seconds)
    assert sum(history.seconds) <= elapsed


def test_the_progress_line_shows_the_validation_scores_and_the_speed(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plain-text line's last values are the history's, and samples/s is rows / seconds."""
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    model = nl.Sequential(nl.Linear(2, 1, rng=0), nl.Sigmoid())
    X = np.random.default_rng(0).standard_normal((40, 2))
    Y = (X[:, :1] > 0).astype(float)
    history = nl.fit(
        model, nl.MSELoss(), nl.optim.SGD(model.parameters(), lr=0.1), X, Y,
        epochs=2, validation_data=(X, Y), progress=True,
    )  # fmt: skip
    words = capsys.readouterr().err.splitlines()[-1].split()
    shown = dict(zip(words[2::2], words[3::2], strict=True))
    assert shown["val_loss"] == f"{history.val_loss[-1]:.4g}"
    assert shown["val_accuracy"] == f"{history.val_accuracy[-1]:.4g}"
    speed = 40 / history.seconds[-1]
    assert float(shown["samples/s"].replace(",", "")) == pytest.approx(speed, rel=1e-6, abs=0.5)


def test_a_weight_the_loss_never_showed_broken_is_caught_at_the_epoch_end_in_full() -> None:
    """inf at every step, hidden by the sigmoid: found when the epoch ends; back to the start."""
    message, model, start = diverge([np.inf] * 4, sigmoid=True)
    assert message == (
        "fit: '0.weight' became non-finite in epoch 0 while the loss stayed finite (saturated "
        "activations hide it). The learning rate is probably too high: lower the learning rate. "
        "The model holds the last weights known to be finite."
    )
    for name, values in model.state_dict().items():
        np.testing.assert_array_equal(values, start[name], err_msg=name)


def test_a_validation_loss_that_overflows_is_explained_in_full() -> None:
    """Training rows of 1e-200 keep the training loss at 1/2 while the weight is 1e200; the
    validation row of 1 overflows."""
    model = nl.Linear(1, 1, bias=False, rng=0)
    model.weight.data[...] = 0.0
    with pytest.raises(nl.TrainingError) as caught, np.errstate(over="ignore"):
        nl.fit(
            model, nl.MSELoss(), Scripted(model.weight, [1e200]),
            np.full((1, 1), 1e-200), np.ones((1, 1)), epochs=1,
            validation_data=(np.ones((1, 1)), np.zeros((1, 1))), progress=False,
        )  # fmt: skip
    assert str(caught.value) == (
        "fit: the validation loss became inf after epoch 0, with finite weights and a finite "
        "training loss (0.5): the model's outputs overflow on validation_data; check its scale "
        "against the training data's, or lower the learning rate"
    )


@pytest.mark.parametrize(
    ("X", "Y", "message"),
    [
        ("text", np.ones((2, 1)), r"^evaluate expects X as a float32/float64 array"),
        (np.ones((2, 1)), "text", r"^evaluate expects Y as a float32/float64 array"),
        (1.0, np.ones((1, 1)), r"^evaluate expects X and Y with the same number of rows, got \(\)"),
        (np.ones((1, 1)), 1.0, r"^evaluate expects X and Y with .* got \(1, 1\) and \(\)$"),
        (np.ones((0, 2)), np.ones((0, 2)), r"^evaluate expects at least one row, got X of shape "),
    ],
)
def test_evaluate_refuses_what_is_not_rows(X: object, Y: object, message: str) -> None:
    with pytest.raises((TypeError, nl.ShapeError), match=message):
        evaluate(nl.Identity(), nl.MSELoss(), X, Y)  # type: ignore[arg-type]


def test_evaluate_takes_rows_of_one_number() -> None:
    """Rows are the first axis: (N,) is N rows of one number (MSELoss: 1/(2N) sum 1 = 1/2)."""
    assert evaluate(nl.Identity(), nl.MSELoss(), np.ones(4), np.zeros(4)) == {"loss": 0.5}


# --- what the callbacks see. ---


class Watching(nl.callbacks.Callback):
    """Records the run it is given, the epochs it is told of and the steps of its batches."""

    def __init__(self) -> None:
        self.epochs: list[int] = []
        self.steps: list[int] = []

    def on_train_start(self, run: nl.callbacks.Run) -> None:
        self.run = run

    def on_epoch_start(self, epoch: int) -> None:
        self.epochs.append(epoch)

    def on_batch_end(self, step: int, loss: float) -> None:
        self.steps.append(step)


def test_the_run_holds_what_fit_was_given_and_every_callback_in_order(tmp_path: Path) -> None:
    """Run's documented fields: the model, loss and optimizer given, and the callbacks in the
    order their hooks run: the progress display, the user's, the checkpoint, early stopping."""
    model, loss = nl.Linear(1, 1, rng=0), nl.MSELoss()
    optimizer = nl.optim.SGD(model.parameters(), lr=0.1)
    watching = Watching()
    one = np.ones((2, 1))
    nl.fit(
        model, loss, optimizer, one, one, epochs=1, validation_data=(one, one), patience=2,
        checkpoint=tmp_path / "run.npz", progress=False, callbacks=[watching],
    )  # fmt: skip
    run = watching.run
    assert run.model is model
    assert run.loss is loss
    assert run.optimizer is optimizer
    assert [type(callback) for callback in run.callbacks] == [
        nl.callbacks.ProgressBar,
        Watching,
        nl.callbacks.ModelCheckpoint,
        nl.callbacks.EarlyStopping,
    ]
    assert run.callbacks[1] is watching


def checkpointed_fit(path: Path, epochs: int, **kwargs: object) -> Watching:
    """fit of 5 rows in batches of 2 (3 steps an epoch) with a checkpoint; what a callback saw."""
    model = nl.Linear(1, 1, rng=0)
    X = np.arange(5.0).reshape(5, 1)
    watching = Watching()
    nl.fit(
        model, nl.MSELoss(), nl.optim.SGD(model.parameters(), lr=0.01), X, 2 * X,
        epochs=epochs, batch_size=2, checkpoint=path, progress=False, callbacks=[watching],
        **kwargs,  # type: ignore[arg-type]
    )  # fmt: skip
    return watching


def test_a_resumed_run_goes_on_counting_epochs_and_steps(tmp_path: Path) -> None:
    """Stopped after 2 epochs of 3 steps and resumed for 4: epochs 2 and 3, steps 6 to 11."""
    first = checkpointed_fit(tmp_path / "c.npz", 2)
    assert first.epochs == [0, 1]
    assert first.steps == [0, 1, 2, 3, 4, 5]
    resumed = checkpointed_fit(tmp_path / "c.npz", 4, resume=True)
    assert resumed.epochs == [2, 3]
    assert resumed.steps == [6, 7, 8, 9, 10, 11]


def test_a_checkpoint_without_resume_starts_again_from_the_first_epoch(tmp_path: Path) -> None:
    """resume defaults to False: an existing checkpoint file is overwritten, not resumed."""
    checkpointed_fit(tmp_path / "c.npz", 2)
    again = checkpointed_fit(tmp_path / "c.npz", 3)
    assert again.epochs == [0, 1, 2]
    assert again.steps == list(range(9))


class ScriptedWithRate(Scripted):
    """A Scripted optimizer with a learning rate, for a schedule to adjust."""

    lr = 1.0


def test_an_epoch_schedule_is_stepped_with_the_validation_loss() -> None:
    """The weight goes 1, 2, 3: validation losses (target 0) w^2/2 = 0.5, 2, 4.5 rise, training
    losses before each update (target 1, the weight starting at 0) 0.5, 0, 0.5 do not.
    ReduceLROnPlateau(patience=0, factor=0.5) on the validation loss halves the rate after
    epochs 1 and 2 (on the training loss it would halve it once, after epoch 2)."""
    model = nl.Linear(1, 1, bias=False, rng=0)
    model.weight.data[...] = 0.0
    optimizer = ScriptedWithRate(model.weight, [1.0, 2.0, 3.0])
    schedule = nl.schedules.ReduceLROnPlateau(optimizer, factor=0.5, patience=0)
    one = np.ones((1, 1))
    history = nl.fit(
        model, nl.MSELoss(), optimizer, one, one, epochs=3, batch_size=1, schedule=schedule,
        validation_data=(one, np.zeros((1, 1))), progress=False,
    )  # fmt: skip
    assert history.loss == pytest.approx([0.5, 0.0, 0.5])
    assert history.val_loss == pytest.approx([0.5, 2.0, 4.5])
    assert history.lr == [1.0, 1.0, 0.5]
    assert optimizer.lr == 0.25
