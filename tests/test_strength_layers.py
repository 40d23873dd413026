"""Linear's parameter gradients, pinned where mutation testing found them unpinned.

Gradients accumulate (``+=``, never ``=``), through ``backward`` and through
``backward_parameters`` alike, and the products are taken in the wider dtype of their operands: a
float32 input to a float64 layer must not round the float64 upstream gradient to float32. The
reference is einsum in float64, written from the formulas dL/dW[k, l] = sum_i x[i, k] g[i, l] and
dL/db[l] = sum_i g[i, l].
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pytest

import nnlite as nl
from nnlite.interop import layer_kind
from nnlite.testing import check_gradients


def reference(x: nl.FloatArray, *grads: nl.FloatArray) -> tuple[nl.FloatArray, nl.FloatArray]:
    """(dL/dW, dL/db) summed over the upstream gradients ``grads``, in float64."""
    x64 = x.astype(np.float64)
    weight = sum(np.einsum("ik,il->kl", x64, g.astype(np.float64)) for g in grads)
    bias = sum(g.astype(np.float64).sum(axis=0) for g in grads)
    return weight, bias


def data(seed: int) -> tuple[nl.FloatArray, nl.FloatArray, nl.FloatArray]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((5, 3)), rng.standard_normal((5, 2)), rng.standard_normal((5, 2))


@pytest.mark.parametrize("method", ["backward", "backward_parameters"])
def test_gradients_add_to_what_the_parameters_hold(method: str) -> None:
    """Two calls after one zero_grad hold the sum of both gradients, on top of what was there."""
    x, g1, g2 = data(0)
    layer = nl.Linear(3, 2, rng=0)
    layer(x)
    layer.zero_grad()
    getattr(layer, method)(g1)
    getattr(layer, method)(g2)
    weight, bias = reference(x, g1, g2)
    np.testing.assert_allclose(layer.weight.grad, weight, rtol=1e-12)
    assert layer.bias is not None
    np.testing.assert_allclose(layer.bias.grad, bias, rtol=1e-12)


def test_a_gradient_is_added_to_a_nonzero_one() -> None:
    x, g1, _ = data(1)
    layer = nl.Linear(3, 2, rng=0)
    layer(x)
    layer.weight.grad[...] = 1.0
    assert layer.bias is not None
    layer.bias.grad[...] = -2.0
    layer.backward_parameters(g1)
    weight, bias = reference(x, g1)
    np.testing.assert_allclose(layer.weight.grad, weight + 1.0, rtol=1e-12)
    np.testing.assert_allclose(layer.bias.grad, bias - 2.0, rtol=1e-12)


@pytest.mark.parametrize(
    ("x_dtype", "grad_dtype"), [(np.float32, np.float64), (np.float64, np.float32)]
)
def test_a_float64_layer_takes_mixed_products_in_float64(
    x_dtype: type[np.floating], grad_dtype: type[np.floating]
) -> None:
    """The float32 operand is widened, not the float64 one rounded: agreement to 1e-12, where
    float32 rounding would be off by about 1e-8."""
    x, g, _ = data(2)
    x, g = x.astype(x_dtype), g.astype(grad_dtype)
    layer = nl.Linear(3, 2, rng=0)
    layer(x)
    layer.zero_grad()
    grad_x = layer.backward(g)
    weight, bias = reference(x, g)
    np.testing.assert_allclose(layer.weight.grad, weight, rtol=1e-12)
    assert layer.bias is not None
    np.testing.assert_allclose(layer.bias.grad, bias, rtol=1e-6)  # a sum of g alone: g's dtype
    expected_x = np.einsum("il,kl->ik", g.astype(np.float64), layer.weight.data)
    assert grad_x.dtype == np.float64
    np.testing.assert_allclose(grad_x, expected_x, rtol=1e-12)


# --- The newer layers: what mutation testing found unpinned. ---


def held_values(layer: nl.Layer) -> int:
    """How many values a layer holds: its parameters and buffers, counted from its state."""
    return sum(values.size for values in layer.state_dict().values())


def state_size(cls: type[nl.Layer], config: Mapping[str, object]) -> int:
    kind = layer_kind(cls)
    assert kind is not None
    assert kind.state_size is not None
    return kind.state_size(config)


@pytest.mark.parametrize("n", [1, 2, 5])
def test_the_size_bound_counts_what_batch_norm_allocates(n: int) -> None:
    """4 C + 1 (weight, bias, running mean and variance, the count), from the layer's state."""
    layer = nl.BatchNorm1d(n)
    assert state_size(nl.BatchNorm1d, layer.get_config()) == held_values(layer) == 4 * n + 1


