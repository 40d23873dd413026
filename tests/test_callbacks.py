"""Callbacks: the hooks fit calls and their order, StopTraining, and the three built-in callbacks
(each checked by a property that a deliberately broken version of it fails)."""

from __future__ import annotations

import copy
import io
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nnlite as nl
from nnlite.callbacks import (
    Callback,
    EarlyStopping,
    ModelCheckpoint,
    ProgressBar,
    Run,
    StopTraining,
)
from nnlite.errors import ArgumentTypeError, TrainingError
from nnlite.optim import SGD, Adam
from nnlite.schedules import StepLR

X, Y = nl.datasets.two_moons(40, rng=0)


def _fit(model: nl.Layer, **options: Any) -> nl.History:
    settings: dict[str, Any] = {"epochs": 2, "batch_size": 20, "rng": 0, "progress": False}
    return nl.fit(model, nl.MSELoss(), SGD(model.parameters(), lr=0.5), X, Y,
                  **{**settings, **options})  # fmt: skip


class Recorder(Callback):
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def on_train_start(self, run: Run) -> None:
        self.run = run
        self.calls.append(("train_start", run.epochs, run.rows, run.validation))

    def on_epoch_start(self, epoch: int) -> None:
        self.calls.append(("epoch_start", epoch))

    def on_batch_end(self, step: int, loss: float) -> None:
        self.calls.append(("batch_end", step, loss))

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        self.calls.append(("epoch_end", epoch, dict(logs)))

    def on_train_end(self) -> None:
        self.calls.append(("train_end", self.run.finished))


def test_the_hooks_run_in_order_with_the_runs_numbers() -> None:
    recorder = Recorder()
    history = _fit(nl.two_layer_network(2, 4, rng=0), callbacks=[recorder],
                   validation_data=(X, Y))  # fmt: skip
    names = [call[0] for call in recorder.calls]
    assert names == ["train_start", *(["epoch_start", "batch_end", "batch_end", "epoch_end"] * 2),
                     "train_end"]  # fmt: skip
    assert recorder.calls[0] == ("train_start", 2, 40, True)
    assert recorder.calls[-1] == ("train_end", True)
    batches = [call for call in recorder.calls if call[0] == "batch_end"]
    assert [call[1] for call in batches] == [0, 1, 2, 3]
    # Two equal batches per epoch: the epoch's loss is the mean of its batches' losses.
    for epoch in range(2):
        pair = [batches[2 * epoch][2], batches[2 * epoch + 1][2]]
        assert np.mean(pair) == pytest.approx(history.loss[epoch], rel=1e-15)
    ends = [call for call in recorder.calls if call[0] == "epoch_end"]
    for epoch, (_, number, logs) in enumerate(ends):
        assert number == epoch
        assert logs == {"loss": history.loss[epoch], "val_loss": history.val_loss[epoch],
                        "val_accuracy": history.val_accuracy[epoch]}  # fmt: skip
    assert recorder.run.history is history


def test_a_callback_changes_nothing_about_the_run() -> None:
    plain, watched = nl.two_layer_network(2, 4, rng=0), nl.two_layer_network(2, 4, rng=0)
    a, b = _fit(plain), _fit(watched, callbacks=[Recorder()])
    assert a.loss == b.loss
    np.testing.assert_array_equal(plain.state_dict()["0.weight"], watched.state_dict()["0.weight"])


def test_batch_hooks_not_overridden_are_never_called(monkeypatch: pytest.MonkeyPatch) -> None:
    def called(self: Callback, step: int, loss: float) -> None:
        raise AssertionError("fit called an on_batch_end that does nothing")

    monkeypatch.setattr(Callback, "on_batch_end", called)

    class EpochsOnly(Callback):
        def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
            self.seen = epoch

    watcher = EpochsOnly()
    _fit(nl.two_layer_network(2, 4, rng=0), callbacks=[watcher])
    assert watcher.seen == 1


@pytest.mark.parametrize("hook", ["on_batch_end", "on_epoch_end", "on_epoch_start"])
def test_stop_training_ends_the_run_where_it_is_raised(hook: str) -> None:
    recorder = Recorder()

    class Stop(Callback):
        pass

    def stop(self: Callback, *arguments: object) -> None:
        raise StopTraining

    setattr(Stop, hook, stop)
    history = _fit(nl.two_layer_network(2, 4, rng=0), epochs=5, callbacks=[recorder, Stop()])
    assert history.stopped_early
    assert recorder.calls[-1] == ("train_end", True)
    expected = {"on_batch_end": (0, ["batch_end"]), "on_epoch_end": (1, ["batch_end"] * 2),
                "on_epoch_start": (0, [])}[hook]  # fmt: skip
    assert history.epochs == expected[0]
    assert [call[0] for call in recorder.calls if call[0] == "batch_end"] == expected[1]


