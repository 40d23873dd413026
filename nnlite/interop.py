"""Moving to other engines: nnlite models as PyTorch modules and ONNX graphs, and back.

- :func:`to_torch` turns a model (or a loss) into the equivalent ``torch.nn.Module``, same
  parameters bit for bit, same dtype; :func:`from_torch` turns such a module back into nnlite.
- :func:`save_torch` and :func:`load_torch` keep the converted module in a file that
  ``torch.load(path, weights_only=True)`` can read: tensors, strings and dicts, no pickled code.
- :func:`to_onnx` writes an ONNX graph (opset :data:`ONNX_OPSET`) that onnxruntime runs.

The layouts differ in one place: nnlite's ``Linear`` weight is (in_features, out_features), as in
the derivation's H = X W1, and PyTorch's is (out_features, in_features), so the weight is
transposed on the way over and back. ONNX's MatMul takes nnlite's layout as it is.

The losses keep nnlite's averaging, which is not PyTorch's: ``to_torch(nl.MSELoss())`` computes
1/(2N) sum (y - t)^2 with N the number of rows, whereas ``torch.nn.MSELoss`` is the mean over
every element, without the 1/2. The torch modules are defined here and are reachable as
``nnlite.interop.BiasAppend``, ``nnlite.interop.MSELoss`` and so on, once torch is installed.

Importing nnlite never imports torch or onnx: they are imported by the functions that need them,
and a missing one is a :class:`~nnlite.MissingExtraError` saying what to install.
"""

from __future__ import annotations

import functools
import importlib
import io
import json
import os
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from nnlite import layers, losses
from nnlite._files import write_atomically
from nnlite._validation import label
from nnlite.errors import ConversionError, LoadError, MissingExtraError, ShapeError
from nnlite.layer import Layer
from nnlite.sequential import Sequential
from nnlite.serialization import PathLike, _build, _layer_classes, _layer_spec

ONNX_OPSET = 17
"""The ONNX opset :func:`to_onnx` writes: supported by onnxruntime 1.13 and every later release."""

ONNX_IR_VERSION = 8
"""The ONNX IR version written with opset 17 (newer IR versions are refused by older runtimes)."""

TORCH_FORMAT = "nnlite-torch"
"""The format name inside a file written by :func:`save_torch`."""

TORCH_VERSION = 1
"""The version of that format this nnlite writes and reads."""

# What converts to what, for the error messages: nnlite's layers and PyTorch's modules, in order.
SUPPORTED_LAYERS = (
    "Sequential, Linear, Sigmoid, ReLU, Tanh, LeakyReLU, Identity, BiasAppend; losses MSELoss, "
    "BCELoss, BCEWithLogitsLoss, SoftmaxCrossEntropyLoss"
)
SUPPORTED_MODULES = (
    "torch.nn.Sequential, torch.nn.Linear, torch.nn.Sigmoid, torch.nn.ReLU, torch.nn.Tanh, "
    "torch.nn.LeakyReLU, torch.nn.Identity, and nnlite.interop's BiasAppend, MSELoss, BCELoss, "
    "BCEWithLogitsLoss, SoftmaxCrossEntropyLoss"
)


# ---------------------------------------------------------------------------------------------
# The optional dependencies
# ---------------------------------------------------------------------------------------------


def _import_torch() -> Any:
    try:
        torch = importlib.import_module("torch")
    except ImportError as error:
        raise MissingExtraError(
            'converting to or from PyTorch needs torch: pip install "nnlite[torch]"'
        ) from error
    return torch


def _import_onnx() -> Any:
    try:
        onnx = importlib.import_module("onnx")
        importlib.import_module("onnx.checker")  # submodules used below, loaded explicitly
        importlib.import_module("onnx.numpy_helper")
    except ImportError as error:
        raise MissingExtraError(
            'exporting to ONNX needs onnx: pip install "nnlite[onnx]"'
        ) from error
    return onnx


# ---------------------------------------------------------------------------------------------
# The torch modules nnlite's layers and losses become
# ---------------------------------------------------------------------------------------------


