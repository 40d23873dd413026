"""The conformance checks of a function: the adapter that runs them, and the checks that apply.

A function ``y = f(x, *params)`` with a hand-written ``vjp(x, *params, grad_y) -> (grad_x,
*grad_params)`` is a layer without state: forward is f, backward is the vjp. So it is checked by
the very checks of :mod:`nnlite.testing.checks`, run on an adapter, :class:`Function`, a Layer
whose parameters are nnlite Parameters whose ``.grad`` the adapter fills from the vjp. The checks
that apply to a pure function, in suite order (:data:`FUNCTION_CHECKS`):

- ``gradients``: dL/dx and every dL/dparameter against finite differences;
- ``finite``: NaN or inf in the output or a gradient at a finite input;
- ``deterministic``: two calls at one point agree;
- ``no_mutation``: f and the vjp leave x, every parameter and constant, and grad_y as they were
  (the vjp included: it is handed the very arrays f was);
- ``dtypes``: float32 in gives float32 out, output and every gradient, and float64 stays float64;
  the float32 results agree with float64 ones within float32 rounding;
- ``row_independent``, only when claimed (``independent_rows=True``): row i of y depends on row i
  of x alone, and the parameter gradients of a batch are the sum of its rows';
- ``directional``: u . J v from finite differences equals the vjp's ``grad_x . v`` along random
  joint directions, which catches a subgradient wrong for a joint move (every tied maximum given
  the full gradient).

The others do not apply: ``accumulates`` (the adapter does the ``+=``), ``round_trip`` (nothing to
save), ``boundary`` (the adapter is the boundary), and ``no_aliasing``, ``repeatable_backward`` and
``pure`` (a function holds no cache or state between calls; ``no_mutation`` and ``deterministic``
see what a vjp that changes its arguments would do to a second call).

:func:`check_adapted` is the core that :func:`nnlite.testing.check_vjp` (a numpy function and its
vjp), :func:`nnlite.testing.torch.check_function` (a ``torch.autograd.Function``) and
:func:`nnlite.testing.jax.check_custom_vjp` (a ``jax.custom_vjp`` function) share: each turns
its subject into ``call`` and ``pullback`` on numpy arrays.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike

from nnlite._validation import as_float_array
from nnlite.errors import ShapeError
from nnlite.layer import Layer
from nnlite.parameter import Buffer, Parameter
from nnlite.testing import checks
from nnlite.testing._pinning import replica, tensors_of
from nnlite.testing.checks import LAYER_CHECKS, LayerCheck
from nnlite.testing.checks._run import start
from nnlite.testing.checks.contract import _unchanged
from nnlite.testing.gradcheck import GradientReport, check_gradients, upstream_generator
from nnlite.testing.property import _digest
from nnlite.typing import FloatArray, RngLike

Call = Callable[[list[FloatArray]], Any]
"""``call(arguments) -> y``: the function of its arguments, in their order."""
Pullback = Callable[[list[FloatArray], FloatArray], Sequence[Any]]
"""``pullback(arguments, grad_y) -> gradients``: one gradient (or None, for zero) per argument of
kind "input" or "parameter", in their order."""
Kind = Literal["input", "parameter", "constant"]


@dataclass(frozen=True)
class Argument:
    """One argument of an adapted function: its name, its kind, and its value.

    Attributes:
        name: as in reports and messages (the input is reported as "input").
        kind: "input" (x: the first differentiable argument, whose rows are the batch),
            "parameter" (differentiated too), or "constant" (not differentiated: a target, a mask;
            it follows the dtype of the check, float32 in the float32 run).
        value: an array, or a hypothesis strategy of arrays (then the check is a property test).
    """

    name: str
    kind: Kind
    value: Any


class _Shared:
    """Holds the callables: a deep copy of the adapter shares them instead of copying them."""

    def __init__(self, call: Call, pullback: Pullback) -> None:
        self.call, self.pullback = call, pullback

    def __deepcopy__(self, memo: dict[int, Any]) -> _Shared:
        return self


class Function(Layer):
    """y = f(x, *params, *constants), with backward given by the function's vjp: an adapter that
    lets the conformance checks run on a function as on a layer.

    The parameters become :class:`~nnlite.Parameter` objects and the constants
    :class:`~nnlite.Buffer` objects, under their own names; forward calls the function with the
    arrays as they are (no copies: a function that changes its arguments changes the checks'
    arrays, which is how ``no_mutation`` sees it), and backward calls the vjp with the input forward
    was given, adding each parameter gradient into ``.grad`` in the dtype the vjp returned it in.
    A gradient of None counts as zero, as in PyTorch and JAX.

    Args:
        name: the function's name, shown in messages as ``Function(name)``.
        call: ``call(arguments) -> y``, the arguments in the order of ``arguments``.
        pullback: ``pullback(arguments, grad_y) -> gradients`` for the input and the parameters.
        arguments: the arguments, in call order; exactly one of kind "input".
    """

    def __init__(self, name: str, call: Call, pullback: Pullback, arguments: list[Argument]):
        inputs = [argument.name for argument in arguments if argument.kind == "input"]
        if len(inputs) != 1:
            raise ValueError(f"Function({name}): needs exactly one input argument, got {inputs}")
        self.name = name
        self._callables = _Shared(call, pullback)
        self._kinds = [argument.kind for argument in arguments]
        self._names = [argument.name for argument in arguments]
        self._tensors: list[Parameter | Buffer | None] = [
            None
            if argument.kind == "input"
            else (Parameter if argument.kind == "parameter" else Buffer)(argument.value)
            for argument in arguments
        ]

    def _members(self) -> Any:
        for name, tensor in zip(self._names, self._tensors, strict=True):
            if tensor is not None:
                yield name, tensor

    def _arguments(self, x: FloatArray) -> list[FloatArray]:
        return [x if tensor is None else tensor.data for tensor in self._tensors]

    def forward(self, x: FloatArray) -> FloatArray:
        """y = f(x, *params, *constants)."""
        self.x = x  # the vjp is given the very array forward was
        return np.asarray(self._callables.call(self._arguments(x)))

    def backward(self, grad_y: FloatArray) -> FloatArray:
        """grad_x from the vjp; each parameter's gradient added into its ``.grad``."""
        differentiable = [
            (name, tensor)
            for name, kind, tensor in zip(self._names, self._kinds, self._tensors, strict=True)
            if kind != "constant"
        ]
        grads = list(self._callables.pullback(self._arguments(self.x), grad_y))
        if len(grads) != len(differentiable):
            names = ", ".join(name for name, _ in differentiable)
            raise ShapeError(
                f"{self.name}: the vjp must return {len(differentiable)} gradients ({names}), "
                f"returned {len(grads)}"
            )
        grad_x = self.x * 0 if grads[0] is None else as_float_array(grads[0], self.name, "grad_x")
        for (name, tensor), grad in zip(differentiable[1:], grads[1:], strict=True):
            if grad is None or not isinstance(tensor, Parameter):
                continue
            grad = as_float_array(grad, self.name, f"the gradient of {name}")
            if grad.shape != tensor.shape:
                raise ShapeError(
                    f"{self.name}: the vjp's gradient of {name} must have its shape "
                    f"{tensor.shape}, got {grad.shape}"
                )
            # In the vjp's dtype, so that the dtypes check sees a gradient in the wrong one.
            tensor.grad = np.add(tensor.grad, grad, dtype=grad.dtype)
        return grad_x

    def extra_repr(self) -> str:
        return self.name


