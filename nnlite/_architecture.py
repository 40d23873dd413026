"""A model's architecture, as saving, the ``nnlite`` command and nnlite.interop all read it.

- :func:`flatten`: the layers of nested Sequentials, each with its index path, and :func:`at`,
  the start of a message about one of them;
- :func:`input_width`: the input width a model requires, from its layers' kinds;
  :func:`parameter_dtype`: the one dtype of its parameters;
- :func:`layer_spec` and :func:`build`: a model as JSON values and back, the ``"model"`` part of
  a saved file (see :mod:`nnlite.serialization`), and :func:`layer_classes`, the classes a file
  may name. A container kind (one whose registry entry gives ``sublayers``, as Residual's does)
  is recorded with its layers: ``{"class": "Residual", "config": {}, "layers": {"inner": ...}}``.

Where a layer sits is said by :func:`nnlite.errors.position`: "Sequential layer 1.0".
"""

from __future__ import annotations

import json
import reprlib
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from nnlite._kinds import layer_kind, layer_kinds
from nnlite._validation import label
from nnlite.errors import LoadError, SaveError, position
from nnlite.layer import Layer
from nnlite.sequential import Sequential

MAX_NESTING = 100
"""The deepest nesting of Sequentials and other containers (Residual) :func:`build` builds: far
above real models, far below the interpreter's recursion limit, which a crafted file could
otherwise exhaust."""


def flatten(model: Layer, where: tuple[int, ...] = ()) -> Iterator[tuple[tuple[int, ...], Layer]]:
    """Every layer that is not a Sequential, with its index path, in the order they run.

    Only a Sequential itself is opened, not a subclass of it: that is a layer of its own, which
    may compute something else. Other containers (Residual) are layers here, not opened: their
    kinds convert what they hold.
    """
    if type(model) is Sequential:
        assert isinstance(model, Sequential)
        for index, inner in enumerate(model):
            yield from flatten(inner, (*where, index))
    else:
        yield where, model


def at(where: tuple[int, ...]) -> str:
    """ "Sequential layer 1.0: " for a layer at that index path, "" for the model itself."""
    return f"{position(where)}: " if where else ""


def parameter_dtype(model: Layer, caller: str) -> np.dtype[Any]:
    """The dtype of every parameter (float64 when there are none); mixing float32 and float64 is
    refused, since neither PyTorch nor ONNX promotes between them."""
    dtypes = {parameter.data.dtype for parameter in model.parameters()}
    if len(dtypes) > 1:
        named = ", ".join(f"{name} {p.data.dtype}" for name, p in model.named_parameters())
        raise ValueError(
            f"{caller}: the model's parameters mix float32 and float64 ({named}); convert them to "
            "one dtype first"
        )
    return dtypes.pop() if dtypes else np.dtype(np.float64)


def input_width(model: Layer) -> int | None:
    """The width of input the model requires, or None when its layers do not fix one.

    The first layer whose kind requires a width (a Linear's in_features) fixes it: the answer is
    the input width that the layers before it turn into that width (for a BiasAppend before the
    Linear, in_features - 1). Those layers keep or widen their input, as every built-in does, so
    the answer is searched from that width down, a step for each column they add. None also when
    a layer before it is of no registered kind.
    """
    layers = [layer for _, layer in flatten(model)]
    for index, layer in enumerate(layers):
        kind = layer_kind(type(layer))
        if kind is None:
            return None
        required = kind.input_width(layer)
        if required is not None:
            widths = range(required, 0, -1)
            return next((w for w in widths if _through(layers[:index], w) == required), None)
    return None


def _through(layers: list[Layer], width: int | None) -> int | None:
    """The width of what ``layers`` give for input of ``width`` (None: unknown)."""
    for layer in layers:
        kind = layer_kind(type(layer))
        width = kind.output_width(layer, width) if kind is not None else None
    return width


def layer_classes(custom_layers: Mapping[str, type[Layer]] | None) -> dict[str, type[Layer]]:
    """The classes a file may name: Sequential, the registered kinds, then ``custom_layers``."""
    classes: dict[str, type[Layer]] = {"Sequential": Sequential}
    classes.update((kind.name, kind.layer) for kind in layer_kinds())
    for name, cls in (custom_layers or {}).items():
        if not (isinstance(cls, type) and issubclass(cls, Layer)):
            raise TypeError(
                f"nl.load expects custom_layers to map names to Layer subclasses; "
                f"{name!r} maps to {cls!r}"
                + (", an instance: pass the class itself" if isinstance(cls, Layer) else "")
            )
        classes[name] = cls
    return classes