def test_the_end_hook_runs_when_training_fails() -> None:
    recorder = Recorder()
    model = nl.Sequential(nl.Linear(2, 1, rng=0))
    with pytest.raises(TrainingError), np.errstate(all="ignore"):
        nl.fit(model, nl.MSELoss(), SGD(model.parameters(), lr=1e10), X * 1e150, Y, epochs=3,
               progress=False, callbacks=[recorder])  # fmt: skip
    assert recorder.calls[-1] == ("train_end", False)


@pytest.mark.parametrize(
    ("callbacks", "described"),
    [(Recorder(), "a Recorder"), ([object()], "a list"), ("none", "a str")],
    ids=["a callback", "a list of objects", "a str"],
)
def test_callbacks_must_be_a_list_of_callbacks(callbacks: object, described: str) -> None:
    with pytest.raises(
        ArgumentTypeError,
        match=rf"^fit: callbacks must be a list of nnlite\.callbacks\.Callback, got {described}$",
    ):
        _fit(nl.two_layer_network(2, 4, rng=0), callbacks=callbacks)


def test_a_model_checkpoint_starts_afresh_unless_told_to_resume(tmp_path: Path) -> None:
    """resume defaults to False: an existing file is overwritten from epoch 0, not resumed."""
    path = tmp_path / "c.npz"
    _fit(nl.two_layer_network(2, 4, rng=0), callbacks=[ModelCheckpoint(path)])
    recorder = Recorder()
    _fit(nl.two_layer_network(2, 4, rng=0), epochs=3, callbacks=[recorder, ModelCheckpoint(path)])
    assert [call[1] for call in recorder.calls if call[0] == "epoch_start"] == [0, 1, 2]


def test_early_stopping_needs_validation_data_and_a_patience() -> None:
    with pytest.raises(
        ValueError, match=r"^fit: patience \(early stopping\) needs validation_data$"
    ):
        _fit(nl.two_layer_network(2, 4, rng=0), callbacks=[EarlyStopping(2)])
    with pytest.raises(ValueError, match=r"^EarlyStopping: patience must be an int >= 1, got 0$"):
        EarlyStopping(0)


# -- each built-in callback, and a broken one its test catches ---------------------------------


class StopsOneEpochLate(EarlyStopping):
    def __init__(self, patience: int) -> None:
        super().__init__(patience + 1)


class KeepsTheLastWeights(EarlyStopping):
    def on_train_end(self) -> None:
        pass


def early_stopping_holds(make: type[EarlyStopping]) -> None:
    """Validation targets opposite to the training ones: the validation loss rises from the
    start, so training stops after ``patience`` epochs with the weights of epoch 0."""
    model = nl.two_layer_network(2, 4, rng=0)
    after_first_epoch = copy.deepcopy(model)
    _fit(after_first_epoch, epochs=1, batch_size=8)
    history = _fit(model, epochs=50, batch_size=8, validation_data=(X, 1 - Y),
                   callbacks=[make(3)])  # fmt: skip
    assert history.stopped_early
    assert (history.best_epoch, history.epochs) == (0, 4)
    for name, value in after_first_epoch.state_dict().items():
        np.testing.assert_array_equal(model.state_dict()[name], value, err_msg=name)


def test_early_stopping_stops_after_patience_with_the_best_weights() -> None:
    early_stopping_holds(EarlyStopping)


@pytest.mark.parametrize("broken", [StopsOneEpochLate, KeepsTheLastWeights])
def test_early_stoppings_test_catches_a_broken_one(broken: type[EarlyStopping]) -> None:
    with pytest.raises(AssertionError):
        early_stopping_holds(broken)


def test_early_stopping_is_the_patience_shortcut() -> None:
    a, b = nl.two_layer_network(2, 4, rng=0), nl.two_layer_network(2, 4, rng=0)
    options: dict[str, Any] = {"epochs": 40, "batch_size": 8, "validation_data": (X, 1 - Y)}
    by_shortcut = _fit(a, patience=2, **options)
    by_callback = _fit(b, callbacks=[EarlyStopping(2)], **options)
    for name in ("loss", "val_loss", "val_accuracy", "lr", "stopped_early", "best_epoch"):
        assert getattr(by_shortcut, name) == getattr(by_callback, name), name
    assert by_callback.stopped_early
    np.testing.assert_array_equal(a.state_dict()["0.weight"], b.state_dict()["0.weight"])


