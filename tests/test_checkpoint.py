"""Resumable checkpoints: a run stopped after epoch k and resumed ends bit for bit as the
uninterrupted run; a checkpoint that does not fit is refused and changes nothing."""

from __future__ import annotations

import errno
import io
import json
import os
import threading
import warnings
import zipfile
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


# ---------------------------------------------------------------------------------------------
# A file that is damaged, crafted or not a file: one LoadError naming the path, nothing changed
# ---------------------------------------------------------------------------------------------


def _saved(path: Path) -> dict[str, np.ndarray]:
    """A checkpoint of _fresh() with a schedule and a generator, saved to ``path``: its entries."""
    model, optimizer = _fresh()
    nl.save_checkpoint(
        path, model, optimizer, epoch=3, schedule=StepLR(optimizer, 2),
        rng=np.random.default_rng(4),
    )  # fmt: skip
    with np.load(path, allow_pickle=False) as archive:
        return dict(archive)


def _write_zip(path: Path, entries: list[tuple[str, np.ndarray]], method: int) -> Path:
    """A zip of these .npy entries, named as given (a name twice if it is listed twice)."""
    with zipfile.ZipFile(path, "w", method) as archive, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns of a duplicate name, and writes it
        for name, array in entries:
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, array, allow_pickle=True)
            archive.writestr(name, buffer.getvalue())
    return path


def _refused(path: Path, match: str) -> None:
    """Loading ``path`` into fresh targets is one LoadError naming it, and changes none of them."""
    model, optimizer = _fresh()
    schedule, generator = StepLR(optimizer, 2), np.random.default_rng(9)
    before = (model.state_dict(), optimizer.state_dict(), schedule.state_dict())
    rng_before = generator.bit_generator.state
    with pytest.raises(LoadError, match=match) as info:
        nl.load_checkpoint(path, model, optimizer, schedule=schedule, rng=generator)
    assert str(path) in str(info.value)
    for name, value in before[0].items():
        np.testing.assert_array_equal(model.state_dict()[name], value, err_msg=name)
    for name, value in before[1].items():
        np.testing.assert_array_equal(optimizer.state_dict()[name], value, err_msg=name)
    assert schedule.state_dict() == before[2]
    assert generator.bit_generator.state == rng_before


def _with_document(tmp_path: Path, change: Any) -> Path:
    """The checkpoint of _saved, its JSON document passed through ``change``."""
    entries = _saved(tmp_path / "good.npz")
    document = json.loads(entries["checkpoint.json"].item())
    change(document)
    entries["checkpoint.json"] = np.array(json.dumps(document))
    path = tmp_path / "c.npz"
    with open(path, "wb") as file:
        np.savez(file, **entries)  # type: ignore[arg-type]
    return path


def _set(*keys: Any, to: Any) -> Any:
    def change(document: dict[str, Any]) -> None:
        for key in keys[:-1]:
            document = document[key]
        document[keys[-1]] = to

    return change


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_set("format", to="nnlite"), "not an nnlite checkpoint"),
        (_set("version", to=2), "unsupported checkpoint version"),
        (_set("version", to=True), "unsupported checkpoint version"),
        (_set("version", to=1.0), "unsupported checkpoint version"),
        (_set("epoch", to=-1), "epoch must be an int >= 0"),
        (_set("epoch", to=1.5), "epoch must be an int >= 0"),
        (_set("epoch", to=True), "epoch must be an int >= 0"),
        (_set("optimizer", to=[]), "optimizer entry is malformed"),
        (_set("optimizer", "numbers", to=None), "optimizer entry is malformed"),
        (_set("optimizer", "numbers", "lr", to="fast"), "lr"),
        (_set("optimizer", "numbers", "step_count", to=-3), "step_count"),
        (_set("schedule", "class", to="ExponentialLR"), "not a StepLR"),
        (_set("schedule", "state", to=[1, 2]), "expected a dict"),
        (_set("schedule", "state", "last_epoch", to="3"), "last_epoch"),
        (_set("rng", to=None), "no generator state"),
        (_set("rng", "state", "state", to=-1), "generator's state does not fit"),
        (_set("rng", "state", "state", to=2**200), "generator's state does not fit"),
        (_set("rng", "state", "state", to=1.5), "generator's state does not fit"),
        (_set("rng", "uinteger", to=2**70), "generator's state does not fit"),
        (_set("rng", "bit_generator", to="MT19937"), "generator's state does not fit"),
        (_set("best", to=1), "best entry must be true or false"),
        (_set("best", to=True), "missing entry 'best:"),
        (_set("history", to=[]), "history entry is malformed"),
        (_set("history", to={"loss": ["x"]}), "history entry is malformed"),
    ],
)  # fmt: skip
def test_a_bad_json_document_is_a_load_error_and_changes_nothing(
    tmp_path: Path, change: Any, message: str
) -> None:
    """Every part of the JSON is checked for its type and range; the generator's state, set
    last, after the model and the optimizer have loaded, too."""
    _refused(_with_document(tmp_path, change), message)


