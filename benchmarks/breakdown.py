"""Where nnlite's step spends its time and memory: the memory of a step, its parts, a profile."""

from __future__ import annotations

import cProfile
import gc
import io
import pstats
import statistics
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nnlite as nl
from benchmarks.contenders import CONTENDERS, NNLITE, PLAIN, TUNED
from benchmarks.handwritten import Step
from benchmarks.problem import LR, Size, make_problem, nnlite_model


@dataclass(frozen=True)
class Memory:
    """Bytes of numpy memory a contender holds, as tracemalloc counts them (see measure_memory).

    ``state``: once built, its weights (nnlite: also the gradients and the optimizer's arrays).
    ``held``: between steps, the state and what the step leaves behind (caches, buffers).
    ``peak``: the most held at once during a step.
    """

    state: int
    held: int
    peak: int

    @property
    def temporaries(self) -> int:
        """The peak above what is held between steps: the step's own temporaries."""
        return self.peak - self.held


def _traced(make_step: Callable[[], Step]) -> Memory:
    gc.collect()
    tracemalloc.start()
    try:
        step = make_step()
        state = tracemalloc.get_traced_memory()[0]
        step()  # the first step makes the caches a step keeps
        gc.collect()
        held = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        step()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return Memory(state, held, peak)


MEMORY_CONTENDERS = (NNLITE, PLAIN, TUNED)


def measure_memory(size: Size) -> dict[str, Memory]:
    """Peak numpy memory of one float64 step, for nnlite and the hand-written steps.

    numpy reports its array allocations to tracemalloc (memory a BLAS library takes for itself is
    not seen, nor PyTorch's or JAX's allocators). Tracing starts before the contender is built
    (after the shared X and Y are made), so everything it holds is counted. A first step runs,
    then the peak of a second one is read.
    """
    problem = make_problem(size, "float64")
    return {
        name: _traced(lambda name=name: CONTENDERS[name].make(problem))  # type: ignore[misc]
        for name in MEMORY_CONTENDERS
    }


def measure_phases(size: Size, steps: int) -> dict[str, float]:
    """Median seconds of each part of nnlite's float64 step, over ``steps`` steps.

    The parts: zeroing the gradients, each layer's forward, the loss and its backward, each
    layer's backward in reverse (the first layer's ``backward_parameters``, as in a step), and the
    optimizer's step. The layers are called one by one, so ``Sequential``'s own work is the only
    part of a step not here.
    """
    problem = make_problem(size, "float64")
    X, Y = problem.X, problem.Y
    model = nnlite_model(problem)
    loss = nl.MSELoss()
    parameters = model.parameters()
    optimizer = nl.optim.SGD(parameters, lr=LR)
    layers = [(f"({index}) {type(layer).__name__}", layer) for index, layer in enumerate(model)]
    seconds: dict[str, list[float]] = {}

    def record(part: str, start: float, end: float) -> None:
        seconds.setdefault(part, []).append(end - start)

    clock = time.perf_counter
    enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(steps + 1):  # the first is a warm-up, recorded and dropped below
            start = clock()
            for parameter in parameters:
                parameter.zero_grad()
            record("zero_grad", start, clock())
            x = X
            for name, layer in layers:
                start = clock()
                x = layer(x)
                record(f"{name} forward", start, clock())
            start = clock()
            loss(x, Y)
            record("loss", start, clock())
            start = clock()
            grad = loss.backward()
            record("loss.backward", start, clock())
            for name, layer in reversed(layers[1:]):
                start = clock()
                grad = layer.backward(grad)
                record(f"{name} backward", start, clock())
            name, layer = layers[0]
            start = clock()
            layer.backward_parameters(grad)
            record(f"{name} backward_parameters", start, clock())
            start = clock()
            optimizer.step()
            record("optimizer.step", start, clock())
    finally:
        if enabled:
            gc.enable()
    return {part: statistics.median(values[1:]) for part, values in seconds.items()}


@dataclass(frozen=True)
class ProfileRow:
    """One function of a cProfile of nnlite's step: calls and own time per step."""

    function: str
    calls: float
    own_seconds: float
    share: float


def _function_name(key: tuple[str, int, str]) -> str:
    filename, line, name = key
    if filename == "~":  # a C function
        return name.strip("<>")
    parts = Path(filename).parts
    starts = [index for index, part in enumerate(parts) if part in ("nnlite", "benchmarks")]
    where = "/".join(parts[starts[-1] :]) if starts else parts[-1]
    return f"{where}:{line} {name}"


def profile_step(size: Size, steps: int, top: int = 14) -> list[ProfileRow]:
    """The ``top`` functions by own time in a cProfile of ``steps`` float64 nnlite steps."""
    step = CONTENDERS[NNLITE].make(make_problem(size, "float64"))
    step()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(steps):
        step()
    profiler.disable()
    stats = pstats.Stats(profiler, stream=io.StringIO())
    entries: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in entries.values())
    rows = [
        ProfileRow(_function_name(key), entry[1] / steps, entry[2] / steps, entry[2] / total)
        for key, entry in entries.items()
    ]
    rows.sort(key=lambda row: row.own_seconds, reverse=True)
    return rows[:top]
