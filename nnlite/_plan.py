"""A Sequential's plan: its layers checked once per batch signature, then run as written.

The boundary checks (:mod:`nnlite._boundary`) run around every call of every layer: on a small
network they cost more than the arithmetic. Most of what they establish does not change from one
batch to the next of the same signature (array type, shape and dtype): the input is a float
array of a kept dtype, each layer's output an ndarray, each gradient of the shape its layer's
input had. So a Sequential runs its first batch of each signature through the checked methods,
as always, and records a :class:`Plan`: for each layer the type, dtype and shape of what it
returned, and its methods as written (:func:`nnlite._boundary.unchecked`). A later batch of the
same signature runs those methods and checks only what each returns against the record:

- forward: y of the recorded type, dtype and shape. Then the next layer's input is what the
  checks would have let through unchanged, so its checks have nothing to say.
- backward: each layer still holds the shapes the plan gave it (no other call ran it since);
  grad_x an ndarray of a kept dtype and of the layer's input shape, which is the shape the layer
  before produced.

At the first difference the plan stops, and the Sequential goes on from that layer with the
checks: every error they give is given, with the same message. A different signature, a change
to ``layers``, a parameter swapped for one of another shape (it changes what a layer returns)
are all differences; a layer that declares ``check_every_call`` or has its own methods on the
instance is always called through them. Nothing of any layer's math is repeated here: the plan
calls the methods the layers wrote.

A plan keeps the methods it found when it was made: one assigned afterwards to a layer or its
class is found by the next plan (a new signature or layer list). Looking for one in every layer's
``__dict__`` at every batch would cost 0.05 us a layer (measured on ``two_layer_network``'s five
layers: 0.25 us a forward, about 2% of the benchmark's tiny step), and would still miss a method
assigned to a class.

The plan does not look at the parameters (their arrays' identity, shape and dtype) or at the
mode, because the checks do not either: they check what goes into and comes out of a layer. A
layer's own code, which reads its parameters and its mode, runs on both paths, and what a swapped
weight or another mode changes is seen in what the layer returns (a weight of another width gives
an output of another width). ``tests/test_sequential_plan.py`` holds the two paths to the same
numbers and the same errors after each such change; the optimizer checks its parameters' arrays
at every step.

Measured with the benchmark's tiny network (N = 4, 2-2-1, float64; ``nl.fit``'s step): the
checks of a forward and a backward_parameters through the five layers took about 7 us of a 40 us
step; the plan's own checks take about 1.5 us.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from nnlite._boundary import unchecked
from nnlite._validation import KEPT_DTYPES, label
from nnlite.errors import NnliteError, position
from nnlite.layer import Layer

if TYPE_CHECKING:
    from nnlite.typing import FloatArray

Signature = tuple[type, tuple[int, ...], np.dtype[Any]]
"""What a plan is made for: the input's type, shape and dtype."""


def signature(x: FloatArray) -> Signature:
    """The signature of an input: ``(type(x), x.shape, x.dtype)``."""
    return type(x), x.shape, x.dtype


class Shape(tuple[int, ...]):
    """A shape a plan gives a layer (its ``_input_shape``, ``_output_shape``): equal to the
    tuple, and an object of its own, so that the plan can tell later, by identity, that no other
    call has run the layer since. (A plain ``()`` is one object for every empty tuple.)"""

    __slots__ = ()


# One step of a plan's forward: index, layer, its forward (as written, or checked for a layer that
# is always checked), the type, dtype and shape of its output, and the shapes the plan gives the
# layer (None for an always-checked layer, whose own checks record them).
_ForwardStep = tuple[
    int,
    Layer,
    Callable[..., Any],
    "type[np.ndarray[Any, Any]]",
    np.dtype[Any],
    Shape,
    "tuple[Shape, Shape] | None",
]
# One step of a plan's backward: index, layer, its backward (or backward_parameters: then True
# last, and nothing comes back), the output shape the plan gave the layer (None: always checked),
# and the shape of the layer's input.
_BackwardStep = tuple[int, Layer, Callable[..., Any], "Shape | None", Shape, bool]
_Resume = Callable[["FloatArray", int, object], Any]
"""``resume(value, index, result)``: go on with the checks from layer ``index``."""