@functools.cache
def _torch_classes() -> dict[str, type[Any]]:
    """The torch.nn.Module classes for BiasAppend and the losses, made once torch is imported.

    They are built here rather than at module level so that importing nnlite does not import
    torch; the module's ``__getattr__`` hands them out as ``nnlite.interop.<name>``, which is also
    where pickle (``torch.save(module)``) finds them.
    """
    torch = _import_torch()
    functional = torch.nn.functional
    module: Any = torch.nn.Module  # Any: torch is imported at run time, not seen by mypy

    def check_same_shape(loss: Any, prediction: Any, target: Any) -> None:
        if prediction.shape != target.shape:  # as nnlite: never broadcast (N, 1) against (N,)
            raise ValueError(
                f"{type(loss).__name__} expects target of the prediction's shape "
                f"{tuple(prediction.shape)}, got {tuple(target.shape)}"
            )

    class BiasAppend(module):  # type: ignore[misc]
        """y = [x, 1]: append a column of ones, as :class:`nnlite.BiasAppend`.

        Shape:
            x: (N, d) -> y: (N, d + 1), in x's dtype and on x's device.
        """

        def forward(self, x: Any) -> Any:
            ones = torch.ones(x.shape[0], 1, dtype=x.dtype, device=x.device)
            return torch.cat([x, ones], dim=1)

    class MSELoss(module):  # type: ignore[misc]
        """L = 1/(2N) sum (t - y)^2 over all elements, N the number of rows (nnlite's MSELoss).

        Not ``torch.nn.MSELoss``, which is the mean over all elements, without the 1/2.
        """

        def forward(self, prediction: Any, target: Any) -> Any:
            check_same_shape(self, prediction, target)
            return ((target - prediction) ** 2).sum() / (2 * prediction.shape[0])

    class BCELoss(module):  # type: ignore[misc]
        """L = -1/N sum [t log p + (1 - t) log(1 - p)], p clamped to [eps, 1 - eps].

        eps is the machine epsilon of p's dtype, as in :class:`nnlite.BCELoss` (torch's own
        ``binary_cross_entropy`` clamps the log at -100 instead, and takes the mean).
        """

        def forward(self, prediction: Any, target: Any) -> Any:
            check_same_shape(self, prediction, target)
            eps = torch.finfo(prediction.dtype).eps
            p = prediction.clamp(eps, 1 - eps)  # its gradient is 0 where the clamp is active
            log_likelihood = target * torch.log(p) + (1 - target) * torch.log1p(-p)
            return -log_likelihood.sum() / prediction.shape[0]

    class BCEWithLogitsLoss(module):  # type: ignore[misc]
        """L = -1/N sum [t log sigma(z) + (1 - t) log sigma(-z)], from logits z.

        Written with ``logsigmoid``, whose derivative is exact everywhere, z = 0 included, and
        whose terms are all >= 0 (no cancellation): :class:`nnlite.BCEWithLogitsLoss`'s value,
        and an autograd gradient of ((1 - t) sigma(z) - t sigma(-z)) / N.
        """

        def forward(self, prediction: Any, target: Any) -> Any:
            check_same_shape(self, prediction, target)
            z = prediction
            log_likelihood = target * functional.logsigmoid(z) + (1 - target) * (
                functional.logsigmoid(-z)
            )
            return -log_likelihood.sum() / prediction.shape[0]

    class SoftmaxCrossEntropyLoss(module):  # type: ignore[misc]
        """L = -1/N sum_i sum_c t_ic log softmax(z_i)_c, from logits z of shape (N, C).

        As :class:`nnlite.SoftmaxCrossEntropyLoss`: t holds one-hot rows or one distribution per
        row, not class indices (``torch.nn.CrossEntropyLoss`` takes either, and the mean).
        """

        def forward(self, prediction: Any, target: Any) -> Any:
            if prediction.ndim != 2 or prediction.shape[1] == 0:
                raise ValueError(
                    f"SoftmaxCrossEntropyLoss expects prediction of shape (N, C), got "
                    f"{tuple(prediction.shape)}"
                )
            check_same_shape(self, prediction, target)
            log_softmax = functional.log_softmax(prediction, dim=1)
            return -(target * log_softmax).sum() / prediction.shape[0]

    classes: dict[str, type[Any]] = {
        "BiasAppend": BiasAppend,
        "MSELoss": MSELoss,
        "BCELoss": BCELoss,
        "BCEWithLogitsLoss": BCEWithLogitsLoss,
        "SoftmaxCrossEntropyLoss": SoftmaxCrossEntropyLoss,
    }
    for name, cls in classes.items():  # so pickle and repr find them as nnlite.interop.<name>
        cls.__module__, cls.__qualname__ = __name__, name
    return classes


