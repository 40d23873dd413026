"""Each measurement in a process of its own, repeated, and the results gathered.

A step's time at a size where the arrays are a few hundred kB depends on the allocator's history:
whether a fresh array reuses memory or costs page faults. Timed in one long process, after other
sizes, the medium row moved between two speeds from run to run. So every job (one size and dtype,
one point of a growth curve, the memory, the digits) runs in a fresh interpreter,
``python -m benchmarks --job ...``, which writes its result as JSON to a file; the runs of the
step table are repeated (three by default), the sizes interleaved run by run, and the page gives
the spread over the runs.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks import breakdown, cnn, digits
from benchmarks.breakdown import Memory, ProfileRow
from benchmarks.contenders import CONTENDERS, available
from benchmarks.machine import busy_seconds, children_seconds, describe_machine
from benchmarks.problem import (
    DTYPES,
    GROWTH_H,
    GROWTH_N,
    QUICK_SIZE,
    SIZES,
    Size,
    growth_size,
    make_problem,
)
from benchmarks.results import Report, StepResult, timings_from_json
from benchmarks.timing import time_interleaved

ROOT = Path(__file__).resolve().parent.parent
PHASE_SIZES = {"tiny": 5000, "large": 15}  # size: steps
PROFILE_STEPS = 5000
DIGITS_REPEATS = 3


@dataclass(frozen=True)
class Calm:
    """Waiting for a quiet machine: on a shared machine, other programs' load makes the times
    slower and noisier (numpy's BLAS threads wait for a core another program holds).

    Before each job, wait up to ``patience`` seconds for a second in which other processes take
    at most ``threshold`` of the machine's CPU time; after it, if they took more while it ran,
    run it again, up to ``attempts`` runs in all, and keep the least disturbed.
    """

    patience: float = 20.0
    threshold: float = 0.15
    attempts: int = 2


NO_WAITING = Calm(patience=0.0, attempts=1)


def measured(call: Callable[[], Any]) -> tuple[Any, float | None, float]:
    """``call()``, the share of the machine's CPU time other processes took meanwhile (None
    where the system does not say), and the wall seconds it took."""
    start, busy, ours = time.perf_counter(), busy_seconds(), children_seconds()
    result = call()
    wall = time.perf_counter() - start
    after = busy_seconds()
    if busy is None or after is None or wall <= 0:
        return result, None, wall
    others = after - busy - (children_seconds() - ours)  # this process itself only waits
    return result, max(others, 0.0) / (wall * (os.cpu_count() or 1)), wall


def wait_for_quiet(calm: Calm) -> float:
    """Wait (see :class:`Calm`) and return the seconds waited."""
    start = time.perf_counter()
    while time.perf_counter() - start < calm.patience:
        _, share, _ = measured(lambda: time.sleep(1.0))
        if share is None or share <= calm.threshold:
            break
    return time.perf_counter() - start


def _busy(share: float | None, waited: float) -> str:
    others = "" if share is None else f", other processes {share:.0%} of the CPU"
    return others + (f", after waiting {waited:.0f} s for quiet" if waited >= 1.5 else "")


def run_job(job: dict[str, Any]) -> Any:
    """Carry out one job in this process and return its JSON-ready result."""
    kind = job["kind"]
    if kind == "step":
        size = Size(**job["size"])
        problem = make_problem(size, job["dtype"])
        steps = {name: CONTENDERS[name].make(problem) for name in job["contenders"]}
        timings = time_interleaved(steps, size.rounds, size.sample_seconds)
        return {name: dataclasses.asdict(timing) for name, timing in timings.items()}
    if kind == "memory":
        memory = breakdown.measure_memory(SIZES[job["size"]])
        return {name: dataclasses.asdict(usage) for name, usage in memory.items()}
    if kind == "phases":
        return breakdown.measure_phases(SIZES[job["size"]], job["steps"])
    if kind == "profile":
        rows = breakdown.profile_step(SIZES[job["size"]], job["steps"])
        return [dataclasses.asdict(row) for row in rows]
    if kind == "cnn":
        timings = cnn.measure_cnn(job["rounds"])
        return {name: dataclasses.asdict(timing) for name, timing in timings.items()}
    if kind == "digits":
        result = digits.measure_digits(job["repeats"])
        return None if result is None else dataclasses.asdict(result)
    raise ValueError(f"run_job: unknown job kind {kind!r}")


def spawn(job: dict[str, Any]) -> Any:
    """Run one job in a fresh interpreter (``python -m benchmarks --job JSON --out FILE``)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "result.json"
        command = [sys.executable, "-m", "benchmarks", "--job", json.dumps(job), "--out", str(out)]
        finished = subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, check=False
        )
        if finished.returncode != 0:
            raise RuntimeError(
                f"benchmark job {job['kind']} failed (exit {finished.returncode}):\n"
                f"{finished.stderr.strip()}"
            )
        return json.loads(out.read_text())


def step_job(size: Size, dtype: str, contenders: Sequence[str]) -> dict[str, Any]:
    """The job that times ``contenders`` at one size and dtype."""
    return {
        "kind": "step",
        "size": dataclasses.asdict(size),
        "dtype": dtype,
        "contenders": list(contenders),
    }


