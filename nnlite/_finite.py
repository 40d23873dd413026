"""fit's guard against non-finite values: the data checked up front, the last finite weights kept.

See :func:`nnlite.fit` for what it promises; the costs are measured in :class:`_LastFinite`.
"""

from __future__ import annotations

import numpy as np

from nnlite.errors import ArgumentValueError, TrainingError
from nnlite.layer import Layer
from nnlite.parameter import Buffer, Parameter
from nnlite.typing import FloatArray


class _LastFinite:
    """The model's last finite weights, so that a run that breaks them stops with finite ones.

    A weight can become infinite in one update, and the loss shows it only at the next step; so
    the parameters and buffers are copied before every update, and that copy is what a
    non-finite loss goes back to. Saturated activations can hide an infinite weight from the loss
    (sigmoid(inf) is 1), so the weights are also checked at the end of every epoch and copied
    again once known to be finite. Two copies of the weights, then. Measured at the benchmark's
    tiny size (2-2-1, float64): the copy before each update takes 0.7 µs, checking the loss
    (``math.isfinite`` of a float) 0.05 µs, the check and copy at an epoch's end 3.6 µs; a
    check of every weight after every update would take about 3 µs a step, so it is done once
    an epoch.
    """

    def __init__(self, model: Layer) -> None:
        self.members: list[tuple[str, Parameter | Buffer]] = [
            *model.named_parameters(),
            *model.named_buffers(),
        ]
        bad = _first_non_finite(self.members)
        if bad is not None:
            name, value = bad
            raise ArgumentValueError(
                f"fit: the model's {name!r} must hold only finite numbers, got {value} before "
                "training"
            )
        self.before_update = [(member.data.copy(), member) for _, member in self.members]
        self.at_epoch_end = [(member.data.copy(), member) for _, member in self.members]

    def keep(self) -> None:
        """Copy the weights as they are before this step's update."""
        for kept, member in self.before_update:
            np.copyto(kept, member.data)

    def diverged(self, value: float, step: int, epoch: int, batch: int) -> TrainingError:
        """The error for a non-finite loss at ``step``, the weights set to the last finite ones."""
        where = f"the training loss became {value} at step {step} (epoch {epoch}, batch {batch})"
        bad = _first_non_finite(self.members)
        if bad is None:
            return TrainingError(
                f"fit: {where}, with finite weights and data: the model's outputs overflowed. "
                "The learning rate is probably too high: lower the learning rate. The model "
                "holds the weights of that step."
            )
        if self._go_back():
            cause = f"the update of step {step - 1} made {bad[0]!r} non-finite"
            kept = "the weights before that update"
        else:
            cause = f"{bad[0]!r} had become non-finite earlier in epoch {epoch}"
            kept = "the weights of the end of the epoch before"
        return TrainingError(
            f"fit: {where}: {cause} (the data is finite). The learning rate is probably too "
            f"high: lower the learning rate. The model holds {kept}."
        )

    def end_epoch(self, epoch: int) -> None:
        """Check the weights; keep them if finite, else go back and raise a TrainingError."""
        bad = _first_non_finite(self.members)
        if bad is None:
            for kept, member in self.at_epoch_end:
                np.copyto(kept, member.data)
            return
        self._go_back()
        raise TrainingError(
            f"fit: {bad[0]!r} became non-finite in epoch {epoch} while the loss stayed finite "
            "(saturated activations hide it). The learning rate is probably too high: lower the "
            "learning rate. The model holds the last weights known to be finite."
        )

    def _go_back(self) -> bool:
        """Set the weights to those before the last update if they are finite (True), else to
        those of the last epoch's end (False), which are."""
        for kept, member in self.before_update:
            np.copyto(member.data, kept)
        if _first_non_finite(self.members) is None:
            return True
        for kept, member in self.at_epoch_end:
            np.copyto(member.data, kept)
        return False


def _first_non_finite(
    members: list[tuple[str, Parameter | Buffer]],
) -> tuple[str, float] | None:
    """The name and value of the first NaN or infinity among the members' values, or None."""
    for name, member in members:
        finite = np.isfinite(member.data)
        if not finite.all():
            return name, float(member.data[~finite][0])
    return None


def _require_finite(arrays: dict[str, FloatArray]) -> None:
    """Refuse data holding a NaN or an infinity, naming the array and its first bad row."""
    for name, array in arrays.items():
        finite = np.isfinite(array)
        if not finite.all():
            row = int(np.argmin(finite.reshape(array.shape[0], -1).all(axis=1)))
            value = array[row][~finite[row]].flat[0]
            raise ArgumentValueError(
                f"fit: {name} must hold only finite numbers, got {value} in row {row} "
                f"(of {array.shape[0]}): fix or drop the rows that are not finite"
            )
