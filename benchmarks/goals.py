"""nnlite's speed goals, and each one against a run's numbers.

The goals are ratios of nnlite's median time per step to a contender's, per size and dtype. A
goal counts as met when every run meets it, as missed when every run misses it, and as
undecided when the runs fall on both sides of the limit. A missed goal says how much less time
nnlite's step would have to take to meet it, in the median run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from benchmarks.contenders import JAX, NNLITE, PLAIN, TORCH, TUNED
from benchmarks.problem import DTYPES, SIZES
from benchmarks.results import Report

WORDS = {
    PLAIN: "the plain hand-written step",
    TUNED: "the tuned hand-written step",
    TORCH: "PyTorch",
    JAX: "JAX-jit",
}
MEMORY_LIMIT = 1.03
"""nnlite's peak numpy memory during a large float64 step, at most this times the plain step's."""
MEMORY_GOAL = f"peak memory of a step at most {MEMORY_LIMIT:g}x {WORDS[PLAIN]}'s"


@dataclass(frozen=True)
class Goal:
    """nnlite's time over ``baseline``'s: at most ``limit`` (below, if ``strict``) at ``sizes``."""

    sizes: tuple[str, ...]
    baseline: str
    limit: float
    strict: bool = False
    stretch: float | None = None

    @property
    def text(self) -> str:
        """The goal in words, e.g. "at most 1.3x the plain step (stretch: 1.15x)"."""
        baseline = WORDS[self.baseline]
        if self.strict and self.limit == 1:
            words = f"faster than {baseline}"
        elif self.strict:
            words = f"below {self.limit:g}x {baseline}"
        else:
            words = f"at most {self.limit:g}x {baseline}"
        return words + (f" (stretch: {self.stretch:g}x)" if self.stretch is not None else "")

    def meets(self, ratio: float, limit: float | None = None) -> bool:
        """Whether one ratio meets the goal's limit (or ``limit``)."""
        bound = self.limit if limit is None else limit
        return ratio < bound if self.strict else ratio <= bound


GOALS = (
    Goal(("tiny", "small", "digits"), PLAIN, 1.3, stretch=1.15),
    Goal(("medium", "large"), TUNED, 1.05),
    Goal(tuple(SIZES), TORCH, 1.0, strict=True),
    Goal(("small", "digits", "medium", "large"), JAX, 1.0, strict=True),
    Goal(("tiny",), JAX, 1.5),
)


@dataclass(frozen=True)
class Verdict:
    """One goal at one size and dtype, against the runs' ratios (empty: not measured)."""

    goal: Goal
    size: str
    dtype: str
    ratios: tuple[float, ...]
    median: float | None
    nnlite_seconds: float | None

    @property
    def status(self) -> str:
        """ "met", "missed", "undecided" (the runs disagree) or "not measured"."""
        if not self.ratios or self.median is None:
            return "not measured"
        met = [self.goal.meets(ratio) for ratio in self.ratios]
        return "met" if all(met) else "missed" if not any(met) else "undecided"

    @property
    def shortfall(self) -> float | None:
        """The fraction of nnlite's median step time to take off to meet the goal, if missed."""
        if self.median is None or self.goal.meets(self.median):
            return None
        return 1 - self.goal.limit / self.median

    @property
    def stretch_met(self) -> bool | None:
        """Whether every run meets the stretch goal, None when there is none."""
        if self.goal.stretch is None or not self.ratios:
            return None
        return all(self.goal.meets(ratio, self.goal.stretch) for ratio in self.ratios)


def evaluate(report: Report, goals: Sequence[Goal] = GOALS) -> list[Verdict]:
    """Every goal at each of its sizes, in float64 and float32."""
    verdicts = []
    for goal in goals:
        for size in goal.sizes:
            for dtype in DTYPES:
                result = report.step(size, dtype)
                ratios = tuple(result.ratios(NNLITE, goal.baseline)) if result else ()
                verdicts.append(
                    Verdict(
                        goal,
                        size,
                        dtype,
                        ratios,
                        result.ratio(NNLITE, goal.baseline) if result else None,
                        result.median(NNLITE) if result else None,
                    )
                )
    return verdicts
