"""nnlite and PyTorch: models and losses as ``torch.nn`` modules and back, and files for torch.

Every conversion is driven by the registry of kinds (:mod:`nnlite._kinds`): a layer or loss
converts when its kind has a ``torch`` entry, a :class:`~nnlite.interop.TorchConversion` (a
counterpart class in torch) or a :class:`~nnlite.interop.TorchFormula` (no counterpart: the
module is made from the kind's formula in torch, by :mod:`nnlite.interop._formulas`). torch is
imported by the functions that need it, never when nnlite is.
"""

from __future__ import annotations

import importlib
from typing import Any

from nnlite._architecture import at, parameter_dtype
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
from nnlite._validation import describe, label
from nnlite.errors import ConversionError, MissingExtraError
from nnlite.interop._formulas import formula_class
from nnlite.layer import Layer
from nnlite.losses import Loss
from nnlite.parameter import Buffer, Parameter
from nnlite.sequential import Sequential


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
    LeakyReLU(negative_slope) and Identity -> their ``torch.nn`` namesakes, Dropout(p) ->
    ``torch.nn.Dropout(p)``, BatchNorm1d and LayerNorm -> their namesakes with the same weight,
    bias and (BatchNorm1d) ``running_mean``, ``running_var`` and ``num_batches_tracked``,
    Softmax(axis) and LogSoftmax(axis) -> their namesakes with ``dim=axis``, BiasAppend ->
    ``nnlite.interop.BiasAppend``, Residual(inner) -> ``nnlite.interop.Residual``, holding the
    inner layer's module as its submodule ``inner``. A loss becomes ``nnlite.interop.<its
    name>``, which keeps nnlite's averaging over rows (MSE: 1/(2N) sum of squares; the others:
    sum / N). A kind registered with :func:`nnlite.interop.register` converts as its entry says.

    Parameters and buffers are copied (nothing is shared) into tensors of the model's dtype,
    float64 staying float64, so the module's forward equals nnlite's to rounding. Each module
    gets its layer's mode: a layer in evaluation mode gives a module in evaluation mode. Gradients
    are not copied. (A Dropout's random numbers are torch's own: in training mode the two draw
    different masks.)

    Args:
        model: a layer, a Sequential of layers, or a loss, of registered kinds.

    Returns:
        A ``torch.nn.Module`` on the CPU, in the model's mode (training, unless ``model.eval()``
        was called), with ``requires_grad`` parameters.

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
        return formula_class(torch, kind)()
    if not isinstance(model, Layer):
        raise TypeError(f"to_torch expects an nnlite Layer or Loss, got {describe(model)}")
    parameter_dtype(model, "to_torch")
    return _layer_to_torch(torch, model, ())


def _layer_to_torch(torch: Any, layer: Layer, where: tuple[int, ...]) -> Any:
    """The module of one layer, in the layer's own mode (``training``, set on it alone: each
    module held gets its own layer's)."""
    module = _module_of(torch, layer, where)
    module.training = layer.training
    return module


def _module_of(torch: Any, layer: Layer, where: tuple[int, ...]) -> Any:
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
        sublayers = dict(kind.sublayers(layer)) if kind.sublayers is not None else {}
        modules = {
            name: _layer_to_torch(torch, inner, (*where, index))
            for index, (name, inner) in enumerate(sublayers.items())
        }
        state = _own_state(layer, sublayers)
        if any("." in name for name in state):
            raise ConversionError(
                f"to_torch: {at(where)}{label(layer)} holds parameters of layers that its kind "
                f"does not name as sublayers ({', '.join(state)}); a TorchFormula takes only "
                "the layer's own"
            )
        tensors = {name: torch.from_numpy(member.data.copy()) for name, member in state.items()}
        parameters = {n: t for n, t in tensors.items() if isinstance(state[n], Parameter)}
        buffers = {n: t for n, t in tensors.items() if n not in parameters}
        return formula_class(torch, kind)(layer.get_config(), parameters, buffers, modules)
    if conversion.to_torch is not None:
        return conversion.to_torch(torch, layer)
    return conversion.module(torch)(**{name: getattr(layer, name) for name in conversion.arguments})


