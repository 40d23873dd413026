"""Optimizers: update each parameter's ``data`` in place from its ``grad``.

The training loop is PyTorch's::

    optimizer = SGD(model.parameters(), lr=0.1)
    for x, y in batches:
        optimizer.zero_grad()
        loss(model(x), y)
        model.backward(loss.backward())
        optimizer.step()

The rules are PyTorch's (``torch.optim.SGD`` and ``torch.optim.Adam``), so hyperparameters carry
over. A step writes into the existing ``parameter.data`` arrays, so references to them (a layer's
weight, a view) stay valid, and it allocates no arrays: the optimizer's state and scratch arrays are
made once, when it is created.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from nnlite._constraints import Boolean, Real
from nnlite._validation import describe
from nnlite.errors import ArgumentTypeError, DTypeError, ShapeError
from nnlite.layer import Layer
from nnlite.parameter import Parameter
from nnlite.typing import FloatArray

# The ranges of the hyperparameters, as PyTorch's optimizers check them.
_POSITIVE = Real(low=0, closed="neither")
_NON_NEGATIVE = Real(low=0)
_UNIT_INTERVAL = Real(low=0, high=1, closed="left")


class Optimizer(abc.ABC):
    """Base class of every optimizer: ``step()`` updates the parameters from their gradients.

    The parameters are listed once, when the optimizer is created (a generator such as
    ``model.parameters()`` is read then). A subclass implements ``step``; ``zero_grad`` and the
    checks are the base class's.

    Args:
        params: the parameters to train, an iterable of :class:`~nnlite.Parameter`, usually
            ``model.parameters()``. Each parameter's ``data`` and ``grad`` must keep their shape and
            dtype afterwards: update them in place (``load_state_dict`` does), or make a new
            optimizer.

    Attributes:
        parameters: the list of parameters, in the order given.

    Raises:
        TypeError: params is not an iterable of Parameters (a model itself, a single Parameter).
        ValueError: params is empty, or holds the same Parameter twice (it would be updated twice
            per step).

    Examples:
        >>> import numpy as np
        >>> import nnlite as nl
        >>> from nnlite.optim import SGD
        >>> model = nl.two_layer_network(2, 3, rng=0)
        >>> x, y = np.array([[0.0, 1.0], [1.0, 0.0]]), np.array([[1.0], [0.0]])
        >>> loss = nl.MSELoss()
        >>> optimizer = SGD(model.parameters(), lr=1.0)
        >>> before = loss(model(x), y)
        >>> for _ in range(20):
        ...     optimizer.zero_grad()
        ...     _ = loss(model(x), y)
        ...     _ = model.backward(loss.backward())
        ...     optimizer.step()
        >>> loss(model(x), y) < before
        True
    """

    def __init__(self, params: Iterable[Parameter]) -> None:
        self.parameters: list[Parameter] = _parameter_list(type(self).__name__, params)
        # What the state is made for, checked at every step (see _check_parameters).
        self._layout = [(parameter.shape, parameter.dtype) for parameter in self.parameters]

    @abc.abstractmethod
    def step(self) -> None:
        """Update every parameter's ``data`` in place from its ``grad``."""

    def zero_grad(self) -> None:
        """Set every parameter's grad to zero, in place (the arrays are kept)."""
        for parameter in self.parameters:
            parameter.zero_grad()

    def _zeros(self) -> list[FloatArray]:
        """One zero array per parameter, of its shape and dtype: per-parameter state."""
        return [np.zeros_like(parameter.data) for parameter in self.parameters]

    def _scratch(self, count: int) -> list[tuple[FloatArray, ...]]:
        """``count`` scratch arrays per parameter, of its shape and dtype, for a step's temporaries.

        They are views into one buffer per dtype, sized for the largest parameter, so parameters
        share the memory: a step may use them only while it works on that parameter.
        """
        largest: dict[np.dtype[Any], int] = {}
        for parameter in self.parameters:
            largest[parameter.dtype] = max(largest.get(parameter.dtype, 0), parameter.size)
        buffers = {dtype: np.empty((count, size), dtype) for dtype, size in largest.items()}
        return [
            tuple(
                buffers[parameter.dtype][k, : parameter.size].reshape(parameter.shape)
                for k in range(count)
            )
            for parameter in self.parameters
        ]

    def _check_parameters(self) -> None:
        """Require every parameter's data and grad to still have the shape and dtype they had.

        The state was made for those; a replaced array of another shape could silently broadcast.
        """
        for parameter, (shape, dtype) in zip(self.parameters, self._layout, strict=True):
            data, grad = parameter.data, parameter.grad
            # Types and dtypes by identity first: the common case, measured at 80% of the
            # instructions of isinstance and ==, which decide only when these differ.
            if not (
                type(data) is np.ndarray is type(grad)
                and data.shape == shape == grad.shape
                and data.dtype is dtype is grad.dtype
            ) and not (
                isinstance(data, np.ndarray)
                and isinstance(grad, np.ndarray)
                and data.shape == grad.shape == shape
                and data.dtype == grad.dtype == dtype
            ):
                self._report_changed(parameter, shape, dtype)

    def _report_changed(
        self, parameter: Parameter, shape: tuple[int, ...], dtype: np.dtype[Any]
    ) -> None:
        """Raise the error that says which array of ``parameter`` changed, and how."""
        index = next(i for i, p in enumerate(self.parameters) if p is parameter)
        for role, array in (("data", parameter.data), ("grad", parameter.grad)):
            where = f"{self!r}: parameter {index} ({parameter!r}) has {role}"
            advice = "update data and grad in place, or create a new optimizer"
            if not isinstance(array, np.ndarray) or array.dtype != dtype:
                raise DTypeError(f"{where} {describe(array)}, expected dtype {dtype}: {advice}")
            if array.shape != shape:
                raise ShapeError(f"{where} of shape {array.shape}, expected {shape}: {advice}")

    def extra_repr(self) -> str:
        """The hyperparameters shown in ``repr``."""
        return ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"


