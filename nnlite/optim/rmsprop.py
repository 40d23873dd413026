"""RMSprop, with momentum and centered, by torch.optim.RMSprop's rule."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from nnlite._constraints import Boolean
from nnlite.optim.base import (
    _FRACTION,
    _NON_NEGATIVE,
    _POSITIVE,
    _UNIT_INTERVAL,
    Optimizer,
)
from nnlite.parameter import Parameter


class RMSprop(Optimizer):
    """w = w - lr * g / (sqrt(s) + eps), s the moving average of g^2 (optionally centered).

    The rule, PyTorch's ``torch.optim.RMSprop``, for each parameter w with gradient grad:

    - g = grad + weight_decay * w (L2 weight decay);
    - s = alpha * s + (1 - alpha) * g^2 (s starts at 0);
    - with ``centered``, a = alpha * a + (1 - alpha) * g (a starts at 0), and the denominator is
      sqrt(s - a^2) + eps, an estimate of the gradient's standard deviation; else sqrt(s) + eps;
    - with momentum, b = momentum * b + g / denominator and w = w - lr * b (b starts at 0);
      else w = w - lr * g / denominator.

    Args:
        params: the parameters, usually ``model.parameters()``.
        lr: the learning rate, > 0; 0.01 by default, as in PyTorch.
        alpha: the decay rate of s (and a), in [0, 1].
        eps: added to the square root, > 0.
        weight_decay: the L2 penalty coefficient, >= 0.
        momentum: in [0, 1); 0 for none.
        centered: divide by the centered estimate sqrt(s - a^2).

    Attributes:
        square_avg: s, one array per parameter. grad_avg: a, likewise with ``centered``, else an
            empty list. momentum_buffer: b, likewise with momentum, else an empty list.
        step_count: the number of steps taken.

    Raises:
        TypeError: a hyperparameter is not a number (centered not a bool); params as in
            :class:`Optimizer`.
        ValueError: a hyperparameter is out of its range.

    Examples:
        >>> import nnlite as nl
        >>> from nnlite.optim import RMSprop
        >>> w = nl.Parameter([1.0, -2.0])
        >>> optimizer = RMSprop([w], lr=0.01, alpha=0.75)
        >>> w.grad[:] = [3.0, -0.5]
        >>> optimizer.step()  # s = 0.25 g^2, so the step is lr * g / (|g| / 2): 2 lr sign(g)
        >>> w.data.round(6)
        array([ 0.98, -1.98])
    """

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
    ) -> None:
        super().__init__(params)
        name = type(self).__name__
        self.lr = _POSITIVE.check(name, "lr", lr)
        self.alpha = _FRACTION.check(name, "alpha", alpha)
        self.eps = _POSITIVE.check(name, "eps", eps)
        self.weight_decay = _NON_NEGATIVE.check(name, "weight_decay", weight_decay)
        self.momentum = _UNIT_INTERVAL.check(name, "momentum", momentum)
        self.centered = Boolean().check(name, "centered", centered)
        self.step_count = 0
        # State and scratch made once, here, and only what the rule uses (as in SGD).
        self.square_avg = self._zeros()
        self.grad_avg = self._zeros() if self.centered else []
        self.momentum_buffer = self._zeros() if self.momentum != 0 else []
        self._work = self._scratch(2)

    state_names = ("lr", "step_count", "square_avg", "grad_avg", "momentum_buffer")

    def step(self) -> None:
        """One update of every parameter (see the class docstring)."""
        self._check_parameters()
        self.step_count += 1
        alpha = self.alpha
        for index, parameter in enumerate(self.parameters):
            w, g = parameter.data, parameter.grad
            g_buffer, buffer = self._work[index]
            # In place throughout, as in SGD and Adam: the expressions would allocate.
            if self.weight_decay != 0:
                np.multiply(w, self.weight_decay, out=g_buffer)
                g = np.add(parameter.grad, g_buffer, out=g_buffer)  # g = grad + weight_decay * w
            s = self.square_avg[index]
            s *= alpha
            np.multiply(g, 1 - alpha, out=buffer)
            buffer *= g
            s += buffer  # s = alpha * s + (1 - alpha) * g^2
            if self.centered:
                a = self.grad_avg[index]
                a *= alpha
                a += np.multiply(g, 1 - alpha, out=buffer)  # a = alpha * a + (1 - alpha) * g
                np.multiply(a, a, out=buffer)
                np.subtract(s, buffer, out=buffer)
                np.sqrt(buffer, out=buffer)  # sqrt(s - a^2)
            else:
                np.sqrt(s, out=buffer)
            buffer += self.eps  # the denominator
            np.divide(g, buffer, out=buffer)  # g / denominator
            if self.momentum != 0:
                b = self.momentum_buffer[index]
                b *= self.momentum
                b += buffer  # b = momentum * b + g / denominator
                buffer = np.multiply(b, self.lr, out=buffer)
            else:
                buffer *= self.lr
            w -= buffer  # w = w - lr * b, or w - lr * g / denominator

    def extra_repr(self) -> str:
        return (
            f"lr={self.lr}, alpha={self.alpha}, eps={self.eps}, "
            f"weight_decay={self.weight_decay}, momentum={self.momentum}, "
            f"centered={self.centered}"
        )
