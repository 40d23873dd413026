"""A progress display for long work: tqdm when installed, plain lines otherwise, silent by default
when stderr is not a terminal."""

from __future__ import annotations

import importlib
import math
import sys
import time
from types import TracebackType
from typing import Any, TextIO


class Progress:
    """Report each finished step (an epoch) with its numbers and speed, on stderr.

    Args:
        total: the number of steps expected.
        enabled: True to show, False to stay silent, None to show only when ``stream`` is a
            terminal (so logs and pipes stay clean).
        unit: what a step is called ("epoch").
        stream: where to write; stderr by default.
        interval: without tqdm, the fewest seconds between two lines.

    Uses ``tqdm`` (``pip install "nnlite[progress]"``) when it is installed, and otherwise writes
    plain lines: the first step's, then at most one every ``interval`` seconds, and the last
    step's (3,000 quick epochs are a few lines, not 3,000). Use it as a context manager so the
    bar is closed.
    """

    def __init__(
        self,
        total: int,
        *,
        enabled: bool | None = None,
        unit: str = "epoch",
        stream: TextIO | None = None,
        interval: float = 1.0,
    ) -> None:
        self.total = total
        self.interval = interval
        self._shown_at = -math.inf  # when the last plain line was written
        self.unit = unit
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.done = 0
        self._bar: Any = None
        if self.enabled:
            try:  # imported by name: tqdm is an optional extra and ships no type stubs
                tqdm: Any = importlib.import_module("tqdm.auto").tqdm
            except ImportError:
                tqdm = None
            if tqdm is not None:
                self._bar = tqdm(total=total, unit=unit, file=self.stream, dynamic_ncols=True)

    def update(self, numbers: dict[str, float], *, samples_per_second: float | None = None) -> None:
        """One more step done; show its numbers (e.g. {"loss": 0.12}) and speed."""
        self.done += 1
        if not self.enabled:
            return
        shown = {name: f"{value:.4g}" for name, value in numbers.items()}
        if samples_per_second is not None:
            shown["samples/s"] = f"{samples_per_second:,.0f}"
        if self._bar is not None:
            self._bar.set_postfix(shown, refresh=False)
            self._bar.update(1)
            return
        now = time.monotonic()
        if self.done < self.total and now - self._shown_at < self.interval:
            return
        self._shown_at = now
        details = "  ".join(f"{name} {value}" for name, value in shown.items())
        line = f"{self.unit} {self.done}/{self.total}  {details}".rstrip()
        print(line, file=self.stream, flush=True)

    def close(self) -> None:
        """Close the bar (if any)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