class SGD(Optimizer):
    """w = w - lr * d, with d = g, or with momentum the velocity v = momentum * v + g.

    The rule, PyTorch's ``torch.optim.SGD`` (without dampening), for each parameter w with
    gradient grad:

    - g = grad + weight_decay * w (L2 weight decay);
    - v = momentum * v + g, with v = g at the first step (v starts at 0);
    - d = g + momentum * v with ``nesterov``, else d = v (d = g without momentum);
    - w = w - lr * d.

    Args:
        params: the parameters, usually ``model.parameters()``.
        lr: the learning rate, > 0. Required, as in PyTorch: there is no good default.
        momentum: in [0, 1); 0 is plain gradient descent.
        nesterov: use Nesterov momentum (needs momentum > 0).
        weight_decay: the L2 penalty coefficient, >= 0.

    Attributes:
        velocity: v, one array per parameter (zeros until the first step); an empty list when
            momentum is 0, which needs no velocity.

    Raises:
        TypeError: a hyperparameter is not a number (nesterov not a bool); params as in
            :class:`Optimizer`.
        ValueError: a hyperparameter is out of its range, or nesterov without momentum.

    Examples:
        >>> import nnlite as nl
        >>> from nnlite.optim import SGD
        >>> w = nl.Parameter([1.0, -2.0])
        >>> optimizer = SGD([w], lr=0.5, momentum=0.5)
        >>> w.grad[:] = [1.0, -2.0]
        >>> optimizer.step()  # v = g = [1, -2]; w = w - 0.5 v
        >>> w.data
        array([ 0.5, -1. ])
        >>> optimizer.step()  # v = 0.5 v + g = [1.5, -3]
        >>> w.data
        array([-0.25,  0.5 ])
    """

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params)
        name = type(self).__name__
        self.lr = _POSITIVE.check(name, "lr", lr)
        self.momentum = _UNIT_INTERVAL.check(name, "momentum", momentum)
        self.weight_decay = _NON_NEGATIVE.check(name, "weight_decay", weight_decay)
        self.nesterov = Boolean().check(name, "nesterov", nesterov)
        if self.nesterov and self.momentum == 0:
            raise ValueError(f"{name}: nesterov=True needs momentum > 0, got momentum={momentum!r}")
        # State and scratch made once, here, and only what the rule uses: a step then writes into
        # them with numpy's out= arguments and allocates nothing, however large the parameters.
        self.velocity = self._zeros() if self.momentum != 0 else []
        self._work = self._scratch(2 if self.weight_decay != 0 else 1)

    def step(self) -> None:
        """One update of every parameter: w = w - lr * d (see the class docstring)."""
        self._check_parameters()
        for index, parameter in enumerate(self.parameters):
            w, g, work = parameter.data, parameter.grad, self._work[index]
            # Every operation writes into an existing array (out=, or an in-place operator): an
            # expression like w - lr * d would allocate two parameter-sized temporaries.
            if self.weight_decay != 0:
                g = np.multiply(w, self.weight_decay, out=work[1])
                g += parameter.grad  # g = grad + weight_decay * w
            d = g
            if self.momentum != 0:
                velocity = self.velocity[index]
                velocity *= self.momentum
                velocity += g  # v = momentum * v + g; v starts at 0, so v = g at the first step
                d = velocity
                if self.nesterov:
                    d = np.multiply(velocity, self.momentum, out=work[0])
                    d += g  # d = g + momentum * v
            w -= np.multiply(d, self.lr, out=work[0])  # w = w - lr * d

    def extra_repr(self) -> str:
        return (
            f"lr={self.lr}, momentum={self.momentum}, nesterov={self.nesterov}, "
            f"weight_decay={self.weight_decay}"
        )


