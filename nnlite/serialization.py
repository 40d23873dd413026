"""Saving and loading models: one .npz file, parameters as arrays, the architecture as JSON.

No pickle, in either direction: a file holds only float arrays and one JSON text, and loading
rebuilds layers by class name from nnlite's built-in layers and the classes the caller passes
in ``custom_layers``. It never imports a module named in the file, so opening a file cannot run
code from it. (A crafted file can still ask for very large layers, that is, for memory.)

The file format, version 1, is an uncompressed .npz archive (a zip of .npy files) holding:

- ``"param:<name>"`` for every parameter, ``<name>`` as in ``model.named_parameters()``
  (``"param:0.weight"``): its values, in its own dtype (float32 stays float32);
- ``"nnlite.json"``: a 0-d unicode array holding the JSON text
  ``{"format": "nnlite", "version": 1, "model": LAYER}``, where LAYER is
  ``{"class": "Sequential", "layers": [LAYER, ...]}`` for a Sequential (nested ones too) and
  ``{"class": "Linear", "config": {...}}`` for any other layer, ``config`` being its
  :meth:`~nnlite.Layer.get_config`: the arguments that rebuild it as ``Linear(**config)``.
"""

from __future__ import annotations

import json
import os
import reprlib
import zipfile
from collections.abc import Mapping
from typing import Any, BinaryIO, TypeAlias

import numpy as np

from nnlite._architecture import build, layer_classes, layer_spec
from nnlite._files import write_atomically
from nnlite.errors import LoadError, SaveError
from nnlite.layer import Layer

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
_ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06")  # a zip's first entry, or an empty zip