_TORCH_CLASS_NAMES = (
    "BiasAppend",
    "MSELoss",
    "BCELoss",
    "BCEWithLogitsLoss",
    "SoftmaxCrossEntropyLoss",
)


def __getattr__(name: str) -> Any:
    """``nnlite.interop.BiasAppend`` and the loss modules: importing torch on first use."""
    if name in _TORCH_CLASS_NAMES:
        return _torch_classes()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ---------------------------------------------------------------------------------------------
# nnlite -> PyTorch
# ---------------------------------------------------------------------------------------------

_LOSS_NAMES: dict[type[losses.Loss], str] = {
    losses.MSELoss: "MSELoss",
    losses.BCELoss: "BCELoss",
    losses.BCEWithLogitsLoss: "BCEWithLogitsLoss",
    losses.SoftmaxCrossEntropyLoss: "SoftmaxCrossEntropyLoss",
}


def to_torch(model: Layer | losses.Loss) -> Any:
    """The ``torch.nn.Module`` computing the same y = model(x), or the same loss L(y, t).

    Sequential -> ``torch.nn.Sequential`` (nested ones too), Linear -> ``torch.nn.Linear`` with
    weight W^T of shape (out_features, in_features) and the same bias, Sigmoid, ReLU, Tanh,
    LeakyReLU(negative_slope) and Identity -> their ``torch.nn`` namesakes, BiasAppend ->
    ``nnlite.interop.BiasAppend``. A loss becomes ``nnlite.interop.<its name>``, which keeps
    nnlite's averaging over rows (MSE: 1/(2N) sum of squares; the others: sum / N).

    Parameters are copied (nothing is shared) into tensors of the model's dtype, float64 staying
    float64, so the module's forward equals nnlite's to rounding. Gradients are not copied.

    Args:
        model: a built-in layer, a Sequential of them, or a built-in loss.

    Returns:
        A ``torch.nn.Module`` on the CPU, in training mode, with ``requires_grad`` parameters.

    Raises:
        ConversionError: (a TypeError) a layer or loss is not one of the built-ins (subclasses
            neither: their forward may differ); the message names it and where it is.
        ValueError: the parameters mix float32 and float64 (torch does not promote them).
        MissingExtraError: torch is not installed.

    Example:
        >>> module = to_torch(nl.Sequential(nl.Linear(3, 2, rng=0), nl.Sigmoid()))  # doctest: +SKIP
        >>> module[0].weight.shape, module[0].weight.dtype  # doctest: +SKIP
        (torch.Size([2, 3]), torch.float64)
    """
    torch = _import_torch()
    if isinstance(model, losses.Loss):
        name = _LOSS_NAMES.get(type(model))
        if name is None:
            raise ConversionError(
                f"to_torch: {label(model)} has no PyTorch counterpart; supported: "
                + SUPPORTED_LAYERS
            )
        return _torch_classes()[name]()
    if not isinstance(model, Layer):
        raise TypeError(f"to_torch expects an nnlite Layer or Loss, got a {type(model).__name__}")
    _single_dtype(model, "to_torch")
    return _layer_to_torch(torch, model, ())


