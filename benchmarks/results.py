"""What a run measured, and its summaries over the repeated runs; saved and loaded as JSON."""

from __future__ import annotations

import dataclasses
import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.breakdown import Memory, ProfileRow
from benchmarks.digits import DigitsResult
from benchmarks.problem import Size
from benchmarks.timing import Timing


@dataclass
class StepResult:
    """The timings of the contenders at one size and dtype, one dict per run (each its own process).

    Within a run the contenders were interleaved, so a ratio is taken within each run, and the
    summary of a ratio is the median of the per-run ratios, with their range: the spread over runs.
    """

    size: Size
    dtype: str
    runs: list[dict[str, Timing]] = field(default_factory=list)

    def contenders(self) -> list[str]:
        """The contenders timed in every run."""
        return [name for name in self.runs[0] if all(name in run for run in self.runs)]

    def seconds(self, name: str) -> list[float]:
        """The median seconds per step of ``name``, one per run (empty when it was not timed)."""
        return [run[name].median for run in self.runs if name in run]

    def median(self, name: str) -> float | None:
        """The median over the runs of ``name``'s median seconds per step."""
        values = self.seconds(name)
        return statistics.median(values) if values else None

    def ratios(self, numerator: str, denominator: str) -> list[float]:
        """``numerator``'s median time over ``denominator``'s, one per run in which both ran."""
        return [
            run[numerator].median / run[denominator].median
            for run in self.runs
            if numerator in run and denominator in run
        ]

    def ratio(self, numerator: str, denominator: str) -> float | None:
        """The median over the runs of the per-run ratio, None when it was not measured."""
        values = self.ratios(numerator, denominator)
        return statistics.median(values) if values else None

    def ratio_range(self, numerator: str, denominator: str) -> tuple[float, float] | None:
        """The smallest and largest per-run ratio."""
        values = self.ratios(numerator, denominator)
        return (min(values), max(values)) if values else None


def relative_range(values: list[float]) -> float:
    """(max - min) / median: the spread of repeated measurements, 0 for one."""
    return (max(values) - min(values)) / statistics.median(values) if len(values) > 1 else 0.0


@dataclass
class Report:
    """Everything one invocation measured."""

    machine: dict[str, str]
    runs: int
    steps: list[StepResult] = field(default_factory=list)
    growth: dict[str, list[tuple[int, StepResult]]] = field(default_factory=dict)  # axis: points
    memory: dict[str, Memory] = field(default_factory=dict)
    phases: dict[str, dict[str, float]] = field(default_factory=dict)  # size: part: seconds
    profile: list[ProfileRow] = field(default_factory=list)
    profile_steps: int = 0
    digits: DigitsResult | None = None
    cnn: dict[str, Timing] = field(default_factory=dict)  # contender: one CNN training step
    cnn_others: float | None = None  # the share of the CPU other processes took meanwhile
    missing: dict[str, str] = field(default_factory=dict)  # contender: why it did not run
    notes: list[str] = field(default_factory=list)
    quick: bool = False
    interference: list[tuple[str, float, float]] = field(default_factory=list)
    """Per job: its label, the share of the machine's CPU time other processes took while it
    ran, and its wall seconds."""

    def others_share(self) -> tuple[float, float, str] | None:
        """The share of the machine's CPU time other processes took during the whole run, the
        largest share during one job, and that job; None when it could not be measured."""
        if not self.interference:
            return None
        wall = sum(seconds for _, _, seconds in self.interference)
        overall = sum(share * seconds for _, share, seconds in self.interference) / wall
        label, largest, _ = max(self.interference, key=lambda job: job[1])
        return overall, largest, label

    def step(self, size: str, dtype: str) -> StepResult | None:
        """The result at one named size and dtype, None when it was not timed."""
        return next(
            (r for r in self.steps if r.size.name == size and r.dtype == dtype),
            None,
        )

    def save(self, path: Path) -> None:
        """Write the report as JSON."""
        path.write_text(json.dumps(dataclasses.asdict(self), indent=1) + "\n")

    @classmethod
    def load(cls, path: Path) -> Report:
        """Read a report written by :meth:`save`."""
        data = json.loads(path.read_text())
        return cls(
            machine=data["machine"],
            runs=data["runs"],
            steps=[_step_result(item) for item in data["steps"]],
            growth={
                axis: [(value, _step_result(item)) for value, item in points]
                for axis, points in data["growth"].items()
            },
            memory={name: Memory(**item) for name, item in data["memory"].items()},
            phases=data["phases"],
            profile=[ProfileRow(**row) for row in data["profile"]],
            profile_steps=data["profile_steps"],
            digits=None if data["digits"] is None else DigitsResult(**data["digits"]),
            cnn=timings_from_json(data.get("cnn", {})),  # absent from runs before the CNN's row
            cnn_others=data.get("cnn_others"),
            missing=data["missing"],
            notes=data["notes"],
            quick=data["quick"],
            interference=[(label, share, wall) for label, share, wall in data["interference"]],
        )


def timings_from_json(data: dict[str, Any]) -> dict[str, Timing]:
    """The timings of one run, from their JSON form."""
    return {name: Timing(**timing) for name, timing in data.items()}


def _step_result(data: dict[str, Any]) -> StepResult:
    return StepResult(
        Size(**data["size"]), data["dtype"], [timings_from_json(run) for run in data["runs"]]
    )
