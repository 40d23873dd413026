"""Layer: the contract every layer keeps.

A layer is a map y = f(x) that knows its own derivative. A subclass writes two methods:

- ``forward(x) -> y``: compute y, and cache on ``self`` what backward will need;
- ``backward(grad_y) -> grad_x``: given dL/dy, add dL/d(parameter) into each ``parameter.grad``
  and return dL/dx.

and may write a third, for speed: ``backward_parameters(grad_y)``, backward without dL/dx (only
the parameter gradients). Training never needs dL/dx of the network's input, and for a layer such
as Linear it costs a whole matrix product, so ``nl.fit`` asks the first layer for this half only.
The default calls ``backward`` and drops dL/dx; so does a subclass that overrides ``backward`` but
not ``backward_parameters`` (the parent's was written for the parent's backward).

Everything else is the base class's plumbing, so a layer's own code is only its math:

- Parameters are found, not registered: any attribute holding a :class:`~nnlite.Parameter`, a
  :class:`~nnlite.Buffer` or another layer, directly or inside lists, tuples and dicts at any
  depth, is part of the layer, under a dotted name (``"blocks.0.weight"``).
- ``train()`` and ``eval()`` set ``training`` here and in every layer held.
- The boundary checks are wrapped around every subclass's ``forward``, ``backward`` and
  ``backward_parameters`` when the class is created (the mechanism, shared with the losses, and its
  rule for super() calls are in :mod:`nnlite._boundary`): the input is converted by the dtype rule
  (:func:`nnlite.as_float_array`); backward before forward is a :class:`~nnlite.errors.StateError`;
  ``grad_y`` must have the shape of the last output, and backward must return a ``grad_x`` of the
  shape of the last input. ``backward_parameters`` gets the same checks on ``grad_y``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar, TypeVar

import numpy as np
from numpy.typing import ArrayLike

from nnlite._boundary import Checked
from nnlite._validation import as_float_array, describe, label
from nnlite.errors import DTypeError, LoadError, ShapeError, StateError
from nnlite.parameter import Buffer, Parameter
from nnlite.typing import FloatArray

_Self = TypeVar("_Self", bound="Layer")


class Layer(Checked):
    """Base class of every layer: y = f(x), with backward grad_x = (dy/dx)^T grad_y.

    Subclass it and write ``forward`` and ``backward``; calling the layer runs ``forward``.
    ``super().__init__()`` is welcome but not required.

    Gradients accumulate: each ``backward`` call *adds* into ``parameter.grad`` (``+=``), as in
    PyTorch, so several batches can be summed before an update. Call ``zero_grad()`` to reset.
    ``forward`` and ``backward`` must not modify their argument in place.

    Examples:
        >>> class Square(nl.Layer):
        ...     '''y = x ** 2'''
        ...     def forward(self, x):
        ...         self.x = x
        ...         return x**2
        ...     def backward(self, grad_y):
        ...         return grad_y * 2 * self.x  # dy/dx = 2x
        >>> Square()([[3.0]])
        array([[9.]])
    """

    # Shapes seen by the last successful forward, set by the wrapper. Class-level defaults, so a
    # subclass that never calls super().__init__() still has them.
    _input_shape: tuple[int, ...] | None = None
    _output_shape: tuple[int, ...] | None = None

    training: bool = True
    """Training mode (True, the default) or evaluation mode: set by :meth:`train` and
    :meth:`eval`, read by the layers that behave differently in the two."""

    # What a layer declares about itself, for nnlite.testing's conformance checks (and readers).
    # A container declares nothing itself: the checks read the declarations of every layer held.

    stochastic: ClassVar[bool] = False
    """True when forward draws random numbers (in training mode), as Dropout does. All of them
    must come from ``self.rng``, a ``np.random.Generator``: the checks then hold the randomness
    fixed by giving the layer a fresh generator of one seed before each forward."""

    mixes_rows: ClassVar[bool] = False
    """True when row i of the output may depend on rows of the input other than i (BatchNorm's
    batch statistics). Otherwise the checks require the rows of a batch to be independent."""

    stateful: ClassVar[bool] = False
    """True when forward in training mode changes state that later forwards read (BatchNorm's
    running statistics). The checks then require forward to be pure in evaluation mode only."""

    check_every_call: ClassVar[bool] = False
    """True to check this layer in full on every call inside a Sequential, which otherwise
    checks it in full on the first batch of each input signature, then only what it returns
    (every error is still given: see :mod:`nnlite._plan`). For a layer whose code reads
    ``_input_shape`` or ``_output_shape``, or whose methods you assign after the first batch
    (a Sequential keeps the methods it found until the signature or the layer list changes)."""

    def forward(self, x: FloatArray) -> FloatArray:
        """y = f(x); cache what backward needs. Subclasses implement this."""
        raise NotImplementedError(f"{type(self).__name__} must implement forward(x)")

    def backward(self, grad_y: FloatArray) -> FloatArray:
        """grad_x = dL/dx from grad_y = dL/dy, adding into parameter grads (subclasses)."""
        raise NotImplementedError(f"{type(self).__name__} must implement backward(grad_y)")

    def backward_parameters(self, grad_y: FloatArray) -> None:
        """Only the parameter half of backward: add dL/d(parameter) into each ``parameter.grad``.

        dL/dx is not computed. This is what training needs from a network's first layer: nobody
        uses the gradient with respect to the data. ``Sequential.backward_parameters`` runs
        ``backward`` through every layer after the first one that holds parameters and this on that
        one, and ``nl.fit`` calls it on the model.

        The default runs ``backward`` and drops its result, so it is right for every layer. A
        layer whose dL/dx costs real work overrides it (Linear skips ``grad_y @ W^T``, a matrix
        product as large as its forward); ``nnlite.testing.check_gradients`` checks that the
        override adds the same gradients as ``backward``.
        """
        self.backward(grad_y)

    def __call__(self, x: ArrayLike) -> FloatArray:
        """Run forward: ``layer(x)`` is ``layer.forward(x)``."""
        return self.forward(x)  # type: ignore[arg-type]  # the wrapper converts x

    # --- what a layer holds: parameters, buffers and other layers, found from its attributes ---

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """Yield ``(name, parameter)`` for every parameter, in attribute order, each object once.

        Names are dotted paths: ``"weight"`` for an attribute, ``"block.weight"`` for a parameter of
        a layer held in attribute ``block``, ``"blocks.0.weight"`` for a list (or tuple) of layers,
        ``"heads.left.weight"`` for a dict of layers keyed ``"left"``. Lists, tuples and dicts are
        searched at any depth. A parameter held twice (a tied weight) is listed once, under the
        first name it is found by.
        """
        for name, member in self._walk(prefix):
            if isinstance(member, Parameter):
                yield name, member

    def parameters(self) -> list[Parameter]:
        """Every parameter of this layer and the layers it holds, each once."""
        return [parameter for _, parameter in self.named_parameters()]

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, Buffer]]:
        """Yield ``(name, buffer)`` for every :class:`~nnlite.Buffer`, named and found as
        parameters are (see :meth:`named_parameters`)."""
        for name, member in self._walk(prefix):
            if isinstance(member, Buffer):
                yield name, member

    def buffers(self) -> list[Buffer]:
        """Every buffer of this layer and the layers it holds, each once."""
        return [buffer for _, buffer in self.named_buffers()]

    def named_sublayers(self, prefix: str = "") -> Iterator[tuple[str, Layer]]:
        """Yield ``(name, layer)`` for every layer this one holds, at any depth, each object once.

        The layer itself is not included. In a Sequential the names are the index paths
        (``"1"``, ``"1.0"``); elsewhere the attribute paths (``"block"``, ``"blocks.0"``).
        """
        for name, member in self._walk(prefix, layers=True):
            if isinstance(member, Layer):
                yield name, member

    def num_parameters(self) -> int:
        """The number of trainable scalars."""
        return sum(parameter.size for parameter in self.parameters())

    def zero_grad(self) -> None:
        """Set every parameter's grad to zero, in place."""
        for parameter in self.parameters():
            parameter.zero_grad()

    def _members(self) -> Iterator[tuple[str, Parameter | Buffer | Layer]]:
        """The direct members: each Parameter, Buffer and Layer held in an attribute, or anywhere
        inside a list, tuple or dict attribute, with its dotted attribute path. A container such
        as Sequential overrides this to name its layers by index."""
        for name, value in vars(self).items():
            yield from _members_of(self, name, value)

    def _walk(
        self, prefix: str, *, layers: bool = False
    ) -> Iterator[tuple[str, Parameter | Buffer | Layer]]:
        """Every member at any depth, depth first in attribute order, each object once.

        Parameters and buffers always; with ``layers`` the layers too, each before what it holds.
        A layer that holds itself or its parent (a cycle) is visited once.
        """
        seen: set[int] = {id(self)}
        stack: list[Iterator[tuple[str, Parameter | Buffer | Layer]]] = [
            _prefixed(prefix, self._members())
        ]
        while stack:
            item = next(stack[-1], None)
            if item is None:
                stack.pop()
                continue
            name, member = item
            if id(member) in seen:
                continue
            seen.add(id(member))
            if isinstance(member, Layer):
                if layers:
                    yield name, member
                stack.append(_prefixed(f"{name}.", member._members()))
            else:
                yield name, member

    # --- modes ---

    def train(self: _Self, mode: bool = True) -> _Self:
        """Set training mode (``mode=True``, the default) or evaluation mode, here and in every
        layer this one holds; returns the layer, so ``model.eval()`` can be chained.

        Layers that behave differently in the two modes read ``self.training``: Dropout drops
        only in training, BatchNorm uses batch statistics in training and its running statistics
        in evaluation. Every layer starts in training mode, as in PyTorch.

        Raises:
            TypeError: ``mode`` is not a bool.
        """
        if not isinstance(mode, (bool, np.bool_)):
            raise TypeError(f"{label(self)}.train expects mode to be a bool, got {mode!r}")
        self.training = bool(mode)
        for _, layer in self.named_sublayers():
            layer.training = bool(mode)
        return self

    def eval(self: _Self) -> _Self:
        """Set evaluation mode here and in every layer held: ``train(False)``."""
        return self.train(False)

    # --- state ---

    def state_dict(self) -> dict[str, FloatArray]:
        """A copy of the values of every parameter and buffer, by name: ``{"0.weight": ...}``."""
        return {name: member.data.copy() for name, member in self._named_state()}

    def _named_state(self) -> Iterator[tuple[str, Parameter | Buffer]]:
        for name, member in self._walk(""):
            if isinstance(member, (Parameter, Buffer)):
                yield name, member

    def load_state_dict(self, state: Mapping[str, Any], strict: bool = True) -> None:
        """Copy values from ``state`` into the parameters and buffers, all or nothing.

        Every entry is checked before any is copied: a value must be an ndarray of its parameter's
        (or buffer's) exact shape and dtype. With ``strict`` (the default) the keys must be exactly
        the names in ``state_dict()``; otherwise missing and unexpected keys are skipped.

        Raises:
            LoadError: one error listing every missing, unexpected, mis-shaped or mis-typed key with
                what was expected and what was found. The parameters are then left unchanged.
        """
        parameters = dict(self._named_state())
        problems = []
        if strict:
            problems += [f"missing key {name!r}" for name in parameters if name not in state]
            problems += [f"unexpected key {name!r}" for name in state if name not in parameters]
        for name, value in state.items():
            if name not in parameters:
                continue
            expected = parameters[name]
            if not isinstance(value, np.ndarray):
                problems.append(f"{name!r}: expected an ndarray, found {describe(value)}")
            elif value.shape != expected.shape:
                problems.append(f"{name!r}: expected shape {expected.shape}, found {value.shape}")
            elif value.dtype != expected.dtype:
                problems.append(f"{name!r}: expected dtype {expected.dtype}, found {value.dtype}")
        if problems:
            raise LoadError(
                f"{label(self)}.load_state_dict: the state does not fit, nothing was loaded:\n  "
                + "\n  ".join(problems)
            )
        for name, value in state.items():
            if name in parameters:
                np.copyto(parameters[name].data, value)

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments that rebuild this layer, as JSON values (used by ``nl.save``).

        The default fits a layer whose ``__init__`` takes no arguments and returns ``{}``. A layer
        with constructor arguments overrides it: ``return {"n_features": self.n_features}``.

        Raises:
            NotImplementedError: the constructor takes arguments (even ones with defaults: the
                layer may not have been built with them) and get_config was not defined.
        """
        required = [
            name
            for name, parameter in inspect.signature(type(self).__init__).parameters.items()
            if name != "self"
            and parameter.kind not in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD)
        ]
        if required:
            raise NotImplementedError(
                f"{type(self).__name__}.__init__ takes {', '.join(required)}: define get_config() "
                f"returning them so the layer can be saved and rebuilt"
            )
        return {}

    def extra_repr(self) -> str:
        """The constructor arguments shown in ``repr`` (empty by default)."""
        return ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"


# The boundary checks (nnlite._boundary wraps them around the methods a subclass writes).


def _forward_checks(
    layer: Layer, forward: Callable[[Layer, FloatArray], FloatArray], x: object
) -> FloatArray:
    """forward's: x by the dtype rule, y an ndarray, and the shapes backward's checks need."""
    x = as_float_array(x, layer, "input")
    layer._output_shape = None  # a forward that fails leaves nothing for backward to use
    return checked_output(layer, x, forward(layer, x))


def checked_output(layer: Layer, x: FloatArray, y: object) -> FloatArray:
    """The checks of what ``layer.forward(x)`` returned: y an ndarray. Records the shapes of x and
    y, which backward's checks compare with."""
    if not isinstance(y, np.ndarray):
        raise DTypeError(f"{label(layer)}.forward must return an ndarray, returned {describe(y)}")
    layer._input_shape, layer._output_shape = x.shape, y.shape
    return y