def _layer_to_torch(torch: Any, layer: Layer, where: tuple[int, ...]) -> Any:
    kind = type(layer)  # exact types: a subclass may compute something else
    if kind is Sequential:
        assert isinstance(layer, Sequential)
        return torch.nn.Sequential(
            *(_layer_to_torch(torch, inner, (*where, i)) for i, inner in enumerate(layer))
        )
    if kind is layers.Linear:
        assert isinstance(layer, layers.Linear)
        module = torch.nn.utils.skip_init(  # no random init: every value is overwritten
            torch.nn.Linear,
            layer.in_features,
            layer.out_features,
            bias=layer.bias is not None,
            dtype=_torch_dtype(torch, layer.dtype),
        )
        with torch.no_grad():
            module.weight.copy_(torch.from_numpy(layer.weight.data.T))  # (in, out) -> (out, in)
            if layer.bias is not None:
                module.bias.copy_(torch.from_numpy(layer.bias.data))
        return module
    if kind is layers.LeakyReLU:
        assert isinstance(layer, layers.LeakyReLU)
        return torch.nn.LeakyReLU(negative_slope=layer.negative_slope)
    simple: dict[type[Layer], Callable[[], Any]] = {
        layers.Sigmoid: torch.nn.Sigmoid,
        layers.ReLU: torch.nn.ReLU,
        layers.Tanh: torch.nn.Tanh,
        layers.Identity: torch.nn.Identity,
        layers.BiasAppend: _torch_classes()["BiasAppend"],
    }
    if kind in simple:
        return simple[kind]()
    raise ConversionError(
        f"to_torch: {_where(where)}{label(layer)} has no PyTorch counterpart; supported: "
        + SUPPORTED_LAYERS
    )


def _torch_dtype(torch: Any, dtype: np.dtype[Any]) -> Any:
    return torch.float32 if dtype == np.float32 else torch.float64


def _single_dtype(model: Layer, caller: str) -> np.dtype[Any]:
    """The dtype of every parameter (float64 when there are none); mixing float32 and float64 is
    refused, since neither PyTorch nor ONNX promotes between them."""
    dtypes = {parameter.data.dtype for parameter in model.parameters()}
    if len(dtypes) > 1:
        named = ", ".join(f"{name} {p.data.dtype}" for name, p in model.named_parameters())
        raise ValueError(
            f"{caller}: the model's parameters mix float32 and float64 ({named}); convert them to "
            "one dtype first"
        )
    return dtypes.pop() if dtypes else np.dtype(np.float64)


def _where(where: tuple[int, ...]) -> str:
    return f"Sequential layer {'.'.join(map(str, where))}: " if where else ""


# ---------------------------------------------------------------------------------------------
# PyTorch -> nnlite
# ---------------------------------------------------------------------------------------------


def from_torch(module: Any) -> Layer | losses.Loss:
    """The nnlite layer, Sequential or loss computing what ``module`` computes.

    The inverse of :func:`to_torch`: ``torch.nn.Sequential`` (nested too), ``torch.nn.Linear``
    (weight transposed to nnlite's (in_features, out_features)), ``torch.nn.Sigmoid``, ``ReLU``,
    ``Tanh``, ``LeakyReLU``, ``Identity``, and nnlite.interop's ``BiasAppend`` and loss modules.
    Values are copied bit for bit, float32 stays float32 and float64 float64, so
    ``from_torch(to_torch(model))`` has exactly the model's parameters.

    Args:
        module: a ``torch.nn.Module`` of the kinds above (exact types: a subclass may have its own
            forward). Its device does not matter; the values are copied to numpy.

    Returns:
        A new nnlite Layer (a Sequential for a ``torch.nn.Sequential``) or Loss.

    Raises:
        ConversionError: (a TypeError) a module has no nnlite counterpart, or a Linear's parameters
            are not float32 or float64; the message names the module, its index path in the
            Sequential, and lists what converts.
        MissingExtraError: torch is not installed.
    """
    torch = _import_torch()
    converted: Layer | losses.Loss = _module_to_nnlite(torch, module, ())
    return converted