@pytest.mark.parametrize("shape", [1, 4, (2, 3)])
def test_the_size_bound_counts_what_layer_norm_allocates(shape: int | tuple[int, int]) -> None:
    layer = nl.LayerNorm(shape)
    assert state_size(nl.LayerNorm, layer.get_config()) == held_values(layer)


@pytest.mark.parametrize(("n_in", "n_out"), [(1, 1), (1, 4), (3, 2)])
def test_the_size_bound_counts_what_linear_allocates(n_in: int, n_out: int) -> None:
    """in * out weights, + out for the bias (there by default), from the layer's own state."""
    with_bias = {"in_features": n_in, "out_features": n_out}
    assert state_size(nl.Linear, with_bias) == held_values(nl.Linear(n_in, n_out, rng=0))
    assert state_size(nl.Linear, with_bias) == n_in * n_out + n_out
    without = {**with_bias, "bias": False}
    assert state_size(nl.Linear, without) == held_values(nl.Linear(n_in, n_out, bias=False))


def test_the_size_bound_counts_conv2d_s_bias_by_default() -> None:
    """A config without "bias" builds a Conv2d with one (the default): 2*2*2*3 weights + 3."""
    config: dict[str, object] = {"in_channels": 2, "out_channels": 3, "kernel_size": 2}
    assert state_size(nl.Conv2d, config) == held_values(nl.Conv2d(2, 3, 2, rng=0)) == 27


@pytest.mark.parametrize(
    ("cls", "config"),
    [
        (nl.BatchNorm1d, {}),
        (nl.BatchNorm1d, {"num_features": 0}),
        (nl.BatchNorm1d, {"num_features": -1000}),
        (nl.BatchNorm1d, {"num_features": "3"}),
        (nl.BatchNorm1d, {"num_features": 3.0}),
        (nl.BatchNorm1d, {"num_features": True}),
        (nl.LayerNorm, {}),
        (nl.LayerNorm, {"normalized_shape": 0}),
        (nl.LayerNorm, {"normalized_shape": "4"}),
        (nl.Linear, {}),
        (nl.Linear, {"in_features": 3}),
        (nl.Linear, {"out_features": 3}),
        (nl.Linear, {"in_features": 0, "out_features": 3}),
        (nl.Linear, {"in_features": 3, "out_features": 0}),
        (nl.Linear, {"in_features": -1000, "out_features": 1000}),
        (nl.Linear, {"in_features": 3.0, "out_features": 3}),
        (nl.Linear, {"in_features": 3, "out_features": "3"}),
        (nl.Conv2d, {"in_channels": 10, "out_channels": -1000, "kernel_size": 3}),
        (nl.Conv2d, {"in_channels": 10, "out_channels": 10, "kernel_size": [3, -3]}),
    ],
    ids=lambda value: type(value).__name__,
)
def test_a_config_the_constructor_refuses_counts_as_nothing(
    cls: type[nl.Layer], config: dict[str, object]
) -> None:
    """Never a negative count, which would lower the loader's bound for the other layers."""
    with pytest.raises((TypeError, ValueError)):
        cls(**config)
    assert state_size(cls, config) == 0


