"""nnlite.testing: the gradient-testing toolkit and the layer conformance suite.

- :func:`check_gradients` compares a layer's, a network's or a loss's backward with finite
  differences, with a tolerance derived from an estimate of the finite-difference error.
- :mod:`nnlite.testing.checks` holds the named checks of the conformance suite, each a public
  function ``check_<name>(layer, x)``: gradients, finite values, determinism, accumulation, no
  mutation, no aliasing, a repeatable backward, purity, dtypes, row independence, directional
  derivatives, round trips and the boundary.
- :func:`check_layer` runs the whole suite as a property test: one call, hypothesis draws the rest;
  :func:`check_loss` does the same for a loss, with :mod:`nnlite.testing.checks.losses`.
- :func:`parametrize_with_checks` turns a list of layers into one pytest test per (layer, check),
  ``test_layer[Dropout-accumulates]``.
- :func:`check_vjp` runs the checks that apply to a function on a plain numpy function and its
  hand-written vjp; :func:`nnlite.testing.torch.check_function` on a ``torch.autograd.Function``
  and :func:`nnlite.testing.jax.check_custom_vjp` on a ``jax.custom_vjp`` function (imported only
  when their modules are: ``import nnlite.testing`` imports neither torch nor jax).
- :mod:`nnlite.testing.strategies` has the hypothesis strategies (arrays of any shape, batch
  shapes, inputs, Linear configurations, two-layer networks) for tests of your own.

``check_gradients`` and the checks need only numpy; ``check_layer``, ``parametrize_with_checks``
and the strategies need hypothesis (and pytest), ``pip install "nnlite[test]"``, imported only
when they are used.
"""

from nnlite.testing import checks
from nnlite.testing.gradcheck import GradientReport, TensorCheck, check_gradients
from nnlite.testing.parametrize import LayerCase, parametrize_with_checks
from nnlite.testing.property import check_layer, check_loss
from nnlite.testing.vjp import check_vjp

__all__ = [
    "GradientReport",
    "LayerCase",
    "TensorCheck",
    "check_gradients",
    "check_layer",
    "check_loss",
    "check_vjp",
    "checks",
    "parametrize_with_checks",
]