def _no_mutation(
    layer: Layer, x: ArrayLike, *, grad_y: ArrayLike | None = None, rng: RngLike = 0
) -> None:
    """:func:`nnlite.testing.checks.check_no_mutation`, and then: the vjp leaves x as forward was
    given it, and neither call changes a constant."""
    checks.check_no_mutation(layer, x, grad_y=grad_y, rng=rng)
    run = start("no_mutation", layer, x, grad_y, rng)
    given_x = run.x.copy()
    before = {name: tensor.data.copy() for name, tensor in tensors_of(layer)}  # as given
    run.pinned.forward(given_x)
    run.layer.backward(run.grad_y.copy())
    _unchanged(run, "the vjp", "its input x", given_x, run.x)
    for name, tensor in tensors_of(run.layer):
        what = f"constant '{name}'" if isinstance(tensor, Buffer) else f"parameter '{name}'"
        _unchanged(run, "forward or backward", what, tensor.data, before[name])


def _function_checks() -> tuple[LayerCheck, ...]:
    by_name = {check.name: check for check in LAYER_CHECKS}
    no_mutation = LayerCheck(
        "no_mutation",
        _no_mutation,
        "forward or the vjp changing x, a parameter, a constant or grad_y in place",
        "grad_output.mul_(mask) in backward",
    )
    names = ("gradients", "finite", "deterministic", "dtypes", "row_independent", "directional")
    chosen = {name: by_name[name] for name in names} | {"no_mutation": no_mutation}
    return tuple(chosen[check.name] for check in LAYER_CHECKS if check.name in chosen)


