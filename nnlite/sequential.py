"""Sequential: layers applied one after the other, and their backwards in reverse."""

from __future__ import annotations

from collections.abc import Iterator
from typing import overload

import numpy as np

from nnlite._constraints import Integer
from nnlite._plan import Plan, Signature, locate, signature
from nnlite._validation import KEPT_DTYPES, describe
from nnlite.layer import Layer, checked_grad_x, checked_output
from nnlite.parameter import Buffer, Parameter
from nnlite.typing import FloatArray

_MAX_PLANS = 8
"""Plans kept per Sequential: a training run needs two (its batches and the last, smaller one);
an input of another signature beyond these starts the collection again."""


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

    # The plans made so far, by input signature, and the one the last forward used: see
    # nnlite._plan. Class-level defaults, so a subclass that never calls super().__init__() works.
    _plans: dict[Signature, Plan] | None = None
    _last_plan: Plan | None = None
    # (layers, index): the first layer holding a parameter, found for that layer list.
    _first_found: tuple[list[Layer], int | None] | None = None

    def __init__(self, *layers: Layer) -> None:
        super().__init__()
        _check_layers(self, layers, "Sequential")
        self.layers: list[Layer] = list(layers)

    def append(self, layer: Layer) -> None:
        """Add ``layer`` at the end, with the checks the constructor makes.

        Raises:
            TypeError: ``layer`` is not a Layer. ValueError: it is already in the Sequential
                (directly or in a nested one), or it is the Sequential itself.

        Examples:
            >>> model = nl.Sequential(nl.Linear(2, 3, rng=0))
            >>> model.append(nl.Sigmoid())
            >>> model
            Sequential(
              (0) Linear(in_features=2, out_features=3)  weight (2, 3), bias (3,)  9 params
              (1) Sigmoid()
            )  # 9 parameters
        """
        self.insert(len(self.layers), layer)

    def insert(self, index: int, layer: Layer) -> None:
        """Insert ``layer`` before position ``index``, as ``list.insert`` does, with the checks
        the constructor makes.

        Raises:
            TypeError: ``layer`` is not a Layer, or ``index`` is not an int. ValueError: the layer
                is already in the Sequential (directly or in a nested one), or it is the
                Sequential itself.
        """
        index = Integer().check("Sequential.insert", "index", index)
        layers = list(self.layers)
        layers.insert(index, layer)
        _check_layers(self, tuple(layers), f"Sequential.insert({index}, ...)")
        self.layers.insert(index, layer)

    def forward(self, x: FloatArray) -> FloatArray:
        """y = layer_n(... layer_0(x)).

        The first batch of each signature runs every layer through its checks and makes a plan;
        a later one runs the plan (see :mod:`nnlite._plan`).
        """
        plan = self._plan_for(x)
        if plan is not None:
            return plan.forward(x, self._forward_from)
        return self._forward_and_plan(x)

    def backward(self, grad_y: FloatArray) -> FloatArray:
        """Chain rule in reverse: grad = layer.backward(grad) from the last layer to the first."""
        plan = self._armed_plan()
        if plan is not None:
            return plan.backward(plan.backward_steps, grad_y, self._backward_from)
        return self._backward_from(grad_y, len(self.layers) - 1, None)

    def backward_parameters(self, grad_y: FloatArray) -> None:
        """backward for the parameter gradients only: what a training step needs.

        The chain rule runs back only as far as the first layer that holds parameters, and that
        layer is asked for its ``backward_parameters``: no layer computes a gradient that no
        parameter needs. For ``two_layer_network`` this skips the first Linear's dL/dX, a matrix
        product as large as its forward.
        """
        plan = self._armed_plan()
        if plan is not None and plan.first_with_parameters == self._first_with_parameters():
            plan.backward(plan.parameter_steps, grad_y, self._backward_parameters_from)
        else:
            self._backward_parameters_from(grad_y, len(self.layers) - 1, None)

    # --- the checked path, and the plans (nnlite._plan) ---

    def _plan_for(self, x: FloatArray) -> Plan | None:
        """The plan made for x's signature and for these layers, or None."""
        plan = self._last_plan
        if plan is None or (type(x), x.shape, x.dtype) != plan.signature:
            plan = self._plans.get(signature(x)) if self._plans else None
            if plan is None:
                return None
        if plan.layers != self.layers:  # the list changed: every plan is out of date
            self._plans = self._last_plan = None
            return None
        self._last_plan = plan
        return plan

    def _armed_plan(self) -> Plan | None:
        """The plan of the last forward, if it ran with these layers; backward then checks that
        no other call has run a layer since."""
        plan = self._last_plan
        if plan is None or plan.layers != self.layers:
            return None
        return plan

    def _forward_and_plan(self, x: FloatArray) -> FloatArray:
        """forward through every layer's checks; then record the plan for x's signature."""
        self._last_plan = None
        shapes = []
        key = signature(x)
        for index, layer in enumerate(self.layers):
            x_shape = getattr(x, "shape", ())  # not an array: a method on an instance made x
            x = self._forward_one(index, layer, x)
            shapes.append((x_shape, x))
        if not all(isinstance(y, np.ndarray) for _, y in shapes) or any(
            y.dtype not in KEPT_DTYPES for _, y in shapes[:-1]
        ):  # a method held on an instance returned anything, or the next layer's checks convert
            return x
        plans = self._plans if self._plans is not None and len(self._plans) < _MAX_PLANS else {}
        plans[key] = self._last_plan = Plan(key, self.layers, shapes, self._first_with_parameters())
        self._plans = plans
        return x

    def _forward_from(self, x: FloatArray, index: int, y: object) -> FloatArray:
        """forward with the checks from layer ``index``, which returned y for x (a plan gave up
        there: y differs from what it recorded, and the plan is dropped)."""
        if self._plans and self._last_plan is not None:
            self._plans.pop(self._last_plan.signature, None)
        self._last_plan = None
        layer = self.layers[index]
        try:
            x = checked_output(layer, x, y)
        except Exception as error:
            locate(error, index, layer)
            raise
        for later in range(index + 1, len(self.layers)):
            x = self._forward_one(later, self.layers[later], x)
        return x

    def _backward_from(self, grad_y: FloatArray, index: int, grad_x: object) -> FloatArray:
        """backward with the checks from layer ``index`` down: that layer's before it runs
        (grad_x None), or after it returned grad_x for grad_y."""
        if grad_x is not None:
            grad_y = self._checked_grad_x(index, grad_x)
            index -= 1
        for earlier in range(index, -1, -1):
            grad_y = self._backward_one(earlier, grad_y)
        return grad_y

    def _backward_parameters_from(self, grad_y: FloatArray, index: int, grad_x: object) -> None:
        """backward_parameters with the checks from layer ``index`` down (as _backward_from)."""
        first = self._first_with_parameters()
        if first is None:
            return
        if grad_x is not None:
            grad_y = self._checked_grad_x(index, grad_x)
            if index == first:  # its default backward_parameters ran backward: nothing is left
                return
            index -= 1
        for earlier in range(index, first, -1):
            grad_y = self._backward_one(earlier, grad_y)
        layer = self.layers[first]
        try:
            layer.backward_parameters(grad_y)
        except Exception as error:
            locate(error, first, layer)
            raise

    def _forward_one(self, index: int, layer: Layer, x: FloatArray) -> FloatArray:
        """``layer.forward(x)``, checked; its errors say the layer's index."""
        try:
            return layer.forward(x)  # layer(x), without __call__'s extra frame
        except Exception as error:
            locate(error, index, layer)
            raise

    def _backward_one(self, index: int, grad_y: FloatArray) -> FloatArray:
        """``layers[index].backward(grad_y)``, checked; its errors say the layer's index."""
        layer = self.layers[index]
        try:
            return layer.backward(grad_y)
        except Exception as error:
            locate(error, index, layer)
            raise

    def _checked_grad_x(self, index: int, grad_x: object) -> FloatArray:
        """The check of the grad_x that layer ``index``'s backward returned."""
        layer = self.layers[index]
        try:
            return checked_grad_x(layer, grad_x)
        except Exception as error:
            locate(error, index, layer)
            raise

    def _first_with_parameters(self) -> int | None:
        """The index of the first layer that holds a parameter, or None when none does.

        Found once for a layer list, and kept while ``layers`` holds the same layers and those
        before the one found still hold no parameter (a layer may make its parameters late, on
        its first forward, say). In the usual network the first layer holds parameters, and
        nothing is walked: measured on the benchmark's tiny network, walking the layers took
        1 us a step, as much as a tenth of its arithmetic.
        """
        found = self._first_found
        if found is not None and found[0] == self.layers:
            before = self.layers[: found[1]]  # every layer, when none held a parameter
            if not before or not any(map(_holds_parameters, before)):
                return found[1]
        first = next(
            (index for index, layer in enumerate(self.layers) if _holds_parameters(layer)), None
        )
        self._first_found = (list(self.layers), first)
        return first

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
                lines.append(f"  {head:<{width}}  {shapes}  {count_text}".rstrip())
        lines.append(f")  # {self.num_parameters():,} parameters")
        return "\n".join(lines)