def _module_to_nnlite(torch: Any, module: Any, where: tuple[int, ...]) -> Any:
    kind = type(module)
    ours = {cls: name for name, cls in _torch_classes().items()}

    def refuse(reason: str) -> ConversionError:
        return ConversionError(
            f"from_torch: {_where(where)}{module!r} {reason}; supported: {SUPPORTED_MODULES}"
        )

    if kind is torch.nn.Sequential:
        return Sequential(
            *(_module_to_nnlite(torch, inner, (*where, i)) for i, inner in enumerate(module))
        )
    if kind is torch.nn.Linear:
        dtype = module.weight.dtype
        if dtype not in (torch.float32, torch.float64):
            raise refuse(f"has {dtype} parameters, not float32 or float64")
        numpy_dtype = np.float32 if dtype == torch.float32 else np.float64
        layer = layers.Linear(
            module.in_features,
            module.out_features,
            bias=module.bias is not None,
            rng=0,  # overwritten below; a fixed seed avoids drawing fresh entropy
            dtype=numpy_dtype,
        )
        layer.weight.data[...] = module.weight.detach().cpu().numpy().T  # (out, in) -> (in, out)
        if module.bias is not None:
            layer.bias.data[...] = module.bias.detach().cpu().numpy()  # type: ignore[union-attr]
        return layer
    if kind is torch.nn.LeakyReLU:
        try:
            return layers.LeakyReLU(module.negative_slope)
        except ValueError as error:
            raise refuse(f"cannot be converted: {error}") from error
    simple = {
        torch.nn.Sigmoid: layers.Sigmoid,
        torch.nn.ReLU: layers.ReLU,
        torch.nn.Tanh: layers.Tanh,
        torch.nn.Identity: layers.Identity,
    }
    if kind in simple:
        return simple[kind]()
    if kind in ours:
        name = ours[kind]
        return layers.BiasAppend() if name == "BiasAppend" else getattr(losses, name)()
    raise refuse("has no nnlite counterpart")


# ---------------------------------------------------------------------------------------------
# A file for PyTorch: state_dict and architecture, no pickled code
# ---------------------------------------------------------------------------------------------


def save_torch(model: Layer, path: PathLike) -> None:
    """Write ``to_torch(model)`` as a file ``torch.load(path, weights_only=True)`` reads safely.

    The file is ``torch.save`` of a dict of plain values: ``{"format": "nnlite-torch",
    "version": 1, "architecture": JSON text, "state_dict": the module's state_dict}``, the
    architecture being nnlite's own (as in :func:`nnlite.save`). No module object is pickled, so
    loading runs no code from the file; :func:`load_torch` rebuilds the module from it. The write
    is atomic (a temporary file beside ``path``, then renamed onto it).

    Raises:
        ConversionError, ValueError: as :func:`to_torch`. MissingExtraError: torch is missing.
        OSError: the file could not be written; a file already at ``path`` is unchanged.
    """
    torch = _import_torch()
    module = to_torch(model)
    document = {
        "format": TORCH_FORMAT,
        "version": TORCH_VERSION,
        "architecture": json.dumps(_layer_spec(model, ()), allow_nan=False),
        "state_dict": dict(module.state_dict()),
    }
    buffer = io.BytesIO()
    torch.save(document, buffer)
    data = buffer.getvalue()
    write_atomically(os.fspath(path), lambda file: file.write(data))


def load_torch(path: PathLike) -> Any:
    """The ``torch.nn.Module`` in a file written by :func:`save_torch` (or ``nnlite export``).

    Reads it with ``torch.load(path, weights_only=True)``, which unpickles only tensors and plain
    containers, rebuilds the architecture with :func:`to_torch`, and loads the state_dict
    (``strict=True``: every parameter, of its exact shape).

    Raises:
        LoadError: the file is not a readable nnlite-torch file, or its parts do not fit.
        MissingExtraError: torch is not installed.
    """
    torch = _import_torch()
    text = os.fspath(path)
    try:
        document = torch.load(text, weights_only=True)
    except Exception as error:  # missing, truncated, not a torch file: all one LoadError
        raise LoadError(
            f"load_torch could not load {text}: {type(error).__name__}: {error}"
        ) from error
    if not isinstance(document, dict) or document.get("format") != TORCH_FORMAT:
        raise LoadError(f"load_torch could not load {text}: not a file written by save_torch")
    if document.get("version") != TORCH_VERSION:
        raise LoadError(
            f"load_torch could not load {text}: unsupported version {document.get('version')!r}"
        )
    try:
        model = _build(json.loads(document["architecture"]), (), _layer_classes(None))
        module = to_torch(model)
        module.load_state_dict(document["state_dict"], strict=True)
    except (LoadError, ValueError, KeyError, RuntimeError, TypeError) as error:
        raise LoadError(f"load_torch could not load {text}: {error}") from error
    return module


