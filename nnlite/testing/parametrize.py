"""parametrize_with_checks: one pytest test per (layer, check), with readable ids.

In a test file of your own::

    from nnlite.testing import LayerCase, parametrize_with_checks

    @parametrize_with_checks([Scale, LayerCase(lambda: Conv1d(3, 4, 2), input_shape=(3, 8))])
    def test_layer(check):
        check()

collects ``test_layer[Scale-gradients]``, ``test_layer[Scale-accumulates]``, ...,
``test_layer[Conv1d-boundary]``: each runs :func:`~nnlite.testing.check_layer` with that one check,
so a failure says which layer broke which part of the contract before you open it. This is
scikit-learn's ``parametrize_with_checks``, for layers. It needs pytest (``nnlite[test]``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from nnlite.layer import Layer
from nnlite.testing.checks import LAYER_CHECKS, by_name
from nnlite.testing.property import InputShape, check_layer

_F = TypeVar("_F", bound=Callable[..., Any])


@dataclass(frozen=True)
class LayerCase:
    """A layer factory and how to test it: the arguments of :func:`~nnlite.testing.check_layer`.

    Args:
        factory: as for ``check_layer``.
        input_shape: as for ``check_layer``.
        name: the first part of the test ids; default: the class name of a layer the factory
            makes (it is called once, at collection).
        options: any other keyword arguments of ``check_layer`` (``max_batch``,
            ``max_magnitude``, ``max_examples``, ``randomize_parameters``, ...).
    """

    factory: Callable[..., Layer]
    input_shape: InputShape | None = None
    name: str | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def id(self) -> str:
        """The name shown in test ids."""
        if self.name is not None:
            return self.name
        if self.input_shape is None:
            return type(self.factory(1)).__name__
        if isinstance(self.input_shape, tuple):
            return type(self.factory()).__name__
        name = getattr(self.factory, "__name__", "layer")
        return "layer" if name == "<lambda>" else name

    def run(self, check: str) -> None:
        """``check_layer`` on this case with the one named check."""
        check_layer(self.factory, input_shape=self.input_shape, checks=check, **self.options)


def parametrize_with_checks(
    cases: Iterable[LayerCase | Callable[..., Layer]],
    *,
    checks: str | Iterable[str] | None = None,
) -> Callable[[_F], _F]:
    """A pytest decorator: the test runs once per (case, check), as ``test(check)``, where
    ``check()`` runs that check on that case by :func:`~nnlite.testing.check_layer`.

    Args:
        cases: layer factories (as ``check_layer`` takes them: ``factory(n_features)``) or
            :class:`LayerCase` objects for other input shapes, names and options.
        checks: the names of the checks to run; default every one in
            :data:`~nnlite.testing.checks.LAYER_CHECKS`.

    Returns:
        ``pytest.mark.parametrize("check", ...)`` with ids ``"<layer>-<check>"``.
    """
    import pytest

    selected = LAYER_CHECKS if checks is None else by_name(checks)
    params = []
    for case in cases:
        layer_case = case if isinstance(case, LayerCase) else LayerCase(case)
        name = layer_case.id()
        for check in selected:
            run = functools.partial(layer_case.run, check.name)
            params.append(pytest.param(run, id=f"{name}-{check.name}"))
    return pytest.mark.parametrize("check", params)
