"""nnlite.testing: the gradient-testing toolkit.

- :func:`check_gradients` compares a layer's, a network's or a loss's backward with finite
  differences, with a tolerance derived from an estimate of the finite-difference error.
- :func:`check_layer` turns that into a property test: one call, hypothesis draws the rest.
- :mod:`nnlite.testing.strategies` has the hypothesis strategies (arrays, batch shapes, inputs,
  Linear configurations, two-layer networks) for tests of your own.

``check_gradients`` needs only numpy; ``check_layer`` and the strategies need hypothesis
(``pip install "nnlite[test]"``), which is imported only when they are used.
"""

from nnlite.testing.gradcheck import GradientReport, TensorCheck, check_gradients
from nnlite.testing.property import check_layer

__all__ = ["GradientReport", "TensorCheck", "check_gradients", "check_layer"]
