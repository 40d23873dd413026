"""Saving and loading models: one .npz file, parameters as arrays, the architecture as JSON.

No pickle, in either direction: a file holds only float arrays and one JSON text, and loading
rebuilds layers by class name from nnlite's built-in layers and the classes the caller passes
in ``custom_layers``. It never imports a module named in the file, so opening a file cannot run
code from it, and every read is bounded (see :func:`load`), so a crafted file cannot ask for much
memory or time either.

The file format, version 1, is an uncompressed .npz archive (a zip of .npy files) holding:

- ``"param:<name>"`` for every entry of ``model.state_dict()``, every parameter and buffer,
  ``<name>`` as in ``named_parameters()`` and ``named_buffers()`` (``"param:0.weight"``,
  ``"param:1.running_mean"``): its values, in its own dtype (float32 stays float32), bit for bit;
- ``"nnlite.json"``: a 0-d unicode array holding the JSON text
  ``{"format": "nnlite", "version": 1, "model": LAYER}``, where LAYER is
  ``{"class": "Sequential", "layers": [LAYER, ...]}`` for a Sequential (nested ones too) and
  ``{"class": "Linear", "config": {...}}`` for any other layer, ``config`` being its
  :meth:`~nnlite.Layer.get_config`: the arguments that rebuild it as ``Linear(**config)``, and for
  a container kind also the layers it holds, by constructor argument:
  ``{"class": "Residual", "config": {}, "layers": {"inner": LAYER}}``, rebuilt as
  ``Residual(inner=..., **config)``.

Buffers and containers other than Sequential need no new version: buffers are ``"param:"``
entries like the parameters, and a container's ``"layers"`` is read only for a container kind, so
a file without them reads as it always did, and an older nnlite refuses a file with them by
naming the class it does not know.
"""

from __future__ import annotations

import json
import os
import reprlib
from collections.abc import Callable, Mapping
from typing import Any, BinaryIO, TypeAlias

import numpy as np

from nnlite._architecture import build, flatten, is_container, layer_classes, layer_spec
from nnlite._archive import Archive, open_archive
from nnlite._files import write_atomically
from nnlite._kinds import layer_kind
from nnlite._validation import describe
from nnlite.errors import LoadError, SaveError, position
from nnlite.layer import Layer
from nnlite.sequential import Sequential

PathLike: TypeAlias = "str | os.PathLike[str]"

FORMAT = "nnlite"
"""The format name written into every file."""

VERSION = 1
"""The format version this nnlite writes and reads."""

ARCHITECTURE_KEY = "nnlite.json"
"""The archive entry holding the JSON text."""

PARAMETER_PREFIX = "param:"
"""The prefix of the archive entries holding parameters: ``"param:0.weight"``."""

_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


MAX_LAYERS = 10_000
"""The most layers a file may describe, Sequentials included: far above real models, and it
bounds what building a crafted architecture costs."""

MAX_JSON_BYTES = 16 * 2**20
"""The largest JSON entry read: 16 MiB, which is 4 million characters (numpy stores text as
UTF-32), room for 10,000 layers many times over."""


