"""The ``torch.nn.Module`` classes made for the kinds that give a TorchFormula (BiasAppend,
Residual, the losses): one class per kind, made once, the first time torch is at hand."""

from __future__ import annotations

import functools
import inspect
from typing import Any

from nnlite._kinds import LayerKind, LossKind, TorchFormula


@functools.cache
def formula_class(torch: Any, kind: LayerKind | LossKind) -> type[Any]:
    """The module class for a kind's TorchFormula, made once, named ``nnlite.interop.<name>``.

    Made here rather than at import so that importing nnlite does not import torch;
    ``nnlite.interop.__getattr__`` hands it out under that name, which is where pickle
    (``torch.save(module)``) finds it.
    """
    assert isinstance(kind.torch, TorchFormula)
    formula = kind.torch.forward
    module: Any = torch.nn.Module  # Any: torch is imported at run time, not seen by mypy

    class LossFormula(module):  # type: ignore[misc]
        def forward(self, prediction: Any, target: Any) -> Any:
            if prediction.shape != target.shape:  # as nnlite: never broadcast (N, 1) with (N,)
                raise ValueError(
                    f"{type(self).__name__} expects target of the prediction's shape "
                    f"{tuple(prediction.shape)}, got {tuple(target.shape)}"
                )
            return formula(torch, prediction, target)

    class LayerFormula(module):  # type: ignore[misc]
        def __init__(
            self,
            config: dict[str, Any] | None = None,
            parameters: dict[str, Any] | None = None,
            buffers: dict[str, Any] | None = None,
            modules: dict[str, Any] | None = None,
        ) -> None:
            super().__init__()
            self.config = dict(config or {})  # the layer's get_config(), to convert back
            for name, value in (parameters or {}).items():
                self.register_parameter(name, torch.nn.Parameter(value))
            for name, value in (buffers or {}).items():
                self.register_buffer(name, value)
            for name, inner in (modules or {}).items():
                self.add_module(name, inner)  # a container's layers, converted

        def forward(self, x: Any) -> Any:
            members = {
                **dict(self.named_parameters(recurse=False)),
                **dict(self.named_buffers(recurse=False)),
                **dict(self.named_children()),
            }
            return formula(torch, x, **members)

    cls = LossFormula if isinstance(kind, LossKind) else LayerFormula
    cls.__name__ = cls.__qualname__ = kind.name
    cls.__module__ = "nnlite.interop"
    original = kind.loss if isinstance(kind, LossKind) else kind.layer
    cls.__doc__ = (
        f"{(inspect.getdoc(original) or kind.name).splitlines()[0]}\n\n"
        f"nnlite's {kind.name} in PyTorch, made by nnlite.interop from its formula: the same "
        "value, and autograd's gradient of it."
    )
    return cls
