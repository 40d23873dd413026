"""check_layer: a one-call property test of any layer's backward."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from nnlite.layer import Layer
from nnlite.testing.gradcheck import check_gradients


def check_layer(
    factory: Callable[[int], Layer],
    *,
    max_features: int = 5,
    max_batch: int = 5,
    max_magnitude: float = 10.0,
    max_examples: int | None = None,
) -> None:
    """Property-test a layer: ``check_gradients`` on many drawn inputs and upstream gradients.

    Hypothesis draws a feature width n (1 to ``max_features``), builds ``factory(n)``, draws a batch
    x of shape (N, n) with N from 1 to ``max_batch`` (so both N = 1 and N > 1 are tried), values in
    [-max_magnitude, max_magnitude] (negatives, zeros and repeats included), and an upstream
    gradient of the output's shape, then runs :func:`check_gradients`. On a wrong backward,
    hypothesis shrinks to the smallest failing example, prints it ("Falsifying example: ..." with
    n_features, x and grad_y), and the AssertionError of that example is raised.

    Call it from a test function (not from inside another ``@given`` test). It runs under the
    hypothesis settings profile in force (``max_examples`` overrides the number of examples), with
    no deadline: finite differences take time.

    Args:
        factory: ``factory(n_features)`` returns a fresh layer taking (N, n_features) input.
        max_features: largest drawn feature width.
        max_batch: largest drawn batch size.
        max_magnitude: bound on drawn input and gradient values.
        max_examples: examples to try; default: the active hypothesis profile's.

    Raises:
        AssertionError: backward disagrees with finite differences on some example.
        ImportError: hypothesis is not installed (``pip install "nnlite[test]"``).

    Examples:
        >>> from nnlite.testing import check_layer
        >>> check_layer(lambda n: nl.Linear(n, 2, rng=0), max_examples=5)
    """
    try:
        from hypothesis import HealthCheck, Phase, given, settings
        from hypothesis import strategies as st
    except ImportError as error:  # pragma: no cover - exercised only without the test extra
        raise ImportError(
            'check_layer needs hypothesis: pip install "nnlite[test]" (or pip install hypothesis)'
        ) from error
    from nnlite.testing import strategies as nst

    _check_factory(factory)

    overrides: dict[str, Any] = {
        "deadline": None,  # finite differences take time
        "suppress_health_check": [HealthCheck.too_slow],
        "report_multiple_bugs": False,  # one AssertionError, not an ExceptionGroup
        # The explain phase traces every line while shrinking: many seconds per failure, and the
        # AssertionError already says what is wrong and where.
        "phases": [phase for phase in settings().phases if phase != Phase.explain],
    }
    if max_examples is not None:
        overrides["max_examples"] = max_examples

    @settings(**overrides)
    @given(data=st.data())
    def check_one_example(data: st.DataObject) -> None:
        n_features = data.draw(nst.feature_widths(max_features=max_features), label="n_features")
        layer = factory(n_features)
        x = data.draw(
            nst.inputs(n_features, max_batch=max_batch, max_magnitude=max_magnitude), label="x"
        )
        output_shape = np.shape(layer(x))
        grad_y = data.draw(nst.arrays(output_shape, max_magnitude=max_magnitude), label="grad_y")
        check_gradients(layer, x, grad_y=grad_y)

    check_one_example()


def _check_factory(factory: Callable[[int], Layer]) -> None:
    """Fail at once, outside hypothesis, when the factory does not make layers."""
    if isinstance(factory, Layer):
        raise TypeError(
            f"check_layer expects a factory(n_features) -> Layer, got the layer {factory!r}; "
            f"pass e.g. lambda n_features: {type(factory).__name__}(...)"
        )
    if not callable(factory):
        raise TypeError(f"check_layer expects a factory(n_features) -> Layer, got {factory!r}")
    layer = factory(1)
    if not isinstance(layer, Layer):
        raise TypeError(
            f"check_layer: factory(1) must return a Layer, got a {type(layer).__name__}"
        )
