"""The corpus of benchmarks/checkers.py: hand-written backward passes, wrong and right.

Each case is written once, as ``forward(ops, *inputs) -> (y, saved)`` and ``backward(ops, saved,
grad_y) -> one gradient per input (None for a constant)``, where ``ops`` is torch's or JAX's
namespace (:class:`TorchOps`, :class:`JaxOps`: the same few functions, so the math reads the same
in both). :func:`torch_function` makes a ``torch.autograd.Function`` of a case and
:func:`custom_vjp` a ``jax.custom_vjp`` function. A case marked ``torch_only`` changes a tensor in
place, which JAX arrays cannot be.

The bugs are ones people write: an epsilon in forward but not in backward, a rounded constant, a
regularisation term in backward only, a mask computed from the wrong tensor, a clipped upstream
gradient, the full gradient to every tied maximum, a missing term, a transpose, a mean for a sum,
``=`` where ``+=`` belongs, the framework's default dtype, in-place changes of an input, of
``grad_output`` or of a saved tensor. The controls are correct and have kinks, and their inputs
sit on them: ReLU and clamp at their corners, |x| at 0, a maximum with ties.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from nnlite.typing import FloatArray

EPS = 1e-5  # LayerNorm's epsilon


@dataclass(frozen=True)
class Case:
    """One backward pass of the corpus.

    Attributes:
        name: a short name, the row of the table.
        bug: what is wrong with backward, in a few words; "" for a correct control.
        kind: the family of the bug (or of the control's kink).
        forward: ``forward(ops, *inputs) -> (y, saved tensors)``.
        backward: ``backward(ops, saved, grad_y) -> gradients``, one per input.
        inputs: ``inputs(rng)``: the numpy inputs the checkers are run at.
        constants: positions of inputs that are not differentiated.
        torch_only: the bug changes a tensor in place, which JAX cannot express.
    """

    name: str
    bug: str
    kind: str
    forward: Callable[..., tuple[Any, tuple[Any, ...]]]
    backward: Callable[..., tuple[Any, ...]]
    inputs: Callable[[np.random.Generator], tuple[FloatArray, ...]]
    constants: tuple[int, ...] = ()
    torch_only: bool = False

    @property
    def correct(self) -> bool:
        """A control: its backward is right, and no checker may fail it."""
        return not self.bug


class TorchOps:
    """The functions the cases use, in torch."""

    def __init__(self) -> None:
        self.torch = importlib.import_module("torch")
        t = self.torch
        self.sigmoid, self.tanh, self.exp, self.log, self.sqrt = (
            t.sigmoid,
            t.tanh,
            t.exp,
            t.log,
            t.sqrt,
        )
        self.abs, self.sign, self.where, self.minimum = t.abs, t.sign, t.where, t.minimum
        self.zeros_like, self.ones_like, self.clip = t.zeros_like, t.ones_like, t.clamp

    def sum(self, x: Any, axis: int | None = None, keepdims: bool = False) -> Any:
        return x.sum() if axis is None else x.sum(dim=axis, keepdim=keepdims)

    def mean(self, x: Any, axis: int | None = None, keepdims: bool = False) -> Any:
        return x.mean() if axis is None else x.mean(dim=axis, keepdim=keepdims)

    def max(self, x: Any, axis: int, keepdims: bool = False) -> Any:
        return x.amax(dim=axis, keepdim=keepdims)

    def mask(self, condition: Any, like: Any) -> Any:
        return condition.to(like.dtype)

    def first_max(self, x: Any) -> Any:  # one-hot of the first maximum along the last axis
        return self.torch.nn.functional.one_hot(x.argmax(dim=-1), x.shape[-1]).to(x.dtype)

    def default_zeros(self, shape: Any) -> Any:  # torch's default dtype: float32
        return self.torch.zeros(shape)

    def as_float64(self, x: Any) -> Any:
        return x.to(self.torch.float64)

    def round_to_float32(self, x: Any) -> Any:
        return x.to(self.torch.float32).to(x.dtype)


class JaxOps:
    """The functions the cases use, in jax.numpy."""

    def __init__(self) -> None:
        self.jax = importlib.import_module("jax")
        self.jnp = jnp = importlib.import_module("jax.numpy")
        self.sigmoid, self.tanh, self.exp, self.log = (
            self.jax.nn.sigmoid,
            jnp.tanh,
            jnp.exp,
            jnp.log,
        )
        self.sqrt, self.abs, self.sign, self.where = jnp.sqrt, jnp.abs, jnp.sign, jnp.where
        self.minimum, self.zeros_like, self.ones_like, self.clip = (
            jnp.minimum,
            jnp.zeros_like,
            jnp.ones_like,
            jnp.clip,
        )

    def sum(self, x: Any, axis: int | None = None, keepdims: bool = False) -> Any:
        return self.jnp.sum(x, axis=axis, keepdims=keepdims)

    def mean(self, x: Any, axis: int | None = None, keepdims: bool = False) -> Any:
        return self.jnp.mean(x, axis=axis, keepdims=keepdims)

    def max(self, x: Any, axis: int, keepdims: bool = False) -> Any:
        return self.jnp.max(x, axis=axis, keepdims=keepdims)

    def mask(self, condition: Any, like: Any) -> Any:
        return condition.astype(like.dtype)

    def first_max(self, x: Any) -> Any:
        return self.jax.nn.one_hot(self.jnp.argmax(x, axis=-1), x.shape[-1], dtype=x.dtype)

    def default_zeros(self, shape: Any) -> Any:  # with 64-bit types on: float64
        return self.jnp.zeros(shape)

    def as_float64(self, x: Any) -> Any:
        return x.astype(self.jnp.float64)

    def round_to_float32(self, x: Any) -> Any:
        return x.astype(self.jnp.float32).astype(x.dtype)


# --- inputs: (3, 4) batches, with the kinks and ties the cases are about --------------------------


def _x(rng: np.random.Generator) -> tuple[FloatArray, ...]:
    return (rng.normal(size=(3, 4)),)


def _x_w(rng: np.random.Generator) -> tuple[FloatArray, ...]:
    return rng.normal(size=(3, 4)), rng.normal(size=4)


def _x_matrix(rng: np.random.Generator) -> tuple[FloatArray, ...]:
    return rng.normal(size=(3, 4)), rng.normal(size=(4, 4))


def _x_matrix_bias(rng: np.random.Generator) -> tuple[FloatArray, ...]:
    return rng.normal(size=(3, 4)), rng.normal(size=(4, 2)), rng.normal(size=2)


def _probabilities(rng: np.random.Generator) -> tuple[FloatArray, ...]:
    return rng.uniform(0.05, 0.95, size=(3, 4)), rng.integers(0, 2, size=(3, 4)).astype(float)


def _logits_targets(rng: np.random.Generator) -> tuple[FloatArray, ...]:
    return rng.normal(size=(3, 4)), rng.uniform(size=(3, 4))


def _with_zeros(rng: np.random.Generator) -> tuple[FloatArray, ...]:
    x = rng.normal(size=(3, 4))
    x[0, 1] = x[1, 3] = x[2, 0] = 0.0
    return (x,)


def _with_ties(rng: np.random.Generator) -> tuple[FloatArray, ...]:
    x = rng.normal(size=(3, 4))
    x[:, 2] = x[:, 0] = x.max(axis=1) + 0.5  # every row's maximum, twice
    return (x,)


def _pair_with_ties(rng: np.random.Generator) -> tuple[FloatArray, ...]:
    a, b = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    b[:, 1] = a[:, 1]
    return a, b


def _at_bounds(rng: np.random.Generator) -> tuple[FloatArray, ...]:
    x = rng.normal(size=(3, 4))
    x[0, 0], x[1, 2], x[2, 3] = -1.0, 1.0, -1.0
    return (x,)


# --- the functions ----------------------------------------------------------------------------


def _layer_norm(ops: Any, x: Any) -> tuple[Any, tuple[Any, ...]]:
    mu, var = ops.mean(x, 1, True), ops.mean((x - ops.mean(x, 1, True)) ** 2, 1, True)
    return (x - mu) / ops.sqrt(var + EPS), (x,)


def _layer_norm_backward(ops: Any, saved: tuple[Any, ...], g: Any, eps: float) -> tuple[Any, ...]:
    (x,) = saved
    mu, var = ops.mean(x, 1, True), ops.mean((x - ops.mean(x, 1, True)) ** 2, 1, True)
    rstd = 1 / ops.sqrt(var + eps)
    xhat = (x - mu) * rstd
    return (rstd * (g - ops.mean(g, 1, True) - xhat * ops.mean(g * xhat, 1, True)),)


def _layer_norm_backward_without_mean(ops: Any, saved: tuple[Any, ...], g: Any) -> tuple[Any, ...]:
    (x,) = saved
    mu, var = ops.mean(x, 1, True), ops.mean((x - ops.mean(x, 1, True)) ** 2, 1, True)
    rstd = 1 / ops.sqrt(var + EPS)
    xhat = (x - mu) * rstd
    return (rstd * (g - xhat * ops.mean(g * xhat, 1, True)),)


def _bce(ops: Any, p: Any, t: Any) -> tuple[Any, tuple[Any, ...]]:
    loss = -ops.mean(t * ops.log(p + 1e-7) + (1 - t) * ops.log(1 - p + 1e-7))
    return loss, (p, t)


def _gelu(ops: Any, x: Any, c: float = 0.044715) -> Any:
    return 0.5 * x * (1 + ops.tanh(0.7978845608028654 * (x + c * x**3)))


def _gelu_backward(ops: Any, x: Any, c: float) -> Any:
    u = 0.7978845608028654 * (x + c * x**3)
    du = 0.7978845608028654 * (1 + 3 * c * x**2)
    return 0.5 * (1 + ops.tanh(u)) + 0.5 * x * (1 - ops.tanh(u) ** 2) * du


def _normalize(ops: Any, x: Any) -> tuple[Any, tuple[Any, ...]]:
    norm = ops.sqrt(ops.sum(x * x, 1, True))
    return x / (norm + 1e-6), (x,)


def _normalize_backward_without_eps(ops: Any, saved: tuple[Any, ...], g: Any) -> tuple[Any, ...]:
    (x,) = saved
    norm = ops.sqrt(ops.sum(x * x, 1, True))
    return (g / norm - x * ops.sum(g * x, 1, True) / norm**3,)


def _softmax(ops: Any, x: Any) -> Any:
    e = ops.exp(x - ops.max(x, 1, True))
    return e / ops.sum(e, 1, True)


def _sigmoid_mse(ops: Any, z: Any, t: Any) -> tuple[Any, tuple[Any, ...]]:
    y = ops.sigmoid(z)
    return ops.sum((y - t) ** 2) / (2 * z.shape[0]), (y, t)


def _logsumexp(ops: Any, x: Any) -> tuple[Any, tuple[Any, ...]]:
    m = ops.max(x, 1, True)
    return ops.log(ops.sum(ops.exp(x - m), 1)) + m[:, 0], (x,)


def _scale(ops: Any, x: Any, w: Any) -> tuple[Any, tuple[Any, ...]]:
    return x * w, (x, w)


def _row_max(ops: Any, x: Any) -> tuple[Any, tuple[Any, ...]]:
    return ops.max(x, 1), (x,)


def _mutating_softmax(ops: Any, x: Any) -> tuple[Any, tuple[Any, ...]]:
    x.sub_(ops.max(x, 1, True))  # "stable softmax", in place: the caller's x is changed
    e = ops.exp(x)
    y = e / ops.sum(e, 1, True)
    return y, (y,)


def _softmax_backward(ops: Any, saved: tuple[Any, ...], g: Any) -> tuple[Any, ...]:
    (y,) = saved
    return (y * (g - ops.sum(g * y, 1, True)),)


def _default_dtype_backward(ops: Any, saved: tuple[Any, ...], g: Any) -> tuple[Any, ...]:
    x, w = saved
    grad_x = ops.default_zeros(x.shape)
    grad_x += g * w  # in torch in place: stays float32; in JAX a new array: becomes float64
    return grad_x, ops.sum(g * x, 0)


def _split_ties_backward(ops: Any, saved: tuple[Any, ...], g: Any) -> tuple[Any, ...]:
    (x,) = saved
    tied = ops.mask(x == ops.max(x, 1, True), x)
    return (g[:, None] * tied / ops.sum(tied, 1, True),)


def _size(x: Any) -> int:
    return int(np.prod(x.shape))


def _stale_buffer_backward(ops: Any, saved: tuple[Any, ...], g: Any) -> tuple[Any, ...]:
    x, w = saved
    buffer = _BUFFERS.setdefault("scale", ops.zeros_like(w))
    buffer += ops.sum(g * x, 0)  # kept between calls to save an allocation, never zeroed
    return g * w, buffer.clone()


_BUFFERS: dict[str, Any] = {}


def _case(
    name: str, bug: str, kind: str, forward: Any, backward: Any, inputs: Any, **kw: Any
) -> Case:
    return Case(name, bug, kind, forward, backward, inputs, **kw)


CASES: tuple[Case, ...] = (
    # --- small relative errors (1e-4 .. 1e-7) ---
    _case(
        "layernorm_eps",
        "backward forgets the epsilon forward adds to the variance",
        "1e-5",
        _layer_norm,
        lambda ops, s, g: _layer_norm_backward(ops, s, g, 0.0),
        _x,
    ),
    _case(
        "bce_log_eps",
        "forward logs p + 1e-7, backward differentiates log p",
        "1e-6",
        _bce,
        lambda ops, s, g: (-g * (s[1] / s[0] - (1 - s[1]) / (1 - s[0])) / _size(s[0]), None),
        _probabilities,
        constants=(1,),
    ),
    _case(
        "gelu_constant",
        "backward's cubic coefficient rounded to 0.0447",
        "1e-5",
        lambda ops, x: (_gelu(ops, x), (x,)),
        lambda ops, s, g: (g * _gelu_backward(ops, s[0], 0.0447),),
        _x,
    ),
    _case(
        "normalize_eps",
        "x / (norm(x) + 1e-6) differentiated as x / norm(x)",
        "1e-6",
        _normalize,
        _normalize_backward_without_eps,
        _x,
    ),
    _case(
        "weight_decay_in_backward",
        "1e-4 w added to dL/dw in backward only",
        "1e-4",
        lambda ops, x, w: (x @ w, (x, w)),
        lambda ops, s, g: (g @ s[1].T, s[0].T @ g + 1e-4 * s[1]),
        _x_matrix,
    ),
    _case(
        "sigmoid_float32_backward",
        "backward's sigmoid computed in float32",
        "1e-7",
        lambda ops, x: (ops.sigmoid(x), (x,)),
        lambda ops, s, g: (g * ops.round_to_float32(ops.sigmoid(s[0]) * (1 - ops.sigmoid(s[0]))),),
        _x,
    ),
    # --- wrong only for some upstream gradients ---
    _case(
        "clipped_upstream",
        'grad_output clipped to [-1, 1] "for stability"',
        "upstream",
        lambda ops, x: (ops.tanh(x), (ops.tanh(x),)),
        lambda ops, s, g: (ops.clip(g, -1.0, 1.0) * (1 - s[0] ** 2),),
        _x,
    ),
    _case(
        "relu_mask_of_product",
        "ReLU mask from x * grad_output > 0, not x > 0",
        "upstream",
        lambda ops, x: (ops.where(x > 0, x, 0 * x), (x,)),
        lambda ops, s, g: (g * ops.mask(s[0] * g > 0, g),),
        _x,
    ),
    _case(
        "abs_of_upstream",
        "abs(grad_output) times the local slope",
        "upstream",
        lambda ops, x: (x**3, (x,)),
        lambda ops, s, g: (ops.abs(g) * 3 * s[0] ** 2,),
        _x,
    ),
    # --- ties ---
    _case(
        "max_every_tie",
        "every tied maximum gets the full gradient",
        "tie",
        _row_max,
        lambda ops, s, g: (g[:, None] * ops.mask(s[0] == ops.max(s[0], 1, True), s[0]),),
        _with_ties,
    ),
    _case(
        "minimum_both_ties",
        "min(a, b) at a == b gives both the gradient",
        "tie",
        lambda ops, a, b: (ops.minimum(a, b), (a, b)),
        lambda ops, s, g: (g * ops.mask(s[0] <= s[1], g), g * ops.mask(s[1] <= s[0], g)),
        _pair_with_ties,
    ),
    # --- wrong formulas ---
    _case(
        "softmax_missing_term",
        "dy/dx taken as diag(y): the - y (g . y) term missing",
        "formula",
        lambda ops, x: (_softmax(ops, x), (_softmax(ops, x),)),
        lambda ops, s, g: (g * s[0],),
        _x,
    ),
    _case(
        "linear_transposed",
        "dL/dW = (x^T g)^T on a square W",
        "formula",
        lambda ops, x, w: (x @ w, (x, w)),
        lambda ops, s, g: (g @ s[1].T, (s[0].T @ g).T),
        _x_matrix,
    ),
    _case(
        "bias_mean",
        "dL/db = mean of grad_output over the batch, not the sum",
        "formula",
        lambda ops, x, w, b: (x @ w + b, (x, w)),
        lambda ops, s, g: (g @ s[1].T, s[0].T @ g, ops.mean(g, 0)),
        _x_matrix_bias,
    ),
    _case(
        "residual_assigned",
        "y = x w + x: the skip's gradient assigned (=), not added (+=)",
        "formula",
        lambda ops, x, w: (x * w + x, (x, w)),
        lambda ops, s, g: (g, ops.sum(g * s[0], 0)),
        _x_w,
    ),
    _case(
        "swish_missing_term",
        "d(x sigmoid(x))/dx without the x sigmoid'(x) term",
        "formula",
        lambda ops, x: (x * ops.sigmoid(x), (x,)),
        lambda ops, s, g: (g * ops.sigmoid(s[0]),),
        _x,
    ),
    _case(
        "logsumexp_wrong_axis",
        "softmax over the batch axis in backward",
        "formula",
        _logsumexp,
        lambda ops, s, g: (g[:, None] * ops.exp(s[0]) / ops.sum(ops.exp(s[0]), 0, True),),
        _x,
    ),
    _case(
        "layernorm_no_mean_term",
        "dL/dx without the - mean(g) term",
        "formula",
        _layer_norm,
        _layer_norm_backward_without_mean,
        _x,
    ),
    # --- dtypes ---
    _case(
        "grad_default_dtype",
        "gradient built in zeros(shape): the framework's default dtype",
        "dtype",
        _scale,
        _default_dtype_backward,
        _x_w,
    ),
    _case(
        "forward_upcast",
        "sigmoid computed in float64 and never cast back",
        "dtype",
        lambda ops, x: (ops.sigmoid(ops.as_float64(x)), (ops.sigmoid(x),)),
        lambda ops, s, g: (g * s[0] * (1 - s[0]),),
        _x,
    ),
    # --- in place (torch only) ---
    _case(
        "forward_mutates_input",
        "stable softmax subtracts the max from x in place",
        "in place",
        _mutating_softmax,
        _softmax_backward,
        _x,
        torch_only=True,
    ),
    _case(
        "backward_mutates_grad_output",
        "grad_output.mul_(y (1 - y)) returned as dL/dx",
        "in place",
        lambda ops, x: (ops.sigmoid(x), (ops.sigmoid(x),)),
        lambda ops, s, g: (g.mul_(s[0] * (1 - s[0])),),
        _x,
        torch_only=True,
    ),
    _case(
        "backward_mutates_saved_input",
        "dL/dw from x.mul_(grad_output): the input changed",
        "in place",
        _scale,
        lambda ops, s, g: (g * s[1], ops.sum(s[0].mul_(g), 0)),
        _x_w,
        torch_only=True,
    ),
    _case(
        "stale_buffer",
        "dL/dw accumulated into a buffer kept between calls (+= for =)",
        "in place",
        _scale,
        _stale_buffer_backward,
        _x_w,
        torch_only=True,
    ),
    # --- correct controls, at their kinks ---
    _case(
        "sigmoid_mse",
        "",
        "smooth",
        _sigmoid_mse,
        lambda ops, s, g: (g * (s[0] - s[1]) * s[0] * (1 - s[0]) / s[0].shape[0], None),
        _logits_targets,
        constants=(1,),
    ),
    _case(
        "relu_at_zero",
        "",
        "kink",
        lambda ops, x: (ops.where(x > 0, x, 0 * x), (x,)),
        lambda ops, s, g: (g * ops.mask(s[0] > 0, g),),
        _with_zeros,
    ),
    _case(
        "abs_at_zero",
        "",
        "kink",
        lambda ops, x: (ops.abs(x), (x,)),
        lambda ops, s, g: (g * (2 * ops.mask(s[0] >= 0, g) - 1),),
        _with_zeros,
    ),
    _case(
        "max_first_tie",
        "",
        "tie",
        _row_max,
        lambda ops, s, g: (g[:, None] * ops.first_max(s[0]),),
        _with_ties,
    ),
    _case(
        "max_split_ties",
        "",
        "tie",
        _row_max,
        _split_ties_backward,
        _with_ties,
    ),
    _case(
        "minimum_first_tie",
        "",
        "tie",
        lambda ops, a, b: (ops.minimum(a, b), (a, b)),
        lambda ops, s, g: (g * ops.mask(s[0] <= s[1], g), g * ops.mask(s[1] < s[0], g)),
        _pair_with_ties,
    ),
    _case(
        "clamp_at_bounds",
        "",
        "kink",
        lambda ops, x: (ops.clip(x, -1.0, 1.0), (x,)),
        lambda ops, s, g: (g * ops.mask((s[0] >= -1) & (s[0] <= 1), g),),
        _at_bounds,
    ),
)
"""Every case: the bugs, then the controls."""


def torch_function(case: Case) -> Any:
    """A fresh ``torch.autograd.Function`` subclass of the case (its own state, if any)."""
    torch = importlib.import_module("torch")
    ops = TorchOps()
    _BUFFERS.clear()

    def forward(ctx: Any, *inputs: Any) -> Any:
        y, saved = case.forward(ops, *inputs)
        ctx.save_for_backward(*saved)
        return y

    def backward(ctx: Any, grad_output: Any) -> Any:
        return case.backward(ops, ctx.saved_tensors, grad_output)

    name = "".join(part.title() for part in case.name.split("_"))
    methods = {"forward": staticmethod(forward), "backward": staticmethod(backward)}
    return type(name, (torch.autograd.Function,), methods)


def custom_vjp(case: Case) -> Any:
    """The case as a function with a ``jax.custom_vjp`` rule."""
    jax = importlib.import_module("jax")
    ops = JaxOps()

    def primal(*inputs: Any) -> Any:
        return case.forward(ops, *inputs)[0]

    function = jax.custom_vjp(primal)
    function.defvjp(
        lambda *inputs: case.forward(ops, *inputs),
        lambda saved, g: tuple(case.backward(ops, saved, g)),
    )
    function.__name__ = case.name
    return function
