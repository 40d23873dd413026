"""``nl.summary(model, input_shape)``: a table of the layers, their output shapes and sizes.

As torchinfo's ``summary`` and Keras's ``Model.summary()``: one row per layer of a Sequential
(nested ones row by row, named by their index paths), found by running a batch of zeros through
the layers one at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nnlite._constraints import Integer
from nnlite._validation import describe
from nnlite.errors import ArgumentTypeError
from nnlite.layer import Layer
from nnlite.sequential import Sequential


@dataclass(frozen=True)
class SummaryRow:
    """One layer: its name (index path), repr, output shape and sizes.

    Attributes:
        name: the index path in the model, ``"0"``, ``"2.1"`` (``""`` for a model that is not a
            Sequential).
        layer: the layer's repr, one line.
        output_shape: the shape of its output for the summary's input.
        parameters: its trainable values, all parameters' sizes added up.
        buffers: its non-trainable values (:class:`~nnlite.Buffer`), likewise.
    """

    name: str
    layer: str
    output_shape: tuple[int, ...]
    parameters: int
    buffers: int


@dataclass(frozen=True)
class Summary:
    """What :func:`summary` found; ``str()`` (and ``print``) gives the table.

    Attributes:
        input_shape: the shape of the batch run through the model.
        rows: one :class:`SummaryRow` per layer, in order.
    """

    input_shape: tuple[int, ...]
    rows: tuple[SummaryRow, ...]

    @property
    def parameters(self) -> int:
        """All the model's trainable values."""
        return sum(row.parameters for row in self.rows)

    @property
    def buffers(self) -> int:
        """All the model's buffer values."""
        return sum(row.buffers for row in self.rows)

    def __str__(self) -> str:
        header = ("layer", "output shape", "params", "buffers")
        cells = [
            (f"{row.name} {row.layer}".strip(), str(row.output_shape), f"{row.parameters:,}",
             f"{row.buffers:,}")
            for row in self.rows
        ]  # fmt: skip
        widths = [max(len(line[i]) for line in [header, *cells]) for i in range(4)]

        def line(values: tuple[str, ...]) -> str:
            first = values[0].ljust(widths[0])
            rest = "  ".join(
                value.rjust(width) for value, width in zip(values[1:], widths[1:], strict=True)
            )
            return f"{first}  {rest}"

        rule = "-" * len(line(header))
        return "\n".join(
            [
                line(header),
                rule,
                *(line(row) for row in cells),
                rule,
                f"input {self.input_shape}: {self.parameters:,} parameters, "
                f"{self.buffers:,} buffer values",
            ]
        )


def summary(model: Layer, input_shape: tuple[int, ...]) -> Summary:
    """The model's layers with their output shapes, parameter counts and buffer counts.

    A batch of zeros of ``input_shape`` (batch size first, as torchinfo's ``input_size``), in the
    dtype of the model's first parameter, runs through the layers one at a time, in evaluation
    mode; every layer's training mode is then restored. A Sequential gives one row per layer,
    nested Sequentials row by row; any other model is one row.

    Args:
        model: the model.
        input_shape: the shape of one input batch, e.g. ``(1, 64)``.

    Returns:
        A :class:`Summary`; print it for the table.

    Raises:
        ArgumentTypeError, ArgumentValueError: input_shape is not a tuple of ints >= 1.
        ShapeError: the model does not take input of that shape (the error of the layer that
            refused it).

    Examples:
        >>> import nnlite as nl
        >>> print(nl.summary(nl.two_layer_network(4, 3), (2, 4)))
        layer                                                output shape  params  buffers
        ----------------------------------------------------------------------------------
        0 Linear(in_features=4, out_features=3, bias=False)        (2, 3)      12        0
        1 Sigmoid()                                                (2, 3)       0        0
        2 BiasAppend()                                             (2, 4)       0        0
        3 Linear(in_features=4, out_features=1, bias=False)        (2, 1)       4        0
        4 Sigmoid()                                                (2, 1)       0        0
        ----------------------------------------------------------------------------------
        input (2, 4): 16 parameters, 0 buffer values
    """
    if not isinstance(input_shape, (tuple, list)) or not input_shape:
        raise ArgumentTypeError(
            f"summary: input_shape must be a non-empty tuple of ints, the batch size first, got "
            f"{describe(input_shape)}"
        )
    shape = tuple(
        Integer(low=1).check("summary", f"input_shape[{i}]", n) for i, n in enumerate(input_shape)
    )
    parameters = model.parameters()
    dtype = parameters[0].dtype if parameters else np.dtype(np.float64)
    layers = [model, *(layer for _, layer in model.named_sublayers())]
    modes = [(layer, layer.training) for layer in layers]
    model.eval()
    try:
        rows: list[SummaryRow] = []
        _run(model, "", np.zeros(shape, dtype), rows)
    finally:
        for layer, training in modes:
            layer.training = training
    return Summary(shape, tuple(rows))


def _run(layer: Layer, name: str, x: np.ndarray, rows: list[SummaryRow]) -> np.ndarray:
    """Run x through ``layer``, adding its rows (a Sequential's layer by layer); its output."""
    if isinstance(layer, Sequential):
        for index, inner in enumerate(layer.layers):
            x = _run(inner, f"{name}.{index}" if name else str(index), x, rows)
        return x
    y = layer(x)
    rows.append(
        SummaryRow(
            name,
            repr(layer).replace("\n", " "),
            y.shape,
            layer.num_parameters(),
            sum(buffer.data.size for _, buffer in layer.named_buffers()),
        )
    )
    return y
