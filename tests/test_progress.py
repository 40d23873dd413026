"""The plain-text progress display: throttled to a line a second, the first and the last kept."""

from __future__ import annotations

import io
import sys
import time

import pytest

from nnlite.progress import Progress


@pytest.fixture
def no_tqdm(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_quick_steps_print_the_first_and_the_last_line(
    no_tqdm: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    monkeypatch.setattr(time, "monotonic", clock)
    stream = io.StringIO()
    with Progress(3000, enabled=True, stream=stream) as bar:
        for _ in range(3000):
            clock.now += 1e-4  # 3,000 epochs in 0.3 s
            bar.update({"loss": 0.5})
    assert stream.getvalue().splitlines() == ["epoch 1/3000  loss 0.5", "epoch 3000/3000  loss 0.5"]


def test_at_most_a_line_every_interval(no_tqdm: None, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    monkeypatch.setattr(time, "monotonic", clock)
    stream = io.StringIO()
    with Progress(100, enabled=True, stream=stream, unit="element") as bar:
        for _ in range(100):
            clock.now += 0.25  # 25 s in all: a line every 4 steps
            bar.update({})
    steps = [int(line.split()[1].split("/")[0]) for line in stream.getvalue().splitlines()]
    assert steps == [1, *range(5, 100, 4), 100]
    assert stream.getvalue().splitlines()[0] == "element 1/100"


def test_silent_when_not_enabled(no_tqdm: None) -> None:
    stream = io.StringIO()
    with Progress(5, enabled=False, stream=stream) as bar:
        for _ in range(5):
            bar.update({"loss": 1.0})
    assert stream.getvalue() == ""
    assert bar.done == 5