def timer(
    report: Report,
    calm: Calm,
    progress: Callable[[str], None],
    checkpoint: Callable[[Report], None],
) -> Callable[[str, dict[str, Any]], Any]:
    """``timed(label, job)``: the job run in its own process after waiting for quiet (see
    :class:`Calm`), its interference noted in ``report``, and its result returned."""

    def timed(label: str, job: dict[str, Any]) -> Any:
        best: tuple[Any, float | None, float] | None = None
        for attempt in range(calm.attempts):
            waited = wait_for_quiet(calm)
            result, share, wall = measured(lambda: spawn(job))
            if best is None or (share is not None and best[1] is not None and share < best[1]):
                best = (result, share, wall)
            progress(f"{label} ({wall:.1f} s{_busy(share, waited)})")
            if share is None or share <= calm.threshold or attempt + 1 == calm.attempts:
                break
            progress(f"{label}: other processes were busy, once more")
        assert best is not None
        if best[1] is not None:
            report.interference.append((label, best[1], best[2]))
        checkpoint(report)
        return best[0]

    return timed


def run_all(
    *,
    sizes: Sequence[str],
    runs: int,
    growth: bool,
    extras: bool,
    quick: bool = False,
    calm: Calm = NO_WAITING,
    progress: Callable[[str], None] = lambda message: None,
    checkpoint: Callable[[Report], None] = lambda report: None,
) -> Report:
    """Measure everything asked for, each job in its own process.

    Args:
        sizes: names of :data:`SIZES` for the step table.
        runs: how many times each size and dtype is timed, each run in its own process.
        growth: also time the growth curves (once per point, float64).
        extras: also measure the memory, the parts of nnlite's step, its profile and the digits.
        quick: the CI smoke run: tiny, float64, one run, numpy's contenders only, nothing else.
        calm: how long to wait for a quiet machine before each job, and when to run it again.
        progress: called with a line to show for each job.
        checkpoint: called with the report so far after each job (to save it).
    """
    report = Report(describe_machine(), runs=1 if quick else runs, quick=quick)
    names = ("nnlite", "plain", "tuned") if quick else None
    contenders, report.missing = available(names)
    chosen = [QUICK_SIZE] if quick else [SIZES[name] for name in sizes]
    dtypes = ("float64",) if quick else DTYPES
    results = {(size.name, dtype): StepResult(size, dtype) for size in chosen for dtype in dtypes}
    report.steps = list(results.values())

    timed = timer(report, calm, progress, checkpoint)

    for run in range(report.runs):
        for result in report.steps:
            job = step_job(result.size, result.dtype, contenders)
            label = f"run {run + 1}/{report.runs}: {result.size.name} {result.dtype}"
            result.runs.append(timings_from_json(timed(label, job)))
    if growth and not quick:
        for axis, values in (("N", GROWTH_N), ("h", GROWTH_H)):
            report.growth[axis] = []
            for value in values:
                point = StepResult(growth_size(axis, value), "float64")
                data = timed(f"growth {axis}={value}", step_job(point.size, "float64", contenders))
                point.runs.append(timings_from_json(data))
                report.growth[axis].append((value, point))
    if extras and not quick:
        _run_extras(report, sizes, timed)
    others = report.others_share()
    report.machine["other processes"] = (
        "not measured"
        if others is None
        else f"took {others[0]:.0%} of the CPU time during the run "
        f"(at most {others[1]:.0%}, during {others[2]})"
    )
    return report


def _run_extras(report: Report, sizes: Sequence[str], timed: Callable[[str, Any], Any]) -> None:
    if "large" in sizes:
        memory = timed("memory (large float64)", {"kind": "memory", "size": "large"})
        report.memory = {name: Memory(**usage) for name, usage in memory.items()}
    for name, steps in PHASE_SIZES.items():
        if name in sizes:
            job = {"kind": "phases", "size": name, "steps": steps}
            report.phases[name] = timed(f"parts of nnlite's step ({name})", job)
    if "tiny" in sizes:
        job = {"kind": "profile", "size": "tiny", "steps": PROFILE_STEPS}
        report.profile = [ProfileRow(**row) for row in timed("profile (tiny)", job)]
        report.profile_steps = PROFILE_STEPS
    measure_cnn_step(report, timed)
    result = timed("digits", {"kind": "digits", "repeats": DIGITS_REPEATS})
    if result is None:
        report.notes.append("digits skipped: scikit-learn is not installed")
    else:
        report.digits = digits.DigitsResult(**result)


CNN_JOB = {"kind": "cnn", "rounds": cnn.CNN_ROUNDS}


def measure_cnn_step(report: Report, timed: Callable[[str, Any], Any]) -> None:
    """Time one training step of the CNN, nnlite's and PyTorch's, into ``report``, with the
    share of the CPU other processes took meanwhile."""
    interference = len(report.interference)
    report.cnn = timings_from_json(timed("CNN step", CNN_JOB))
    noted = report.interference[interference:]
    report.cnn_others = noted[0][1] if noted else None


def remeasure_cnn_step(
    report: Report, calm: Calm, progress: Callable[[str], None] = lambda message: None
) -> None:
    """Measure the CNN step again into a report of an earlier run (``--measure-cnn``), leaving
    the rest of it, and what it says of the machine during that run, as it was."""
    scratch = Report(machine={}, runs=1)
    measure_cnn_step(scratch, timer(scratch, calm, progress, lambda so_far: None))
    report.cnn, report.cnn_others = scratch.cnn, scratch.cnn_others