# ---------------------------------------------------------------------------------------------
# ONNX
# ---------------------------------------------------------------------------------------------


def to_onnx(model: Layer, path: PathLike, *, dtype: Any = None) -> None:
    """Write ``model`` as an ONNX graph y = model(x), opset 17, checked, written atomically.

    The graph has one input ``"x"`` of shape (N, in_features) and one output ``"y"``, N dynamic
    (any batch size), in the model's dtype (float64 -> ``DOUBLE``, float32 -> ``FLOAT``; a model
    without parameters is float64 unless ``dtype`` says float32). Each layer becomes:

    - Linear: ``MatMul(x, W)`` with W an initializer in nnlite's (in, out) layout, then
      ``Add(., b)`` when it has a bias;
    - Sigmoid, ReLU, Tanh, LeakyReLU, Identity: ``Sigmoid``, ``Relu``, ``Tanh``,
      ``LeakyRelu(alpha=negative_slope)``, ``Identity``. LeakyRelu's alpha is a float32
      attribute, so in a float64 graph a slope float32 cannot hold exactly (0.1) becomes
      ``Relu(x) + slope * (x - Relu(x))`` with slope a float64 constant instead;
    - BiasAppend: ``Concat(x, ones, axis=1)``, the ones column ``ConstantOfShape([N, 1])`` with N
      read from ``Shape(x)`` at run time, so the batch size stays free.

    The graph passes ``onnx.checker.check_model(full_check=True)`` (which infers every shape)
    before it is written. Run it with ``onnxruntime.InferenceSession(path).run(None, {"x": x})``.

    Args:
        model: a built-in layer or a Sequential of them, all parameters of one dtype.
        path: the file to write, used as given (``.onnx`` is customary, never added).
        dtype: the graph's float type; by default the parameters' dtype. Only a model without
            parameters can choose (float32 or float64).

    Raises:
        ConversionError: (a TypeError) a layer is not one of the built-ins above.
        ValueError: the parameters mix float32 and float64. ShapeError: a Linear's in_features does
            not match the width reaching it.
        MissingExtraError: onnx is not installed.
        OSError: the file could not be written; a file already at ``path`` is unchanged.
    """
    onnx = _import_onnx()
    if not isinstance(model, Layer):
        raise TypeError(f"to_onnx expects an nnlite Layer, got a {type(model).__name__}")
    parameter_dtype = _single_dtype(model, "to_onnx")
    if dtype is None:
        dtype = parameter_dtype
    elif np.dtype(dtype) not in (np.float32, np.float64) or (
        model.parameters() and np.dtype(dtype) != parameter_dtype
    ):
        raise ValueError(
            f"to_onnx: dtype must be float32 or float64, and the parameters' dtype "
            f"{parameter_dtype} when there are parameters; got {dtype!r}"
        )
    builder = _OnnxBuilder(onnx, np.dtype(dtype))
    flat = list(_flatten(model, ()))
    in_width = _input_width(flat)
    width: int | None = in_width
    name = "x"
    for where, layer in flat:
        name, width = builder.add(layer, where, name, width)
    if not builder.nodes or name == "x":
        name = builder.node("Identity", [name])
    builder.nodes[-1].output[0] = "y"
    helper = onnx.helper
    graph = helper.make_graph(
        builder.nodes,
        "nnlite",
        [helper.make_tensor_value_info("x", builder.elem_type, ["N", in_width])],
        [helper.make_tensor_value_info("y", builder.elem_type, ["N", width])],
        initializer=builder.initializers,
    )
    proto = helper.make_model(
        graph,
        producer_name="nnlite",
        opset_imports=[helper.make_opsetid("", ONNX_OPSET)],
        ir_version=ONNX_IR_VERSION,
    )
    onnx.checker.check_model(proto, full_check=True)
    data = proto.SerializeToString()
    write_atomically(os.fspath(path), lambda file: file.write(data))


def _flatten(layer: Layer, where: tuple[int, ...]) -> Iterator[tuple[tuple[int, ...], Layer]]:
    if type(layer) is Sequential:
        assert isinstance(layer, Sequential)
        for index, inner in enumerate(layer):
            yield from _flatten(inner, (*where, index))
    else:
        yield where, layer


