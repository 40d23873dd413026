"""Sequential: layers applied one after the other, and their backwards in reverse."""

from __future__ import annotations

from collections.abc import Iterator
from typing import overload

from nnlite.errors import NnliteError
from nnlite.layer import Layer
from nnlite.parameter import Buffer, Parameter
from nnlite.typing import FloatArray


class Sequential(Layer):
    """y = f_n(... f_1(f_0(x))), and backward the chain rule in reverse.

    forward feeds each layer's output to the next. backward runs the layers' backwards from the last
    to the first, each turning dL/d(its output) into dL/d(its input), and returns dL/dx.

    Parameters are named by index path, ``"0.weight"``, ``"3.weight"``, ``"1.0.weight"`` for nested
    Sequentials. An error inside a layer says where: "Sequential layer 3: Linear(...) expects ...".

    A layer instance may appear only once: it caches its input for backward, so a second use would
    overwrite what the first one needs. For the same reason a slice ``model[a:b]``, which shares its
    layers with ``model``, overwrites their caches when run: run ``model`` forward again before
    ``model.backward``.

    Args:
        *layers: the layers, in order.

    Raises:
        TypeError: an argument is not a Layer. ValueError: the same layer object appears twice.

    Examples:
        >>> model = nl.Sequential(nl.Linear(2, 3, rng=0), nl.Sigmoid())
        >>> [name for name, _ in model.named_parameters()]
        ['0.weight', '0.bias']
    """

    def __init__(self, *layers: Layer) -> None:
        super().__init__()
        for index, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(
                    f"Sequential expects Layer instances, got a {type(layer).__name__} at "
                    f"position {index}"
                    + (" (a class: did you forget the ()?)" if isinstance(layer, type) else "")
                )
        _reject_repeats(layers)
        self.layers: list[Layer] = list(layers)

    def forward(self, x: FloatArray) -> FloatArray:
        """y = layer_n(... layer_0(x))."""
        for index, layer in enumerate(self.layers):
            try:
                x = layer.forward(x)  # layer(x), without __call__'s extra frame
            except NnliteError as error:
                error.layer_path = (index, *error.layer_path)
                raise
        return x

    def backward(self, grad_y: FloatArray) -> FloatArray:
        """Chain rule in reverse: grad = layer.backward(grad) from the last layer to the first."""
        for index in reversed(range(len(self.layers))):
            grad_y = self._backward_one(index, grad_y)
        return grad_y

    def backward_parameters(self, grad_y: FloatArray) -> None:
        """backward for the parameter gradients only: what a training step needs.

        The chain rule runs back only as far as the first layer that holds parameters, and that
        layer is asked for its ``backward_parameters``: no layer computes a gradient that no
        parameter needs. For ``two_layer_network`` this skips the first Linear's dL/dX, a matrix
        product as large as its forward.
        """
        first = self._first_with_parameters()
        if first is None:
            return
        for index in reversed(range(first + 1, len(self.layers))):
            grad_y = self._backward_one(index, grad_y)
        try:
            self.layers[first].backward_parameters(grad_y)
        except NnliteError as error:
            error.layer_path = (first, *error.layer_path)
            raise

    def _backward_one(self, index: int, grad_y: FloatArray) -> FloatArray:
        """``layers[index].backward(grad_y)``, its errors prefixed with the layer's index."""
        try:
            return self.layers[index].backward(grad_y)
        except NnliteError as error:
            error.layer_path = (index, *error.layer_path)
            raise

    def _first_with_parameters(self) -> int | None:
        """The index of the first layer that holds a parameter, or None when none does."""
        for index, layer in enumerate(self.layers):
            if next(layer.named_parameters(), None) is not None:
                return index
        return None

    def _members(self) -> Iterator[tuple[str, Parameter | Buffer | Layer]]:
        """The layers, named by index: parameters are ``"0.weight"``, not ``"layers.0.weight"``."""
        for index, layer in enumerate(self.layers):
            yield str(index), layer

    def __len__(self) -> int:
        return len(self.layers)

    @overload
    def __getitem__(self, index: int) -> Layer: ...
    @overload
    def __getitem__(self, index: slice) -> Sequential: ...
    def __getitem__(self, index: int | slice) -> Layer:
        """``model[i]`` is layer i; ``model[a:b]`` a Sequential of the same layer objects."""
        if isinstance(index, slice):
            return Sequential(*self.layers[index])
        return self.layers[index]

    def __iter__(self) -> Iterator[Layer]:
        return iter(self.layers)

    def extra_repr(self) -> str:
        return f"{len(self.layers)} layer{'' if len(self.layers) == 1 else 's'}"

    def __repr__(self) -> str:
        """One line per layer: index, layer, parameter shapes and count; nested ones indented."""
        rows = []
        for index, layer in enumerate(self.layers):
            text = repr(layer).replace("\n", "\n  ")
            shapes = ", ".join(f"{name} {p.shape}" for name, p in layer.named_parameters())
            count = layer.num_parameters()
            rows.append((f"({index}) {text}", shapes, f"{count:,} params" if count else ""))
        width = max((len(head) for head, _, _ in rows if "\n" not in head), default=0)
        lines = ["Sequential("]
        for head, shapes, count_text in rows:
            if "\n" in head or not shapes:  # nested containers carry their own detail
                lines.append(f"  {head}".rstrip())
            else:
                lines.append(f"  {head:<{width}}  {shapes}  {count_text}")
        lines.append(f")  # {self.num_parameters():,} parameters")
        return "\n".join(lines)


def _reject_repeats(layers: tuple[Layer, ...]) -> None:
    """Raise if one layer object appears twice, directly or inside a nested Sequential."""
    seen: dict[int, str] = {}

    def visit(layer: Layer, where: str) -> None:
        if id(layer) in seen:
            raise ValueError(
                f"Sequential got the same {type(layer).__name__} object at {seen[id(layer)]} and "
                f"at {where}: a layer caches its input for backward, so each use needs its own "
                "layer"
            )
        seen[id(layer)] = where
        if isinstance(layer, Sequential):
            for index, inner in enumerate(layer.layers):
                visit(inner, f"{where}.{index}")

    for index, layer in enumerate(layers):
        visit(layer, f"position {index}")
