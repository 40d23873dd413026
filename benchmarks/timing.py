"""Timing: interleaved samples of every contender, in orders that favour none.

The contenders are timed in one process, interleaved: each round times one sample of every
contender, in an order taken from a balanced Latin square (:func:`balanced_orders`), so slow
drifts of the machine (clock, other load) and what one contender leaves behind (caches, busy
threads, the allocator's state) hit all of them alike. A sample is ``k`` back-to-back steps with
the garbage collector off (as timeit does), ``k`` chosen per contender after a warm-up so that a
sample lasts about ``sample_seconds``; the summary is the median over the rounds of the time per
step, with its quartiles.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Timing:
    """Seconds per step: the median and quartiles over the samples of one run."""

    median: float
    q25: float
    q75: float
    samples: int
    steps_per_sample: int

    @property
    def spread(self) -> float:
        """The interquartile range relative to the median."""
        return (self.q75 - self.q25) / self.median

    @classmethod
    def of(cls, seconds: Sequence[float], steps_per_sample: int) -> Timing:
        """The summary of per-step times, one per sample."""
        ordered = sorted(seconds)
        quartiles = statistics.quantiles(ordered, n=4) if len(ordered) > 1 else ordered * 3
        return cls(
            statistics.median(ordered), quartiles[0], quartiles[2], len(ordered), steps_per_sample
        )


def balanced_orders(count: int) -> list[list[int]]:
    """Orders of ``count`` contenders in which each runs in every position equally often, and
    right after each other one equally often (a Williams design): ``count`` orders when
    ``count`` is even, ``2 count`` when odd.

    Every permutation would do the same, but there are 120 of 5 contenders, more than the rounds
    of a run, and a prefix of them in lexicographic order puts the same contender first for 24
    rounds in a row.
    """
    if count < 1:
        raise ValueError(f"balanced_orders: count must be >= 1, got {count}")
    first = [0]
    low, high = 1, count - 1
    while len(first) < count:  # 0, 1, n-1, 2, n-2, ...
        first.append(low)
        low += 1
        if len(first) < count:
            first.append(high)
            high -= 1
    orders = [[(value + shift) % count for value in first] for shift in range(count)]
    if count % 2:
        orders += [order[::-1] for order in orders]
    return orders


def sample(step: Callable[[], object], k: int) -> float:
    """Seconds per call of ``k`` back-to-back calls, the garbage collector off."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(k):
            step()
        return (time.perf_counter() - start) / k
    finally:
        if enabled:
            gc.enable()


def steps_per_sample(step: Callable[[], object], sample_seconds: float) -> int:
    """Warm up (a JIT compiles here), then the number of calls that make a sample of about
    ``sample_seconds``."""
    step()
    step()
    one = sample(step, 3)
    return max(1, round(sample_seconds / one)) if one > 0 else 1000


def time_interleaved(
    steps: Mapping[str, Callable[[], object]], rounds: int, sample_seconds: float
) -> dict[str, Timing]:
    """Time every callable in ``steps`` over ``rounds`` interleaved rounds (see the module doc)."""
    names = list(steps)
    per_sample = {name: steps_per_sample(steps[name], sample_seconds) for name in names}
    seconds: dict[str, list[float]] = {name: [] for name in names}
    orders = balanced_orders(len(names))
    for round_index in range(rounds):
        for index in orders[round_index % len(orders)]:
            name = names[index]
            seconds[name].append(sample(steps[name], per_sample[name]))
    return {name: Timing.of(seconds[name], per_sample[name]) for name in names}
