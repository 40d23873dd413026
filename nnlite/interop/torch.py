"""nnlite and PyTorch: models and losses as ``torch.nn`` modules and back, and files for torch.

Every conversion is driven by the registry of kinds (:mod:`nnlite._kinds`): a layer or loss
converts when its kind has a ``torch`` entry, a :class:`~nnlite.interop.TorchConversion` (a
counterpart class in torch) or a :class:`~nnlite.interop.TorchFormula` (no counterpart: the
module is made here from the kind's formula in torch). torch is imported by the functions that
need it, never when nnlite is.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import io
import json
import os
import reprlib
from typing import Any, BinaryIO

from nnlite._architecture import at, build, layer_classes, layer_spec, parameter_dtype
from nnlite._archive import Archive, open_regular_file
from nnlite._files import write_atomically
from nnlite._kinds import (
    LayerKind,
    LossKind,
    TorchConversion,
    TorchFormula,
    all_kinds,
    layer_kind,
    loss_kind,
    supported,
)
from nnlite._validation import label
from nnlite.errors import ConversionError, LoadError, MissingExtraError
from nnlite.layer import Layer
from nnlite.losses import Loss
from nnlite.sequential import Sequential
from nnlite.serialization import MAX_JSON_BYTES, check_size

TORCH_FORMAT = "nnlite-torch"
"""The format name inside a file written by :func:`save_torch`."""

TORCH_VERSION = 1
"""The version of that format this nnlite writes and reads."""


def import_torch() -> Any:
    """The torch module, or a MissingExtraError saying what to install."""
    try:
        return importlib.import_module("torch")
    except ImportError as error:
        raise MissingExtraError(
            'converting to or from PyTorch needs torch: pip install "nnlite[torch]"'
        ) from error


# ---------------------------------------------------------------------------------------------
# nnlite -> PyTorch
# ---------------------------------------------------------------------------------------------


def to_torch(model: Layer | Loss) -> Any:
    """The ``torch.nn.Module`` computing the same y = model(x), or the same loss L(y, t).

    Sequential -> ``torch.nn.Sequential`` (nested ones too), Linear -> ``torch.nn.Linear`` with
    weight W^T of shape (out_features, in_features) and the same bias, Sigmoid, ReLU, Tanh,
    LeakyReLU(negative_slope) and Identity -> their ``torch.nn`` namesakes, BiasAppend ->
    ``nnlite.interop.BiasAppend``. A loss becomes ``nnlite.interop.<its name>``, which keeps
    nnlite's averaging over rows (MSE: 1/(2N) sum of squares; the others: sum / N). A kind
    registered with :func:`nnlite.interop.register` converts as its entry says.

    Parameters are copied (nothing is shared) into tensors of the model's dtype, float64 staying
    float64, so the module's forward equals nnlite's to rounding. Gradients are not copied.

    Args:
        model: a layer, a Sequential of layers, or a loss, of registered kinds.

    Returns:
        A ``torch.nn.Module`` on the CPU, in training mode, with ``requires_grad`` parameters.

    Raises:
        ConversionError: (a TypeError) a layer or loss has no PyTorch counterpart: it is of no
            registered kind, or a subclass of one (its forward may differ); the message names
            it, says where it is, and lists what converts.
        ValueError: the parameters mix float32 and float64 (torch does not promote them).
        MissingExtraError: torch is not installed.

    Example:
        >>> module = to_torch(nl.Sequential(nl.Linear(3, 2, rng=0), nl.Sigmoid()))  # doctest: +SKIP
        >>> module[0].weight.shape, module[0].weight.dtype  # doctest: +SKIP
        (torch.Size([2, 3]), torch.float64)
    """
    torch = import_torch()
    if isinstance(model, Loss):
        kind = loss_kind(type(model))
        if kind is None or kind.torch is None:
            raise ConversionError(
                f"to_torch: {label(model)} has no PyTorch counterpart; supported: "
                + supported_layers()
            )
        return _formula_class(torch, kind)()
    if not isinstance(model, Layer):
        raise TypeError(f"to_torch expects an nnlite Layer or Loss, got a {type(model).__name__}")
    parameter_dtype(model, "to_torch")
    return _layer_to_torch(torch, model, ())


def _layer_to_torch(torch: Any, layer: Layer, where: tuple[int, ...]) -> Any:
    if type(layer) is Sequential:
        assert isinstance(layer, Sequential)
        return torch.nn.Sequential(
            *(_layer_to_torch(torch, inner, (*where, i)) for i, inner in enumerate(layer))
        )
    kind = layer_kind(type(layer))  # exact types: a subclass may compute something else
    conversion = kind.torch if kind is not None else None
    if kind is None or conversion is None:
        raise ConversionError(
            f"to_torch: {at(where)}{label(layer)} has no PyTorch counterpart; supported: "
            + supported_layers()
        )
    if isinstance(conversion, TorchFormula):
        parameters = dict(layer.named_parameters())
        if any("." in name for name in parameters):
            raise ConversionError(
                f"to_torch: {at(where)}{label(layer)} holds parameters of its own layers "
                f"({', '.join(parameters)}); a TorchFormula takes only the layer's own"
            )
        tensors = {name: torch.from_numpy(p.data.copy()) for name, p in parameters.items()}
        return _formula_class(torch, kind)(layer.get_config(), tensors)
    if conversion.to_torch is not None:
        return conversion.to_torch(torch, layer)
    return conversion.module(torch)(**{name: getattr(layer, name) for name in conversion.arguments})


def supported_layers() -> str:
    """What :func:`to_torch` converts, for messages: "Sequential, BiasAppend, ...; losses ..."."""
    return supported(lambda kind: kind.torch, lambda kind: kind.torch)


# ---------------------------------------------------------------------------------------------
# The modules made from a kind's TorchFormula
# ---------------------------------------------------------------------------------------------


def torch_class(torch: Any, kind: LayerKind | LossKind) -> type[Any]:
    """The torch.nn.Module class a kind converts to (its counterpart, or the one made for it)."""
    if isinstance(kind.torch, TorchConversion):
        return kind.torch.module(torch)
    return _formula_class(torch, kind)


def formula_module(name: str) -> type[Any] | None:
    """The module made for the registered kind ``name`` from its TorchFormula (importing torch),
    or None when no such kind is registered."""
    for kind in all_kinds():
        if kind.name == name and isinstance(kind.torch, TorchFormula):
            return _formula_class(import_torch(), kind)
    return None


@functools.cache
def _formula_class(torch: Any, kind: LayerKind | LossKind) -> type[Any]:
    """The module class for a kind's TorchFormula, made once, named ``nnlite.interop.<name>``.

    Made here rather than at import so that importing nnlite does not import torch;
    ``nnlite.interop.__getattr__`` hands it out under that name, which is where pickle
    (``torch.save(module)``) finds it.
    """
    assert isinstance(kind.torch, TorchFormula)
    formula = kind.torch.forward
    module: Any = torch.nn.Module  # Any: torch is imported at run time, not seen by mypy

    class LossFormula(module):  # type: ignore[misc]
        def forward(self, prediction: Any, target: Any) -> Any:
            if prediction.shape != target.shape:  # as nnlite: never broadcast (N, 1) with (N,)
                raise ValueError(
                    f"{type(self).__name__} expects target of the prediction's shape "
                    f"{tuple(prediction.shape)}, got {tuple(target.shape)}"
                )
            return formula(torch, prediction, target)

    class LayerFormula(module):  # type: ignore[misc]
        def __init__(
            self, config: dict[str, Any] | None = None, parameters: dict[str, Any] | None = None
        ) -> None:
            super().__init__()
            self.config = dict(config or {})  # the layer's get_config(), to convert back
            for name, value in (parameters or {}).items():
                self.register_parameter(name, torch.nn.Parameter(value))

        def forward(self, x: Any) -> Any:
            return formula(torch, x, **dict(self.named_parameters()))

    cls = LossFormula if isinstance(kind, LossKind) else LayerFormula
    cls.__name__ = cls.__qualname__ = kind.name
    cls.__module__ = "nnlite.interop"
    original = kind.loss if isinstance(kind, LossKind) else kind.layer
    cls.__doc__ = (
        f"{(inspect.getdoc(original) or kind.name).splitlines()[0]}\n\n"
        f"nnlite's {kind.name} in PyTorch, made by nnlite.interop from its formula: the same "
        "value, and autograd's gradient of it."
    )
    return cls


# ---------------------------------------------------------------------------------------------
# PyTorch -> nnlite
# ---------------------------------------------------------------------------------------------


def from_torch(module: Any) -> Layer | Loss:
    """The nnlite layer, Sequential or loss computing what ``module`` computes.

    The inverse of :func:`to_torch`: ``torch.nn.Sequential`` (nested too), ``torch.nn.Linear``
    (weight transposed to nnlite's (in_features, out_features)), ``torch.nn.Sigmoid``, ``ReLU``,
    ``Tanh``, ``LeakyReLU``, ``Identity``, nnlite.interop's ``BiasAppend`` and loss modules, and
    the modules of registered kinds. Values are copied bit for bit, float32 stays float32 and
    float64 float64, so ``from_torch(to_torch(model))`` has exactly the model's parameters.

    Args:
        module: a ``torch.nn.Module`` of the kinds above (exact types: a subclass may have its own
            forward). Its device does not matter; the values are copied to numpy.

    Returns:
        A new nnlite Layer (a Sequential for a ``torch.nn.Sequential``) or Loss.

    Raises:
        ConversionError: (a TypeError) a module has no nnlite counterpart, or cannot be converted
            (a Linear's parameters are not float32 or float64); the message names the module,
            its index path in the Sequential, and lists what converts.
        MissingExtraError: torch is not installed.
    """
    torch = import_torch()
    converted: Layer | Loss = _module_to_nnlite(torch, module, (), torch_classes(torch))
    return converted


def torch_classes(torch: Any) -> dict[type[Any], LayerKind | LossKind]:
    """The kind of each torch module class that converts back, in the registry's order."""
    return {torch_class(torch, kind): kind for kind in all_kinds() if kind.torch}


def _module_to_nnlite(
    torch: Any, module: Any, where: tuple[int, ...], kinds: dict[type[Any], LayerKind | LossKind]
) -> Any:
    if type(module) is torch.nn.Sequential:
        return Sequential(
            *(_module_to_nnlite(torch, inner, (*where, i), kinds) for i, inner in enumerate(module))
        )
    kind = kinds.get(type(module))

    def refuse(reason: str) -> ConversionError:
        return ConversionError(
            f"from_torch: {at(where)}{module!r} {reason}; supported: {supported_modules(torch)}"
        )

    if kind is None:
        raise refuse("has no nnlite counterpart")
    try:
        return _convert_back(torch, module, kind)
    except (TypeError, ValueError) as error:  # the converter's, or the class's, own refusal
        raise refuse(f"cannot be converted: {error}") from error


def _convert_back(torch: Any, module: Any, kind: LayerKind | LossKind) -> Layer | Loss:
    if isinstance(kind, LossKind):
        return kind.loss()
    conversion = kind.torch
    if isinstance(conversion, TorchFormula):
        layer = kind.layer(**module.config)
        state = {name: p.detach().cpu().numpy() for name, p in module.named_parameters()}
        layer.load_state_dict(state, strict=True)  # a LoadError (a ValueError) if it does not fit
        return layer
    assert conversion is not None
    if conversion.from_torch is not None:
        converted: Layer = conversion.from_torch(torch, module)
        return converted
    return kind.layer(**{name: getattr(module, name) for name in conversion.arguments})


def supported_modules(torch: Any) -> str:
    """What :func:`from_torch` converts, for messages: "torch.nn.Sequential, ...", by name."""
    names = [_class_name(cls) for cls in torch_classes(torch)]
    return ", ".join(["torch.nn.Sequential", *sorted(names)])


def _class_name(cls: type[Any]) -> str:
    """``torch.nn.Linear`` rather than ``torch.nn.modules.linear.Linear``."""
    if cls.__module__.startswith("torch.nn.modules"):
        return f"torch.nn.{cls.__qualname__}"
    return f"{cls.__module__}.{cls.__qualname__}"


# ---------------------------------------------------------------------------------------------
# A file for PyTorch: state_dict and architecture, no pickled code
# ---------------------------------------------------------------------------------------------


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
    return f"a {type(value).__name__}{length}"


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