def _holds_parameters(layer: Layer) -> bool:
    """Whether ``layer`` holds a parameter, itself or in a layer it holds."""
    return next(layer.named_parameters(), None) is not None


def _check_layers(sequential: Sequential, layers: tuple[Layer, ...], where: str) -> None:
    """Raise unless every item is a Layer and no layer object appears twice, directly or inside a
    nested Sequential (nor the Sequential itself, which ``append`` could add)."""
    for index, layer in enumerate(layers):
        if not isinstance(layer, Layer):
            raise TypeError(
                f"{where} expects Layer instances, got {describe(layer)} at "
                f"position {index}"
                + (" (a class: did you forget the ()?)" if isinstance(layer, type) else "")
            )
    seen: dict[int, str] = {id(sequential): "the Sequential itself"}

    def visit(layer: Layer, place: str) -> None:
        if id(layer) in seen:
            raise ValueError(
                f"{where} got the same {type(layer).__name__} object at {seen[id(layer)]} and "
                f"at {place}: a layer caches its input for backward, so each use needs its own "
                "layer"
            )
        seen[id(layer)] = place
        if isinstance(layer, Sequential):
            for index, inner in enumerate(layer.layers):
                visit(inner, f"{place}.{index}")

    for index, layer in enumerate(layers):
        visit(layer, f"position {index}")