def _backward_checks(
    layer: Layer, backward: Callable[[Layer, FloatArray], FloatArray], grad_y: object
) -> FloatArray:
    """backward's: a forward ran, grad_y of the output's shape, grad_x of the input's."""
    return checked_grad_x(layer, backward(layer, _checked_grad_y(layer, grad_y, "backward")))


def checked_grad_x(layer: Layer, grad_x: object) -> FloatArray:
    """The check of what ``layer.backward`` returned: grad_x of the last input's shape."""
    if not isinstance(grad_x, np.ndarray) or grad_x.shape != layer._input_shape:
        got = grad_x.shape if isinstance(grad_x, np.ndarray) else describe(grad_x)
        raise ShapeError(
            f"{label(layer)}.backward must return grad_x of the input's shape "
            f"{layer._input_shape}, returned {got}"
        )
    return grad_x


def _backward_parameters_checks(
    layer: Layer, backward_parameters: Callable[[Layer, FloatArray], None], grad_y: object
) -> None:
    """backward_parameters': a forward ran, and grad_y of the output's shape."""
    backward_parameters(layer, _checked_grad_y(layer, grad_y, "backward_parameters"))


def _checked_grad_y(layer: Layer, grad_y: Any, method: str) -> FloatArray:
    """``grad_y`` by the dtype rule, after checking a forward ran and it has the output's shape."""
    if layer._output_shape is None:
        raise StateError(
            f"{label(layer)}.{method}() was called before forward(): run forward on a batch first"
        )
    checked = as_float_array(grad_y, layer, "grad_y")
    if checked.shape != layer._output_shape:
        raise ShapeError(
            f"{label(layer)}.{method} expects grad_y of the output's shape "
            f"{layer._output_shape}, got {checked.shape}"
        )
    return checked


