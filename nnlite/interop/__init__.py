"""Moving to other engines: nnlite models as PyTorch modules and ONNX graphs, and back.

- :func:`to_torch` turns a model (or a loss) into the equivalent ``torch.nn.Module``, same
  parameters bit for bit, same dtype; :func:`from_torch` turns such a module back into nnlite.
- :func:`save_torch` and :func:`load_torch` keep the converted module in a file that
  ``torch.load(path, weights_only=True)`` can read: tensors, strings and dicts, no pickled code.
- :func:`to_onnx` writes an ONNX graph (opset :data:`ONNX_OPSET`) that onnxruntime runs.
- :func:`register` describes a layer or loss of your own, so that it converts too (and saves,
  loads and takes part in ``nnlite check`` like a built-in one): a :class:`LayerKind` or
  :class:`LossKind`.

The layouts differ in one place: nnlite's ``Linear`` weight is (in_features, out_features), as in
the derivation's H = X W1, and PyTorch's is (out_features, in_features), so the weight is
transposed on the way over and back. ONNX's MatMul takes nnlite's layout as it is.

The losses keep nnlite's averaging, which is not PyTorch's: ``to_torch(nl.MSELoss())`` computes
1/(2N) sum (y - t)^2 with N the number of rows, whereas ``torch.nn.MSELoss`` is the mean over
every element, without the 1/2. The torch modules made for nnlite's kinds without a counterpart
are reachable as ``nnlite.interop.BiasAppend``, ``nnlite.interop.MSELoss`` and so on, once torch
is installed.

Importing nnlite never imports torch or onnx: they are imported by the functions that need them,
and a missing one is a :class:`~nnlite.MissingExtraError` saying what to install. The work is in
:mod:`nnlite.interop.torch` (with its files in :mod:`nnlite.interop.torch_files`) and
:mod:`nnlite.interop.onnx`, each driven by the registry of kinds.
"""

from __future__ import annotations

from typing import Any

from nnlite._kinds import (
    LayerKind,
    LossKind,
    TorchConversion,
    TorchFormula,
    layer_kind,
    layer_kinds,
    loss_kind,
    loss_kinds,
    register,
    unregister,
)
from nnlite.errors import ConversionError
from nnlite.interop.onnx import ONNX_IR_VERSION, ONNX_OPSET, OnnxGraph, to_onnx
from nnlite.interop.torch import (
    formula_module,
    from_torch,
    import_torch,
    supported_layers,
    supported_modules,
    to_torch,
)
from nnlite.interop.torch_files import TORCH_FORMAT, TORCH_VERSION, load_torch, save_torch


def __getattr__(name: str) -> Any:
    """``nnlite.interop.BiasAppend``, the loss modules, and the module of any registered kind
    converted by a TorchFormula, importing torch on first use; and the supported-lists of the
    error messages, made from the registry: ``SUPPORTED_LAYERS`` (nnlite's side) and
    ``SUPPORTED_MODULES`` (PyTorch's, importing torch)."""
    if name == "SUPPORTED_LAYERS":
        return supported_layers()
    if name == "SUPPORTED_MODULES":
        return supported_modules(import_torch())
    module = formula_module(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return module


__all__ = [
    "ONNX_IR_VERSION",
    "ONNX_OPSET",
    "TORCH_FORMAT",
    "TORCH_VERSION",
    "ConversionError",
    "LayerKind",
    "LossKind",
    "OnnxGraph",
    "TorchConversion",
    "TorchFormula",
    "from_torch",
    "layer_kind",
    "layer_kinds",
    "load_torch",
    "loss_kind",
    "loss_kinds",
    "register",
    "save_torch",
    "to_onnx",
    "to_torch",
    "unregister",
]
