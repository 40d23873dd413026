"""The structural checks: rows of a batch treated independently, and state that survives a round
trip through ``state_dict``, ``get_config`` and ``nl.save`` / ``nl.load``."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from nnlite import layers as builtin_layers
from nnlite.layer import Layer
from nnlite.sequential import Sequential
from nnlite.serialization import load, save
from nnlite.testing._compare import (
    SAFETY,
    allowed_difference,
    at,
    fail,
    largest_magnitude,
    rounding_spread,
    worst_mismatch,
)
from nnlite.testing._pinning import Pinned, declares, layers_of, replica, set_mode, tensors_of
from nnlite.testing.checks._run import Run, start
from nnlite.typing import FloatArray, RngLike

_MIXES_ROWS_HINT = (
    "if the layer combines the rows of a batch by design (batch statistics), declare "
    "mixes_rows = True on its class"
)


def check_row_independent(
    layer: Layer, x: ArrayLike, *, grad_y: ArrayLike | None = None, rng: RngLike = 0
) -> None:
    """Row i of the output depends only on row i of the input, row i of dL/dx only on row i of
    grad_y, and a batch's results (parameter gradients summed) equal those of its rows one at a
    time. Skipped for a layer that declares ``mixes_rows``.

    The one-row comparison runs in evaluation mode for a stochastic layer, whose random draws
    depend on the batch's shape.
    """
    if declares(layer, "mixes_rows"):
        return
    run = start("row_independent", layer, x, grad_y, rng)
    if run.x.ndim == 0 or run.y.ndim == 0:
        return
    _rows_of_the_output(run)
    _rows_of_the_input_gradient(run)
    _one_row_at_a_time(run)


def _rows_of_the_output(run: Run) -> None:
    n = run.x.shape[0]
    for j in range(n if n > 1 else 0):
        moved = run.x.copy()
        moved[j] = -1.5 * moved[j] + 1 + run.rng.standard_normal(moved[j].shape)
        y = run.forward(moved)
        others = np.arange(n) != j
        expected = run.y[others]
        index = worst_mismatch(y[others], expected, allowed_difference(expected, 0.0, run.eps))
        if index is not None:
            row = int(np.flatnonzero(others)[index[0]])
            raise fail(
                "row_independent",
                run.subject,
                f"output row {row} changed when only input row {j} changed (at index "
                f"{(row, *index[1:])}: {at(run.y[others], index)} became "
                f"{at(y[others], index)}); {_MIXES_ROWS_HINT}",
            )


def _rows_of_the_input_gradient(run: Run) -> None:
    n = run.x.shape[0]
    run.forward()
    full = run.backward()
    allowed = SAFETY * run.eps * float(np.max(np.abs(full), initial=0.0))
    for i in range(n if n > 1 else 0):
        only_row = np.zeros_like(run.grad_y)
        only_row[i] = run.grad_y[i]
        grad_x = run.backward(only_row)
        others = np.arange(n) != i
        index = worst_mismatch(grad_x[others], np.zeros_like(grad_x[others]), allowed)
        if index is not None:
            row = int(np.flatnonzero(others)[index[0]])
            raise fail(
                "row_independent",
                run.subject,
                f"dL/dx row {row} is {at(grad_x[others], index)} at index "
                f"{(row, *index[1:])} when grad_y is zero outside row {i}; {_MIXES_ROWS_HINT}",
            )


def _one_row_at_a_time(run: Run) -> None:
    work = replica(run.layer)
    if declares(work, "stochastic"):
        work.eval()
    tensors = [p for _, p in work.named_parameters()]
    pinned = Pinned(work)

    def batch(inputs: Sequence[FloatArray]) -> list[FloatArray]:
        x, grad_y, *values = inputs
        for tensor, value in zip(tensors, values, strict=True):
            np.copyto(tensor.data, value, casting="unsafe")
        work.zero_grad()
        y = np.array(pinned.forward(x), copy=True)
        grad_x = np.array(work.backward(grad_y), copy=True)
        return [y, grad_x] + [p.grad.copy() for p in tensors]

    inputs = [run.x, run.grad_y] + [p.data.copy() for p in tensors]
    whole = batch(inputs)
    spread = rounding_spread(batch, inputs, run.eps, run.rng)
    scale = largest_magnitude(inputs + whole)
    batch(inputs)  # the parameters back to their values
    rows = [
        batch([run.x[i : i + 1], run.grad_y[i : i + 1], *inputs[2:]]) for i in range(len(run.x))
    ]
    one_at_a_time: list[FloatArray] = [
        np.concatenate([row[0] for row in rows]),
        np.concatenate([row[1] for row in rows]),
    ]
    for k in range(len(tensors)):
        one_at_a_time.append(np.sum([row[2 + k] for row in rows], axis=0))
    names = ["the output", "dL/dx"] + [f"parameter '{n}'.grad" for n, _ in work.named_parameters()]
    for name, got, expected, moved in zip(names, one_at_a_time, whole, spread, strict=True):
        allowed = allowed_difference(expected, moved, run.eps, scale)
        index = worst_mismatch(got, expected, allowed)
        if index is not None:
            summed = " summed over the rows" if name.startswith("parameter") else ""
            raise fail(
                "row_independent",
                run.subject,
                f"{name} of the batch is not that of its rows one at a time{summed}: at index "
                f"{index}, {at(expected, index)} for the batch and {at(got, index)} row by row "
                f"(does the layer depend on the batch size?); {_MIXES_ROWS_HINT}",
            )


def check_round_trip(
    layer: Layer, x: ArrayLike, *, grad_y: ArrayLike | None = None, rng: RngLike = 0
) -> None:
    """``load_state_dict(state_dict())`` into a copy with other values, and, when every layer
    defines ``get_config``, a rebuild through ``nl.save`` / ``nl.load``, give the same output.

    The rebuild is skipped for a layer whose class has the name of a built-in layer (``nl.save``
    refuses it, as a file could not tell the two apart: rename the class to save it)."""
    run = start("round_trip", layer, x, grad_y, rng)
    snapshot = replica(run.layer)  # the state now, as saved; the forward below may move it
    expected = np.array(Pinned(run.layer).forward(run.x), copy=True)
    allowed = allowed_difference(expected, 0.0, run.eps)
    other = replica(snapshot)
    for _, tensor in tensors_of(other):
        tensor.data[...] = -1.5 * tensor.data + 1
    other.load_state_dict(snapshot.state_dict())
    _same_output(run, "load_state_dict(state_dict()) into a copy", other, expected, allowed)

    if not _defines_get_config(snapshot) or _takes_a_builtin_name(snapshot):
        return
    classes = {
        type(inner).__name__: type(inner)
        for inner in layers_of(snapshot)
        if type(inner) is not Sequential
        and getattr(builtin_layers, type(inner).__name__, None) is not type(inner)
    }
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "layer.npz")
        try:
            save(snapshot, path)
            loaded = load(path, custom_layers=classes)
        except (TypeError, ValueError) as error:
            raise fail(
                "round_trip",
                run.subject,
                f"get_config() is defined, but nl.save / nl.load failed: {error}",
            ) from error
    set_mode(loaded, snapshot)
    _same_output(run, "a rebuild from get_config() by nl.save / nl.load", loaded, expected, allowed)


def _takes_a_builtin_name(layer: Layer) -> bool:
    """Whether a user's class has a built-in layer's name, which a file could not tell apart
    (``nl.save`` refuses such a model, saying so; that is about the name, not the layer)."""
    return any(
        getattr(builtin_layers, type(inner).__name__, type(inner)) is not type(inner)
        for inner in layers_of(layer)
    )


def _defines_get_config(layer: Layer) -> bool:
    try:
        for inner in layers_of(layer):
            inner.get_config()
    except NotImplementedError:
        return False
    return True


def _same_output(
    run: Run, what: str, other: Layer, expected: FloatArray, allowed: FloatArray
) -> None:
    y = np.array(Pinned(other).forward(run.x), copy=True)
    if y.shape != expected.shape:
        raise fail(
            "round_trip",
            run.subject,
            f"{what} changes the output's shape {expected.shape} to {y.shape}",
        )
    index = worst_mismatch(y, expected, allowed)
    if index is not None:
        raise fail(
            "round_trip",
            run.subject,
            f"{what} changes the output, at index {index}: {at(expected, index)} became "
            f"{at(y, index)}",
        )
