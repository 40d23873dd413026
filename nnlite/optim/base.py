"""The base every optimizer shares: the parameter list, the checks of a step, the state."""

from __future__ import annotations

import abc
from collections.abc import Iterable
from typing import Any

import numpy as np

from nnlite._constraints import Integer, Real
from nnlite._state import check_state
from nnlite._validation import describe
from nnlite.errors import DTypeError, ShapeError
from nnlite.layer import Layer
from nnlite.parameter import Parameter
from nnlite.typing import FloatArray

# The ranges of the hyperparameters, as PyTorch's optimizers check them.
_POSITIVE = Real(low=0, closed="neither")
_NON_NEGATIVE = Real(low=0)
_UNIT_INTERVAL = Real(low=0, high=1, closed="left")
_FRACTION = Real(low=0, high=1)
# The rules of the numbers in a state_dict; any other number in one is a finite float.
_STATE_NUMBERS = {"lr": _POSITIVE, "step_count": Integer(low=0)}


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

    # What state_dict holds: the attributes a step changes (and lr, which a schedule changes), each
    # a number or a list of arrays, one per parameter (empty when the rule does not use it).
    state_names: tuple[str, ...] = ()

    @abc.abstractmethod
    def step(self) -> None:
        """Update every parameter's ``data`` in place from its ``grad``."""

    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state, to save and resume: copies, flat, by name.

        Each name of ``state_names`` gives its number under its own name (``"step_count"``,
        ``"lr"``), or the arrays of a per-parameter list under ``"<name>.<index>"`` (``"exp_avg.0"``
        for the first parameter's), in the order of :attr:`parameters`. The hyperparameters given
        to the constructor, other than lr, are not state: make the optimizer with the same ones.

        Examples:
            >>> import nnlite as nl
            >>> from nnlite.optim import Adam
            >>> optimizer = Adam([nl.Parameter([1.0, 2.0])], lr=0.1)
            >>> sorted(optimizer.state_dict())
            ['exp_avg.0', 'exp_avg_sq.0', 'lr', 'step_count']
        """
        state: dict[str, Any] = {}
        for name in self.state_names:
            value = getattr(self, name)
            if isinstance(value, list):
                state.update({f"{name}.{i}": array.copy() for i, array in enumerate(value)})
            else:
                state[name] = value
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Set the state to ``state`` (from :meth:`state_dict`), in place, strictly.

        The names must be exactly those of this optimizer's ``state_dict()`` (saved from an
        optimizer of the same kind and settings, for the same parameters); each array must have
        the shape and dtype of the one it replaces (nothing is cast); lr must be a number > 0 and
        step_count an int >= 0. Everything is checked before anything is set, so a state that is
        refused changes nothing. The arrays are copied into the existing ones.

        Raises:
            LoadError: one error listing every missing or unexpected name, every number and
                array that does not fit.
        """
        where = f"{type(self).__name__}.load_state_dict"
        numbers = check_state(where, self.state_dict(), state, _STATE_NUMBERS)
        for name in self.state_names:
            target = getattr(self, name)
            if isinstance(target, list):
                for index, array in enumerate(target):
                    np.copyto(array, state[f"{name}.{index}"])
            else:
                setattr(self, name, numbers[name])

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