def save(model: Layer, path: PathLike) -> None:
    """Write ``model`` to ``path``: parameters as float arrays, architecture as JSON, in one .npz.

    The file (format version 1, in full in :mod:`nnlite.serialization`) is an uncompressed .npz:
    ``"param:<name>"`` per parameter and buffer (``"param:0.weight"``, ``"param:1.running_var"``),
    a float32 or float64 array, and ``"nnlite.json"``, a 0-d unicode array holding ``{"format":
    "nnlite", "version": 1, "model": ...}`` with each layer as its class name and
    ``get_config()``, a Sequential as its list of layers, a container (Residual) with its layers
    too. No pickle:
    ``np.load(path, allow_pickle=False)`` reads it.

    The path is used exactly as given:
    ``".npz"`` is the customary suffix but is never added (unlike ``np.savez``), so
    ``save(model, "model")`` writes a file named ``model`` and ``load("model")`` reads it back.

    The write is atomic: the file is written to a temporary file in the same directory, flushed
    and fsynced, then renamed onto ``path``. If anything fails, the temporary file is removed and a
    file already at ``path`` keeps its old contents. Everything that can be checked is checked
    before the temporary file is created. A symlink at ``path`` stays a link: the file it points to
    is replaced. A file replaced keeps its permissions (a 0600 file stays 0600). Temporary files
    that a killed save of the same name left behind are removed, never those of a save still
    running.

    Only what rebuilds the model is saved: each layer's class name and ``get_config()``, and the
    parameters and buffers (BatchNorm1d's running statistics), bit for bit. Gradients, forward
    caches and the training mode are not (a loaded model is in training mode, as a new one). A
    subclass of Sequential is saved like any other layer, by its own ``get_config()``.

    Args:
        model: the layer or Sequential to save.
        path: where to write, a str or ``os.PathLike``; its directory must exist.

    Raises:
        TypeError: ``model`` is not a Layer.
        SaveError: (a TypeError) a layer cannot be saved: its ``get_config()``
            raised (constructor arguments without ``get_config``), returned something that is not
            a dict of JSON values, or it is a user layer with a built-in layer's class name; or a
            parameter is not a float32 or float64 array; or two layers share a parameter or
            buffer (a tie), which a file, rebuilding each layer from its own constructor, cannot
            restore. The message names the layer and its index path
            ("Sequential layer 1.0"), or both names of a shared parameter, and nothing is
            written.
        OSError: the file could not be written; a file already at ``path`` is unchanged.

    Examples:
        >>> import os, tempfile
        >>> model = nl.two_layer_network(2, 3, rng=0)
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     nl.save(model, os.path.join(folder, "model.npz"))
        ...     loaded = nl.load(os.path.join(folder, "model.npz"))
        >>> np.array_equal(loaded[0].weight.data, model[0].weight.data)
        True
    """
    if not isinstance(model, Layer):
        raise TypeError(f"nl.save expects a Layer, got {describe(model)}")
    document = {"format": FORMAT, "version": VERSION, "model": layer_spec(model)}
    _refuse_ties_across_layers(model)
    entries: dict[str, np.ndarray[Any, Any]] = {
        ARCHITECTURE_KEY: np.array(json.dumps(document, allow_nan=False))
    }
    for name, values in model.state_dict().items():
        if values.dtype not in _FLOAT_DTYPES:  # anything else could need pickle to be stored
            raise SaveError(
                f"nl.save: parameter or buffer {name!r} is {values.dtype}, not float32 or float64; "
                "nothing was written"
            )
        entries[PARAMETER_PREFIX + name] = values
    _write_atomically(os.fspath(path), entries)


def load(path: PathLike, *, custom_layers: Mapping[str, type[Layer]] | None = None) -> Layer:
    """Rebuild a model written by :func:`save`: its architecture, then its parameters.

    Layers are looked up by class name among Sequential and the registered layer kinds
    (nnlite's built-in layers, and any registered with :func:`nnlite.interop.register`), and in
    ``custom_layers``, which wins over a registered kind of the same name. Nothing else is ever
    imported or unpickled. Each layer is built as ``cls(**config)`` and the parameters and
    buffers are copied in with ``load_state_dict(strict=True)``: every one must be in the file,
    with its exact shape and dtype, and the file may hold nothing else.

    Args:
        path: the file, a str or ``os.PathLike``, used exactly as given.
        custom_layers: your own layer classes by the name the file records for them, their class
            name: ``{"Scale": Scale}``.

    Returns:
        A new model; nothing existing is modified.

    Raises:
        LoadError: for every way the file can be wrong: missing, unreadable, not a regular file
            (a directory, a FIFO, a device), empty, truncated, not an .npz archive, damaged (a
            zip checksum fails), a compressed or repeated entry, no or malformed JSON, another
            format, an unsupported version, an unknown layer class (the message lists the known
            ones), config arguments the class rejects, parameters that do not fit, or more than
            the load limits allow (:data:`MAX_LAYERS` layers, an architecture asking for far more
            parameters than the file holds). One error, whose message names the file and what
            was wrong, chained to the original exception.
        TypeError: ``custom_layers`` maps a name to something that is not a Layer subclass.

    Every read is bounded before it is made, so that a small file costs little however it was
    crafted: the archive is checked whole (its directory, that every entry is stored
    uncompressed, named once, and that the entries add up to no more than the file), the JSON is
    read first, and the architecture's parameter count is compared with what the file can hold
    before any layer is built. The limits are listed on the Reliability page of the docs.

    Examples:
        >>> nl.load("no-such-model.npz")
        Traceback (most recent call last):
        ...
        nnlite.errors.LoadError: nl.load could not load no-such-model.npz: cannot open the file...
    """
    classes = layer_classes(custom_layers)
    text = os.fspath(path)
    try:
        with open_archive(text, "an .npz archive") as archive:
            entries = _entry_names(archive)
            document = _read_document(archive, entries)
            parameters = _parameter_names(entries)
            available = sum(archive.size(name) for name in parameters.values()) // 4
            check_size(document["model"], classes, available)
            state = _read_parameters(archive, parameters)
        model = build(document["model"], (), classes)
        model.load_state_dict(state, strict=True)
    except LoadError as error:
        raise LoadError(f"nl.load could not load {text}: {error}") from error.__cause__
    return model


