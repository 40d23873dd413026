"""nnlite to ONNX: a model as a checked ONNX graph that onnxruntime runs.

Each layer's nodes come from its kind's ``onnx`` entry in the registry (:mod:`nnlite._kinds`):
an op name for a layer that is one node of its input, or a converter that adds the nodes through
the :class:`OnnxGraph` it is handed. onnx is imported by :func:`to_onnx`, never when nnlite is.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

import numpy as np

from nnlite._architecture import at, flatten, input_width, parameter_dtype
from nnlite._constraints import Integer, TupleOf
from nnlite._files import write_atomically
from nnlite._kinds import layer_kind, supported
from nnlite._validation import describe, label
from nnlite.errors import ConversionError, MissingExtraError, ShapeError
from nnlite.layer import Layer

ONNX_OPSET = 17
"""The ONNX opset :func:`to_onnx` writes: supported by onnxruntime 1.13 and every later release."""

ONNX_IR_VERSION = 8
"""The ONNX IR version written with opset 17 (newer IR versions are refused by older runtimes)."""


def import_onnx() -> Any:
    """The onnx module (with the submodules used here), or a MissingExtraError."""
    try:
        onnx = importlib.import_module("onnx")
        importlib.import_module("onnx.checker")  # submodules used below, loaded explicitly
        importlib.import_module("onnx.numpy_helper")
        importlib.import_module("onnx.shape_inference")
    except ImportError as error:
        raise MissingExtraError(
            'exporting to ONNX needs onnx: pip install "nnlite[onnx]"'
        ) from error
    return onnx


class OnnxGraph:
    """The nodes and initializers of the graph being built, handed to each layer's converter.

    Attributes:
        onnx: the onnx module.
        dtype: the graph's float dtype, float32 or float64, as a numpy dtype.
        where: the index path of the layer being converted, ``(3, 1)``.
        prefix: that path as text ("0", "3.1"), which names the layer's constants: its weight is
            ``"3.1.weight"``.
    """

    def __init__(self, onnx: Any, dtype: np.dtype[Any]) -> None:
        self.onnx, self.dtype = onnx, dtype
        self.elem_type = onnx.helper.np_dtype_to_tensor_dtype(dtype)
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.where: tuple[int, ...] = ()
        self.prefix = "0"

    def sublayer(self, layer: Layer, x: str, index: int = 0) -> str:
        """Add the nodes of ``layer``, held by the container being converted as its ``index``-th
        layer (a Sequential block, too), applied to the value ``x``; return their output's name.

        Its constants are named by their path inside the container ("1.0.weight" for the weight
        of the inner Linear of a Residual at index 1). A container's converter calls this for
        each layer it holds: Residual's is ``Add(x, graph.sublayer(layer.inner, x))``.
        """
        outer = self.where
        y = x
        for where, inner in flatten(layer, (*outer, index)):
            y, _ = _add(self, inner, where, y, None)
        self.where, self.prefix = outer, ".".join(map(str, outer)) or "0"
        return y

    def node(self, op: str, inputs: list[str], **attributes: Any) -> str:
        """Add a node with one output, named after its position; return that name."""
        output = f"{op.lower()}_{len(self.nodes)}"
        self.nodes.append(self.onnx.helper.make_node(op, inputs, [output], **attributes))
        return output

    def constant(self, name: str, values: np.ndarray[Any, Any]) -> str:
        """Add ``values`` as the initializer ``<prefix>.<name>``; return that name."""
        full_name = f"{self.prefix}.{name}"
        self.initializers.append(self.onnx.numpy_helper.from_array(values, full_name))
        return full_name

    def tensor(self, values: np.ndarray[Any, Any]) -> Any:
        """``values`` as an ONNX TensorProto, for a node attribute (ConstantOfShape's value)."""
        return self.onnx.numpy_helper.from_array(values)


def to_onnx(
    model: Layer,
    path: str | os.PathLike[str],
    *,
    dtype: Any = None,
    input_shape: tuple[int, ...] | None = None,
) -> None:
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
      read from ``Shape(x)`` at run time, so the batch size stays free;
    - Conv2d, MaxPool2d, AvgPool2d: ``Conv``, ``MaxPool``, ``AveragePool``; in a float64 graph
      Conv2d and AvgPool2d become the same windows as slices, then ``MatMul`` (nnlite's im2col)
      and ``ReduceMean``, as ONNX Runtime has no float64 Conv or AveragePool;
    - Flatten, Unflatten: ``Flatten(axis=1)``, ``Reshape`` to (N, *shape);
    - Softmax, LogSoftmax: ``Softmax``, ``LogSoftmax`` with their ``axis``;
    - Dropout: ``Identity``; BatchNorm1d: ``(x - running_mean) * inv_std * weight + bias``
      (``Sub``, ``Mul``, ``Mul``, ``Add``), ``inv_std = 1 / sqrt(running_var + eps)`` a constant;
      LayerNorm: its forward's steps (``ReduceMean``, ``Sub``, ``Mul``, ``ReduceMean``, ``Add``,
      ``Sqrt``, ``Reciprocal``, ``Mul``, ``Mul``, ``Add``). ONNX's own BatchNormalization and
      LayerNormalization take eps as a float32 attribute, which would round 1e-5 in float64;
    - Residual: the inner layer's nodes, then ``Add(x, .)``;
    - a kind registered with :func:`nnlite.interop.register`: the nodes its entry gives.

    The graph computes the model in evaluation mode, whatever mode it is in, as inference does:
    Dropout is the identity and BatchNorm1d normalizes by its running statistics.

    The graph passes ``onnx.checker.check_model(full_check=True)`` (which infers every shape)
    before it is written. Run it with ``onnxruntime.InferenceSession(path).run(None, {"x": x})``.

    Args:
        model: a layer or a Sequential of layers of registered kinds, all parameters of one dtype.
        path: the file to write, used as given (``.onnx`` is customary, never added).
        dtype: the graph's float type; by default the parameters' dtype. Only a model without
            parameters can choose (float32 or float64).
        input_shape: the shape of one sample of the input, for a model that does not take rows:
            ``(C, H, W)`` for images, so the input is (N, C, H, W). By default rows
            (N, input width), the width the first layer that requires one fixes (an
            ``Unflatten((1, 8, 8))`` before a Conv2d makes a model on images take rows).

    Raises:
        ConversionError: (a TypeError) a layer has no ONNX counterpart.
        ValueError: the parameters mix float32 and float64. ShapeError: a layer's required input
            width (a Linear's in_features) does not match the width reaching it; the first layer
            takes images and ``input_shape`` is not given; or ``input_shape`` is not the rows
            the model requires.
        MissingExtraError: onnx is not installed.
        OSError: the file could not be written; a file already at ``path`` is unchanged.
    """
    onnx = import_onnx()
    if not isinstance(model, Layer):
        raise TypeError(f"to_onnx expects an nnlite Layer, got {describe(model)}")
    own_dtype = parameter_dtype(model, "to_onnx")
    if dtype is None:
        dtype = own_dtype
    elif np.dtype(dtype) not in (np.float32, np.float64) or (
        model.parameters() and np.dtype(dtype) != own_dtype
    ):
        raise ValueError(
            f"to_onnx: dtype must be float32 or float64, and the parameters' dtype "
            f"{own_dtype} when there are parameters; got {dtype!r}"
        )
    graph = OnnxGraph(onnx, np.dtype(dtype))
    in_width = input_width(model)
    sample = _sample_shape(model, in_width, input_shape)
    width: int | None = sample[0] if len(sample) == 1 else None
    name = "x"
    for where, layer in flatten(model):
        name, width = _add(graph, layer, where, name, width)
    if not graph.nodes or name == "x":
        name = graph.node("Identity", [name])
    graph.nodes[-1].output[0] = "y"
    helper = onnx.helper
    proto = helper.make_model(
        helper.make_graph(
            graph.nodes,
            "nnlite",
            [helper.make_tensor_value_info("x", graph.elem_type, ["N", *sample])],
            # Rows of a known width; otherwise the shape ONNX infers, below.
            [helper.make_tensor_value_info("y", graph.elem_type, _rows(width))],
            initializer=graph.initializers,
        ),
        producer_name="nnlite",
        opset_imports=[helper.make_opsetid("", ONNX_OPSET)],
        ir_version=ONNX_IR_VERSION,
    )
    proto = onnx.shape_inference.infer_shapes(proto, strict_mode=True)
    onnx.checker.check_model(proto, full_check=True)
    data = proto.SerializeToString()
    write_atomically(os.fspath(path), lambda file: file.write(data))


def _rows(width: int | None) -> list[str | int] | None:
    """The output's declared shape: rows (N, width), or None to leave it to shape inference."""
    return None if width is None else ["N", width]


def _sample_shape(
    model: Layer, in_width: int | None, input_shape: tuple[int, ...] | None
) -> tuple[int | None, ...]:
    """The shape of one sample of the graph's input: ``input_shape``, or rows (width)."""
    if input_shape is not None:
        shape = TupleOf(Integer(low=1)).check("to_onnx", "input_shape", input_shape)
        if in_width is not None and shape != (in_width,):
            raise ShapeError(
                f"to_onnx: the model takes rows (N, {in_width}), not input_shape {shape}"
            )
        return shape
    for where, layer in flatten(model):
        kind = layer_kind(type(layer))
        if kind is not None and kind.sample_shape is not None and kind.input_width(layer) is None:
            raise ShapeError(
                f"to_onnx: {at(where)}{label(layer)} does not take rows: pass input_shape, the "
                f"shape of one sample (such as (C, H, W) for images)"
            )
        if kind is None or not kind.any_shape:
            break
    return (in_width,)


def _add(
    graph: OnnxGraph, layer: Layer, where: tuple[int, ...], x: str, width: int | None
) -> tuple[str, int | None]:
    """The nodes for ``layer`` applied to ``x`` of ``width`` columns: their output, its width."""
    kind = layer_kind(type(layer))  # exact types: a subclass may compute something else
    if kind is None or kind.onnx is None:
        raise ConversionError(
            f"to_onnx: {at(where)}{label(layer)} has no ONNX counterpart; supported: "
            + supported(lambda kind: kind.onnx)
        )
    required = kind.input_width(layer)
    if required is not None and width is not None and width != required:
        raise ShapeError(
            f"to_onnx: {at(where)}{label(layer)} expects input of shape (N, {required}), but "
            f"the layers before it give (N, {width})"
        )
    graph.where, graph.prefix = where, ".".join(map(str, where)) or "0"
    y = graph.node(kind.onnx, [x]) if isinstance(kind.onnx, str) else kind.onnx(graph, layer, x)
    return y, kind.output_width(layer, width)
