"""The tables of a report, as rows of cells: printed as text, or written as Markdown on the page."""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from benchmarks.breakdown import Memory
from benchmarks.contenders import BASELINES, CONTENDERS, NNLITE, PLAIN
from benchmarks.goals import GOALS, MEMORY_GOAL, MEMORY_LIMIT, Verdict, evaluate
from benchmarks.results import Report, StepResult, relative_range

Table = tuple[Sequence[str], Sequence[Sequence[str]]]
"""A header and its rows."""


def format_seconds(seconds: float | None) -> str:
    """A duration with a unit that keeps three or four significant digits; a dash for None."""
    if seconds is None:
        return "—"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def format_ratio(ratio: float | None) -> str:
    """A ratio as ``1.23x``, or a dash when it could not be measured."""
    return "—" if ratio is None else f"{ratio:.2f}x"


def megabytes(count: int) -> str:
    """Bytes in MiB, one decimal."""
    return f"{count / 2**20:.1f} MiB"


def _time_cell(result: StepResult, name: str) -> str:
    values = result.seconds(name)
    if not values:
        return "—"
    cell = format_seconds(statistics.median(values))
    return f"{cell} ±{relative_range(values) / 2:.0%}" if len(values) > 1 else cell


def _ratio_cell(result: StepResult, numerator: str, denominator: str) -> str:
    bounds = result.ratio_range(numerator, denominator)
    cell = format_ratio(result.ratio(numerator, denominator))
    if bounds is None or len(result.ratios(numerator, denominator)) < 2:
        return cell
    return f"{cell} ({bounds[0]:.2f}\N{EN DASH}{bounds[1]:.2f})"


def times_table(results: Sequence[StepResult]) -> Table:
    """Median seconds per step of every contender, per size and dtype."""
    header = ("size", "dtype", "N, n_in, hidden, n_out", *CONTENDERS)
    rows = [
        (r.size.name, r.dtype, r.size.shape, *(_time_cell(r, name) for name in CONTENDERS))
        for r in results
    ]
    return header, rows


def ratios_table(results: Sequence[StepResult]) -> Table:
    """nnlite's time over each baseline's, with the range over the runs, and nnlite - plain."""
    header = (
        "size",
        "dtype",
        *(f"nnlite / {name}" for name in BASELINES),
        f"nnlite \N{MINUS SIGN} {PLAIN}",
    )
    rows = []
    for r in results:
        nnlite, plain = r.median(NNLITE), r.median(PLAIN)
        gap = None if nnlite is None or plain is None else nnlite - plain
        gap_cell = (
            "—" if gap is None else ("\N{MINUS SIGN}" if gap < 0 else "") + format_seconds(abs(gap))
        )
        rows.append(
            (r.size.name, r.dtype, *(_ratio_cell(r, NNLITE, name) for name in BASELINES), gap_cell)
        )
    return header, rows


def growth_table(axis: str, points: Sequence[tuple[int, StepResult]]) -> Table:
    """One row per point of a growth curve: nnlite's time and its ratios."""
    header = (axis, "nnlite", *(f"nnlite / {name}" for name in BASELINES))
    rows = [
        (
            str(value),
            format_seconds(point.median(NNLITE)),
            *(format_ratio(point.ratio(NNLITE, name)) for name in BASELINES),
        )
        for value, point in points
    ]
    return header, rows


def _verdict_cell(verdict: Verdict) -> str:
    if verdict.median is None:
        return "not measured"
    cell = f"{format_ratio(verdict.median)}: {verdict.status}"
    if verdict.status == "undecided":
        met = sum(verdict.goal.meets(ratio) for ratio in verdict.ratios)
        cell += f" (met in {met} of {len(verdict.ratios)} runs)"
    if verdict.shortfall is not None:
        share = verdict.shortfall
        cell += f", needs {share:.0%} off" if share >= 0.01 else f", needs {share:.1%} off"
        if verdict.nnlite_seconds is not None:
            cell += f" ({format_seconds(verdict.nnlite_seconds * verdict.shortfall)})"
    if verdict.stretch_met is not None:
        cell += "; stretch met" if verdict.stretch_met else "; stretch not met"
    return cell


def goals_table(report: Report) -> Table:
    """Each goal at each of its sizes: the median ratio, met or not, and what it would take."""
    verdicts = evaluate(report)
    header = ("goal", "size", "float64", "float32")
    rows = []
    for goal in GOALS:
        for size in goal.sizes:
            cells = {
                v.dtype: _verdict_cell(v) for v in verdicts if v.goal == goal and v.size == size
            }
            rows.append((goal.text, size, cells["float64"], cells["float32"]))
    status = memory_status(report.memory)
    memory = "not measured" if status is None else f"{status[0]:.3f}x: {status[1]}"
    rows.append((MEMORY_GOAL, "large", memory, "not measured"))
    return header, rows


