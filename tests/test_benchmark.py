"""benchmarks/bench.py: its smoke run works, and its hand-written baseline is a real baseline.

No timing is asserted anywhere: a benchmark's numbers depend on the machine. What is checked is
that the script runs and prints its table, and that the plain-numpy step it times against nnlite
computes the same loss and gradients as nnlite (so a fast but wrong baseline cannot flatter or
shame nnlite).
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "bench.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    """The benchmark script, imported by path (benchmarks/ is not a package)."""
    spec = importlib.util.spec_from_file_location("nnlite_benchmark", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


def test_quick_run_prints_the_table() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick"],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    header, row = _table(result.stdout)
    for column in ("nnlite", "hand-written", "nnlite / hand-written"):
        assert column in header
    assert re.match(r"tiny\s+float64\s+4, 2, 2, 1\s", row), row
    assert re.search(r"\d+\.\d+ µs .*\d+\.\d+ µs .*\d+\.\d\dx", row), row  # two times and a ratio


def _table(stdout: str) -> tuple[str, str]:
    lines = stdout.splitlines()
    index = next(i for i, line in enumerate(lines) if line.startswith("size "))
    return lines[index], lines[index + 1]


def test_quick_and_write_docs_refuse_to_go_together(bench: ModuleType) -> None:
    assert bench.main(["--quick", "--write-docs"]) == 2


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("n", "n_in", "n_hidden", "n_out"), [(4, 2, 2, 1), (7, 5, 3, 4)])
def test_handwritten_step_computes_nnlites_gradients(
    bench: ModuleType, dtype: type, n: int, n_in: int, n_hidden: int, n_out: int
) -> None:
    size = bench.Size("case", n, n_in, n_hidden, n_out, rounds=1, sample_seconds=0.0)
    problem = bench.make_problem(size, np.dtype(dtype))
    model = bench.nnlite_model(problem)
    loss = bench.nl.MSELoss()
    model.zero_grad()
    expected_loss = loss(model(problem.X), problem.Y)
    model.backward(loss.backward())

    value, grad_W1, grad_W2 = bench.handwritten_gradients(
        problem.X, problem.Y, problem.W1, problem.W2
    )
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    assert grad_W1.dtype == grad_W2.dtype == np.dtype(dtype)
    np.testing.assert_allclose(value, expected_loss, rtol=rtol)
    np.testing.assert_allclose(grad_W1, model[0].weight.grad, rtol=rtol, atol=rtol * 1e-3)
    np.testing.assert_allclose(grad_W2, model[3].weight.grad, rtol=rtol, atol=rtol * 1e-3)


def test_handwritten_step_matches_gradient_descent_with_nnlite(bench: ModuleType) -> None:
    """Several steps of each contender, from the same start, land on the same weights."""
    problem = bench.make_problem(bench.SIZES["small"], np.dtype(np.float64))
    handwritten = bench.handwritten_step(problem)
    nnlite = bench.nnlite_step(problem)
    for _ in range(5):
        np.testing.assert_allclose(handwritten(), nnlite(), rtol=1e-12)


def test_benchmark_leaves_numpys_global_random_state_alone(bench: ModuleType) -> None:
    before = np.random.get_state(legacy=False)["state"]  # noqa: NPY002 (reading it is the test)
    problem = bench.make_problem(bench.SIZES["tiny"], np.dtype(np.float32))
    bench.handwritten_step(problem)()
    bench.nnlite_step(problem)()
    bench.time_interleaved({"nnlite": bench.nnlite_step(problem)}, rounds=2, sample_seconds=0.0)
    after = np.random.get_state(legacy=False)["state"]  # noqa: NPY002
    assert before["pos"] == after["pos"]
    assert np.array_equal(before["key"], after["key"])