def layer_spec(layer: Layer, where: tuple[int, ...] = ()) -> dict[str, Any]:
    """The JSON description of one layer, or of a Sequential and everything in it."""
    if type(layer) is Sequential:
        return {
            "class": "Sequential",
            "layers": [
                layer_spec(inner, (*where, index)) for index, inner in enumerate(layer.layers)
            ],
        }
    name = type(layer).__name__

    def refuse(reason: str) -> SaveError:
        return SaveError(
            f"nl.save cannot save {position(where) or 'the model'}, {label(layer)}: {reason}; "
            "nothing was written"
        )

    builtin = layer_classes(None).get(name)
    if builtin is not None and builtin is not type(layer):
        raise refuse(
            f"it has the class name of nnlite's built-in {name}, which is what a file records, "
            "so it would load as the built-in: give your class its own name"
        )
    try:
        config = layer.get_config()
    except Exception as error:  # whatever a user's get_config raises, say which layer it was
        raise refuse(f"get_config() raised {type(error).__name__}: {error}") from error
    if not isinstance(config, dict) or not all(isinstance(key, str) for key in config):
        raise refuse(f"get_config() must return a dict with str keys, returned {config!r}")
    try:
        json.dumps(config, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise refuse(f"get_config() returned {config!r}, which is not JSON ({error})") from error
    sublayers = _sublayers(layer)
    if sublayers is None:
        return {"class": name, "config": config}
    layers = {
        argument: layer_spec(inner, (*where, index))
        for index, (argument, inner) in enumerate(sublayers.items())
    }
    return {"class": name, "config": config, "layers": layers}


def _sublayers(layer: Layer) -> Mapping[str, Layer] | None:
    """The layers a container kind holds, by constructor argument, or None for other layers."""
    kind = layer_kind(type(layer))
    return None if kind is None or kind.sublayers is None else kind.sublayers(layer)


def is_container(cls: type[Layer] | None) -> bool:
    """Whether the class is a registered container kind: its file records its layers."""
    kind = layer_kind(cls) if cls is not None else None
    return kind is not None and kind.sublayers is not None


def build(spec: object, where: tuple[int, ...], classes: Mapping[str, type[Layer]]) -> Layer:
    """A new layer from its JSON description (a Sequential or another container recursively)."""
    here = position(where) or "the model"
    if len(where) > MAX_NESTING:
        raise LoadError(
            f"{here}: layers nested deeper than {MAX_NESTING} (Sequentials and other containers)"
        )
    if not isinstance(spec, dict) or not isinstance(spec.get("class"), str):
        raise LoadError(f"{here}: expected {{'class': name, ...}}, found {reprlib.repr(spec)}")
    name = spec["class"]
    if name not in classes:
        raise LoadError(
            f"{here}: unknown layer class {name!r}; known: "
            f"{', '.join(sorted(classes))}. Pass your own layers as "
            f"custom_layers={{{name!r}: {name}}}"
        )
    if classes[name] is Sequential:
        if set(spec) != {"class", "layers"} or not isinstance(spec["layers"], list):
            raise LoadError(
                f"{here}: expected {{'class', 'layers': [...]}}, found " + reprlib.repr(spec)
            )
        return Sequential(
            *(build(inner, (*where, index), classes) for index, inner in enumerate(spec["layers"]))
        )
    config = spec.get("config")
    container = is_container(classes[name])
    keys = {"class", "config", "layers"} if container else {"class", "config"}
    if (
        set(spec) != keys
        or not isinstance(config, dict)
        or (container and not isinstance(spec["layers"], dict))
    ):
        layers = ", 'layers': {...}" if container else ""
        raise LoadError(
            f"{here}: expected {{'class', 'config': {{...}}{layers}}}, found " + reprlib.repr(spec)
        )
    inner = {
        argument: build(layer, (*where, index), classes)
        for index, (argument, layer) in enumerate(spec.get("layers", {}).items())
    }
    try:
        return classes[name](**inner, **config)
    except Exception as error:  # the class's own check of its arguments, whatever it raises
        raise LoadError(
            f"{here}: {name}(**{reprlib.repr(config)}) failed: {type(error).__name__}: {error}"
        ) from error