def save(model: Layer, path: PathLike) -> None:
    """Write ``model`` to ``path``: parameters as float arrays, architecture as JSON, in one .npz.

    The file (format version 1, in full in :mod:`nnlite.serialization`) is an uncompressed .npz:
    ``"param:<name>"`` per parameter (``"param:0.weight"``), a float32 or float64 array, and
    ``"nnlite.json"``, a 0-d unicode array holding ``{"format": "nnlite", "version": 1, "model":
    ...}`` with each layer as its class name and ``get_config()``, a Sequential as its list of
    layers. No pickle: ``np.load(path, allow_pickle=False)`` reads it.

    The path is used exactly as given:
    ``".npz"`` is the customary suffix but is never added (unlike ``np.savez``), so
    ``save(model, "model")`` writes a file named ``model`` and ``load("model")`` reads it back.

    The write is atomic: the file is written to a temporary file in the same directory, flushed
    and fsynced, then renamed onto ``path``. If anything fails, the temporary file is removed and a
    file already at ``path`` keeps its old contents. Everything that can be checked is checked
    before the temporary file is created.

    Only what rebuilds the model is saved: each layer's class name and ``get_config()``, and the
    parameters. Gradients and forward caches are not. A subclass of Sequential is saved like any
    other layer, by its own ``get_config()``.

    Args:
        model: the layer or Sequential to save.
        path: where to write, a str or ``os.PathLike``; its directory must exist.

    Raises:
        TypeError: ``model`` is not a Layer.
        SaveError: (a TypeError) a layer cannot be saved: its ``get_config()``
            raised (constructor arguments without ``get_config``), returned something that is not
            a dict of JSON values, or it is a user layer with a built-in layer's class name; or a
            parameter is not a float32 or float64 array. The message names the layer and its index
            path ("Sequential layer 1.0"), and nothing is written.
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
        raise TypeError(f"nl.save expects a Layer, got a {type(model).__name__}")
    document = {"format": FORMAT, "version": VERSION, "model": layer_spec(model)}
    entries: dict[str, np.ndarray[Any, Any]] = {
        ARCHITECTURE_KEY: np.array(json.dumps(document, allow_nan=False))
    }
    for name, values in model.state_dict().items():
        if values.dtype not in _FLOAT_DTYPES:  # anything else could need pickle to be stored
            raise SaveError(
                f"nl.save: parameter {name!r} is {values.dtype}, not float32 or float64; "
                "nothing was written"
            )
        entries[PARAMETER_PREFIX + name] = values
    _write_atomically(os.fspath(path), entries)


def load(path: PathLike, *, custom_layers: Mapping[str, type[Layer]] | None = None) -> Layer:
    """Rebuild a model written by :func:`save`: its architecture, then its parameters.

    Layers are looked up by class name among Sequential and the registered layer kinds
    (nnlite's built-in layers, and any registered with :func:`nnlite.interop.register`), and in
    ``custom_layers``, which wins over a registered kind of the same name. Nothing else is ever
    imported or unpickled. Each layer is built as ``cls(**config)`` and the
    parameters are copied in with ``load_state_dict(strict=True)``: every parameter must be in
    the file, with its exact shape and dtype, and the file may hold nothing else.

    Args:
        path: the file, a str or ``os.PathLike``, used exactly as given.
        custom_layers: your own layer classes by the name the file records for them, their class
            name: ``{"Scale": Scale}``.

    Returns:
        A new model; nothing existing is modified.

    Raises:
        LoadError: for every way the file can be wrong: missing, unreadable, empty, truncated,
            not an .npz archive, damaged (a zip checksum fails), no or malformed JSON, another
            format, an unsupported version, an unknown layer class (the message lists the known
            ones), config arguments the class rejects, parameters that do not fit. One error,
            whose message names the file and what was wrong, chained to the original exception.
        TypeError: ``custom_layers`` maps a name to something that is not a Layer subclass.

    Examples:
        >>> nl.load("no-such-model.npz")
        Traceback (most recent call last):
        ...
        nnlite.errors.LoadError: nl.load could not load no-such-model.npz: cannot open the file...
    """
    classes = layer_classes(custom_layers)
    text = os.fspath(path)
    try:
        entries = _read_entries(text)
        document = _read_document(entries)
        model = build(document["model"], (), classes)
        state = _parameter_entries(entries)
        model.load_state_dict(state, strict=True)
    except LoadError as error:
        raise LoadError(f"nl.load could not load {text}: {error}") from error.__cause__
    return model


def _write_atomically(path: str, entries: Mapping[str, np.ndarray[Any, Any]]) -> None:
    """np.savez into ``path`` atomically (see :func:`nnlite._files.write_atomically`)."""

    def write(file: BinaryIO) -> None:
        # A file object, so numpy adds no ".npz" to the name. (numpy's stub types **kwds as if
        # they could be its allow_pickle flag, hence the ignore.)
        np.savez(file, **entries)  # type: ignore[arg-type]

    write_atomically(path, write)


def _read_entries(path: str) -> dict[str, Any]:
    """Every entry of the archive, read eagerly; the file is closed on return."""
    try:
        file = open(path, "rb")  # noqa: SIM115  (closed by the with block below)
    except OSError as error:
        raise LoadError(f"cannot open the file ({error.strerror or error})") from error
    with file:
        signature = file.read(4)
        if not signature:
            raise LoadError("the file is empty")
        if signature not in _ZIP_SIGNATURES:
            raise LoadError(
                f"not an .npz archive: it starts with {signature!r}, not a zip signature"
            )
        try:
            file.seek(0)
            with zipfile.ZipFile(file) as archive:
                # Each zip entry carries a CRC-32 of its bytes, which zipfile checks when an entry
                # is read to its end: read them all so that damage anywhere is found first.
                for info in archive.infolist():
                    with archive.open(info) as entry:
                        while entry.read(1 << 20):
                            pass
            file.seek(0)
            with np.load(file, allow_pickle=False) as npz:
                return {name: npz[name] for name in npz.files}
        except Exception as error:  # a damaged archive can fail in many ways: all are LoadErrors
            raise LoadError(
                f"the archive is damaged or not an .npz file ({type(error).__name__}: {error})"
            ) from error


def _read_document(entries: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON document, checked for the format name and version."""
    if ARCHITECTURE_KEY not in entries:
        raise LoadError(
            f"no {ARCHITECTURE_KEY!r} entry: this .npz was not written by nl.save "
            f"(its entries: {', '.join(map(repr, sorted(entries))) or 'none'})"
        )
    entry = entries[ARCHITECTURE_KEY]
    if not isinstance(entry, np.ndarray) or entry.dtype.kind != "U" or entry.ndim != 0:
        raise LoadError(
            f"entry {ARCHITECTURE_KEY!r} should be a 0-d unicode array of JSON text, found "
            + (
                f"dtype {entry.dtype}, shape {entry.shape}"
                if isinstance(entry, np.ndarray)
                else f"a {type(entry).__name__}"
            )
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


def _parameter_entries(entries: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters by name, in native byte order; any other unknown entry is an error."""
    unknown = [
        name
        for name in entries
        if name != ARCHITECTURE_KEY and not name.startswith(PARAMETER_PREFIX)
    ]
    if unknown:
        raise LoadError(f"unexpected entries {', '.join(map(repr, unknown))}")
    state = {}
    for key, value in entries.items():
        if key.startswith(PARAMETER_PREFIX):
            if isinstance(value, np.ndarray) and value.dtype.kind == "f":
                value = value.astype(value.dtype.newbyteorder("="), copy=False)
            state[key.removeprefix(PARAMETER_PREFIX)] = value
    return state


__all__ = ["ARCHITECTURE_KEY", "FORMAT", "PARAMETER_PREFIX", "VERSION", "load", "save"]