class SavesTheWrongEpoch(ModelCheckpoint):
    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        nl.save_checkpoint(self.path, self.run.model, self.run.optimizer, epoch=epoch,
                           schedule=self.run.schedule, rng=self.run.rng,
                           history=self.run.history)  # fmt: skip


class ForgetsTheGenerator(ModelCheckpoint):
    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        state = self.run.rng.bit_generator.state
        super().on_epoch_end(epoch, logs)
        self.run.rng.bit_generator.state = np.random.default_rng(99).bit_generator.state
        super().on_epoch_end(epoch, logs)
        self.run.rng.bit_generator.state = state


def checkpoint_holds(make: type[ModelCheckpoint], folder: Path) -> None:
    """A run stopped after 3 epochs and resumed through the callback ends bit for bit as the
    uninterrupted one."""

    def train(epochs: int, path: Path, seed: int) -> tuple[nl.Layer, nl.History]:
        model = nl.two_layer_network(2, 5, rng=seed)
        optimizer = Adam(model.parameters(), lr=0.05)
        history = nl.fit(model, nl.MSELoss(), optimizer, X, Y, epochs=epochs, batch_size=16,
                         rng=seed, schedule=StepLR(optimizer, step_size=2, gamma=0.5),
                         progress=False, callbacks=[make(path, resume=True)])  # fmt: skip
        return model, history

    whole, whole_history = train(6, folder / "whole.npz", 0)
    train(3, folder / "stopped.npz", 0)
    resumed, history = train(6, folder / "stopped.npz", 1)
    assert history.loss == whole_history.loss
    for name, value in whole.state_dict().items():
        np.testing.assert_array_equal(resumed.state_dict()[name], value, err_msg=name)


def test_model_checkpoint_resumes_bit_for_bit(tmp_path: Path) -> None:
    checkpoint_holds(ModelCheckpoint, tmp_path)


@pytest.mark.parametrize("broken", [SavesTheWrongEpoch, ForgetsTheGenerator])
def test_model_checkpoints_test_catches_a_broken_one(
    broken: type[ModelCheckpoint], tmp_path: Path
) -> None:
    with pytest.raises(AssertionError):
        checkpoint_holds(broken, tmp_path)


class ShowsNothing(ProgressBar):
    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        pass


class ShowsTheWrongNumbers(ProgressBar):
    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        super().on_epoch_end(epoch, {"loss": 0.0})


def progress_bar_holds(make: type[ProgressBar], monkeypatch: pytest.MonkeyPatch) -> None:
    """Without tqdm, one plain line for each epoch (they are quick: the first and the last)."""
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    stream = io.StringIO()
    bar = make(True, stream=stream)
    history = _fit(nl.two_layer_network(2, 4, rng=0), epochs=3, callbacks=[bar])
    lines = stream.getvalue().splitlines()
    assert [line.split("  ")[0] for line in lines] == ["epoch 1/3", "epoch 3/3"]
    assert f"loss {history.loss[-1]:.4g}" in lines[-1]


def test_progress_bar_shows_the_epochs(monkeypatch: pytest.MonkeyPatch) -> None:
    progress_bar_holds(ProgressBar, monkeypatch)