def test_the_json_entry_has_a_size_limit(tmp_path: Path) -> None:
    """Read bounded: a JSON entry over 16 MiB (4 million characters) is refused unread."""
    path = _with_document(tmp_path, _set("padding", to=" " * (4 << 20)))
    _refused(path, "entry 'checkpoint.json' holds .* bytes, more than the 16 MiB")


def test_an_array_larger_than_its_state_is_refused_before_it_is_read(tmp_path: Path) -> None:
    """Each array is read bounded by the size the model's or optimizer's state has."""
    entries = _saved(tmp_path / "good.npz")
    entries["model:0.weight"] = np.zeros((1000, 1000))
    path = tmp_path / "c.npz"
    with open(path, "wb") as file:
        np.savez(file, **entries)  # type: ignore[arg-type]
    _refused(path, r"entry 'model:0.weight' holds 8,000,128 bytes, more than the")


@pytest.mark.parametrize("entry", ["model:0.weight", "checkpoint.json"])
def test_a_pickled_object_array_is_never_unpickled(tmp_path: Path, entry: str) -> None:
    from tests.test_serialization import UNPICKLED, Tripwire

    entries = _saved(tmp_path / "good.npz")
    entries[entry] = np.array([Tripwire()], dtype=object)
    named = [(name + ".npy", array) for name, array in entries.items()]
    path = _write_zip(tmp_path / "c.npz", named, zipfile.ZIP_STORED)
    UNPICKLED.clear()
    _refused(path, "an object array .* never read")
    assert UNPICKLED == []
    with np.load(path, allow_pickle=True) as archive:  # the tripwire is armed
        archive[entry]
    assert UNPICKLED == ["unpickled"]
    UNPICKLED.clear()


def test_a_compressed_entry_is_refused(tmp_path: Path) -> None:
    entries = [(name + ".npy", array) for name, array in _saved(tmp_path / "good.npz").items()]
    path = _write_zip(tmp_path / "c.npz", entries, zipfile.ZIP_DEFLATED)
    _refused(path, r"is compressed \(method 8\)")


@pytest.mark.parametrize(
    "names", [("model:0.weight.npy",) * 2, ("model:0.weight.npy", "model:0.weight")]
)
def test_a_repeated_entry_is_refused_not_read_last_wins(
    tmp_path: Path, names: tuple[str, str]
) -> None:
    """Listed twice, or once with .npy and once without (np.load would read either)."""
    entries = [(name + ".npy", array) for name, array in _saved(tmp_path / "good.npz").items()]
    entries = [entry for entry in entries if entry[0] != "model:0.weight.npy"]
    weight = _fresh()[0].state_dict()["0.weight"]
    entries += [(names[0], weight + 1.0), (names[1], weight + 2.0)]
    _refused(_write_zip(tmp_path / "c.npz", entries, zipfile.ZIP_STORED), "appears twice")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes")