def _refuse_ties_across_layers(model: Layer) -> None:
    """Refuse a parameter or buffer held by two of the layers a file rebuilds one by one.

    A file records each layer (each one that is not a plain Sequential) by its constructor
    arguments, and each parameter once, under the first name it is found by: a weight tied
    between two layers would load as two layers with their own weights and a missing key. A tie
    made inside one layer of the user's is the constructor's, remade when the layer is rebuilt,
    and is saved.
    """
    holders: dict[int, tuple[str, tuple[int, ...]]] = {}
    for where, layer in flatten(model):
        prefix = "".join(f"{index}." for index in where)
        for name, member in [*layer.named_parameters(prefix), *layer.named_buffers(prefix)]:
            first, first_where = holders.setdefault(id(member), (name, where))
            if first_where != where:
                kind = type(member).__name__.lower()
                raise SaveError(
                    f"nl.save: {kind} {first!r} is also {name!r}: one {kind} held by two "
                    f"layers, {position(first_where) or 'the model'} and {position(where)}. A "
                    "file rebuilds each layer from its own constructor and holds each "
                    f"{kind} once, so the tie cannot be restored on loading: give each layer "
                    "its own copy, or make the tie inside one layer of your own, whose "
                    "constructor makes it; nothing was written"
                )


def _write_atomically(path: str, entries: Mapping[str, np.ndarray[Any, Any]]) -> None:
    """np.savez into ``path`` atomically (see :func:`nnlite._files.write_atomically`)."""

    def write(file: BinaryIO) -> None:
        # A file object, so numpy adds no ".npz" to the name. (numpy's stub types **kwds as if
        # they could be its allow_pickle flag, hence the ignore.)
        np.savez(file, **entries)  # type: ignore[arg-type]

    write_atomically(path, write)


def _entry_names(archive: Archive) -> dict[str, str]:
    """The archive's arrays by name (as np.load names them, ".npy" removed): their entries."""
    names: dict[str, str] = {}
    for entry in archive.names:
        name = entry.removesuffix(".npy")
        if name in names:
            raise LoadError(f"entry {name!r} appears twice, as {names[name]!r} and {entry!r}")
        names[name] = entry
    return names


def _read_document(archive: Archive, entries: Mapping[str, str]) -> dict[str, Any]:
    """The JSON document, read before anything else, checked for the format name and version."""
    if ARCHITECTURE_KEY not in entries:
        raise LoadError(
            f"no {ARCHITECTURE_KEY!r} entry: this .npz was not written by nl.save "
            f"(its entries: {', '.join(map(repr, sorted(entries))) or 'none'})"
        )
    entry = archive.read_array(entries[ARCHITECTURE_KEY], max_bytes=MAX_JSON_BYTES)
    if entry.dtype.kind != "U" or entry.ndim != 0:
        raise LoadError(
            f"entry {ARCHITECTURE_KEY!r} should be a 0-d unicode array of JSON text, found "
            f"dtype {entry.dtype}, shape {entry.shape}"
        )
    try:
        document = json.loads(entry.item())
    except (ValueError, RecursionError) as error:
        raise LoadError(f"entry {ARCHITECTURE_KEY!r} is not valid JSON ({error})") from error
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        found = document.get("format") if isinstance(document, dict) else document
        raise LoadError(
            f"not an nnlite model file (format {reprlib.repr(found)}, expected {FORMAT!r})"
        )
    version = document.get("version")
    if type(version) is not int or version != VERSION:  # type(): True == 1, but is no version
        newer = type(version) is int and version > VERSION
        raise LoadError(
            f"unsupported format version {reprlib.repr(version)}: this nnlite reads version "
            f"{VERSION}" + (", the file was written by a newer one" if newer else "")
        )
    if "model" not in document:
        raise LoadError("the JSON has no 'model' entry")
    return document


