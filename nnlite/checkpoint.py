"""Resumable checkpoints: a training run's whole state in one file, to stop and go on exactly.

A checkpoint holds what the next epoch depends on: the model's parameters and buffers, the
optimizer's state (its moving averages, step count and learning rate), the schedule's position,
the state of the generator that shuffles the rows, the number of epochs done, the history so
far and, with early stopping, the weights of the best epoch. Loaded into a model, optimizer and
schedule made with the same settings, training goes on bit for bit as if it had never stopped.
``fit(..., checkpoint=path, resume=True)`` does both.

The file is written as :func:`nnlite.save` writes a model, with the same safety: an uncompressed
.npz written atomically, no pickle (arrays and one JSON text), read through the same strict,
bounded reader. It holds ``"model:<name>"`` and ``"optimizer:<name>"`` arrays (and
``"best:<name>"`` ones for the best weights) and a ``"checkpoint.json"`` entry: ``{"format":
"nnlite-checkpoint", "version": 1, "epoch": ..., "optimizer": {"class": ..., "numbers": {...}},
"schedule": ..., "rng": ..., "history": ..., "best": true | false}`` (a file without ``"best"``
has no best weights).
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from nnlite._archive import open_archive
from nnlite._constraints import Integer
from nnlite._validation import describe
from nnlite.errors import ArgumentTypeError, ArgumentValueError, LoadError
from nnlite.layer import Layer
from nnlite.optim import Optimizer
from nnlite.schedules import Schedule
from nnlite.serialization import MAX_JSON_BYTES, PathLike, _entry_names, _write_atomically

FORMAT = "nnlite-checkpoint"
VERSION = 1
DOCUMENT_KEY = "checkpoint.json"
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_HISTORY_ADDED = ("val_precision", "val_recall", "val_f1")  # History's fields of later versions
_HEADER_BYTES = 4096  # the most an .npy header of these arrays takes, with room to spare


@dataclass(frozen=True)
class Checkpoint:
    """What :func:`load_checkpoint` read besides the states it loaded.

    Attributes:
        epoch: the epochs done when it was saved: training goes on with this epoch (0-based).
        history: the :class:`~nnlite.History` saved with it, or None.
        best: the best weights saved with it (a state dict, as ``model.state_dict()``), or None.
    """

    epoch: int
    history: Any
    best: dict[str, np.ndarray[Any, Any]] | None = None


def save_checkpoint(
    path: PathLike,
    model: Layer,
    optimizer: Optimizer,
    *,
    epoch: int,
    schedule: Schedule | None = None,
    rng: np.random.Generator | None = None,
    history: Any = None,
    best: dict[str, np.ndarray[Any, Any]] | None = None,
) -> None:
    """Write the state of a training run to ``path``, atomically (as :func:`nnlite.save`).

    Args:
        path: the file; its directory must exist.
        model: the model (its parameters and buffers are saved).
        optimizer: its optimizer (``state_dict()``).
        epoch: the epochs done, an int >= 0.
        schedule: its schedule, if any.
        rng: the Generator that shuffles the rows, whose state is saved; None for none.
        history: the :class:`~nnlite.History` so far, or None.
        best: the weights of the best epoch so far (early stopping's), with the names, shapes and
            dtypes of ``model.state_dict()``, or None.

    Raises:
        ArgumentTypeError, ArgumentValueError: epoch is not an int >= 0; rng is not a Generator,
            or one whose state holds arrays (MT19937, Philox, SFC64); best does not match the
            model's state.
        SaveError: (from the model) a state that is not float32 or float64.
        OSError: the file could not be written; a file already there is unchanged.
    """
    epoch = Integer(low=0).check("save_checkpoint", "epoch", epoch)
    if rng is not None and not isinstance(rng, np.random.Generator):
        raise TypeError(f"save_checkpoint: rng must be a numpy Generator, got {describe(rng)}")
    if rng is not None and not _json_state(rng.bit_generator.state):
        kind = type(rng.bit_generator).__name__
        raise ArgumentTypeError(
            f"save_checkpoint: rng's bit generator, {kind}, keeps arrays in its state, which a "
            "checkpoint's JSON cannot hold: use a PCG64 generator, np.random.default_rng(seed), "
            "as fit makes"
        )
    state = model.state_dict()
    if best is not None and {k: (v.shape, v.dtype) for k, v in best.items()} != {
        k: (v.shape, v.dtype) for k, v in state.items()
    }:
        raise ArgumentValueError(
            "save_checkpoint: best must have the names, shapes and dtypes of the model's state"
        )
    entries: dict[str, np.ndarray[Any, Any]] = {}
    for name, value in state.items():
        entries["model:" + name] = value
    for name, value in (best or {}).items():
        entries["best:" + name] = value
    numbers = {}
    for name, value in optimizer.state_dict().items():
        if isinstance(value, np.ndarray):
            entries["optimizer:" + name] = value
        else:
            numbers[name] = value
    document = {
        "format": FORMAT,
        "version": VERSION,
        "epoch": epoch,
        "optimizer": {"class": type(optimizer).__name__, "numbers": numbers},
        "schedule": None
        if schedule is None
        else {"class": type(schedule).__name__, "state": schedule.state_dict()},
        "rng": None if rng is None else rng.bit_generator.state,
        "history": None if history is None else dataclasses.asdict(history),
        "best": best is not None,
    }
    # Python's json writes a plateau's best = inf as Infinity, and reads it back.
    entries[DOCUMENT_KEY] = np.array(json.dumps(document))
    _write_atomically(os.fspath(path), entries)


def load_checkpoint(
    path: PathLike,
    model: Layer,
    optimizer: Optimizer,
    *,
    schedule: Schedule | None = None,
    rng: np.random.Generator | None = None,
) -> Checkpoint:
    """Load a checkpoint into ``model``, ``optimizer``, ``schedule`` and ``rng``, all or nothing.

    They must be made with the settings of the run that saved it: every name, shape and dtype
    must match exactly (strict, as ``load_state_dict`` is), and the optimizer and schedule be of
    the same classes. Nothing is changed unless everything loads.

    Returns:
        A :class:`Checkpoint`: the epoch to go on with, the history and the best weights saved.

    Raises:
        LoadError: the file is missing, damaged or not a checkpoint, or does not fit what it is
            loaded into; the message names the file and every problem.
    """
    text = os.fspath(path)
    targets: list[Any] = [model, optimizer, *([schedule] if schedule is not None else [])]
    before = [target.state_dict() for target in targets]
    rng_before = None if rng is None else rng.bit_generator.state
    try:
        document, model_state, optimizer_arrays, best = _read(text, model, optimizer, schedule, rng)
        model.load_state_dict(model_state)
        optimizer.load_state_dict({**optimizer_arrays, **document["optimizer"]["numbers"]})
        if schedule is not None:
            schedule.load_state_dict(document["schedule"]["state"])
        if rng is not None:
            if not _same_structure(document["rng"], rng.bit_generator.state):
                raise LoadError("the generator's state does not fit: not the state of this kind")
            try:  # numpy checks the numbers' ranges: -1 or 2**200 in a state is an OverflowError
                rng.bit_generator.state = document["rng"]
            except (TypeError, ValueError, KeyError, OverflowError) as error:
                raise LoadError(f"the generator's state does not fit: {error}") from error
    except LoadError as error:
        for target, state in zip(targets, before, strict=True):
            target.load_state_dict(state)
        if rng is not None and rng_before is not None:
            rng.bit_generator.state = rng_before
        raise LoadError(f"nl.load_checkpoint could not load {text}: {error}") from error.__cause__
    return Checkpoint(document["epoch"], _history(document["history"]), best)


def _read(
    path: str,
    model: Layer,
    optimizer: Optimizer,
    schedule: Schedule | None,
    rng: np.random.Generator | None,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], dict[str, Any] | None]:
    """The JSON document, checked, and the arrays, each read bounded by the size it should
    have."""
    expected = {"model:" + name: value for name, value in model.state_dict().items()}
    expected |= {
        "optimizer:" + name: value
        for name, value in optimizer.state_dict().items()
        if isinstance(value, np.ndarray)
    }
    with open_archive(path, "a checkpoint (.npz archive)") as archive:
        entries = _entry_names(archive)
        if DOCUMENT_KEY not in entries:
            raise LoadError(f"no {DOCUMENT_KEY!r} entry: not a checkpoint written by nnlite")
        entry = archive.read_array(entries[DOCUMENT_KEY], max_bytes=MAX_JSON_BYTES)
        if entry.dtype.kind != "U" or entry.ndim != 0:
            raise LoadError(f"entry {DOCUMENT_KEY!r} should be a 0-d unicode array of JSON")
        try:
            document = json.loads(entry.item())
        except (ValueError, RecursionError) as error:
            raise LoadError(f"entry {DOCUMENT_KEY!r} is not valid JSON ({error})") from error
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise LoadError(f"not an nnlite checkpoint (its format is not {FORMAT!r})")
        if type(document.get("version")) is not int or document["version"] != VERSION:
            raise LoadError(f"unsupported checkpoint version: this nnlite reads {VERSION}")
        _check_kinds(document, optimizer, schedule, rng)
        if document.get("best", False):  # the best weights have the model's names and sizes
            expected |= {"best:" + name: value for name, value in model.state_dict().items()}
        names = set(entries) - {DOCUMENT_KEY}
        problems = [f"missing entry {name!r}" for name in sorted(set(expected) - names)]
        problems += [f"unexpected entry {name!r}" for name in sorted(names - set(expected))]
        if problems:
            raise LoadError("the checkpoint does not fit:\n  " + "\n  ".join(problems))
        arrays = {
            name: archive.read_array(
                entries[name], _FLOATS, max_bytes=expected[name].nbytes + _HEADER_BYTES
            )
            for name in sorted(names)
        }
    model_state = {k.removeprefix("model:"): v for k, v in arrays.items() if k[:6] == "model:"}
    optimizer_arrays = {
        k.removeprefix("optimizer:"): v for k, v in arrays.items() if k.startswith("optimizer:")
    }
    best = {k.removeprefix("best:"): v for k, v in arrays.items() if k.startswith("best:")}
    for name, value in best.items():
        saved = expected["best:" + name]
        if (value.shape, value.dtype) != (saved.shape, saved.dtype):
            raise LoadError(
                f"its best weights {name!r} are {value.dtype} {value.shape}, the model's "
                f"{saved.dtype} {saved.shape}"
            )
    return document, model_state, optimizer_arrays, best if document.get("best") else None


def _check_kinds(
    document: dict[str, Any],
    optimizer: Optimizer,
    schedule: Schedule | None,
    rng: np.random.Generator | None,
) -> None:
    """The JSON's parts are there, of the right types, and saved from the same kinds."""
    epoch = document.get("epoch")
    if type(epoch) is not int or epoch < 0:
        raise LoadError(f"its epoch must be an int >= 0, got {epoch!r}")
    saved = document.get("optimizer")
    if not isinstance(saved, dict) or not isinstance(saved.get("numbers"), dict):
        raise LoadError("its optimizer entry is malformed")
    if saved.get("class") != type(optimizer).__name__:
        raise LoadError(
            f"it was saved from a {saved.get('class')!r} optimizer, not a "
            f"{type(optimizer).__name__}"
        )
    saved_schedule = document.get("schedule")
    if (saved_schedule is None) != (schedule is None):
        had = "a schedule" if saved_schedule is not None else "no schedule"
        raise LoadError(f"it was saved with {had}: load it with the same")
    if schedule is not None and (
        not isinstance(saved_schedule, dict)
        or saved_schedule.get("class") != type(schedule).__name__
    ):
        raise LoadError(f"its schedule is not a {type(schedule).__name__}")
    if rng is not None and not isinstance(document.get("rng"), dict):
        raise LoadError("it holds no generator state")
    if type(document.get("best", False)) is not bool:
        raise LoadError(f"its best entry must be true or false, got {document['best']!r}")
    _history(document.get("history"))


def _json_state(state: object) -> bool:
    """Whether a generator's state is made of what JSON holds: dicts of str, ints, floats and str
    (PCG64's and PCG64DXSM's are; MT19937's, Philox's and SFC64's hold arrays)."""
    if isinstance(state, dict):
        return all(isinstance(key, str) and _json_state(value) for key, value in state.items())
    return state is None or (isinstance(state, (int, float, str)) and not isinstance(state, bool))


def _same_structure(saved: object, current: object) -> bool:
    """``saved`` has the keys of ``current`` at every level, and at each leaf its type: numpy
    takes a float for an int in a generator's state, and silently truncates it."""
    if isinstance(current, dict):
        return (
            isinstance(saved, dict)
            and set(saved) == set(current)
            and all(_same_structure(saved[name], value) for name, value in current.items())
        )
    return type(saved) is type(current)


def _history(saved: object) -> Any:
    """The History of the JSON's history entry (None for none), or a LoadError."""
    from nnlite.training import History  # here: nnlite.training imports this module

    if saved is None:
        return None
    names = {field.name for field in dataclasses.fields(History)}
    lists = names - {"stopped_early", "best_epoch"}
    if isinstance(saved, dict):  # saved before History had these: they were empty
        saved = {name: [] for name in _HISTORY_ADDED} | saved
    if (
        not isinstance(saved, dict)
        or set(saved) != names
        or not all(isinstance(saved[name], list) for name in lists)
        or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool)
            for name in lists
            for v in saved[name]
        )
        or type(saved["stopped_early"]) is not bool
        or not (saved["best_epoch"] is None or type(saved["best_epoch"]) is int)
    ):
        raise LoadError(
            f"its history entry is malformed: expected History's fields {sorted(names)}"
        )
    return History(**saved)
