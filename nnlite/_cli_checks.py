"""What ``nnlite`` checks before it runs a command: arguments, targets to write, custom layers,
finite weights. Each failure is one :class:`~nnlite.errors.NnliteError` (or, for an argument, an
argparse error) whose message names the option and what to change."""

from __future__ import annotations

import argparse
import importlib
import io
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np

from nnlite._constraints import Constraint
from nnlite._validation import describe
from nnlite.errors import MissingExtraError, NnliteError
from nnlite.layer import Layer
from nnlite.testing._compare import first_true

_T = TypeVar("_T")


def typed(kind: Callable[[str], object], rule: Constraint[_T]) -> Callable[[str], _T]:
    """An argparse ``type``: the text read as ``kind``, then checked by ``rule``. argparse shows
    a failure as "argument --hidden: must be an int >= 1, got '0'" and exits with status 2."""

    def parse(text: str) -> _T:
        try:
            return rule.convert(kind(text))
        except (TypeError, ValueError):
            raise argparse.ArgumentTypeError(f"must be {rule.describe()}, got {text!r}") from None

    parse.__name__ = getattr(kind, "__name__", "value")  # argparse names the type in messages
    return parse


class FileName(Constraint[str]):
    """A path to write: any str but the empty one (``--save ''`` named no file)."""

    def describe(self) -> str:
        return "a file name"

    def convert(self, value: object) -> str:
        if not isinstance(value, str):
            raise TypeError
        if not value:
            raise ValueError
        return value


class LayerSpec(Constraint[tuple[str, str]]):
    """``MODULE:CLASS``, a module to import and the name of a class in it."""

    def describe(self) -> str:
        return "MODULE:CLASS, such as my_layers:Scale"

    def convert(self, value: object) -> tuple[str, str]:
        if not isinstance(value, str):
            raise TypeError
        module, colon, name = value.partition(":")
        if not colon or not name.isidentifier():
            raise ValueError
        if not all(part.isidentifier() for part in module.split(".")):
            raise ValueError
        return module, name


layer_spec = typed(str, LayerSpec())


def custom_layers(specs: Sequence[tuple[str, str]]) -> dict[str, type[Layer]]:
    """The ``--custom-layers`` classes by name, each module imported (the current folder
    searched too, for the import only: ``sys.path`` is left as it was)."""
    classes: dict[str, type[Layer]] = {}
    for module_name, name in specs:
        option = f"--custom-layers {module_name}:{name}"
        folder = os.getcwd()
        sys.path.insert(0, folder)
        try:
            module = importlib.import_module(module_name)
        except Exception as error:  # a user's module may raise anything as it is imported
            raise NnliteError(
                f"{option}: importing {module_name} raised {type(error).__name__}: {error}"
            ) from error
        finally:
            sys.path.remove(folder)  # the first occurrence: the one inserted above
        found = getattr(module, name, None)
        if found is None:
            raise NnliteError(f"{option}: {module_name} has no {name}")
        if not (isinstance(found, type) and issubclass(found, Layer)):
            raise NnliteError(
                f"{option}: {module_name}.{name} is {describe(found)}, not a Layer class"
            )
        classes[found.__name__] = found
    return classes


def save_target(path: str, option: str = "--save") -> None:
    """``--save PATH`` (or another ``option``'s file) can be written: not a folder, in a folder
    that exists."""
    target = Path(path)
    if target.is_dir():
        raise NnliteError(f"{option} {path}: that is a folder; give a file name")
    _writable_folder(option, path, target.parent, create=False)


def plot_target(path: str) -> str:
    """The file ``--plot PATH`` writes: PATH, with .png added to a name without a suffix (as
    matplotlib does). Checked first: the file can be written (missing folders are made), and
    matplotlib is installed."""
    if Path(path).is_dir():
        raise NnliteError(f"--plot {path}: that is a folder; give a file name, e.g. curve.png")
    suffix = Path(path).suffix
    if suffix.lower() not in ("", ".png"):
        raise NnliteError(
            f"--plot {path}: the plot is a PNG, and nnlite writes no {suffix} files; "
            "end the name in .png"
        )
    target = path if suffix else f"{path}.png"
    if Path(target).is_dir():
        raise NnliteError(f"--plot {path}: {target} is a folder; give another name")
    _writable_folder("--plot", path, Path(target).parent, create=True)
    try:  # last: a mistake in the path is said the same with or without the extra
        import matplotlib  # noqa: F401
    except ImportError as error:
        raise MissingExtraError('--plot needs matplotlib: pip install "nnlite[plot]"') from error
    return target


def _writable_folder(option: str, path: str, folder: Path, *, create: bool) -> None:
    """``folder`` exists, is a folder and can be written in; or, with ``create``, its nearest
    existing ancestor is such a folder."""
    while create and not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.exists():
        raise NnliteError(f"{option} {path}: the folder {folder} does not exist")
    if not folder.is_dir():
        raise NnliteError(f"{option} {path}: {folder} is a file, not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise NnliteError(f"{option} {path}: cannot write in the folder {folder}")


def check_finite(model: Layer, path: str) -> None:
    """Every parameter and buffer of the model loaded from ``path`` is finite: a model of NaN or
    inf weights predicts nothing, and its gradients cannot be checked."""
    for name, values in [
        *((name, p.data) for name, p in model.named_parameters()),
        *((name, b.data) for name, b in model.named_buffers()),
    ]:
        bad = ~np.isfinite(values)
        index = first_true(bad)
        if index is not None:
            count = int(np.count_nonzero(bad))
            raise NnliteError(
                f"{path}: parameter '{name}' holds {values[index]} at index {index} ({count} "
                f"non-finite element{'s' if count > 1 else ''}): the model was saved from a "
                "diverged run; train it again"
            )


def guard_streams() -> None:
    """Write what stdout and stderr cannot encode as escapes (a path "mod\\xe8le.npz" on an
    ASCII console), rather than fail with UnicodeEncodeError after the work is done."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")
