"""A file for PyTorch: a converted model's state_dict and nnlite's architecture, no pickled code.

:func:`save_torch` writes what ``torch.load(path, weights_only=True)`` reads safely;
:func:`load_torch` reads it back as strictly as :func:`nnlite.load` reads nnlite's own files.
"""

from __future__ import annotations

import io
import json
import os
import reprlib
from typing import Any, BinaryIO

from nnlite._architecture import build, layer_classes, layer_spec
from nnlite._archive import Archive, open_regular_file
from nnlite._files import write_atomically
from nnlite._validation import describe
from nnlite.errors import LoadError
from nnlite.interop.torch import import_torch, to_torch
from nnlite.layer import Layer
from nnlite.serialization import MAX_JSON_BYTES, check_size

TORCH_FORMAT = "nnlite-torch"
"""The format name inside a file written by :func:`save_torch`."""

TORCH_VERSION = 1
"""The version of that format this nnlite writes and reads."""


def save_torch(model: Layer, path: str | os.PathLike[str]) -> None:
    """Write ``to_torch(model)`` as a file ``torch.load(path, weights_only=True)`` reads safely.

    The file is ``torch.save`` of a dict of plain values: ``{"format": "nnlite-torch",
    "version": 1, "architecture": JSON text, "state_dict": the module's state_dict}``, the
    architecture being nnlite's own (as in :func:`nnlite.save`). No module object is pickled, so
    loading runs no code from the file; :func:`load_torch` rebuilds the module from it. The write
    is atomic (a temporary file beside ``path``, then renamed onto it).

    Raises:
        ConversionError, ValueError: as :func:`to_torch`. MissingExtraError: torch is missing.
        OSError: the file could not be written; a file already at ``path`` is unchanged.
    """
    torch = import_torch()
    module = to_torch(model)
    document = {
        "format": TORCH_FORMAT,
        "version": TORCH_VERSION,
        "architecture": json.dumps(layer_spec(model), allow_nan=False),
        "state_dict": dict(module.state_dict()),
    }
    buffer = io.BytesIO()
    torch.save(document, buffer)
    data = buffer.getvalue()
    write_atomically(os.fspath(path), lambda file: file.write(data))


def load_torch(path: str | os.PathLike[str]) -> Any:
    """The ``torch.nn.Module`` in a file written by :func:`save_torch` (or ``nnlite export``).

    Read as strictly as :func:`nnlite.load` reads its own files, and with the same bounds (the
    Reliability page of the docs lists them):

    - the path must be a regular file, opened without blocking (a FIFO does not hang);
    - the file is a zip whose every entry is stored, named once, and together no larger than
      the file; every entry is read to its end first, so that its CRC-32 is checked: a flipped
      bit anywhere in the tensors' bytes, or in anything else, is a LoadError, never changed
      values;
    - then ``torch.load(weights_only=True)`` reads the same open file, unpickling only tensors
      and plain containers;
    - its dict must say ``"format": "nnlite-torch"`` and ``"version": 1`` (the int: not
      ``True`` or ``1.0``), hold the architecture as JSON text (a str) of at most 4 million
      characters, and a state_dict of tensors by name;
    - the architecture must not ask for far more values than the file's tensors hold, nor more
      layers than :data:`nnlite.serialization.MAX_LAYERS`, checked before any layer is built;
    - every tensor must have exactly the dtype and shape of the parameter it fills: nothing is
      cast (an int64 or bool tensor is refused, not turned into float64), nothing is missing
      and nothing is left over.

    The module is rebuilt with :func:`to_torch` from the architecture, then the state_dict is
    copied in.

    Raises:
        LoadError: the file is not a readable, undamaged nnlite-torch file, or its parts do not
            fit. One error, whose message names the file and what was wrong.
        MissingExtraError: torch is not installed.
    """
    torch = import_torch()
    text = os.fspath(path)
    try:
        with open_regular_file(text) as file:
            size = os.fstat(file.fileno()).st_size
            with Archive(file, size, "a PyTorch file (a zip archive)") as archive:
                archive.check_every_entry()
            file.seek(0)
            document = _read_document(torch, file)
        module = _build_module(torch, document)
    except LoadError as error:
        raise LoadError(f"load_torch could not load {text}: {error}") from error.__cause__
    return module


def _read_document(torch: Any, file: BinaryIO) -> dict[str, Any]:
    """The dict ``torch.load`` reads from the checked file, its format and version checked."""
    try:
        document = torch.load(file, weights_only=True)
    except Exception as error:  # torch's own refusal: all one LoadError
        raise LoadError(f"torch.load failed: {type(error).__name__}: {error}") from error
    if not isinstance(document, dict) or document.get("format") != TORCH_FORMAT:
        raise LoadError("not a file written by save_torch")
    version = document.get("version")
    if type(version) is not int or version != TORCH_VERSION:  # type(): True == 1, but is no version
        raise LoadError(
            f"unsupported version {reprlib.repr(version)}: this nnlite reads version "
            f"{TORCH_VERSION}"
        )
    architecture, state = document.get("architecture"), document.get("state_dict")
    if type(architecture) is not str or len(architecture) > MAX_JSON_BYTES // 4:
        raise LoadError(
            "the architecture must be JSON text (a str) of at most "
            f"{MAX_JSON_BYTES // 4:,} characters, found {_described(architecture)}"
        )
    if not isinstance(state, dict) or not all(
        type(name) is str and isinstance(tensor, torch.Tensor) for name, tensor in state.items()
    ):
        raise LoadError(
            f"the state_dict must be a dict of tensors by name, found {_described(state)}"
        )
    return document


def _described(value: object) -> str:
    """What a part of the file holds, for a message: its type, and its length where it has one."""
    length = f" of length {len(value):,}" if isinstance(value, (str, bytes, dict, list)) else ""
    return f"{describe(value)}{length}"


def _build_module(torch: Any, document: dict[str, Any]) -> Any:
    """The module the checked document describes, its state_dict copied in."""
    try:
        spec = json.loads(document["architecture"])
    except (ValueError, RecursionError) as error:
        raise LoadError(f"the architecture is not valid JSON ({error})") from error
    state: dict[str, Any] = document["state_dict"]
    storages = {id(t.untyped_storage()): t.untyped_storage().nbytes() for t in state.values()}
    classes = layer_classes(None)
    check_size(spec, classes, sum(storages.values()) // 4)
    try:
        model = build(spec, (), classes)
        module = to_torch(model)
    except (ValueError, TypeError) as error:  # a LoadError, or to_torch's refusal
        raise LoadError(str(error)) from error
    expected = module.state_dict()
    problems = [f"missing key {name!r}" for name in expected if name not in state]
    problems += [f"unexpected key {name!r}" for name in state if name not in expected]
    for name, tensor in state.items():
        want = expected.get(name)
        if want is None:
            continue
        if tensor.layout != torch.strided or tensor.dtype != want.dtype:
            problems.append(
                f"{name!r} is {tensor.dtype} ({tensor.layout}), the model's is {want.dtype}: "
                "nothing is cast"
            )
        elif tensor.shape != want.shape:
            problems.append(
                f"{name!r} has shape {tuple(tensor.shape)}, the model's {tuple(want.shape)}"
            )
    if problems:
        raise LoadError(f"the state_dict does not fit the architecture: {'; '.join(problems)}")
    module.load_state_dict(state, strict=True)
    return module