def _parameter_names(entries: Mapping[str, str]) -> dict[str, str]:
    """The parameter arrays' entries by array name; any other entry is an error."""
    unknown = [
        name
        for name, entry in entries.items()
        if not entry.endswith(".npy")
        or (name != ARCHITECTURE_KEY and not name.startswith(PARAMETER_PREFIX))
    ]
    if unknown:
        raise LoadError(f"unexpected entries {', '.join(map(repr, unknown))}")
    return {name: entry for name, entry in entries.items() if name.startswith(PARAMETER_PREFIX)}


def _read_parameters(archive: Archive, parameters: Mapping[str, str]) -> dict[str, Any]:
    """The parameters by state_dict name, float32 or float64 arrays in native byte order."""
    return {
        name.removeprefix(PARAMETER_PREFIX): archive.read_array(entry, _FLOAT_DTYPES)
        for name, entry in parameters.items()
    }


_SIZE_SLACK = 2**16
"""How many more parameter values than a file can hold its architecture may ask for. Small
differences are left to load_state_dict, which names every key that does not fit."""


def check_size(model: object, classes: Mapping[str, type[Layer]], available: int) -> None:
    """Refuse an architecture, before anything is built, that has more than MAX_LAYERS layers or
    whose built-in layers would allocate far more parameter values than the file holds
    (``available``: its parameter entries' bytes over 4, the size of a float32).

    A layer's constructor allocates its parameters, so a few bytes of JSON asking for a
    Linear(10000, 10000) would cost 800 MB before load_state_dict found that the file has no such
    weight. The walk goes through the layers in the order build builds them and keeps a running
    total, so the message names the first layer that goes over. Whatever else is wrong with a
    layer's description is left to build to report.
    """
    stack: list[tuple[tuple[int, ...], object]] = [((), model)]
    layers = 1
    asked = 0
    while stack:
        where, spec = stack.pop()
        if not isinstance(spec, dict) or not isinstance(spec.get("class"), str):
            continue
        cls = classes.get(spec["class"])
        inner, config = spec.get("layers"), spec.get("config")
        if isinstance(inner, dict) and is_container(cls):  # its layers, by constructor argument
            inner = list(inner.values())
        if (cls is Sequential or is_container(cls)) and isinstance(inner, list):
            layers += len(inner)
            if layers > MAX_LAYERS:
                raise LoadError(
                    f"the architecture has more than {MAX_LAYERS:,} layers, the most a file may"
                )
            stack.extend(((*where, index), inner[index]) for index in reversed(range(len(inner))))
        if (size := _state_size(cls)) is not None and isinstance(config, dict):
            values = size(config)
            asked += values
            if asked > available + _SIZE_SLACK:
                raise LoadError(
                    f"{position(where) or 'the model'}: "
                    f"{spec['class']}(**{reprlib.repr(config)}) asks for "
                    f"{values:,} parameter values, {asked:,} with the layers before it, and the "
                    f"file holds at most {available:,}: nothing was built"
                )


def _state_size(cls: type[Layer] | None) -> Callable[[Mapping[str, Any]], int] | None:
    """The registered kind's count of the values its constructor allocates, or None (a user's
    layer passed in custom_layers: built as the file asks)."""
    kind = layer_kind(cls) if cls is not None else None
    return kind.state_size if kind is not None else None


__all__ = ["ARCHITECTURE_KEY", "FORMAT", "PARAMETER_PREFIX", "VERSION", "load", "save"]