FUNCTION_CHECKS: tuple[LayerCheck, ...] = _function_checks()
"""The checks that apply to a function, in suite order; ``row_independent`` runs only when the
function claims independent rows."""


def check_adapted(
    name: str,
    call: Call,
    pullback: Pullback,
    arguments: list[Argument],
    *,
    grad_y: ArrayLike | None = None,
    rng: RngLike = 0,
    independent_rows: bool = False,
    checks: str | Iterable[str] | None = None,
    max_examples: int | None = None,
    skip: Mapping[str, str] | None = None,
) -> GradientReport | None:
    """The core the adapters share: run the function checks on ``Function(name, call, pullback,
    arguments)``, at one point or, when a value is a hypothesis strategy, as a property test.

    ``skip`` maps the checks that cannot apply to the framework to the reason (JAX arrays cannot
    be changed in place); asking for one of them is a ValueError that gives it. The other
    arguments are those of :func:`~nnlite.testing.check_vjp`.
    """
    selected = _select(checks, independent_rows, skip or {})
    if not any(is_strategy(argument.value) for argument in arguments):
        return _check_point(name, call, pullback, arguments, grad_y, rng, selected)
    _check_property(name, call, pullback, arguments, selected, max_examples)
    return None


def _select(
    checks: str | Iterable[str] | None, independent_rows: bool, skip: Mapping[str, str]
) -> tuple[LayerCheck, ...]:
    known = {check.name: check for check in FUNCTION_CHECKS}
    if checks is None:
        wanted = [name for name in known if independent_rows or name != "row_independent"]
    else:
        wanted = [checks] if isinstance(checks, str) else list(checks)
    unknown = [name for name in wanted if name not in known]
    if unknown:
        raise ValueError(
            f"no function check named {', '.join(map(repr, unknown))}; the checks are "
            + ", ".join(known)
        )
    if checks is not None:
        for name in wanted:
            if name in skip:
                raise ValueError(f"the check {name!r} does not apply here: {skip[name]}")
    return tuple(
        check for check in FUNCTION_CHECKS if check.name in wanted and check.name not in skip
    )


def _check_point(
    name: str,
    call: Call,
    pullback: Pullback,
    arguments: list[Argument],
    grad_y: ArrayLike | None,
    rng: RngLike,
    selected: tuple[LayerCheck, ...],
) -> GradientReport | None:
    values = _as_arrays(name, arguments)
    x = next(a.value for a in values if a.kind == "input")
    function = Function(name, call, pullback, values)
    generator = upstream_generator(rng)
    signs: tuple[float, ...] = (1.0,)
    if grad_y is None:
        # A random upstream gradient u, and for the gradients -u too: a scalar output has an
        # upstream gradient of one sign, and a backward right for that sign only
        # (grad_output.abs()) would pass with u alone.
        output = np.asarray(replica(function)(x.copy()))  # a copy: f may change its arguments
        grad_y = generator.standard_normal(output.shape).astype(output.dtype)
        signs = (1.0, -1.0)
    report = None
    for check in selected:
        if check.name == "gradients":
            upstream = np.asarray(grad_y)
            reports = [check_gradients(function, x, grad_y=s * upstream) for s in signs]
            report = reports[0]
        else:
            check.function(function, x, grad_y=grad_y, rng=generator)
    return report