class Plan:
    """The record of one checked forward of a Sequential's layers (see the module docstring).

    Attributes:
        signature: the signature of the input it was made for.
        layers: the layer list it was made for (a copy), compared with ``Sequential.layers``.
        first_with_parameters: the index of the first layer that held a parameter, or None:
            backward_parameters runs the plan only while it still is.
        backward_steps: the steps of backward, from the last layer to the first.
        parameter_steps: the steps of backward_parameters: backward from the last layer down to
            the first that holds a parameter, and that one's backward_parameters (none at all
            when no layer holds a parameter).
    """

    __slots__ = (
        "backward_steps",
        "first_with_parameters",
        "forward_steps",
        "layers",
        "parameter_steps",
        "signature",
    )

    def __init__(
        self,
        signature: Signature,
        layers: Sequence[Layer],
        shapes: Sequence[tuple[tuple[int, ...], FloatArray]],
        first_with_parameters: int | None,
    ) -> None:
        """Record the plan of a checked forward just made, and give its layers the plan's shapes.

        Args:
            signature: the signature of the input.
            layers: the layers, in order.
            shapes: for each layer, the shape of its input and the output it returned.
            first_with_parameters: the index of the first layer holding a parameter, or None.
        """
        self.signature = signature
        self.layers = list(layers)
        self.first_with_parameters = first_with_parameters
        self.forward_steps: list[_ForwardStep] = []
        self.backward_steps: list[_BackwardStep] = []
        parameter_half: list[_BackwardStep] = []
        for index, (layer, (x_shape, y)) in enumerate(zip(self.layers, shapes, strict=True)):
            forward = unchecked(layer, "forward")
            backward = unchecked(layer, "backward")
            backward_parameters, parameters_only = (
                _unchecked_backward_parameters(layer)
                if index == first_with_parameters
                else (None, True)
            )
            given = (Shape(x_shape), Shape(y.shape))
            tokens: tuple[Shape, Shape] | None = given
            if (
                type(layer).check_every_call
                or forward is None
                or backward is None
                or (index == first_with_parameters and backward_parameters is None)
            ):  # always called through its checks
                forward, backward = layer.forward, layer.backward
                backward_parameters, parameters_only = layer.backward_parameters, True
                tokens = None
            else:
                layer._input_shape, layer._output_shape = given
            output_token = None if tokens is None else tokens[1]
            self.forward_steps.append((index, layer, forward, type(y), y.dtype, given[1], tokens))
            self.backward_steps.append((index, layer, backward, output_token, given[0], False))
            if index == first_with_parameters and backward_parameters is not None:
                # Layer's default backward_parameters is backward with dL/dx dropped: the plan
                # runs backward and checks its dL/dx, as the default's checked backward does.
                parameter_half = [
                    (index, layer, backward_parameters, output_token, given[0], parameters_only)
                ]
        self.backward_steps.reverse()
        self.parameter_steps = [
            *(
                step
                for step in self.backward_steps
                if parameter_half and step[0] > parameter_half[0][0]
            ),
            *parameter_half,
        ]

    def forward(self, x: FloatArray, resume: _Resume) -> FloatArray:
        """The layers' forwards as written, each output checked against the record.

        ``resume(x, index, y)`` is called at the first output y that differs from the record, and
        its result returned: it goes on with the checks from layer ``index``, which returned y.
        """
        for index, layer, forward, y_type, y_dtype, y_shape, tokens in self.forward_steps:
            try:
                y = forward(x)
            except Exception as error:
                layer._output_shape = None  # as the checks leave a failed forward
                locate(error, index, layer)
                raise
            if type(y) is not y_type or y.dtype is not y_dtype or y.shape != y_shape:
                return resume(x, index, y)  # type: ignore[no-any-return]
            if tokens is not None:
                layer._input_shape, layer._output_shape = tokens
            x = y
        return x

    def backward(
        self, steps: list[_BackwardStep], grad_y: FloatArray, resume: _Resume
    ) -> FloatArray:
        """The backwards of ``steps`` (:attr:`backward_steps`, :attr:`parameter_steps`) as
        written, each gradient checked.

        ``resume(grad_y, index, grad_x)`` is called, and its result returned, at the first
        difference: with grad_x None before layer ``index`` runs, when another call has run the
        layer since the plan's forward; after, with the grad_x it returned when that is not an
        ndarray of a kept dtype and of the shape of the layer's input. A last step of
        backward_parameters returns None.
        """
        for index, layer, backward, output_shape, x_shape, parameters_only in steps:
            if output_shape is not None and layer._output_shape is not output_shape:
                return resume(grad_y, index, None)  # type: ignore[no-any-return]
            try:
                grad_x = backward(grad_y)
            except Exception as error:
                locate(error, index, layer)
                raise
            if parameters_only:
                return None  # type: ignore[return-value]
            if (
                type(grad_x) is not np.ndarray
                or grad_x.dtype not in KEPT_DTYPES
                or grad_x.shape != x_shape
            ):
                return resume(grad_y, index, grad_x)  # type: ignore[no-any-return]
            grad_y = grad_x
        return grad_y


