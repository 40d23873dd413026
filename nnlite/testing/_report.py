"""What :func:`~nnlite.testing.check_gradients` returns and prints: a check per tensor, a report."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class TensorCheck:
    """The comparison for one tensor (the input, one parameter, or a loss's prediction).

    Attributes:
        name: "input", a parameter's name as in ``named_parameters`` ("0.weight"), or "prediction".
        shape: the tensor's shape.
        max_abs_error: the largest |analytic - numeric| over the elements (measured from the
            interval of finite-difference estimates, see the module docstring).
        max_rel_error: the largest abs error / max(|analytic|, |numeric|), 0 where both are 0.
        worst_index: the element that exceeds its tolerance most (or comes closest to it).
        analytic: backward's value at ``worst_index``.
        numeric: the finite-difference value at ``worst_index``.
        tolerance: the allowed error at ``worst_index``.
        n_failed: how many elements exceed their tolerance.
        max_error_ratio: the largest error / tolerance; above 1 fails. How close a pass came.
        n_checked: how many elements were compared, when ``max_elements`` chose a random subset
            of them; None when every element was.
    """

    name: str
    shape: tuple[int, ...]
    max_abs_error: float
    max_rel_error: float
    worst_index: tuple[int, ...]
    analytic: float
    numeric: float
    tolerance: float
    n_failed: int
    max_error_ratio: float
    n_checked: int | None = None

    @property
    def passed(self) -> bool:
        """True when every element is within its tolerance."""
        return self.n_failed == 0

    def describe_failure(self) -> str:
        """A few lines saying what is wrong, where, and by how much."""
        size = math.prod(self.shape)
        what = "input" if self.name == "input" else f"parameter '{self.name}'"
        if self.name == "prediction":
            what = "prediction"
        error = abs(self.analytic - self.numeric)
        of = f"{size}" if self.n_checked is None else f"{self.n_checked} checked (of {size})"
        return (
            f"gradient of the {what} is wrong: {self.n_failed} of {of} elements differ from "
            f"finite differences\n"
            f"  worst at index {self.worst_index}: analytic {self.analytic:.10g}, "
            f"numeric {self.numeric:.10g}\n"
            f"  error {error:.3g} (relative {_relative(error, self.analytic, self.numeric):.3g}), "
            f"allowed {self.tolerance:.3g} (the estimated finite-difference error)"
        )


@dataclass(frozen=True)
class GradientReport:
    """What ``check_gradients`` found: one :class:`TensorCheck` per tensor.

    ``str(report)`` is a small table; ``report.passed`` is True when every tensor passed (a report
    returned by ``check_gradients`` always has passed: a failure raises instead).
    """

    subject: str
    tensors: tuple[TensorCheck, ...]

    @property
    def passed(self) -> bool:
        """True when every tensor passed."""
        return all(tensor.passed for tensor in self.tensors)

    @property
    def max_abs_error(self) -> float:
        """The largest abs error over all tensors."""
        return max((t.max_abs_error for t in self.tensors), default=0.0)

    @property
    def max_rel_error(self) -> float:
        """The largest relative error over all tensors."""
        return max((t.max_rel_error for t in self.tensors), default=0.0)

    def __getitem__(self, name: str) -> TensorCheck:
        """The check of the tensor called ``name`` ("input", "0.weight", ...)."""
        for tensor in self.tensors:
            if tensor.name == name:
                return tensor
        raise KeyError(
            f"no tensor {name!r} in this report; it has {[t.name for t in self.tensors]}"
        )

    def __str__(self) -> str:
        width = max([len(t.name) for t in self.tensors] + [6])
        lines = [
            f"gradient check of {self.subject}: {'passed' if self.passed else 'FAILED'}",
            f"  {'tensor':<{width}}  {'shape':<12}  {'max abs err':>11}  {'max rel err':>11}"
            f"  {'err/allowed':>11}",
        ]
        for t in self.tensors:
            status = "" if t.passed else f"  FAILED ({t.n_failed} elements)"
            if t.n_checked is not None:
                status += f"  ({t.n_checked:,} of {math.prod(t.shape):,} elements checked)"
            lines.append(
                f"  {t.name:<{width}}  {t.shape!s:<12}  {t.max_abs_error:>11.2e}  "
                f"{t.max_rel_error:>11.2e}  {t.max_error_ratio:>11.1e}{status}"
            )
        return "\n".join(lines)


def _relative(error: float, a: float, b: float) -> float:
    scale = max(abs(a), abs(b))
    return error / scale if scale > 0 else 0.0