def _input_width(flat: list[tuple[tuple[int, ...], Layer]]) -> int | None:
    """The input width fixed by the first Linear, counting the BiasAppends before it; None (a
    free dimension) when no Linear fixes it."""
    appended = 0
    for _, layer in flat:
        if type(layer) is layers.Linear:
            assert isinstance(layer, layers.Linear)
            return layer.in_features - appended if layer.in_features > appended else None
        appended += type(layer) is layers.BiasAppend
    return None


class _OnnxBuilder:
    """The nodes and initializers of the graph, one layer at a time."""

    def __init__(self, onnx: Any, dtype: np.dtype[Any]) -> None:
        self.onnx, self.dtype = onnx, dtype
        self.elem_type = onnx.helper.np_dtype_to_tensor_dtype(dtype)
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []

    def node(self, op: str, inputs: list[str], **attributes: Any) -> str:
        """Append a node with one output, named after its position; return that name."""
        output = f"{op.lower()}_{len(self.nodes)}"
        self.nodes.append(self.onnx.helper.make_node(op, inputs, [output], **attributes))
        return output

    def constant(self, name: str, values: np.ndarray[Any, Any]) -> str:
        self.initializers.append(self.onnx.numpy_helper.from_array(values, name))
        return name

    def add(
        self, layer: Layer, where: tuple[int, ...], x: str, width: int | None
    ) -> tuple[str, int | None]:
        """The nodes for ``layer`` applied to ``x`` of ``width`` columns: its output and width."""
        prefix = ".".join(map(str, where)) or "0"
        kind = type(layer)
        if kind is layers.Linear:
            assert isinstance(layer, layers.Linear)
            if width is not None and width != layer.in_features:
                raise ShapeError(
                    f"to_onnx: {_where(where)}{label(layer)} expects input of shape (N, "
                    f"{layer.in_features}), but the layers before it give (N, {width})"
                )
            y = self.node("MatMul", [x, self.constant(f"{prefix}.weight", layer.weight.data)])
            if layer.bias is not None:
                y = self.node("Add", [y, self.constant(f"{prefix}.bias", layer.bias.data)])
            return y, layer.out_features
        if kind is layers.BiasAppend:
            batch = self.node("Shape", [x], start=0, end=1)  # [N], read at run time
            one = self.constant(f"{prefix}.one", np.array([1], dtype=np.int64))
            shape = self.node("Concat", [batch, one], axis=0)  # [N, 1]
            value = self.onnx.numpy_helper.from_array(np.ones(1, dtype=self.dtype))
            ones = self.node("ConstantOfShape", [shape], value=value)
            return self.node("Concat", [x, ones], axis=1), None if width is None else width + 1
        if kind is layers.LeakyReLU:
            assert isinstance(layer, layers.LeakyReLU)
            slope = layer.negative_slope
            if self.dtype == np.float32 or float(np.float32(slope)) == slope:
                return self.node("LeakyRelu", [x], alpha=slope), width
            # LeakyRelu's alpha is a float32 attribute: a slope such as 0.1 would be rounded to
            # float32, an error of 1.5e-8. So in float64, nnlite's own formula with a double:
            # max(x, 0) + slope * min(x, 0), min(x, 0) being x - max(x, 0), exactly.
            positive = self.node("Relu", [x])
            negative = self.node("Sub", [x, positive])
            scaled = self.node(
                "Mul", [negative, self.constant(f"{prefix}.slope", np.array(slope, self.dtype))]
            )
            return self.node("Add", [positive, scaled]), width
        ops = {
            layers.Sigmoid: "Sigmoid",
            layers.ReLU: "Relu",
            layers.Tanh: "Tanh",
            layers.Identity: "Identity",
        }
        if kind in ops:
            return self.node(ops[kind], [x]), width
        raise ConversionError(
            f"to_onnx: {_where(where)}{label(layer)} has no ONNX counterpart; supported: "
            + SUPPORTED_LAYERS.split("; ")[0]
        )


__all__ = [
    "ONNX_OPSET",
    "ConversionError",
    "from_torch",
    "load_torch",
    "save_torch",
    "to_onnx",
    "to_torch",
]