class Adam(Optimizer):
    """w = w - lr * m_hat / (sqrt(v_hat) + eps), with bias-corrected moving averages of g and g^2.

    The rule, PyTorch's ``torch.optim.Adam`` (without amsgrad), at step t = 1, 2, ... for each
    parameter w with gradient grad:

    - g = grad + weight_decay * w (L2 weight decay added to the gradient, not AdamW's decoupled
      decay);
    - m = beta1 * m + (1 - beta1) * g, the first moment (m starts at 0);
    - v = beta2 * v + (1 - beta2) * g^2, the second moment (v starts at 0);
    - m_hat = m / (1 - beta1^t), v_hat = v / (1 - beta2^t), the bias corrections;
    - w = w - lr * m_hat / (sqrt(v_hat) + eps).

    Args:
        params: the parameters, usually ``model.parameters()``.
        lr: the learning rate, > 0.
        betas: (beta1, beta2), the decay rates of m and v, each in [0, 1).
        eps: added to sqrt(v_hat), > 0 (0 would make 0 / 0 for a gradient that has been 0).
        weight_decay: the L2 penalty coefficient, >= 0.

    Attributes:
        exp_avg: m, one array per parameter. exp_avg_sq: v, likewise.
        step_count: t, the number of steps taken.

    Raises:
        TypeError: a hyperparameter is not a number (betas not a pair); params as in
            :class:`Optimizer`.
        ValueError: a hyperparameter is out of its range.

    Examples:
        >>> import nnlite as nl
        >>> from nnlite.optim import Adam
        >>> w = nl.Parameter([1.0, -2.0])
        >>> optimizer = Adam([w], lr=0.1)
        >>> w.grad[:] = [0.5, -300.0]
        >>> optimizer.step()  # the first step is about lr * sign(g), whatever the scale of g
        >>> w.data
        array([ 0.9, -1.9])
    """

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params)
        name = type(self).__name__
        self.lr = _POSITIVE.check(name, "lr", lr)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ArgumentTypeError(
                f"{name}: betas must be a pair (beta1, beta2) of numbers in [0, 1), got {betas!r}"
            )
        self.betas = (
            _UNIT_INTERVAL.check(name, "betas[0]", betas[0]),
            _UNIT_INTERVAL.check(name, "betas[1]", betas[1]),
        )
        self.eps = _POSITIVE.check(name, "eps", eps)
        self.weight_decay = _NON_NEGATIVE.check(name, "weight_decay", weight_decay)
        self.step_count = 0
        # State and scratch made once, here: a step then writes into them with numpy's out=
        # arguments and allocates nothing, however large the parameters (see _step_one).
        self.exp_avg = self._zeros()
        self.exp_avg_sq = self._zeros()
        self._work = self._scratch(2)

    def step(self) -> None:
        """One update of every parameter (see the class docstring)."""
        self._check_parameters()
        self.step_count += 1
        beta1, beta2 = self.betas
        # m_hat / (sqrt(v_hat) + eps) = m / (1 - beta1^t) / (sqrt(v) / sqrt(1 - beta2^t) + eps):
        # the corrections are scalars, applied without making m_hat or v_hat (PyTorch's order).
        step_size = self.lr / (1 - beta1**self.step_count)
        sqrt_correction2 = math.sqrt(1 - beta2**self.step_count)
        for parameter, exp_avg, exp_avg_sq, work in zip(
            self.parameters, self.exp_avg, self.exp_avg_sq, self._work, strict=True
        ):
            self._step_one(parameter, exp_avg, exp_avg_sq, step_size, sqrt_correction2, *work)

    def _step_one(
        self,
        parameter: Parameter,
        m: FloatArray,
        v: FloatArray,
        step_size: float,
        sqrt_correction2: float,
        g_buffer: FloatArray,
        buffer: FloatArray,
    ) -> None:
        # Every operation writes into an existing array (out=, or an in-place operator): the
        # expression form would allocate several parameter-sized temporaries per step.
        beta1, beta2 = self.betas
        w = parameter.data
        g = parameter.grad
        if self.weight_decay != 0:
            np.multiply(w, self.weight_decay, out=g_buffer)
            g = np.add(parameter.grad, g_buffer, out=g_buffer)  # g = grad + weight_decay * w
        m *= beta1
        m += np.multiply(g, 1 - beta1, out=buffer)  # m = beta1 * m + (1 - beta1) * g
        v *= beta2
        np.multiply(g, 1 - beta2, out=buffer)
        buffer *= g
        v += buffer  # v = beta2 * v + (1 - beta2) * g^2
        np.sqrt(v, out=buffer)
        buffer /= sqrt_correction2
        buffer += self.eps  # sqrt(v_hat) + eps
        np.divide(m, buffer, out=buffer)
        buffer *= step_size
        w -= buffer  # w = w - lr * m_hat / (sqrt(v_hat) + eps)

    def extra_repr(self) -> str:
        return f"lr={self.lr}, betas={self.betas}, eps={self.eps}, weight_decay={self.weight_decay}"


def _parameter_list(owner: str, params: Iterable[Parameter]) -> list[Parameter]:
    """Materialise ``params`` into a list of distinct Parameters, or say what is wrong."""
    hint = "an iterable of Parameters such as model.parameters()"
    if isinstance(params, Layer):
        raise TypeError(f"{owner} expects {hint}, got the layer {params!r}: pass its .parameters()")
    if isinstance(params, Parameter):
        raise TypeError(f"{owner} expects {hint}, got a single Parameter: pass [parameter]")
    try:
        listed = list(params)
    except TypeError:
        raise TypeError(f"{owner} expects {hint}, got {describe(params)}") from None
    if not listed:
        raise ValueError(f"{owner} expects {hint}, got none: there is nothing to train")
    first_position: dict[int, int] = {}
    for index, parameter in enumerate(listed):
        if not isinstance(parameter, Parameter):
            raise TypeError(
                f"{owner} expects {hint}, got {describe(parameter)} at position {index}"
            )
        if id(parameter) in first_position:
            raise ValueError(
                f"{owner} got the same Parameter at positions {first_position[id(parameter)]} and "
                f"{index}: pass each parameter once, or it would be updated twice per step"
            )
        first_position[id(parameter)] = index
    return listed
