"""check_function: the conformance suite for a ``torch.autograd.Function`` subclass.

The Function runs forward and backward through torch's autograd (``Function.apply``, then
``torch.autograd.grad``), adapted to a numpy function and its vjp that
:func:`nnlite.testing.vjp.check_adapted` checks with every check that applies to a function
(:data:`nnlite.testing.vjp.FUNCTION_CHECKS`). What the adapter adds for torch:

- Arrays cross into torch without copies: ``torch.from_numpy`` (the tensor shares the array's
  memory) and ``.numpy()`` back. So a Function that changes an input, a saved tensor or
  ``grad_output`` in place changes the checks' own arrays, and ``no_mutation`` names it. (An array
  torch cannot share, read-only or with negative strides, is copied.)
- The gradients checked are the ones the Function's ``backward`` returned, seen by a subclass of
  the Function whose backward records them: autograd would cast a gradient of the wrong dtype to
  the input's dtype, and hide that backward computed it in another precision.
- Everything runs in float64 and, for ``dtypes``, in float32, on CPU tensors.

Needs torch (``pip install "nnlite[torch]"``); imported when :func:`check_function` is called,
never by ``import nnlite`` or ``import nnlite.testing``.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from nnlite.errors import MissingExtraError
from nnlite.testing.function import Kind, check_adapted, is_strategy, slot_arguments
from nnlite.testing.gradcheck import GradientReport
from nnlite.typing import FloatArray, RngLike


def check_function(
    function: Any,
    *inputs: Any,
    constants: Iterable[str | int] = (),
    grad_y: ArrayLike | None = None,
    rng: RngLike = 0,
    independent_rows: bool = False,
    checks: str | Iterable[str] | None = None,
    max_examples: int | None = None,
) -> GradientReport | None:
    """Check a ``torch.autograd.Function`` subclass with every check that applies to a function.

    ``check_function(MyFunction, x, w)`` runs ``MyFunction.apply(x, w)`` and its backward through
    torch at that point, in float64 and float32, and checks: the gradients against finite
    differences (a relative error of 1e-6 is caught), finite values, determinism, no in-place
    change of an input, a saved tensor or ``grad_output``, the dtypes of the output and of every
    gradient backward returns, row independence (when ``independent_rows``) and directional
    derivatives (a wrong subgradient at a tie). See :mod:`nnlite.testing.vjp` for each.

    Which inputs are differentiated: a float tensor with ``requires_grad=True`` and every float
    numpy array or hypothesis strategy, except those named or numbered in ``constants``. A float
    tensor without ``requires_grad`` is a constant (as ``torch.autograd.gradcheck`` reads it). The
    first differentiated input is reported as "input"; the others by the names of ``forward``'s
    arguments. Anything else (an int, a Python float, None, an integer tensor) is passed as it is.
    The Function must return one tensor.

    Args:
        function: the ``torch.autograd.Function`` subclass (not an instance, not ``.apply``).
        *inputs: its inputs: tensors, numpy arrays, hypothesis strategies of arrays (then the
            check is a property test, as :func:`~nnlite.testing.check_vjp`'s), or other values.
        constants: names or positions of float inputs not to differentiate (a target).
        grad_y: the upstream gradient ``grad_output``; random normal from ``rng`` by default.
        rng: seed or Generator of the random upstream gradients and directions.
        independent_rows: the Function claims row i of its output depends on row i of the
            first differentiated input alone; then that is checked.
        checks: the names of the checks to run; default all that apply.
        max_examples: for a property test, the examples to try.

    Returns:
        The gradient report (max abs and relative error per tensor) at a fixed point; None for a
        property test.

    Raises:
        AssertionError: a check failed, or torch refused the Function's backward; the message
            names the check, the tensor, the index and the values.
        TypeError: ``function`` is not a Function subclass, or it returns more than one tensor.
        MissingExtraError: torch is not installed.

    Examples:
        The page "Testing a PyTorch autograd.Function" (docs/testing-torch.md) runs a full
        example: a fused sigmoid-MSE Function that passes, and a broken one that fails.
    """
    torch = _import_torch()
    if not (isinstance(function, type) and issubclass(function, torch.autograd.Function)):
        raise TypeError(
            f"check_function expects a torch.autograd.Function subclass, got {function!r}"
        )
    names = _forward_names(function, len(inputs))
    arguments, slots = slot_arguments(
        f"check_function({function.__name__})",
        inputs,
        names,
        constants,
        lambda value, constant: _classify(torch, value, constant),
        "float tensors with requires_grad=True, or numpy arrays",
    )
    kinds = [a.kind for a in arguments]
    record: dict[str, tuple[Any, ...]] = {}
    probe = _probe(function, record)

    def full(values: Sequence[Any]) -> list[Any]:
        return [inputs[i] if slot is None else values[slot] for i, slot in enumerate(slots)]

    def call(values: list[FloatArray]) -> FloatArray:
        with torch.no_grad():
            y = _run(
                function, "forward", lambda: probe.apply(*full([_tensor(torch, v) for v in values]))
            )
        return _array(torch, function, y)

    def pullback(values: list[FloatArray], upstream: FloatArray) -> list[FloatArray | None]:
        tensors = [_tensor(torch, v) for v in values]
        differentiated = [
            t.requires_grad_() for t, kind in zip(tensors, kinds, strict=True) if kind != "constant"
        ]
        y = _run(function, "forward", lambda: probe.apply(*full(tensors)))
        _array(torch, function, y)  # one tensor
        dtype = np.dtype(str(y.dtype).removeprefix("torch."))
        grad_output = _tensor(
            torch, upstream if upstream.dtype == dtype else upstream.astype(dtype)
        )
        record.clear()
        given = _run(
            function,
            "backward",
            lambda: torch.autograd.grad(y, differentiated, grad_output, allow_unused=True),
        )
        returned = record.get("grads", ())
        grads: list[FloatArray | None] = []
        for k, (position, tensor) in enumerate(
            (i, tensors[slot])
            for i, slot in enumerate(slots)
            if slot is not None and kinds[slot] != "constant"
        ):
            raw = returned[position] if position < len(returned) else None
            if isinstance(raw, torch.Tensor) and raw.shape == tensor.shape:
                grads.append(_array(torch, function, raw))  # as backward returned it
            elif raw is None:
                grads.append(None)
            else:  # a shape autograd reduced to the input's (a broadcast gradient)
                grads.append(_array(torch, function, given[k]))
        return grads

    return check_adapted(
        function.__name__,
        call,
        pullback,
        arguments,
        grad_y=grad_y,
        rng=rng,
        independent_rows=independent_rows,
        checks=checks,
        max_examples=max_examples,
    )


def _import_torch() -> Any:
    try:
        return importlib.import_module("torch")
    except ImportError as error:
        raise MissingExtraError(
            'nnlite.testing.torch needs torch: pip install "nnlite[torch]"'
        ) from error


def _forward_names(function: Any, count: int) -> list[str]:
    """The names of forward's arguments after ctx (``input3`` where they cannot be read)."""
    try:
        parameters = list(inspect.signature(function.forward).parameters.values())
    except (TypeError, ValueError):
        parameters = []
    own_setup = any(
        "setup_context" in vars(cls)
        for cls in function.__mro__
        if not cls.__module__.startswith("torch.")
    )
    if parameters and not own_setup:
        parameters = parameters[1:]  # ctx
    positional = [
        p.name
        for p in parameters
        if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]
    return [positional[i] if i < len(positional) else f"input{i}" for i in range(count)]


def _classify(torch: Any, value: Any, constant: bool) -> tuple[Kind | None, Any]:
    """The kind of an input ("parameter" for a differentiated one, "constant", or None for a value
    passed as it is) and its value as a numpy array (or strategy)."""
    if isinstance(value, torch.Tensor):
        if not value.is_floating_point():
            return None, value
        array = value.detach().cpu().numpy()
        return ("constant" if constant or not value.requires_grad else "parameter"), array
    if is_strategy(value) or (isinstance(value, np.ndarray) and value.dtype.kind == "f"):
        return ("constant" if constant else "parameter"), value
    return None, value


def _probe(function: Any, record: dict[str, tuple[Any, ...]]) -> Any:
    """A subclass of ``function`` whose backward records what the Function's backward returned."""

    def backward(ctx: Any, *grad_outputs: Any) -> Any:
        grads = function.backward(ctx, *grad_outputs)
        record["grads"] = grads if isinstance(grads, tuple) else (grads,)
        return grads

    return type(function.__name__, (function,), {"backward": staticmethod(backward)})


def _run(function: Any, phase: str, step: Any) -> Any:
    """``step()``, with torch's refusal of the Function's forward or backward as a failure."""
    try:
        return step()
    except RuntimeError as error:
        raise AssertionError(
            f"{function.__name__}: torch raised an error in {phase}: {error}"
        ) from error


def _tensor(torch: Any, array: FloatArray) -> Any:
    """The array as a CPU tensor sharing its memory (a copy only where torch cannot share it)."""
    if array.flags.writeable and array.dtype.isnative and min(array.strides, default=0) >= 0:
        return torch.from_numpy(array)
    return torch.tensor(array)


def _array(torch: Any, function: Any, tensor: Any) -> FloatArray:
    """A tensor's values as a numpy array sharing its memory."""
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(
            f"check_function({function.__name__}) checks a Function that returns one tensor; "
            f"it returned a {type(tensor).__name__}"
        )
    array: FloatArray = tensor.detach().cpu().numpy()
    return array


__all__ = ["check_function"]
