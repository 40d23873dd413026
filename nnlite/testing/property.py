"""check_layer: the whole conformance suite as one property test of a layer.

For each example hypothesis draws the layer's input width (or input shape), builds a fresh layer
with the factory, puts it in training or evaluation mode, redraws its parameters (in about half
the examples, so the gradients are checked away from the initial values too), draws a batch
(N = 1 and N > 1) and an upstream gradient, and runs every named check of
:mod:`nnlite.testing.checks` that was asked for on it. The first check that fails raises, and
hypothesis shrinks the example to the smallest one that still fails.
"""

from __future__ import annotations

import copy
import hashlib
import inspect
from collections.abc import Callable, Iterable
from typing import Any, Literal

import numpy as np

from nnlite.layer import Layer
from nnlite.losses import Loss
from nnlite.testing._pinning import Pinned, layers_of, replica
from nnlite.testing.checks import LAYER_CHECKS, LayerCheck, by_name

PARAMETER_MAGNITUDE = 2.0
"""The bound on redrawn parameter values, 0.1 <= |v| <= 2 (buffers are redrawn in [0.25, 4])."""

InputShape = tuple[int, ...] | Any  # a per-sample shape, or a hypothesis strategy of them


def check_layer(
    factory: Callable[..., Layer],
    *,
    input_shape: InputShape | None = None,
    checks: str | Iterable[str] | None = None,
    max_features: int = 5,
    max_batch: int = 5,
    max_magnitude: float = 10.0,
    max_examples: int | None = None,
    randomize_parameters: bool = True,
) -> None:
    """Property-test a layer with the whole conformance suite (or the ``checks`` named).

    What the factory is called with depends on ``input_shape``:

    - not given: ``factory(n_features)``, with n_features drawn from 1 to ``max_features``, and x
      of shape (N, n_features): the call every layer on rows takes (``check_layer(Scale)``);
    - a tuple, the shape of one sample: ``factory()``, x of shape (N, *input_shape), e.g.
      ``check_layer(lambda: Conv1d(3, 4, 2), input_shape=(3, 8))`` for (N, C, L) input;
    - a hypothesis strategy of such tuples: ``factory(shape)`` with the drawn shape.

    N is drawn from 1 to ``max_batch``, values in [-max_magnitude, max_magnitude] (negatives,
    zeros and repeats included), the upstream gradient likewise. Each example also draws the
    training mode and, unless ``randomize_parameters`` is False, new parameter values
    (0.1 <= |v| <= :data:`PARAMETER_MAGNITUDE`, never exactly simple values; buffers in
    [0.25, 4], so variances stay positive).

    A random layer declares ``stochastic = True`` and draws from ``self.rng``; a layer that mixes
    the rows of a batch declares ``mixes_rows = True``; one with running state declares
    ``stateful = True``; one that needs batches of several rows in training mode declares
    ``min_training_batch`` (the batches drawn in training mode are then at least that large). A
    correct layer that does any of the first three without declaring it fails, with a message
    that says so.

    Call it from a test function (not from inside another ``@given`` test). It runs under the
    active hypothesis settings profile (``max_examples`` overrides the number of examples), with no
    deadline and no explain phase. Each factory gets its own example database key, so a shrunk
    failure is replayed for that layer only.

    Args:
        factory: makes a fresh layer, called as described above.
        input_shape: the shape of one sample, or a strategy of such shapes; see above.
        checks: the name or names of the checks to run (see :data:`~nnlite.testing.checks.
            LAYER_CHECKS`); default all.
        max_features: largest drawn feature width (when ``input_shape`` is not given).
        max_batch: largest drawn batch size.
        max_magnitude: bound on drawn input and gradient values.
        max_examples: examples to try; default: the active hypothesis profile's.
        randomize_parameters: redraw the parameters in some examples (turn it off for a layer
            whose parameters must keep a structure, such as an orthogonal matrix).

    Raises:
        AssertionError: a check failed on some example; the message names the check, the tensor,
            the index, and the values.
        TypeError: the factory does not make layers. ValueError: an unknown check name.
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

    selected = LAYER_CHECKS if checks is None else by_name(checks)
    _check_factory(factory, input_shape)

    overrides: dict[str, Any] = {
        "deadline": None,  # finite differences take time
        "suppress_health_check": [HealthCheck.too_slow, HealthCheck.filter_too_much],
        "report_multiple_bugs": False,  # one AssertionError, not an ExceptionGroup
        # The explain phase traces every line while shrinking: many seconds per failure, and the
        # AssertionError already says what is wrong and where.
        "phases": [phase for phase in settings().phases if phase != Phase.explain],
    }
    if max_examples is not None:
        overrides["max_examples"] = max_examples

    def check_one_example(data: st.DataObject) -> None:
        sample_shape: tuple[int, ...]
        if input_shape is None:
            n_features = data.draw(nst.feature_widths(max_features=max_features), "n_features")
            layer, sample_shape = factory(n_features), (n_features,)
        elif isinstance(input_shape, tuple):
            layer, sample_shape = factory(), input_shape
        else:
            sample_shape = data.draw(input_shape, label="input_shape")
            layer = factory(sample_shape)
        layer.train(data.draw(st.booleans(), label="training"))
        if randomize_parameters and data.draw(st.booleans(), label="redraw parameters"):
            _redraw(layer, data, nst)
        smallest = _min_batch(layer) if layer.training else 1
        n = data.draw(nst.batch_sizes(min_batch=smallest, max_batch=max_batch), label="N")
        x = data.draw(nst.arrays((n, *sample_shape), max_magnitude=max_magnitude), label="x")
        output_shape = np.shape(Pinned(replica(layer)).forward(x))
        grad_y = data.draw(nst.arrays(output_shape, max_magnitude=max_magnitude), label="grad_y")
        for check in selected:
            check.function(layer, x, grad_y=grad_y)

    # Hypothesis keys its example database by the test function's source, the same for every
    # call of check_layer: the factory and options make the key this layer's own.
    check_one_example._hypothesis_internal_add_digest = _digest(  # type: ignore[attr-defined]
        factory, input_shape, selected
    )
    settings(**overrides)(given(data=st.data())(check_one_example))()


def _min_batch(layer: Layer) -> int:
    """The largest ``min_training_batch`` declared by the layer or any layer it holds."""
    return max(int(getattr(inner, "min_training_batch", 1)) for inner in layers_of(layer))


def _redraw(layer: Layer, data: Any, nst: Any) -> None:
    """New values for every parameter (0.1 <= |v| <= 2) and buffer (in [0.25, 4]), in their
    dtypes.

    Never 0, and each moved by a drawn relative jitter of at most 1e-3: drawn values are
    often simple (0, 1, -1), and with simple parameters an intermediate value can sit exactly on
    a kink for a whole batch (W1 = 0 and b1 = 0 put every ReLU of a network at 0). There the
    composite can be smooth while the chain rule with any subgradient gives another slope: a
    correct layer would fail. The jitter makes such exact cancellations (x W = -b) as unlikely
    as they are for trained weights.
    """
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp

    jitter = np.random.default_rng(data.draw(nst.seeds(), label="parameter jitter"))
    for name, parameter in layer.named_parameters():
        width: Literal[32, 64] = 32 if parameter.dtype == np.float32 else 64
        low = float(np.nextafter(parameter.dtype.type(0.1), parameter.dtype.type(1)))
        magnitudes = st.floats(min_value=low, max_value=PARAMETER_MAGNITUDE, width=width)
        signed = st.tuples(st.booleans(), magnitudes).map(lambda s: -s[1] if s[0] else s[1])
        values = data.draw(
            hnp.arrays(parameter.dtype, parameter.shape, elements=signed),
            label=f"parameter {name}",
        )
        values = values * (1 + 1e-3 * jitter.uniform(-1, 1, values.shape))
        np.copyto(parameter.data, values, casting="same_kind")
    for name, buffer in layer.named_buffers():
        positive = st.floats(
            min_value=0.25, max_value=4.0, width=32 if buffer.dtype == np.float32 else 64
        )
        values = data.draw(
            hnp.arrays(buffer.dtype, buffer.shape, elements=positive), label=f"buffer {name}"
        )
        np.copyto(buffer.data, values)


def _digest(
    factory: Callable[..., object], input_shape: object, selected: Iterable[LayerCheck]
) -> bytes:
    """Bytes that tell this factory (and options) apart from every other check_layer call."""
    try:
        source = inspect.getsource(factory)
    except (OSError, TypeError):
        source = ""
    identity = [
        getattr(factory, "__module__", "") or "",
        getattr(factory, "__qualname__", type(factory).__qualname__),
        source,
        repr(input_shape),
        ",".join(check.name for check in selected),
    ]
    return hashlib.sha256("\0".join(identity).encode()).digest()


def _check_factory(factory: Callable[..., Layer], input_shape: object) -> None:
    """Fail at once, outside hypothesis, when the factory does not make layers."""
    call = "factory(n_features)" if input_shape is None else "factory()"
    if isinstance(factory, Layer):
        raise TypeError(
            f"check_layer expects a {call} -> Layer, got the layer {factory!r}; pass e.g. "
            f"lambda{' n_features' if input_shape is None else ''}: {type(factory).__name__}(...)"
        )
    if not callable(factory):
        raise TypeError(f"check_layer expects a {call} -> Layer, got {factory!r}")
    if input_shape is None:
        layer, made_by = factory(1), "factory(1)"
    elif isinstance(input_shape, tuple):
        layer, made_by = factory(), "factory()"
    else:
        return  # the shape is drawn: the factory is first called inside hypothesis
    if not isinstance(layer, Layer):
        raise TypeError(f"check_layer: {made_by} must return a Layer, got a {type(layer).__name__}")


def check_loss(
    factory: Callable[[], Loss] | Loss,
    *,
    predictions: Any = None,
    targets: Callable[[tuple[int, ...]], Any] | None = None,
    checks: str | Iterable[str] | None = None,
    max_features: int = 5,
    max_batch: int = 5,
    max_magnitude: float = 10.0,
    max_examples: int | None = None,
) -> None:
    """Property-test a loss with the loss suite (:data:`~nnlite.testing.checks.losses.LOSS_CHECKS`).

    Hypothesis draws a prediction (by default of shape (N, n), values in [-max_magnitude,
    max_magnitude]; or from the strategy ``predictions``) and a target for its shape (by default
    the same kind of values; or from ``targets(shape)``, e.g. ``nst.probabilities`` for
    ``BCELoss``, ``nst.one_hot`` for ``SoftmaxCrossEntropyLoss``), and runs every check on them.

    Args:
        factory: a loss, or a function of no arguments returning one.
        predictions: a hypothesis strategy of prediction arrays.
        targets: ``targets(prediction_shape)`` gives a strategy of target arrays.
        checks: the names of the checks to run; default all.
        max_features: largest width of the default predictions.
        max_batch: largest batch size of the default predictions.
        max_magnitude: bound on the values of the default predictions and targets.
        max_examples: examples to try; default: the active hypothesis profile's.

    Raises:
        AssertionError: a check failed on some example.

    Examples:
        >>> from nnlite.testing import check_loss
        >>> check_loss(nl.MSELoss(), max_examples=5)
    """
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st

    from nnlite.testing import strategies as nst
    from nnlite.testing.checks.losses import LOSS_CHECKS

    wanted = None if checks is None else ([checks] if isinstance(checks, str) else list(checks))
    known = {check.name for check in LOSS_CHECKS}
    if wanted is not None and not set(wanted) <= known:
        raise ValueError(
            f"no loss check named {sorted(set(wanted) - known)}; the checks are {sorted(known)}"
        )
    selected = [check for check in LOSS_CHECKS if wanted is None or check.name in wanted]

    def make() -> Loss:
        made = copy.deepcopy(factory) if isinstance(factory, Loss) else factory()
        if not isinstance(made, Loss):
            raise TypeError(f"check_loss expects a Loss or a factory() -> Loss, got {factory!r}")
        return made

    make()  # a factory that does not make losses fails here, outside hypothesis
    if predictions is None:
        shapes = nst.batch_shapes(max_batch=max_batch, max_features=max_features)
        predictions = nst.arrays(shapes, max_magnitude=max_magnitude)
    if targets is None:
        targets = lambda shape: nst.arrays(shape, max_magnitude=max_magnitude)  # noqa: E731

    overrides: dict[str, Any] = {
        "deadline": None,
        "suppress_health_check": [HealthCheck.too_slow],
        "report_multiple_bugs": False,
        "phases": [phase for phase in settings().phases if phase != Phase.explain],
    }
    if max_examples is not None:
        overrides["max_examples"] = max_examples

    def check_one_example(data: st.DataObject) -> None:
        prediction = data.draw(predictions, label="prediction")
        target = data.draw(targets(prediction.shape), label="target")
        for check in selected:
            check.function(make(), prediction, target)

    check_one_example._hypothesis_internal_add_digest = _digest(  # type: ignore[attr-defined]
        make, repr(predictions), ()
    )
    settings(**overrides)(given(data=st.data())(check_one_example))()