def memory_status(memory: dict[str, Memory]) -> tuple[float, str] | None:
    """nnlite's peak over the plain step's, and "met" or "missed"; None when not measured."""
    if NNLITE not in memory or PLAIN not in memory:
        return None
    ratio = memory[NNLITE].peak / memory[PLAIN].peak
    return ratio, "met" if ratio <= MEMORY_LIMIT else "missed"


def goal_counts(report: Report) -> tuple[int, int, int]:
    """Of the goals measured (each at each size and dtype, and memory): met, undecided, missed."""
    statuses = [verdict.status for verdict in evaluate(report)]
    memory = memory_status(report.memory)
    if memory is not None:
        statuses.append(memory[1])
    return statuses.count("met"), statuses.count("undecided"), statuses.count("missed")


def memory_table(memory: dict[str, Memory]) -> Table:
    """State, held between steps, peak and temporaries of each contender."""
    header = ("", "state", "held between steps", "peak during a step", "temporaries")
    rows = [
        (
            name,
            megabytes(usage.state),
            megabytes(usage.held),
            megabytes(usage.peak),
            megabytes(usage.temporaries),
        )
        for name, usage in memory.items()
    ]
    return header, rows


def memory_ratio(memory: dict[str, Memory]) -> str:
    """nnlite's peak over the plain step's, against the limit."""
    status = memory_status(memory)
    if status is None:
        return "not measured"
    return f"{status[0]:.3f}x (goal: at most {MEMORY_LIMIT:g}x): {status[1]}"


def phases_table(phases: dict[str, float]) -> Table:
    """Each part of nnlite's step: its median and its share of their sum."""
    total = sum(phases.values())
    rows = [
        (f"`{part}`", format_seconds(seconds), f"{seconds / total:.0%}")
        for part, seconds in phases.items()
    ]
    return ("part", "median", "share"), rows


def spread_summary(results: Sequence[StepResult]) -> tuple[float, str, float]:
    """The widest range over the runs of any ratio in the table (relative to its median), where
    it is, and the median of those ranges."""
    spreads = [
        (relative_range(r.ratios(NNLITE, name)), f"{r.size.name} {r.dtype}, nnlite / {name}")
        for r in results
        for name in BASELINES
        if len(r.ratios(NNLITE, name)) > 1
    ]
    if not spreads:
        return 0.0, "one run only", 0.0
    widest = max(spreads)
    return widest[0], widest[1], statistics.median(spread for spread, _ in spreads)


def text_table(table: Table) -> str:
    """Columns padded to their widest cell."""
    header, rows = table
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in [header, *rows]
    ]
    return "\n".join(line.rstrip() for line in lines)


def markdown_table(table: Table) -> str:
    """A Markdown table."""
    header, rows = table
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def print_report(report: Report) -> None:
    """The tables on stdout."""
    print("\none training step, median seconds per step" + _runs_note(report))
    print(text_table(times_table(report.steps)))
    print("\nnnlite's time over each contender's (range over the runs)")
    print(text_table(ratios_table(report.steps)))
    for axis, points in report.growth.items():
        print(f"\ngrowth in {axis} (float64, one run)")
        print(text_table(growth_table(axis, points)))
    if report.memory:
        print("\nnumpy memory of a large float64 step (tracemalloc)")
        print(text_table(memory_table(report.memory)))
        print(f"peak, nnlite / plain: {memory_ratio(report.memory)}")
    if report.cnn:
        print("\none training step of nl.digits_cnn, float64, median seconds per step")
        print(text_table(cnn_table(report)))
    for name, why in report.missing.items():
        print(f"note: {name} skipped: {why}")
    for note in report.notes:
        print(f"note: {note}")
    if not report.quick:
        print("\ngoals (median over the runs)")
        print(text_table(goals_table(report)))


def _runs_note(report: Report) -> str:
    return f" (median of {report.runs} runs, ±half their range)" if report.runs > 1 else ""


def cnn_table(report: Report) -> Table:
    """The CNN's step: each contender's median time per step (and quartiles), and nnlite's over
    PyTorch's."""
    header = ("", "median per step", "quartiles")
    rows = [
        (
            name,
            format_seconds(timing.median),
            f"{format_seconds(timing.q25)} to {format_seconds(timing.q75)}",
        )
        for name, timing in report.cnn.items()
    ]
    for name, timing in report.cnn.items():
        if name != NNLITE and NNLITE in report.cnn:
            ratio = report.cnn[NNLITE].median / timing.median
            rows.append((f"{NNLITE} / {name}", format_ratio(ratio), ""))
    return header, rows