@pytest.mark.parametrize("broken", [ShowsNothing, ShowsTheWrongNumbers])
def test_progress_bars_test_catches_a_broken_one(
    broken: type[ProgressBar], monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(AssertionError):
        progress_bar_holds(broken, monkeypatch)


class ForgetsTheBestWeights(ModelCheckpoint):
    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        best, self.run.best_state = self.run.best_state, None
        super().on_epoch_end(epoch, logs)
        self.run.best_state = best


def early_stopping_resumes(make: type[ModelCheckpoint], folder: Path) -> None:
    """The validation loss rises from the start (opposite targets): the uninterrupted run stops
    after epoch 3 with epoch 0's weights. Stopped after epoch 2 and resumed, it must too."""

    def train(epochs: int, path: Path, seed: int) -> tuple[nl.Layer, nl.History]:
        model = nl.two_layer_network(2, 4, rng=seed)
        callbacks = [make(path, resume=True), EarlyStopping(3)]
        history = nl.fit(model, nl.MSELoss(), Adam(model.parameters(), lr=0.05), X, Y,
                         epochs=epochs, batch_size=8, rng=seed, validation_data=(X, 1 - Y),
                         progress=False, callbacks=callbacks)  # fmt: skip
        return model, history

    whole, whole_history = train(50, folder / "whole.npz", 0)
    assert (whole_history.epochs, whole_history.best_epoch) == (4, 0)
    _, stopped = train(2, folder / "stopped.npz", 0)
    assert not stopped.stopped_early
    resumed, history = train(50, folder / "stopped.npz", 1)
    assert history.val_loss == whole_history.val_loss
    assert (history.stopped_early, history.best_epoch) == (True, 0)
    for name, value in whole.state_dict().items():
        np.testing.assert_array_equal(resumed.state_dict()[name], value, err_msg=name)


def test_early_stopping_resumes_from_a_checkpoint(tmp_path: Path) -> None:
    early_stopping_resumes(ModelCheckpoint, tmp_path)


def test_early_stopping_resumes_test_catches_a_checkpoint_without_the_best_weights(
    tmp_path: Path,
) -> None:
    with pytest.raises(AssertionError):
        early_stopping_resumes(ForgetsTheBestWeights, tmp_path)


def test_the_patience_shortcut_resumes_with_checkpoint(tmp_path: Path) -> None:
    def train(epochs: int, path: Path) -> nl.History:
        model = nl.two_layer_network(2, 4, rng=0)
        return nl.fit(model, nl.MSELoss(), Adam(model.parameters(), lr=0.05), X, Y,
                      epochs=epochs, batch_size=8, rng=0, validation_data=(X, 1 - Y),
                      progress=False, patience=3, checkpoint=path, resume=True)  # fmt: skip

    whole = train(50, tmp_path / "whole.npz")
    train(2, tmp_path / "stopped.npz")
    assert train(50, tmp_path / "stopped.npz").val_loss == whole.val_loss


def test_a_checkpoints_best_weights_round_trip_and_are_checked(tmp_path: Path) -> None:
    model = nl.two_layer_network(2, 3, rng=0)
    optimizer = Adam(model.parameters())
    best = {name: value + 1.0 for name, value in model.state_dict().items()}
    path = tmp_path / "c.npz"
    nl.save_checkpoint(path, model, optimizer, epoch=2, best=best)
    saved = nl.load_checkpoint(path, model, optimizer)
    assert saved.best is not None
    assert sorted(saved.best) == sorted(best)
    for name, value in best.items():
        np.testing.assert_array_equal(saved.best[name], value, err_msg=name)
    with pytest.raises(ValueError, match="best must have the names, shapes and dtypes"):
        nl.save_checkpoint(path, model, optimizer, epoch=2, best={"0.weight": best["0.weight"]})
    # A best entry of another shape is refused, and changes nothing.
    with np.load(path, allow_pickle=False) as archive:
        entries = {name: archive[name] for name in archive.files}
    entries["best:0.weight"] = np.zeros((1, 1))
    np.savez(tmp_path / "bad.npz", **entries)
    before = model.state_dict()
    with pytest.raises(nl.LoadError, match=r"best weights '0\.weight' are float64 \(1, 1\)"):
        nl.load_checkpoint(tmp_path / "bad.npz", model, optimizer)
    np.testing.assert_array_equal(model.state_dict()["0.weight"], before["0.weight"])
    # Without best weights (and from before there were any: no "best" key), best is None.
    nl.save_checkpoint(path, model, optimizer, epoch=2)
    assert nl.load_checkpoint(path, model, optimizer).best is None
    with np.load(path, allow_pickle=False) as archive:
        entries = {name: archive[name] for name in archive.files}
    document = json.loads(entries["checkpoint.json"].item())
    del document["best"]
    entries["checkpoint.json"] = np.array(json.dumps(document))
    np.savez(tmp_path / "older.npz", **entries)
    assert nl.load_checkpoint(tmp_path / "older.npz", model, optimizer).best is None


def test_a_progress_bar_given_replaces_the_shortcuts(capsys: pytest.CaptureFixture[str]) -> None:
    stream = io.StringIO()
    _fit(
        nl.two_layer_network(2, 4, rng=0),
        progress=True,
        callbacks=[ProgressBar(True, stream=stream)],
    )
    assert "2/2" in stream.getvalue()
    assert capsys.readouterr().err == ""  # the shortcut's bar, on stderr, is not there too
