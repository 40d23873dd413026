"""One description per kind of layer and loss: the registry everything outside the class reads.

A layer's own class is its math. What the rest of nnlite needs to know about the kind is one
:class:`LayerKind` entry, registered beside the class (``register(LayerKind(Linear, ...))`` ends
``nnlite/layers/linear.py``), and read by:

- saving and loading (:mod:`nnlite.serialization`): the class names a file may name;
- the ``nnlite`` command: a model's input width (:func:`nnlite._architecture.input_width`);
- :mod:`nnlite.interop`: the PyTorch counterpart, both ways, and the ONNX nodes;
- the tests: an example layer for a drawn width, and which input shapes to draw (every
  registered kind runs through the whole conformance suite, tests/test_builtin_conformance.py).

Losses have a :class:`LossKind` each. The supported-lists in error messages are made from the
registry, so a kind registered is a kind named. torch and onnx are never imported here: a
converter is handed the torch module, or the ONNX graph being built, when it runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

from nnlite.layer import Layer

if TYPE_CHECKING:
    from nnlite.losses import Loss


def _no_width(layer: Any) -> int | None:
    return None


def _same_width(layer: Any, width: int | None) -> int | None:
    return width


@dataclass(frozen=True)
class TorchConversion:
    """A kind with a counterpart class in PyTorch, such as ``torch.nn.Linear``.

    Args:
        module: ``module(torch)`` is the counterpart class (``lambda torch: torch.nn.Linear``).
            ``from_torch`` converts modules of exactly this class, not of subclasses.
        arguments: constructor arguments both classes take under the same name and hold as
            attributes of that name (LeakyReLU's ``negative_slope``). Without ``to_torch`` and
            ``from_torch``, they are all that is copied.
        to_torch: ``to_torch(torch, layer)``, the module, when more than ``arguments`` must be
            copied (parameters: see Linear's).
        from_torch: ``from_torch(torch, module)``, the layer; it raises TypeError or ValueError
            (any message) for a module it cannot convert.
    """

    module: Callable[[Any], type[Any]]
    arguments: tuple[str, ...] = ()
    to_torch: Callable[[Any, Any], Any] | None = None
    from_torch: Callable[[Any, Any], Any] | None = None


@dataclass(frozen=True)
class TorchFormula:
    """A kind without a PyTorch counterpart: ``nnlite.interop`` makes one, named as the kind.

    The module's forward is ``forward(torch, *inputs, **members)``: the layer's formula
    written with torch functions (a loss's inputs are prediction and target), the layer's own
    parameters and buffers (with their nnlite names and layout) as keyword arguments, and for a
    container kind (see :class:`LayerKind`'s ``sublayers``) the modules its layers convert to,
    by the same names: Residual's is ``lambda torch, x, inner: x + inner(x)``. The module keeps
    the layer's ``get_config()`` to convert back, holds those modules as its submodules, and is
    reachable as ``nnlite.interop.<class name>``, where pickle finds it.
    """

    forward: Callable[..., Any]


OnnxConverter: TypeAlias = "str | Callable[[Any, Any, str], str]"
"""An ONNX op name for a kind that is one node of its input (``"Sigmoid"``), or
``to_onnx(graph, layer, x) -> y``: the nodes of ``layer`` applied to the value named ``x``, added
with ``graph.node`` and ``graph.constant`` (see :class:`nnlite.interop.onnx.OnnxGraph`), and the
name of the value they compute."""


@dataclass(frozen=True)
class LayerKind:
    """Everything nnlite's periphery knows about one kind of layer.

    Args:
        layer: the class. Conversions and lookups take exactly this class (a subclass may
            compute something else) by its name, which is what a saved file records.
        example: ``example(n)``, a typical layer taking input of width n, for the tests.
        input_width: ``input_width(layer)``, the width of input it requires (Linear's
            ``in_features``), or None when it takes any (the default).
        output_width: ``output_width(layer, width)``, the width of its output for input of
            ``width`` (None: not known). The default: the same width.
        any_shape: whether it takes input of any shape, elementwise, rather than rows (N, width).
        sample_shape: for a kind that takes neither rows nor any shape, the shape of one sample
            the conformance suite draws batches of, ``(N, *sample_shape)``, for the layer
            ``example(sample_shape[0])`` (a Conv2d's ``(channels, height, width)``). None (the
            default): rows ``(N, n)`` for ``example(n)``, n drawn.
        state_size: ``state_size(config)``, how many values (parameters and buffers) the
            constructor allocates for ``get_config()`` arguments ``config``, or 0 for arguments
            it refuses. ``nl.load`` adds these up before it builds anything, so that a few bytes
            of JSON asking for a huge layer are refused instead of allocated. None (the default)
            for a kind that holds no state; a kind that holds some must give it (a test checks
            every registered kind).
        sublayers: for a container, ``sublayers(layer)``: the layers it holds, by the names of
            the constructor arguments that take them, in order (Residual's ``{"inner":
            layer.inner}``). A saved file records them beside the config, and loading builds
            them first and passes them to the constructor with it (``Residual(inner=...,
            **config)``); the PyTorch module holds their conversions under those names. None
            (the default): the kind holds no layers of its own. ``state_size`` then counts only
            the container's own state, the walk adding its layers'.
        torch: its PyTorch counterpart, or None when there is none.
        onnx: its ONNX nodes, or None when there are none. A container's converter adds its
            layers' nodes with :meth:`~nnlite.interop.OnnxGraph.sublayer`.

    Examples:
        >>> from nnlite.interop import layer_kind
        >>> kind = layer_kind(nl.Linear)
        >>> layer = kind.example(4)
        >>> layer, kind.input_width(layer), kind.output_width(layer, 4)
        (Linear(in_features=4, out_features=3), 4, 3)
    """

    layer: type[Layer]
    example: Callable[[int], Layer]
    input_width: Callable[[Any], int | None] = _no_width
    output_width: Callable[[Any, int | None], int | None] = _same_width
    any_shape: bool = False
    sample_shape: tuple[int, ...] | None = None
    state_size: Callable[[Mapping[str, Any]], int] | None = None
    sublayers: Callable[[Any], Mapping[str, Layer]] | None = None
    torch: TorchConversion | TorchFormula | None = None
    onnx: OnnxConverter | None = None

    @property
    def name(self) -> str:
        """The class name: what a saved file records and messages say."""
        return self.layer.__name__


@dataclass(frozen=True)
class LossKind:
    """Everything nnlite's periphery knows about one kind of loss.

    Args:
        loss: the class; it is built without arguments (``loss()``) when converted back.
        torch: its formula in torch, for the module ``nnlite.interop.<class name>``, which
            refuses a target of another shape than the prediction, as nnlite's losses do.
    """

    loss: type[Loss]
    torch: TorchFormula | None = None

    @property
    def name(self) -> str:
        """The class name."""
        return self.loss.__name__


_Kind = TypeVar("_Kind", LayerKind, LossKind)

_LAYERS: dict[type[Layer], LayerKind] = {}
_LOSSES: dict[type[Loss], LossKind] = {}


def register(kind: _Kind) -> _Kind:
    """Add ``kind`` to the registry, so that nnlite knows it as it knows its own; return it.

    A registered layer kind loads with :func:`nnlite.load` without ``custom_layers``, gives
    ``nnlite check`` and :func:`~nnlite.interop.to_onnx` its widths, and converts to and from
    PyTorch and to ONNX as its entry says; a registered loss kind converts to PyTorch.

    Raises:
        ValueError: its class, or another class of its name, is registered already (a file
            records layers by class name, so two kinds may not share one).
        TypeError: ``kind`` is neither a LayerKind nor a LossKind, or not of a Layer (a Loss)
            subclass.
    """
    if not isinstance(kind, (LayerKind, LossKind)):
        raise TypeError(f"register expects a LayerKind or a LossKind, got {kind!r}")
    cls: type[Any]
    base: type[Any]
    if isinstance(kind, LayerKind):
        cls, base = kind.layer, Layer
    else:
        from nnlite.losses import Loss  # here, not above: nnlite.losses registers through this

        cls, base = kind.loss, Loss
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise TypeError(
            f"register: a {type(kind).__name__} describes a {base.__name__} class, got {cls!r}"
        )
    taken = {registered.name for registered in all_kinds()}
    if kind.name in taken or kind.name == "Sequential":
        raise ValueError(
            f"register: a kind named {kind.name!r} is registered already; unregister it first, "
            "or give your class a name of its own"
        )
    if isinstance(kind, LayerKind):
        _LAYERS[kind.layer] = kind
    else:
        _LOSSES[kind.loss] = kind
    return kind


def unregister(cls: type[Any]) -> None:
    """Remove the kind of ``cls`` from the registry.

    Raises:
        KeyError: ``cls`` is not registered.
    """
    if cls in _LAYERS:
        del _LAYERS[cls]
    elif cls in _LOSSES:
        del _LOSSES[cls]
    else:
        raise KeyError(f"unregister: {getattr(cls, '__name__', cls)!r} is not registered")


def layer_kind(cls: type[Any]) -> LayerKind | None:
    """The kind of exactly ``cls`` (not of a parent class), or None."""
    return _LAYERS.get(cls)


def loss_kind(cls: type[Any]) -> LossKind | None:
    """The kind of exactly ``cls``, or None."""
    return _LOSSES.get(cls)


def layer_kinds() -> list[LayerKind]:
    """Every registered layer kind, in the order registered."""
    return list(_LAYERS.values())


def loss_kinds() -> list[LossKind]:
    """Every registered loss kind, in the order registered."""
    return list(_LOSSES.values())


def all_kinds() -> list[LayerKind | LossKind]:
    """Every registered kind, layers first, each in the order registered."""
    return [*_LAYERS.values(), *_LOSSES.values()]


def supported(
    converts: Callable[[LayerKind], object], losses: Callable[[LossKind], object] | None = None
) -> str:
    """The kinds a conversion takes, for its error messages: "Sequential, BiasAppend, ...;
    losses BCELoss, ..." (``converts(kind)`` and ``losses(kind)`` say which), by name."""
    text = ", ".join(["Sequential", *sorted(kind.name for kind in layer_kinds() if converts(kind))])
    named = sorted(kind.name for kind in loss_kinds() if losses and losses(kind))
    return text + (f"; losses {', '.join(named)}" if named else "")
