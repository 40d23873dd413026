"""Adam (with amsgrad) and AdamW, by torch.optim.Adam's and AdamW's rules."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from nnlite._constraints import Boolean
from nnlite.errors import ArgumentTypeError
from nnlite.optim.base import (
    _NON_NEGATIVE,
    _POSITIVE,
    _UNIT_INTERVAL,
    Optimizer,
)
from nnlite.parameter import Parameter
from nnlite.typing import FloatArray


class Adam(Optimizer):
    """w = w - lr * m_hat / (sqrt(v_hat) + eps), with bias-corrected moving averages of g and g^2.

    The rule, PyTorch's ``torch.optim.Adam``, at step t = 1, 2, ... for each parameter w with
    gradient grad:

    - g = grad + weight_decay * w (L2 weight decay added to the gradient; :class:`AdamW` decays
      w itself instead);
    - m = beta1 * m + (1 - beta1) * g, the first moment (m starts at 0);
    - v = beta2 * v + (1 - beta2) * g^2, the second moment (v starts at 0);
    - with ``amsgrad``, v_max = max(v_max, v), used in place of v below (v_max starts at 0);
    - m_hat = m / (1 - beta1^t), v_hat = v / (1 - beta2^t), the bias corrections;
    - w = w - lr * m_hat / (sqrt(v_hat) + eps).

    Args:
        params: the parameters, usually ``model.parameters()``.
        lr: the learning rate, > 0.
        betas: (beta1, beta2), the decay rates of m and v, each in [0, 1).
        eps: added to sqrt(v_hat), > 0 (0 would make 0 / 0 for a gradient that has been 0).
        weight_decay: the L2 penalty coefficient, >= 0.
        amsgrad: divide by the largest v so far (AMSGrad), so the step size never grows.

    Attributes:
        exp_avg: m, one array per parameter. exp_avg_sq: v, likewise.
        max_exp_avg_sq: v_max, likewise with ``amsgrad``, else an empty list.
        step_count: t, the number of steps taken.

    Raises:
        TypeError: a hyperparameter is not a number (betas not a pair, amsgrad not a bool);
            params as in :class:`Optimizer`.
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

    # Decay w itself, w = w * (1 - lr * weight_decay), rather than adding to g: AdamW's rule.
    _decoupled_weight_decay = False

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
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
        self.amsgrad = Boolean().check(name, "amsgrad", amsgrad)
        self.step_count = 0
        # State and scratch made once, here: a step then writes into them with numpy's out=
        # arguments and allocates nothing, however large the parameters (see _step_one).
        self.exp_avg = self._zeros()
        self.exp_avg_sq = self._zeros()
        self.max_exp_avg_sq = self._zeros() if self.amsgrad else []
        self._work = self._scratch(2)

    state_names = ("lr", "step_count", "exp_avg", "exp_avg_sq", "max_exp_avg_sq")

    def step(self) -> None:
        """One update of every parameter (see the class docstring)."""
        self._check_parameters()
        self.step_count += 1
        beta1, beta2 = self.betas
        # m_hat / (sqrt(v_hat) + eps) = m / (1 - beta1^t) / (sqrt(v) / sqrt(1 - beta2^t) + eps):
        # the corrections are scalars, applied without making m_hat or v_hat (PyTorch's order).
        step_size = self.lr / (1 - beta1**self.step_count)
        sqrt_correction2 = math.sqrt(1 - beta2**self.step_count)
        for index, parameter in enumerate(self.parameters):
            self._step_one(index, parameter, step_size, sqrt_correction2, *self._work[index])

    def _step_one(
        self,
        index: int,
        parameter: Parameter,
        step_size: float,
        sqrt_correction2: float,
        g_buffer: FloatArray,
        buffer: FloatArray,
    ) -> None:
        # Every operation writes into an existing array (out=, or an in-place operator): the
        # expression form would allocate several parameter-sized temporaries per step.
        beta1, beta2 = self.betas
        m, v = self.exp_avg[index], self.exp_avg_sq[index]
        w = parameter.data
        g = parameter.grad
        if self.weight_decay != 0 and self._decoupled_weight_decay:
            w *= 1 - self.lr * self.weight_decay  # AdamW: w = w (1 - lr weight_decay)
        elif self.weight_decay != 0:
            np.multiply(w, self.weight_decay, out=g_buffer)
            g = np.add(parameter.grad, g_buffer, out=g_buffer)  # g = grad + weight_decay * w
        m *= beta1
        m += np.multiply(g, 1 - beta1, out=buffer)  # m = beta1 * m + (1 - beta1) * g
        v *= beta2
        np.multiply(g, 1 - beta2, out=buffer)
        buffer *= g
        v += buffer  # v = beta2 * v + (1 - beta2) * g^2
        if self.amsgrad:
            v = np.maximum(self.max_exp_avg_sq[index], v, out=self.max_exp_avg_sq[index])
        np.sqrt(v, out=buffer)
        buffer /= sqrt_correction2
        buffer += self.eps  # sqrt(v_hat) + eps
        np.divide(m, buffer, out=buffer)
        buffer *= step_size
        w -= buffer  # w = w - lr * m_hat / (sqrt(v_hat) + eps)

    def extra_repr(self) -> str:
        amsgrad = ", amsgrad=True" if self.amsgrad else ""
        return (
            f"lr={self.lr}, betas={self.betas}, eps={self.eps}, "
            f"weight_decay={self.weight_decay}{amsgrad}"
        )


class AdamW(Adam):
    """Adam with decoupled weight decay: w = w (1 - lr * weight_decay), then Adam's step on grad.

    The rule, PyTorch's ``torch.optim.AdamW`` (Loshchilov and Hutter's): at each step, first
    w = w * (1 - lr * weight_decay), then :class:`Adam`'s update with g = grad, the gradient
    alone. In Adam the decay is added to g, so it is divided by sqrt(v_hat) like the gradient and
    weights with large gradients decay less; here every weight decays at the same rate.

    Args:
        params: the parameters, usually ``model.parameters()``.
        lr: the learning rate, > 0.
        betas: (beta1, beta2), as for :class:`Adam`.
        eps: added to sqrt(v_hat), > 0.
        weight_decay: the decay coefficient, >= 0; 0.01 by default, as in PyTorch.
        amsgrad: divide by the largest v so far, as for :class:`Adam`.

    Examples:
        >>> import nnlite as nl
        >>> from nnlite.optim import AdamW
        >>> w = nl.Parameter([1.0, -2.0])
        >>> optimizer = AdamW([w], lr=0.1, weight_decay=0.5)
        >>> optimizer.step()  # a zero gradient: only the decay, w * (1 - 0.1 * 0.5)
        >>> w.data
        array([ 0.95, -1.9 ])
    """

    _decoupled_weight_decay = True

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad)