def test_a_fifo_is_refused_without_blocking_and_only_a_file_is_read(tmp_path: Path) -> None:
    """Neither load_checkpoint nor fit(resume=True) waits on a FIFO for a writer."""
    fifo = tmp_path / "fifo.npz"
    os.mkfifo(fifo)
    outcome: list[BaseException] = []

    def load() -> None:
        _refused(fifo, "a FIFO, not a regular file")

    def resume() -> None:
        model, optimizer = _fresh()
        with pytest.raises(LoadError, match="a FIFO, not a regular file"):
            nl.fit(model, nl.MSELoss(), optimizer, X, Y, epochs=1, checkpoint=fifo, resume=True)

    def try_to_resume() -> None:
        for attempt in (load, resume):
            try:
                attempt()
            except BaseException as error:  # reported by the assertions below
                outcome.append(error)

    thread = threading.Thread(target=try_to_resume, daemon=True)
    thread.start()
    thread.join(10)
    if thread.is_alive():  # blocked in open(): a writer lets it go on before the test fails
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        thread.join(5)
        pytest.fail("loading a checkpoint blocked on a FIFO")
    assert outcome == []
    _refused(tmp_path, "a directory, not a regular file")
    (tmp_path / "empty.npz").write_bytes(b"")
    _refused(tmp_path / "empty.npz", "the file is empty")


@pytest.mark.parametrize("old", [True, False], ids=["over a checkpoint", "new file"])
def test_a_failed_save_keeps_the_old_checkpoint_and_leaves_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, old: bool
) -> None:
    """save_checkpoint writes atomically, through nl.save's writer."""
    path = tmp_path / "c.npz"
    model, optimizer = _fresh()
    if old:
        nl.save_checkpoint(path, model, optimizer, epoch=1)
    before = path.read_bytes() if old else None
    written: list[int] = []

    def fail_halfway(file: Any, **entries: Any) -> None:
        written.append(file.write(b"PK\x03\x04 the first half of an archive"))
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "savez", fail_halfway)
    with pytest.raises(OSError, match="No space left") as info:
        nl.save_checkpoint(path, model, optimizer, epoch=2)
    assert written
    assert str(path) in str(info.value)
    assert os.listdir(tmp_path) == (["c.npz"] if old else [])
    if old:
        assert path.read_bytes() == before


@pytest.mark.parametrize("bit_generator", [np.random.MT19937, np.random.Philox, np.random.SFC64])
def test_a_generator_whose_state_holds_arrays_is_refused_by_name_before_anything_is_written(
    tmp_path: Path, bit_generator: type[np.random.BitGenerator]
) -> None:
    """A checkpoint keeps the generator's state as JSON, which holds PCG64's (numbers) but not
    the arrays MT19937's, Philox's and SFC64's hold: an error that names the bit generator and
    the way out, and no file."""
    model = nl.Sequential(nl.Linear(2, 1, rng=0))
    path = tmp_path / "run.npz"
    rng = np.random.Generator(bit_generator(0))
    with pytest.raises(TypeError) as info:
        nl.save_checkpoint(path, model, Adam(model.parameters()), epoch=1, rng=rng)
    assert str(info.value) == (
        f"save_checkpoint: rng's bit generator, {bit_generator.__name__}, keeps arrays in its "
        "state, which a checkpoint's JSON cannot hold: use a PCG64 generator, "
        "np.random.default_rng(seed), as fit makes"
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("bit_generator", [np.random.PCG64, np.random.PCG64DXSM])
def test_a_pcg64_generator_round_trips_through_a_checkpoint(
    tmp_path: Path, bit_generator: type[np.random.BitGenerator]
) -> None:
    model = nl.Sequential(nl.Linear(2, 1, rng=0))
    optimizer = Adam(model.parameters())
    rng = np.random.Generator(bit_generator(7))
    rng.random(3)
    nl.save_checkpoint(tmp_path / "run.npz", model, optimizer, epoch=1, rng=rng)
    expected = rng.random(5)
    other = np.random.Generator(bit_generator(0))
    nl.load_checkpoint(tmp_path / "run.npz", model, optimizer, rng=other)
    np.testing.assert_array_equal(other.random(5), expected)
