"""Copies of a layer, and forwards with randomness and state held fixed: what every check runs on.

- :func:`replica` copies a layer with its parameters and buffers in a chosen dtype, keeping every
  alias: an attribute that holds the same array as ``weight.data`` (``self.W = self.weight.data``)
  holds the copy's array in the copy, so a layer that aliases its parameters is checked as written.
- :class:`Pinned` runs a layer's forward with its randomness and its state held fixed: before each
  forward every layer that declares ``stochastic`` gets a fresh generator of one seed, and every
  buffer of a layer that declares ``stateful`` gets back its values from when the pin was made. A
  check then sees a deterministic function of the input and the parameters, which is what finite
  differences can measure.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any, TypeVar

import numpy as np

from nnlite._validation import label
from nnlite.layer import Layer
from nnlite.parameter import Buffer, Parameter
from nnlite.typing import FloatArray

_L = TypeVar("_L", bound=Layer)

PINNED_SEED = 20_240_601
"""The seed every stochastic layer's ``rng`` is reset to before each pinned forward."""


def layers_of(layer: Layer) -> Iterator[Layer]:
    """The layer and every layer it holds, each once."""
    yield layer
    for _, inner in layer.named_sublayers():
        yield inner


def declares(layer: Layer, name: str) -> bool:
    """Whether the layer or any layer it holds declares ``name`` (stochastic, mixes_rows, ...)."""
    return any(bool(getattr(inner, name, False)) for inner in layers_of(layer))


def tensors_of(layer: Layer) -> Iterator[tuple[str, Parameter | Buffer]]:
    """Every parameter and buffer, by name, each once."""
    yield from layer.named_parameters()
    yield from layer.named_buffers()


def replica(layer: _L, dtype: Any = None) -> _L:
    """A deep copy of ``layer``; with ``dtype``, its parameters and buffers in that dtype.

    The copy is made by ``copy.deepcopy`` with its memo seeded: each parameter's and buffer's array
    maps to its converted copy, so every other reference to the same array object inside the layer
    (an alias) is mapped to the same converted copy. Gradients start at zero.
    """
    memo: dict[int, Any] = {}
    for _, tensor in tensors_of(layer):
        target = tensor.data.dtype if dtype is None else np.dtype(dtype)
        memo[id(tensor.data)] = np.array(tensor.data, dtype=target, copy=True)
        if isinstance(tensor, Parameter):
            memo[id(tensor.grad)] = np.zeros(tensor.grad.shape, dtype=target)
    return copy.deepcopy(layer, memo)


def set_mode(layer: Layer, like: Layer) -> None:
    """Give ``layer`` (a copy or rebuild of ``like``) the training flags of ``like``, layer by
    layer."""
    for mine, theirs in zip(layers_of(layer), layers_of(like), strict=False):
        mine.training = theirs.training


class Pinned:
    """Forwards of ``layer`` with its randomness and its state held fixed.

    Made once per check on the layer as it is; :meth:`forward` then restores the buffers of every
    stateful layer to their values at that moment (unless ``restore`` is False) and reseeds every
    stochastic layer before each call. For a layer that declares neither, :meth:`forward` is plain
    ``layer(x)``.

    Raises:
        AssertionError: a layer declares ``stochastic`` but its ``rng`` is not a numpy Generator.
    """

    def __init__(self, layer: Layer, seed: int = PINNED_SEED, *, restore: bool = True) -> None:
        self.layer = layer
        self.seed = seed
        self.stochastic = [inner for inner in layers_of(layer) if getattr(inner, "stochastic", 0)]
        for inner in self.stochastic:
            if not isinstance(getattr(inner, "rng", None), np.random.Generator):
                raise AssertionError(
                    f"{label(inner)} declares stochastic = True, so it must draw every random "
                    f"number from self.rng, a numpy Generator (np.random.default_rng(rng) in "
                    f"__init__); its rng is {getattr(inner, 'rng', None)!r}"
                )
        self.state = [
            (buffer, buffer.data.copy())
            for inner in layers_of(layer)
            if restore and getattr(inner, "stateful", False)
            for _, buffer in inner.named_buffers()
        ]

    def pin(self) -> None:
        """Reseed the stochastic layers and restore the stateful layers' buffers."""
        for inner in self.stochastic:
            inner.rng = np.random.default_rng(self.seed)  # type: ignore[attr-defined]
        for buffer, values in self.state:
            np.copyto(buffer.data, values)

    def forward(self, x: FloatArray) -> FloatArray:
        """``layer(x)`` with randomness and state pinned."""
        self.pin()
        return self.layer(x)