def _unchecked_backward_parameters(layer: Layer) -> tuple[Callable[..., Any] | None, bool]:
    """``layer.backward_parameters`` as written and True; or, when it has Layer's default (which
    calls ``self.backward`` and drops dL/dx), its backward as written and False; (None, True)
    when neither is reachable."""
    method = unchecked(layer, "backward_parameters")
    if (
        method is None
        and "backward_parameters" not in getattr(layer, "__dict__", {})
        and getattr(type(layer), "backward_parameters", None) is Layer.backward_parameters
    ):
        return unchecked(layer, "backward"), False
    return method, True


def locate(error: BaseException, index: int, layer: Layer) -> None:
    """Say in ``error`` that it passed out of layer ``index`` of a Sequential.

    nnlite's own errors carry the index path in ``layer_path`` (their message starts with it:
    "Sequential layer 1.3: ..."). Any other exception, such as one a layer of yours raised, gets
    a note, "in Sequential layer 1.3: Scale(n_features=3)", which tracebacks show under the
    message; an outer Sequential rewrites the note with the longer path. Python 3.10 has no
    ``add_note``: there the note goes into ``__notes__`` by hand, PEP 678's spelling for it,
    which the exceptiongroup backport's tracebacks (pytest's, on 3.10) show.
    """
    if isinstance(error, NnliteError):
        error.layer_path = (index, *error.layer_path)
        return
    path = (index, *getattr(error, "_nnlite_layer_path", ()))
    where = getattr(error, "_nnlite_layer", None) or label(layer)
    note = f"in {position(path)}: {where}"
    notes = getattr(error, "__notes__", None)
    previous = getattr(error, "_nnlite_note", None)
    if isinstance(notes, list) and previous is not None:
        for at, text in enumerate(notes):
            if text is previous:
                notes[at] = note
                break
        else:
            notes.append(note)
    else:
        add_note(error, note)
    error._nnlite_layer_path = path  # type: ignore[attr-defined]
    error._nnlite_layer = where  # type: ignore[attr-defined]
    error._nnlite_note = note  # type: ignore[attr-defined]


def add_note(error: BaseException, note: str) -> None:
    """``error.add_note(note)``; on Python 3.10, which has no add_note, its PEP 678 equivalent:
    appending to ``__notes__``, a list."""
    method = getattr(error, "add_note", None)
    if method is not None:
        method(note)
        return
    notes = getattr(error, "__notes__", None)
    error.__notes__ = [*notes, note] if isinstance(notes, list) else [note]
