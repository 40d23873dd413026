"""The boundary checks of layers and losses: one wrapper, one rule for super() calls.

A subclass of :class:`~nnlite.Layer` or :class:`~nnlite.Loss` writes only its math. The base
class names, in ``_boundary_checks``, a check for each method a subclass may write (``forward``,
``backward``, ...), and when the subclass is created every one of those methods that it defines
is wrapped, once, by :func:`wrap`. A call then runs ``check(self, method, *arguments)``, which
converts and checks the arguments, calls the method as written and checks what it returns.

The rule for super() calls: only the outermost call is checked. When a subclass's ``forward``
calls ``super().forward(x)``, the parent's wrapper sees that ``type(self).forward`` is not itself
and calls the parent's method straight through: the subclass's own wrapper has checked the input
and will record the shapes. The same holds for every wrapped method.

The method as written stays reachable as ``wrapper.__wrapped__`` (``Linear.forward.__wrapped__``),
and :func:`unchecked` gives it bound to an object, for a caller that has done the checks itself:
a Sequential, once it has checked a batch (see :mod:`nnlite._plan`).
"""

from __future__ import annotations

import functools
import inspect
import types
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

Check = Callable[..., Any]
"""``check(owner, method, *arguments) -> result``: the checks around one call of ``method``."""

# The wrapper, as source: a function of exactly the arguments its check takes, under the check's
# names for them (x, grad_y, prediction and target), so that a keyword call layer.forward(x=...)
# works and a call with the wrong arguments is Python's own TypeError. Made with exec, as
# dataclasses makes __init__, because the generic spellings are slower on a path every layer
# takes at every step. Measured per Sigmoid forward (3.1 us unwrapped): this wrapper adds 0.5 us,
# as the two hand-written wrappers it replaces did; one taking *arguments and calling
# check(self, method, *arguments) adds 0.3 us more (a tenth of two_layer_network(2, 4)'s forward
# and backward), and one handing the check the tuple 0.08 us more. This source is the only place
# the rule for super() calls is written.
_WRAPPER = """
def {name}(self, {arguments}):
    if type(self).{name} is not {name}:  # super().{name}(...): the outermost call checks
        return _method(self, {arguments})
    return _check(self, _method, {arguments})
"""


def wrap(name: str, method: Callable[..., Any], check: Check) -> Callable[..., Any]:
    """``method`` (the function a class defines as ``name``), called through ``check``.

    The wrapper takes the arguments ``check`` takes after ``owner`` and ``method``, by the names
    ``check`` gives them; a super() call (``type(self).<name>`` is another wrapper, the
    subclass's) is not checked again (see the module docstring).
    """
    # The check's own code, past any functools.wraps decorator (a mutation tester's, say), whose
    # *args would hide the names.
    code = inspect.unwrap(check).__code__
    arguments = ", ".join(code.co_varnames[2 : code.co_argcount])
    namespace: dict[str, Any] = {"_method": method, "_check": check}
    exec(_WRAPPER.format(name=name, arguments=arguments), namespace)
    wrapper = functools.wraps(method)(namespace[name])
    wrapper.__boundary_check__ = check  # type: ignore[attr-defined]  # what unchecked() looks for
    return wrapper


def unchecked(owner: object, name: str) -> Callable[..., Any] | None:
    """``owner``'s method ``name`` as its class wrote it, bound to ``owner``, without the checks.

    None when ``owner.name`` is not a boundary wrapper: the instance holds a method of its own
    under that name, or the class's was never wrapped. A caller must then use ``owner.name``.
    """
    if name in getattr(owner, "__dict__", {}):
        return None
    wrapper = getattr(type(owner), name, None)
    if getattr(wrapper, "__boundary_check__", None) is None:
        return None
    return types.MethodType(wrapper.__wrapped__, owner)  # type: ignore[union-attr]


class Checked:
    """The base of Layer and Loss: wraps the methods a subclass defines with their checks.

    ``_boundary_checks`` maps each method name to its check (see :data:`Check`).
    ``_inherited_with`` maps a method to another that it is inherited only together with: a
    subclass that defines the second but not the first gets the first back from the class that
    declared the mapping, since an inherited version was written for the parent's other method.
    """

    _boundary_checks: ClassVar[Mapping[str, Check]] = {}
    _inherited_with: ClassVar[Mapping[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name, check in cls._boundary_checks.items():
            if name in vars(cls):
                setattr(cls, name, wrap(name, vars(cls)[name], check))
        declared_by = next(base for base in cls.__mro__ if "_inherited_with" in vars(base))
        for name, partner in cls._inherited_with.items():
            if partner in vars(cls) and name not in vars(cls):
                setattr(cls, name, vars(declared_by)[name])