def test_softmax_backward_keeps_the_gradient_where_one_output_is_near_1() -> None:
    """x = (0, 40): y_0 = e^-40 / (1 + e^-40). With g = (0, 1), dL/dx = y_0 y_1 (-1, 1), which
    1 - sum_k g_k y_k = 1 - y_1 would round to 0 (y_1 rounds to 1)."""
    y0 = math.exp(-40) / (1 + math.exp(-40))
    layer = nl.Softmax()
    layer(np.array([[0.0, 40.0]]))
    grad_x = layer.backward(np.array([[0.0, 1.0]]))
    np.testing.assert_allclose(grad_x, [[-y0 * (1 - y0), y0 * (1 - y0)]], rtol=1e-12)


def test_dropout_drops_half_by_default() -> None:
    assert nl.Dropout().p == 0.5


@pytest.mark.parametrize(
    ("layer", "text"),
    [
        (nl.LayerNorm(4), "LayerNorm(4)"),
        (nl.LayerNorm((2, 3)), "LayerNorm((2, 3))"),
        (nl.LayerNorm(4, eps=1e-3), "LayerNorm(4, eps=0.001)"),
        (nl.LayerNorm(4, dtype="float32"), "LayerNorm(4, dtype=float32)"),
        (
            nl.LayerNorm((2, 3), eps=1e-3, dtype="float32"),
            "LayerNorm((2, 3), eps=0.001, dtype=float32)",
        ),
        (nl.BatchNorm1d(3), "BatchNorm1d(3)"),
        (nl.BatchNorm1d(3, eps=1e-3), "BatchNorm1d(3, eps=0.001)"),
        (nl.BatchNorm1d(3, momentum=0.2), "BatchNorm1d(3, momentum=0.2)"),
        (
            nl.BatchNorm1d(3, eps=1e-3, momentum=0.2, dtype="float32"),
            "BatchNorm1d(3, eps=0.001, momentum=0.2, dtype=float32)",
        ),
        (nl.Softmax(), "Softmax()"),
        (nl.Softmax(axis=0), "Softmax(axis=0)"),
        (nl.LogSoftmax(axis=1), "LogSoftmax(axis=1)"),
        (nl.LogSoftmax(axis=-2), "LogSoftmax(axis=-2)"),
        (nl.Conv2d(2, 3, 2, rng=0), "Conv2d(2, 3, kernel_size=(2, 2))"),
        (nl.Conv2d(2, 3, 2, stride=2, rng=0), "Conv2d(2, 3, kernel_size=(2, 2), stride=(2, 2))"),
        (nl.Conv2d(2, 3, 2, padding=1, rng=0), "Conv2d(2, 3, kernel_size=(2, 2), padding=(1, 1))"),
        (
            nl.Conv2d(2, 3, (2, 3), stride=2, padding=1, dtype="float32", rng=0),
            "Conv2d(2, 3, kernel_size=(2, 3), stride=(2, 2), padding=(1, 1), dtype=float32)",
        ),
        (nl.Residual(nl.Tanh()), "Residual(Tanh())"),
        (
            nl.Residual(nl.Sequential(nl.Tanh(), nl.Sigmoid())),
            "Residual(\n  Sequential(\n    (0) Tanh()\n    (1) Sigmoid()\n  )  # 0 parameters\n)",
        ),
    ],
    ids=lambda value: type(value).__name__,
)
def test_the_repr_shows_the_arguments_that_differ_from_the_defaults(
    layer: nl.Layer, text: str
) -> None:
    assert repr(layer) == text


def test_unflatten_names_itself_when_the_width_is_wrong() -> None:
    with pytest.raises(
        nl.ShapeError,
        match=r"^Unflatten\(shape=\(2, 3\)\) expects input of shape \(N, 6\), got "
        r"\(2, 5\)$",
    ):
        nl.Unflatten((2, 3))(np.ones((2, 5)))