def _check_property(
    name: str,
    call: Call,
    pullback: Pullback,
    arguments: list[Argument],
    selected: tuple[LayerCheck, ...],
    max_examples: int | None,
) -> None:
    try:
        from hypothesis import HealthCheck, Phase, given, settings
        from hypothesis import strategies as st
    except ImportError as error:  # pragma: no cover - exercised only without the test extra
        raise ImportError(
            'a property test of a function needs hypothesis: pip install "nnlite[test]"'
        ) from error
    from nnlite.testing import strategies as nst

    overrides: dict[str, Any] = {
        "deadline": None,
        "suppress_health_check": [HealthCheck.too_slow, HealthCheck.filter_too_much],
        "report_multiple_bugs": False,
        "phases": [phase for phase in settings().phases if phase != Phase.explain],
    }
    if max_examples is not None:
        overrides["max_examples"] = max_examples

    def check_one_example(data: st.DataObject) -> None:
        drawn = [
            Argument(a.name, a.kind, data.draw(a.value, label=a.name))
            if is_strategy(a.value)
            else a
            for a in arguments
        ]
        values = _as_arrays(name, drawn)
        x = next(a.value for a in values if a.kind == "input")
        function = Function(name, call, pullback, values)
        output_shape = np.shape(replica(function)(np.array(x, copy=True)))
        grad_y = data.draw(nst.arrays(output_shape), label="grad_y")
        for check in selected:
            check.function(function, x, grad_y=grad_y)

    check_one_example._hypothesis_internal_add_digest = _digest(  # type: ignore[attr-defined]
        call, name, selected
    )
    settings(**overrides)(given(data=st.data())(check_one_example))()


def _as_arrays(name: str, arguments: list[Argument]) -> list[Argument]:
    """The arguments with their values as float arrays, by nnlite's dtype rule."""
    return [
        Argument(a.name, a.kind, as_float_array(a.value, f"Function({name})", a.name))
        for a in arguments
    ]


def is_strategy(value: object) -> bool:
    """Whether ``value`` is a hypothesis strategy (without importing hypothesis)."""
    strategies = sys.modules.get("hypothesis.strategies")
    return strategies is not None and isinstance(value, strategies.SearchStrategy)


def argument_names(f: Callable[..., Any]) -> list[str]:
    """The names of f's positional parameters ([] when they cannot be read)."""
    try:
        signature = inspect.signature(f)
    except (TypeError, ValueError):
        return []
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return [name for name, p in signature.parameters.items() if p.kind in kinds]


Classify = Callable[[Any, bool], tuple[Kind | None, Any]]


def slot_arguments(
    caller: str,
    inputs: Sequence[Any],
    names: Sequence[str],
    constants: Iterable[int | str],
    classify: Classify,
    hint: str,
) -> tuple[list[Argument], list[int | None]]:
    """The checked arguments of a framework function, and where each input goes.

    ``classify(value, marked_constant)`` gives an input's kind ("parameter", "constant", or None
    for a value passed through as it is) and its value as a numpy array or strategy; ``hint``
    says, in the error, what to pass instead. The first
    differentiated input becomes the "input" the checks perturb first. ``slots[i]`` is input i's
    index in the arguments, or None for a passed-through value.

    Raises:
        ValueError: no input is differentiated.
    """
    marked = {str(c) for c in constants}
    arguments: list[Argument] = []
    slots: list[int | None] = []
    for position, (name, value) in enumerate(zip(names, inputs, strict=True)):
        kind, array = classify(value, name in marked or str(position) in marked)
        if kind is None:
            slots.append(None)
            continue
        if kind != "constant" and not any(a.kind == "input" for a in arguments):
            kind = "input"
        slots.append(len(arguments))
        arguments.append(Argument(name, kind, array))
    if not any(a.kind == "input" for a in arguments):
        raise ValueError(
            f"{caller}: no input is differentiated; pass {hint}, not all of them constants"
        )
    return arguments, slots


__all__ = [
    "FUNCTION_CHECKS",
    "Argument",
    "Function",
    "argument_names",
    "check_adapted",
    "is_strategy",
    "slot_arguments",
]
