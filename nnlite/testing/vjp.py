"""check_vjp: the conformance suite for a numpy function and its hand-written vjp.

A function ``y = f(x, *params)`` with a hand-written ``vjp(x, *params, grad_y) -> (grad_x,
*grad_params)`` is a layer without state: forward is f, backward is the vjp. So it is checked by
the checks of :mod:`nnlite.testing.checks` that apply to a function
(:data:`nnlite.testing.function.FUNCTION_CHECKS`), run on the adapter
:class:`nnlite.testing.function.Function`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from nnlite.testing._arguments import Argument, Kind, argument_names
from nnlite.testing.function import check_adapted
from nnlite.testing.gradcheck import GradientReport
from nnlite.typing import FloatArray, RngLike


def check_vjp(
    f: Callable[..., ArrayLike],
    vjp: Callable[..., Sequence[ArrayLike | None]],
    x: Any,
    *,
    params: Sequence[Any] | Mapping[str, Any] = (),
    constants: Sequence[Any] | Mapping[str, Any] = (),
    grad_y: ArrayLike | None = None,
    rng: RngLike = 0,
    independent_rows: bool = False,
    checks: str | Iterable[str] | None = None,
    max_examples: int | None = None,
) -> GradientReport | None:
    """Check a function's hand-written vjp with every check that applies to a function.

    ``f(x, *params, *constants) -> y`` and ``vjp(x, *params, *constants, grad_y) -> (grad_x,
    *grad_params)``, plain numpy functions. The checks are those of :data:`FUNCTION_CHECKS`, run
    on the adapter :class:`Function`: gradients against finite differences, finite values,
    determinism, no mutation, dtypes, row independence (when claimed) and directional derivatives.

    Each of ``x``, the params and the constants is an array or a hypothesis strategy of arrays.
    With arrays it checks that one point (and returns the gradient report); with a strategy it is
    a property test, as :func:`~nnlite.testing.check_layer` is: hypothesis draws the values and an
    upstream gradient and shrinks a failure to the smallest example.

    Args:
        f: the function.
        vjp: its vector-Jacobian product; a gradient of None counts as zero.
        x: the input (its first axis the batch, for ``independent_rows``).
        params: the other differentiated arguments, in order: a sequence (named after f's
            arguments) or a mapping of names to values.
        constants: arguments after the params that are not differentiated (a target, a mask), in
            order, as for params. In the float32 check they are float32 too.
        grad_y: the upstream gradient dL/dy; by default random normal, from ``rng``.
        rng: seed or Generator of the random upstream gradients and directions.
        independent_rows: the function claims that row i of y depends on row i of x alone; then
            that is checked.
        checks: the names of the checks to run; default all of :data:`FUNCTION_CHECKS`.
        max_examples: for a property test, the examples to try; default the hypothesis profile's.

    Returns:
        The :class:`~nnlite.testing.GradientReport` of the gradients check when the values are
        arrays (and ``gradients`` is run); None for a property test.

    Raises:
        AssertionError: a check failed; the message starts ``check_<name>(Function(f)) failed:``
            and says what, where and by how much.
        ShapeError: the vjp returned the wrong number of gradients, or one of the wrong shape.

    Examples:
        >>> from nnlite.testing import check_vjp
        >>> def f(x, w):
        ...     return np.tanh(x @ w)
        >>> def vjp(x, w, grad_y):
        ...     grad_h = grad_y * (1 - np.tanh(x @ w) ** 2)
        ...     return grad_h @ w.T, x.T @ grad_h
        >>> report = check_vjp(f, vjp, np.ones((4, 3)), params=[np.eye(3)])
        >>> [t.name for t in report.tensors]
        ['input', 'w']
    """
    names = argument_names(f)
    arguments = [Argument(names[0] if names else "x", "input", x)]
    arguments += _named("parameter", params, names[1:], "param")
    arguments += _named("constant", constants, names[len(arguments) :], "constant")

    def call(values: list[FloatArray]) -> Any:
        return f(*values)

    def pullback(values: list[FloatArray], upstream: FloatArray) -> Sequence[Any]:
        grads = vjp(*values, upstream)
        return (grads,) if isinstance(grads, np.ndarray) else grads

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
    )


def _named(
    kind: Kind, values: Sequence[Any] | Mapping[str, Any], names: Sequence[str], prefix: str
) -> list[Argument]:
    if isinstance(values, Mapping):
        return [Argument(str(name), kind, value) for name, value in values.items()]
    return [
        Argument(names[i] if i < len(names) else f"{prefix}{i}", kind, value)
        for i, value in enumerate(values)
    ]


__all__ = ["check_vjp"]