class Draws(np.random.Generator):
    """A Generator whose uniform draws are all ``value`` (numpy's random() is on [0, 1))."""

    def __init__(self, value: float) -> None:
        super().__init__(np.random.PCG64(0))
        self.value = value

    def random(self, size=None, dtype=np.float64, out=None):
        return np.full(size, self.value)


@pytest.mark.parametrize("p", [0.0, 0.25, 0.5])
def test_dropout_keeps_a_value_whose_draw_is_exactly_p(p: float) -> None:
    """A value is kept when its uniform draw u on [0, 1) is >= p: probability exactly 1 - p, so
    Dropout(0) keeps every value, even one drawn as 0, scaled by 1 / (1 - p)."""
    x = np.array([[1.0, -2.0, 3.0]])
    np.testing.assert_array_equal(nl.Dropout(p, rng=Draws(p))(x), x / (1 - p))


@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (
            lambda: nl.BatchNorm1d(3, momentum=-0.1),
            ValueError,
            r"^BatchNorm1d: momentum must be a finite number in \[0, 1\], got -0.1$",
        ),
        (
            lambda: nl.BatchNorm1d(3, dtype="int32"),
            TypeError,
            r"^BatchNorm1d: dtype must be float32 or float64, got 'int32'$",
        ),
        (
            lambda: nl.LayerNorm(3, dtype="int32"),
            TypeError,
            r"^LayerNorm: dtype must be float32 or float64, got 'int32'$",
        ),
        (
            lambda: nl.LayerNorm(3, eps=0),
            ValueError,
            r"^LayerNorm: eps must be a finite number > 0, got 0$",
        ),
        (
            lambda: nl.LayerNorm(4)(np.ones((2, 3))),
            nl.ShapeError,
            r"^LayerNorm\(4\) expects input of shape \(\.\.\., 4\), got \(2, 3\)$",
        ),
        (
            lambda: nl.Residual(nl.Linear(2, 3, rng=0))(np.ones((2, 2))),
            nl.ShapeError,
            r"^Residual\(\): inner\(x\) has shape \(2, 3\), but y = x \+ inner\(x\) needs the "
            r"shape of x, \(2, 2\)$",
        ),
        (
            lambda: nl.BatchNorm1d(3)(np.ones((2, 4))),
            nl.ShapeError,
            r"^BatchNorm1d\(3\) expects input of shape \(N, 3\) or \(N, 3, L\), got \(2, 4\)$",
        ),
        (
            lambda: nl.BatchNorm1d(3)(np.ones((1, 3))),
            nl.ShapeError,
            r"^BatchNorm1d\(3\) in training mode needs more than one value per feature, got an "
            r"input of one row \(a batch of one has no variance\); use more rows, or eval\(\) to "
            r"normalize by the running statistics$",
        ),
        (
            lambda: nl.Conv2d(2, 3, 2, rng=0)(np.ones((1, 1, 4, 4))),
            nl.ShapeError,
            r"^Conv2d\(2, 3, kernel_size=\(2, 2\)\) expects input of shape \(N, 2, H, W\), got "
            r"\(1, 1, 4, 4\)$",
        ),
        (
            lambda: nl.MaxPool2d(2)(np.ones((2, 3))),
            nl.ShapeError,
            r"^MaxPool2d\(kernel_size=\(2, 2\)\) expects input of shape \(N, C, H, W\), got "
            r"\(2, 3\)$",
        ),
        (
            lambda: nl.Linear(2, 0),
            ValueError,
            r"^Linear: out_features must be an int >= 1, got 0$",
        ),
        (
            lambda: nl.Linear(2, 2, init="nope"),
            ValueError,
            r"^Linear: init must be one of 'uniform', .*, got 'nope'$",
        ),
        (
            lambda: nl.Conv2d(2, 3, 2, init="nope"),
            ValueError,
            r"^Conv2d: init must be one of 'uniform', .*, got 'nope'$",
        ),
    ],
)
def test_the_newer_layers_refuse_bad_arguments_in_full(
    build, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        build()


def test_batch_norm_holds_every_buffer_in_its_dtype() -> None:
    """dtype: "the parameters' and buffers' dtype", the batch count included."""
    layer = nl.BatchNorm1d(3, dtype="float32")
    assert {name: values.dtype for name, values in layer.state_dict().items()} == {
        name: np.dtype(np.float32)
        for name in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
    }


def test_layer_norm_takes_one_sample_of_exactly_its_shape() -> None:
    """(..., 4) with nothing before: x = (1, 2, 3, 5), mean 11/4, variance 35/16."""
    x = np.array([1.0, 2.0, 3.0, 5.0])
    expected = (x - 11 / 4) / math.sqrt(35 / 16 + 1e-5)
    np.testing.assert_allclose(nl.LayerNorm(4)(x), expected, rtol=1e-12)


def test_batch_norm_s_running_statistics_follow_the_documented_update() -> None:
    """Rows (1, 2), (3, 6), (5, 10): mu = (3, 6), the unbiased variance (4, 16). From 0 and 1,
    with momentum 0.1: after one batch (0.3, 0.6) and (1.3, 2.5); after the same batch again
    0.9 * (0.3, 0.6) + (0.3, 0.6) = (0.57, 1.14) and 0.9 * (1.3, 2.5) + (0.4, 1.6) =
    (1.57, 3.85)."""
    layer = nl.BatchNorm1d(2)
    x = np.array([[1.0, 2.0], [3.0, 6.0], [5.0, 10.0]])
    layer(x)
    np.testing.assert_allclose(layer.running_mean.data, [0.3, 0.6], rtol=1e-14)
    np.testing.assert_allclose(layer.running_var.data, [1.3, 2.5], rtol=1e-14)
    layer(x)
    np.testing.assert_allclose(layer.running_mean.data, [0.57, 1.14], rtol=1e-14)
    np.testing.assert_allclose(layer.running_var.data, [1.57, 3.85], rtol=1e-14)
    assert layer.num_batches_tracked.data == 2


def test_softmax_takes_the_first_axis_counted_from_the_end() -> None:
    """axis=-2 of a 2-d input is axis 0: column 0 (0, log 3) gives (1/4, 3/4), column 1 halves."""
    x = np.array([[0.0, 1.0], [math.log(3.0), 1.0]])
    np.testing.assert_allclose(nl.Softmax(axis=-2)(x), [[0.25, 0.5], [0.75, 0.5]], rtol=1e-14)


@pytest.mark.parametrize("padding", [(0, 1), (1, 0)])
def test_conv2d_s_gradients_with_padding_on_one_side_only(padding: tuple[int, int]) -> None:
    """Padding in width alone (or height alone): backward drops only that border, checked
    against finite differences."""
    x = np.random.default_rng(0).standard_normal((2, 1, 3, 4))
    check_gradients(nl.Conv2d(1, 2, 2, padding=padding, rng=0), x)


def test_conv2d_s_xavier_bound_counts_the_kernel_in_both_fans() -> None:
    """PyTorch's fans of a convolution: C kh kw in, O kh kw out. Conv2d(4, 8, (2, 3)): 24 and
    48, so xavier_uniform draws from [-b, b], b = sqrt(6 / 72); 192 draws come near b."""
    bound = math.sqrt(6 / (24 + 48))
    weight = nl.Conv2d(4, 8, (2, 3), init="xavier_uniform", rng=0).weight.data
    assert np.abs(weight).max() <= bound
    assert np.abs(weight).max() > 0.9 * bound


def test_conv2d_s_bias_comes_from_its_rng_in_its_dtype() -> None:
    first = nl.Conv2d(2, 3, 2, rng=0, dtype="float32")
    second = nl.Conv2d(2, 3, 2, rng=0, dtype="float32")
    assert first.bias is not None
    assert second.bias is not None
    assert first.bias.data.dtype == np.float32
    np.testing.assert_array_equal(first.bias.data, second.bias.data)
