"""The layer conformance suite: named checks, each a public function ``check_<name>(layer, x)``.

Every check has the signature ``check_<name>(layer, x, *, grad_y=None, rng=0)``. It runs on copies
(the layer, its parameters and gradients, ``x`` and ``grad_y`` are left as they were), returns None
when the layer keeps its part of the contract, and raises an ``AssertionError`` whose message
starts ``check_<name>(<layer>) failed:`` and says what broke, where, and by how much.
:func:`nnlite.testing.check_layer` runs them all on drawn examples; :data:`LAYER_CHECKS` lists
them in the order it runs them, with what each catches.

Randomness and state are held fixed where a check needs a deterministic function: a layer that
declares ``stochastic`` gets a fresh generator of one seed before each forward, a layer that
declares ``stateful`` gets its buffers back. A random upstream gradient (when ``grad_y`` is not
given) and every random direction come from ``rng`` through
:func:`~nnlite.testing.gradcheck.upstream_generator`, a stream independent of the data's seed.

Examples:
    >>> from nnlite.testing import checks
    >>> checks.check_accumulates(nl.Linear(3, 2, rng=0), np.ones((4, 3)))
    >>> [check.name for check in checks.LAYER_CHECKS][:3]
    ['gradients', 'finite', 'deterministic']
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from nnlite.testing.checks.contract import (
    check_accumulates,
    check_boundary,
    check_no_aliasing,
    check_no_mutation,
    check_pure,
    check_repeatable_backward,
)
from nnlite.testing.checks.numeric import (
    check_deterministic,
    check_directional,
    check_dtypes,
    check_finite,
    check_gradients,
)
from nnlite.testing.checks.structure import check_round_trip, check_row_independent


@dataclass(frozen=True)
class LayerCheck:
    """One named check of the suite.

    Attributes:
        name: its name, as in test ids (``test_layer[Dropout-accumulates]``) and in
            ``check_<name>``.
        function: ``check_<name>(layer, x, *, grad_y=None, rng=0)``.
        catches: what it catches, in a few words.
        example: a bug it catches that a single finite-difference comparison misses (or, for
            ``gradients``, the bug it exists for).
    """

    name: str
    function: Callable[..., None]
    catches: str
    example: str


LAYER_CHECKS: tuple[LayerCheck, ...] = (
    LayerCheck(
        "gradients",
        check_gradients,
        "dL/dx and every dL/dparameter against finite differences",
        "a weight gradient off by a relative 1e-6",
    ),
    LayerCheck(
        "finite",
        check_finite,
        "NaN or inf in the output or a gradient at a finite input",
        "a forward that returns NaN with a backward that returns 42",
    ),
    LayerCheck(
        "deterministic",
        check_deterministic,
        "a forward that differs between two calls at one point",
        "a Dropout that does not declare stochastic = True",
    ),
    LayerCheck(
        "accumulates",
        check_accumulates,
        "backward that assigns .grad, zero_grad that misses one, backward_parameters that "
        "disagrees",
        "self.weight.grad = ... instead of +=",
    ),
    LayerCheck(
        "no_mutation",
        check_no_mutation,
        "forward or backward that changes its argument or a parameter in place",
        "grad_y *= mask in backward",
    ),
    LayerCheck(
        "no_aliasing",
        check_no_aliasing,
        "a returned array that a later call overwrites",
        "np.multiply(x, w, out=self.buffer); return self.buffer",
    ),
    LayerCheck(
        "repeatable_backward",
        check_repeatable_backward,
        "backward that consumes or changes forward's cache",
        "self.x *= grad_y in backward",
    ),
    LayerCheck(
        "pure",
        check_pure,
        "a forward that depends on earlier batches (undeclared state)",
        "a running mean used in training without stateful = True",
    ),
    LayerCheck(
        "dtypes",
        check_dtypes,
        "float32 in, float64 out; float32 gradients off by more than float32 rounding",
        "grad_x built with np.zeros(x.shape) (float64) for a float32 x",
    ),
    LayerCheck(
        "row_independent",
        check_row_independent,
        "rows of a batch that influence each other, unless mixes_rows is declared",
        "y = x - x.mean(axis=0) without mixes_rows = True",
    ),
    LayerCheck(
        "directional",
        check_directional,
        "a subgradient wrong for a joint move of several inputs",
        "every tied maximum getting the full gradient",
    ),
    LayerCheck(
        "round_trip",
        check_round_trip,
        "state_dict, load_state_dict, get_config and nl.save / nl.load that lose something",
        "a get_config that forgets an argument",
    ),
    LayerCheck(
        "boundary",
        check_boundary,
        "an override that bypasses the base class's checks",
        "a __call__ that runs a forward the base class never sees",
    ),
)
"""Every check, in the order :func:`~nnlite.testing.check_layer` runs them."""


def by_name(names: object) -> tuple[LayerCheck, ...]:
    """The checks named in ``names`` (a str or an iterable of str), in suite order.

    Raises:
        ValueError: a name is not a check's; the message lists the names.
    """
    wanted = [names] if isinstance(names, str) else list(names)  # type: ignore[call-overload]
    known = {check.name: check for check in LAYER_CHECKS}
    unknown = [name for name in wanted if name not in known]
    if unknown:
        raise ValueError(
            f"no check named {', '.join(map(repr, unknown))}; the checks are " + ", ".join(known)
        )
    return tuple(check for check in LAYER_CHECKS if check.name in wanted)


__all__ = [
    "LAYER_CHECKS",
    "LayerCheck",
    "by_name",
    "check_accumulates",
    "check_boundary",
    "check_deterministic",
    "check_directional",
    "check_dtypes",
    "check_finite",
    "check_gradients",
    "check_no_aliasing",
    "check_no_mutation",
    "check_pure",
    "check_repeatable_backward",
    "check_round_trip",
    "check_row_independent",
]