def _prefixed(
    prefix: str, members: Iterator[tuple[str, Parameter | Buffer | Layer]]
) -> Iterator[tuple[str, Parameter | Buffer | Layer]]:
    for name, member in members:
        yield prefix + name, member


def _members_of(
    owner: Layer, name: str, value: object
) -> Iterator[tuple[str, Parameter | Buffer | Layer]]:
    """The Parameters, Buffers and Layers in one attribute value, searched through lists, tuples
    and dicts at any depth, with their dotted paths (``"blocks.0"``, ``"heads.left"``)."""
    if isinstance(value, (Parameter, Buffer, Layer)):
        yield name, value
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _members_of(owner, f"{name}.{index}", item)
    elif isinstance(value, dict):
        for key, item in value.items():
            inner = list(_members_of(owner, f"{name}.{key}", item))
            if inner and (not isinstance(key, str) or not key or "." in key):
                raise TypeError(
                    f"{label(owner)} holds parameters or layers in the dict attribute {name!r} "
                    f"under the key {key!r}: the keys of such a dict name them "
                    f"({name}.KEY.weight), so they must be non-empty str without '.'"
                )
            yield from inner


Layer._boundary_checks = {
    "forward": _forward_checks,
    "backward": _backward_checks,
    "backward_parameters": _backward_parameters_checks,
}
# An inherited backward_parameters was written for the parent's backward, not the subclass's: a
# subclass that writes backward alone gets Layer's default, which runs its backward.
Layer._inherited_with = {"backward_parameters": "backward"}
