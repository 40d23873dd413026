"""Gradient clipping: bound the gradients, in place, between backward and the optimizer's step.

PyTorch's ``torch.nn.utils.clip_grad_norm_`` and ``clip_grad_value_``, with their semantics::

    model.backward_parameters(loss.backward())
    nl.clip_grad_norm(model.parameters(), max_norm=1.0)
    optimizer.step()

``fit(..., clip_grad_norm=1.0)`` does this at every step.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from nnlite._constraints import Boolean, Real
from nnlite.errors import TrainingError
from nnlite.parameter import Parameter

# PyTorch's: keeps max_norm / (norm + 1e-6) finite for a zero gradient.
_NORM_EPS = 1e-6


def clip_grad_norm(
    parameters: Iterable[Parameter],
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
) -> float:
    """g = g * min(1, max_norm / (norm + 1e-6)) for every grad g, norm the total norm of them all.

    The total norm is that of all the gradients as one vector: the p-norm of the p-norms of each
    (p = ``norm_type``; ``math.inf`` for the largest |g|). When it exceeds max_norm, every
    gradient is scaled by the same factor, so the direction of the step is kept.

    Args:
        parameters: the parameters whose ``grad`` to clip, usually ``model.parameters()``.
        max_norm: the largest total norm, > 0.
        norm_type: p, > 0, or ``math.inf``.
        error_if_nonfinite: raise when the total norm is NaN or infinite, instead of scaling by
            it (which makes every gradient NaN or 0).

    Returns:
        The total norm of the gradients before clipping, as a float (PyTorch returns it as a
        tensor).

    Raises:
        ArgumentValueError: max_norm or norm_type is not > 0.
        TrainingError: with ``error_if_nonfinite``, the total norm is not finite.

    Examples:
        >>> import nnlite as nl
        >>> w = nl.Parameter([0.0, 0.0])
        >>> w.grad[:] = [3.0, 4.0]
        >>> nl.clip_grad_norm([w], max_norm=1.0)  # the norm before clipping
        5.0
        >>> w.grad.round(6)  # scaled by 1 / (5 + 1e-6)
        array([0.6, 0.8])
    """
    max_norm = Real(low=0, closed="neither").check("clip_grad_norm", "max_norm", max_norm)
    if norm_type != math.inf:
        norm_type = Real(low=0, closed="neither").check("clip_grad_norm", "norm_type", norm_type)
    error_if_nonfinite = Boolean().check("clip_grad_norm", "error_if_nonfinite", error_if_nonfinite)
    grads = [parameter.grad for parameter in parameters]
    if not grads:
        return 0.0
    # PyTorch's order: the norm of each gradient, then the norm of those norms.
    norms = [np.linalg.norm(grad.ravel(), norm_type) for grad in grads]
    total = float(np.linalg.norm(np.array(norms, dtype=np.float64), norm_type))
    if error_if_nonfinite and not math.isfinite(total):
        raise TrainingError(
            f"clip_grad_norm: the total norm of the gradients is {total}: a gradient holds a "
            "NaN or an infinity (error_if_nonfinite=True)"
        )
    coefficient = max_norm / (total + _NORM_EPS)
    if not coefficient >= 1.0:  # NaN too, as PyTorch's clamp passes it on
        for grad in grads:
            grad *= coefficient
    return total


def clip_grad_value(parameters: Iterable[Parameter], clip_value: float) -> None:
    """g = clip(g, -clip_value, clip_value), elementwise, for every grad g, in place.

    Args:
        parameters: the parameters whose ``grad`` to clip, usually ``model.parameters()``.
        clip_value: the largest |g| kept, > 0.

    Raises:
        ArgumentValueError: clip_value is not > 0.

    Examples:
        >>> import nnlite as nl
        >>> w = nl.Parameter([0.0, 0.0, 0.0])
        >>> w.grad[:] = [-3.0, 0.5, 4.0]
        >>> nl.clip_grad_value([w], clip_value=1.0)
        >>> w.grad
        array([-1. ,  0.5,  1. ])
    """
    clip_value = Real(low=0, closed="neither").check("clip_grad_value", "clip_value", clip_value)
    for parameter in parameters:
        np.clip(parameter.grad, -clip_value, clip_value, out=parameter.grad)
