"""Resumable checkpoints: a run stopped after epoch k and resumed ends bit for bit as the
uninterrupted run; a checkpoint that does not fit is refused and changes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nnlite as nl
from nnlite.errors import LoadError
from nnlite.optim import Adam, RMSprop
from nnlite.schedules import ReduceLROnPlateau, StepLR

X, Y = nl.datasets.two_moons(60, rng=0)
X_VAL, Y_VAL = nl.datasets.two_moons(20, rng=1)


def run(
    epochs: int, path: Path, *, resume: bool = False, seed: int = 0
) -> tuple[nl.Layer, nl.History]:
    """Adam with a step schedule, shuffled, validated: every state a checkpoint must carry."""
    model = nl.two_layer_network(2, 5, rng=seed)
    optimizer = Adam(model.parameters(), lr=0.05, amsgrad=True)
    schedule = StepLR(optimizer, step_size=2, gamma=0.5)
    history = nl.fit(
        model, nl.MSELoss(), optimizer, X, Y, epochs=epochs, batch_size=16, rng=seed,
        validation_data=(X_VAL, Y_VAL), schedule=schedule, checkpoint=path, resume=resume,
        progress=False,
    )  # fmt: skip
    return model, history


def test_a_resumed_run_is_bit_identical_to_the_uninterrupted_one(tmp_path: Path) -> None:
    whole, whole_history = run(6, tmp_path / "whole.npz")
    run(3, tmp_path / "stopped.npz")  # stopped after epoch 3 (index 2)
    # Resumed in a fresh model, optimizer and schedule, even from other initial weights and
    # another seed: everything comes from the checkpoint.
    resumed, history = run(6, tmp_path / "stopped.npz", resume=True, seed=1)
    for name, value in whole.state_dict().items():
        np.testing.assert_array_equal(resumed.state_dict()[name], value, err_msg=name)
    for field in ("loss", "val_loss", "val_accuracy", "lr"):
        assert getattr(history, field) == getattr(whole_history, field), field
    assert history.epochs == 6
    # The test can fail: a fresh run of the last three epochs, from the same weights, differs.
    fresh, _ = run(6, tmp_path / "other.npz", resume=False, seed=1)
    assert not np.array_equal(fresh.state_dict()["0.weight"], whole.state_dict()["0.weight"])


def test_resume_without_a_file_starts_from_the_beginning(tmp_path: Path) -> None:
    whole, _ = run(2, tmp_path / "a.npz")
    again, _ = run(2, tmp_path / "b.npz", resume=True)
    np.testing.assert_array_equal(again.state_dict()["0.weight"], whole.state_dict()["0.weight"])


def test_save_and_load_by_hand_with_a_plateau(tmp_path: Path) -> None:
    model = nl.two_layer_network(2, 3, rng=0)
    optimizer = RMSprop(model.parameters(), momentum=0.5)
    schedule = ReduceLROnPlateau(optimizer)  # best = inf before any metric: it must round-trip
    generator = np.random.default_rng(5)
    generator.normal(size=3)
    nl.save_checkpoint(
        tmp_path / "c.npz", model, optimizer, epoch=4, schedule=schedule, rng=generator
    )
    with np.load(tmp_path / "c.npz", allow_pickle=False) as archive:  # no pickle anywhere
        assert "model:0.weight" in archive.files
        assert "optimizer:square_avg.0" in archive.files
    other = nl.two_layer_network(2, 3, rng=9)
    other_optimizer = RMSprop(other.parameters(), momentum=0.5)
    other_schedule = ReduceLROnPlateau(other_optimizer)
    other_generator = np.random.default_rng(0)
    saved = nl.load_checkpoint(
        tmp_path / "c.npz", other, other_optimizer, schedule=other_schedule, rng=other_generator
    )
    assert saved.epoch == 4
    assert saved.history is None
    np.testing.assert_array_equal(other[0].weight.data, model[0].weight.data)  # type: ignore[attr-defined]
    assert other_schedule.best == np.inf
    assert other_generator.normal() == generator.normal()


def _fresh() -> tuple[nl.Layer, Adam]:
    model = nl.two_layer_network(2, 5, rng=7)
    return model, Adam(model.parameters())


@pytest.mark.parametrize(
    ("load", "message"),
    [
        (lambda p, m, o: nl.load_checkpoint(p, nl.two_layer_network(2, 4), o), "does not fit"),
        (lambda p, m, o: nl.load_checkpoint(p, m, RMSprop(m.parameters())), "not a RMSprop"),
        (
            lambda p, m, o: nl.load_checkpoint(p, m, Adam(m.parameters(), amsgrad=True)),
            "missing entry 'optimizer:max_exp",
        ),
        (lambda p, m, o: nl.load_checkpoint(p, m, o, schedule=StepLR(o, 1)), "with no schedule"),
    ],
)  # fmt: skip
def test_a_checkpoint_that_does_not_fit_is_refused_and_changes_nothing(
    tmp_path: Path, load: Any, message: str
) -> None:
    source, source_optimizer = _fresh()
    for p in source.parameters():
        p.data += 1.0
    source_optimizer.step_count = 5
    path = tmp_path / "c.npz"
    nl.save_checkpoint(path, source, source_optimizer, epoch=1)
    model, optimizer = _fresh()
    before = model.state_dict()
    with pytest.raises(LoadError, match=message) as info:
        load(path, model, optimizer)
    assert str(path) in str(info.value)
    for name, value in before.items():
        np.testing.assert_array_equal(model.state_dict()[name], value)
    assert optimizer.step_count == 0


def test_a_failure_late_in_the_load_undoes_what_loaded_before(tmp_path: Path) -> None:
    """The generator's state is set last: a bad one must undo the model and optimizer too."""
    source, source_optimizer = _fresh()
    path = tmp_path / "c.npz"
    nl.save_checkpoint(path, source, source_optimizer, epoch=1, rng=np.random.default_rng(0))
    model, optimizer = _fresh()
    for p in model.parameters():
        p.data += 1.0
    before = model.state_dict()
    with pytest.raises(LoadError, match="generator"):
        nl.load_checkpoint(path, model, optimizer, rng=np.random.Generator(np.random.MT19937(0)))
    for name, value in before.items():
        np.testing.assert_array_equal(model.state_dict()[name], value)


def test_a_damaged_checkpoint_is_one_load_error(tmp_path: Path) -> None:
    source, optimizer = _fresh()
    path = tmp_path / "c.npz"
    nl.save_checkpoint(path, source, optimizer, epoch=1)
    data = path.read_bytes()
    for damaged in (data[: len(data) // 2], data[:100] + bytes([data[100] ^ 1]) + data[101:]):
        path.write_bytes(damaged)
        with pytest.raises(LoadError, match=r"nl\.load_checkpoint could not load"):
            nl.load_checkpoint(path, *_fresh())
    model_file = tmp_path / "model.npz"
    nl.save(source, model_file)
    with pytest.raises(LoadError, match="not a checkpoint"):
        nl.load_checkpoint(model_file, *_fresh())


def test_fit_refuses_what_a_checkpoint_cannot_carry(tmp_path: Path) -> None:
    model, _ = _fresh()

    class Plain:
        lr = 0.1

        def step(self) -> None:
            pass

    with pytest.raises(
        TypeError,
        match=r"^fit: checkpoint needs an nnlite\.optim optimizer \(it saves its state_dict\), "
        r"got a Plain$",
    ):
        nl.fit(model, nl.MSELoss(), Plain(), X, Y, epochs=1, checkpoint=tmp_path / "c.npz")
