"""check_custom_vjp: the conformance suite for a function with a ``jax.custom_vjp`` rule.

The function runs through JAX (``f(*args)`` for forward, ``jax.vjp`` and its pullback for
backward, both under ``jax.jit`` by default, as they run in a training step), adapted to a numpy
function and its vjp that :func:`nnlite.testing.vjp.check_adapted` checks with every check that
applies to a function (:data:`nnlite.testing.vjp.FUNCTION_CHECKS`), but ``no_mutation``: a JAX
array cannot be changed in place. Everything runs with 64-bit types enabled for the duration of
the check (``jax.enable_x64``), so the float64 checks are float64 and the float32 check sees what
a float32 input gives, such as a float64 ``jnp.zeros(shape)`` in the rule.

Needs jax (``pip install "nnlite[jax]"``); imported when :func:`check_custom_vjp` is called,
never by ``import nnlite`` or ``import nnlite.testing``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from nnlite.errors import MissingExtraError
from nnlite.testing.function import Kind, argument_names, check_adapted, is_strategy, slot_arguments
from nnlite.testing.gradcheck import GradientReport
from nnlite.typing import FloatArray, RngLike


def check_custom_vjp(
    f: Callable[..., Any],
    *inputs: Any,
    constants: Iterable[str | int] = (),
    grad_y: ArrayLike | None = None,
    rng: RngLike = 0,
    independent_rows: bool = False,
    checks: str | Iterable[str] | None = None,
    max_examples: int | None = None,
    jit: bool = True,
) -> GradientReport | None:
    """Check a function with a ``jax.custom_vjp`` rule with every check that applies.

    ``check_custom_vjp(f, x, w)`` checks, at that point, in float64 and float32: the gradients of
    the rule against finite differences (a relative error of 1e-6 is caught), finite values,
    determinism, the dtypes of the output and of every gradient, row independence (when
    ``independent_rows``) and directional derivatives (a wrong subgradient at a tie). See
    :mod:`nnlite.testing.vjp` for each. Any function JAX can differentiate is accepted; a
    ``custom_vjp`` rule is what there is to check.

    Every float numpy array (or JAX array, or hypothesis strategy) among the inputs is
    differentiated, except those named or numbered in ``constants``; the first is reported as
    "input", the others by the names of f's arguments. Other values (ints, Python floats, None)
    are passed as they are, as ``nondiff_argnums`` take them. f must return one array.

    Args:
        f: the function, usually decorated with ``@jax.custom_vjp``.
        *inputs: its inputs: arrays, hypothesis strategies of arrays (then the check is a property
            test), or other values.
        constants: names or positions of array inputs not to differentiate (a target).
        grad_y: the upstream gradient; random normal from ``rng`` by default.
        rng: seed or Generator of the random upstream gradients and directions.
        independent_rows: f claims row i of its output depends on row i of the first
            differentiated input alone; then that is checked.
        checks: the names of the checks to run; default all that apply.
        max_examples: for a property test, the examples to try.
        jit: run forward and backward under ``jax.jit`` (default). Without it each call is
            dispatched op by op, a hundred times slower, but Python code in f runs every call.

    Returns:
        The gradient report at a fixed point; None for a property test.

    Raises:
        AssertionError: a check failed; the message names the check, the tensor, the index and
            the values.
        MissingExtraError: jax is not installed.

    Examples:
        The page "Testing a JAX custom_vjp" (docs/testing-jax.md) runs a full example: a
        sigmoid-MSE with a custom rule that passes, and a broken one that fails.
    """
    jax, jnp = _import_jax()
    names = argument_names(f)
    names = [names[i] if i < len(names) else f"input{i}" for i in range(len(inputs))]
    arguments, slots = slot_arguments(
        f"check_custom_vjp({getattr(f, '__name__', f)!r})",
        inputs,
        names,
        constants,
        lambda value, constant: _classify(jax, jnp, value, constant),
        "float arrays",
    )
    kinds = [a.kind for a in arguments]
    differentiated = [i for i, kind in enumerate(kinds) if kind != "constant"]

    def full(values: list[Any]) -> list[Any]:
        return [inputs[i] if slot is None else values[slot] for i, slot in enumerate(slots)]

    def forward(*values: Any) -> Any:
        return f(*full(list(values)))

    def backward(values: list[Any], upstream: Any) -> Any:
        def of_differentiated(*moving: Any) -> Any:
            merged = list(values)
            for i, value in zip(differentiated, moving, strict=True):
                merged[i] = value
            return forward(*merged)

        y, pull = jax.vjp(of_differentiated, *(values[i] for i in differentiated))
        return pull(upstream.astype(y.dtype))  # the cotangent must have y's dtype

    run_forward = jax.jit(forward) if jit else forward
    run_backward = jax.jit(backward) if jit else backward

    def call(values: list[FloatArray]) -> FloatArray:
        return _array(f, run_forward(*[jnp.asarray(v) for v in values]))

    def pullback(values: list[FloatArray], upstream: FloatArray) -> list[FloatArray]:
        grads = run_backward([jnp.asarray(v) for v in values], jnp.asarray(upstream))
        return [_array(f, g) for g in grads]

    with jax.enable_x64(True):
        return check_adapted(
            getattr(f, "__name__", type(f).__name__),
            call,
            pullback,
            arguments,
            grad_y=grad_y,
            rng=rng,
            independent_rows=independent_rows,
            checks=checks,
            max_examples=max_examples,
            skip={"no_mutation": "a JAX array cannot be changed in place"},
        )


def _classify(jax: Any, jnp: Any, value: Any, constant: bool) -> tuple[Kind | None, Any]:
    """The kind of an input ("parameter" for a differentiated one, "constant", or None for a value
    passed as it is) and its value as a numpy array (or strategy)."""
    if isinstance(value, jax.Array) and jnp.issubdtype(value.dtype, jnp.floating):
        value = np.asarray(value)
    if is_strategy(value) or (isinstance(value, np.ndarray) and value.dtype.kind == "f"):
        return ("constant" if constant else "parameter"), value
    return None, value


def _import_jax() -> tuple[Any, Any]:
    try:
        return importlib.import_module("jax"), importlib.import_module("jax.numpy")
    except ImportError as error:
        raise MissingExtraError(
            'nnlite.testing.jax needs jax: pip install "nnlite[jax]"'
        ) from error


def _array(f: Callable[..., Any], value: Any) -> FloatArray:
    """A JAX array's values as a numpy array (no copy on CPU)."""
    array = np.asarray(value)
    if array.dtype == object:
        raise TypeError(
            f"check_custom_vjp({getattr(f, '__name__', f)!r}) checks a function that returns one "
            f"array; it returned a {type(value).__name__}"
        )
    result: FloatArray = array
    return result


__all__ = ["check_custom_vjp"]