def _own_state(layer: Layer, sublayers: dict[str, Layer]) -> dict[str, Parameter | Buffer]:
    """The layer's parameters and buffers outside the layers it holds as its sublayers."""
    held = {id(member) for inner in sublayers.values() for _, member in inner._named_state()}
    return {name: member for name, member in layer._named_state() if id(member) not in held}


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
    return formula_class(torch, kind)


def formula_module(name: str) -> type[Any] | None:
    """The module made for the registered kind ``name`` from its TorchFormula (importing torch),
    or None when no such kind is registered."""
    for kind in all_kinds():
        if kind.name == name and isinstance(kind.torch, TorchFormula):
            return formula_class(import_torch(), kind)
    return None


# ---------------------------------------------------------------------------------------------
# PyTorch -> nnlite
# ---------------------------------------------------------------------------------------------


def from_torch(module: Any) -> Layer | Loss:
    """The nnlite layer, Sequential or loss computing what ``module`` computes.

    The inverse of :func:`to_torch`: ``torch.nn.Sequential`` (nested too), ``torch.nn.Linear``
    (weight transposed to nnlite's (in_features, out_features)), ``torch.nn.Sigmoid``, ``ReLU``,
    ``Tanh``, ``LeakyReLU``, ``Identity``, ``Dropout``, ``BatchNorm1d`` (with running statistics
    and ``momentum`` a number), ``LayerNorm`` (with weight and bias), ``Softmax`` and
    ``LogSoftmax`` (with a ``dim``), nnlite.interop's ``BiasAppend``, ``Residual`` and loss
    modules, and the modules of registered kinds. Values are copied bit for bit, float32 stays
    float32 and float64 float64, so ``from_torch(to_torch(model))`` has exactly the model's
    parameters and buffers; each layer gets its module's mode.

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
        sequential = Sequential(
            *(_module_to_nnlite(torch, inner, (*where, i), kinds) for i, inner in enumerate(module))
        )
        sequential.training = module.training
        return sequential
    kind = kinds.get(type(module))

    def refuse(reason: str) -> ConversionError:
        return ConversionError(
            f"from_torch: {at(where)}{module!r} {reason}; supported: {supported_modules(torch)}"
        )

    if kind is None:
        raise refuse("has no nnlite counterpart")
    try:
        return _convert_back(torch, module, kind, where, kinds)
    except ConversionError:  # a container's layer that does not convert: said where already
        raise
    except (TypeError, ValueError) as error:  # the converter's, or the class's, own refusal
        raise refuse(f"cannot be converted: {error}") from error


def _convert_back(
    torch: Any,
    module: Any,
    kind: LayerKind | LossKind,
    where: tuple[int, ...],
    kinds: dict[type[Any], LayerKind | LossKind],
) -> Layer | Loss:
    if isinstance(kind, LossKind):
        return kind.loss()
    layer = _layer_of(torch, module, kind, where, kinds)
    layer.training = module.training
    return layer


def _layer_of(
    torch: Any,
    module: Any,
    kind: LayerKind,
    where: tuple[int, ...],
    kinds: dict[type[Any], LayerKind | LossKind],
) -> Layer:
    conversion = kind.torch
    if isinstance(conversion, TorchFormula):
        modules = {  # a container's layers, converted back first, as nl.load builds them
            name: _module_to_nnlite(torch, inner, (*where, index), kinds)
            for index, (name, inner) in enumerate(module.named_children())
        }
        layer = kind.layer(**modules, **module.config)
        state = {
            name: tensor.detach().cpu().numpy()
            for name, tensor in [
                *module.named_parameters(recurse=False),
                *module.named_buffers(recurse=False),
            ]
        }
        own = _own_state(layer, dict(kind.sublayers(layer)) if kind.sublayers else {})
        if set(state) != set(own):
            raise ValueError(
                f"it holds {sorted(state)}, where {kind.name} holds {sorted(own)} of its own"
            )
        for name, values in state.items():  # checked as load_state_dict checks, all first
            if values.shape != own[name].shape or values.dtype != own[name].dtype:
                raise ValueError(
                    f"its {name!r} is {values.dtype} {values.shape}, where {kind.name} holds "
                    f"{own[name].dtype} {own[name].shape}"
                )
        for name, values in state.items():
            own[name].data[...] = values
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
