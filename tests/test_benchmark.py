"""The benchmark (benchmarks/): its smoke run, its baselines, and the page's statements about code.

No timing is asserted anywhere: a benchmark's numbers depend on the machine. What is checked:
the smoke run works; the hand-written steps compute nnlite's loss and gradients, and PyTorch's and
JAX's steps the same losses (so no contender is timed doing less, or other, work); nnlite's step is
the step ``nl.fit`` runs; the schedule is fair as the page says; and the page is its template
filled in, naming only calls that exist.
"""

from __future__ import annotations

import ast
import dataclasses
import gc
import inspect
import itertools
import os
import re
import string
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

import nnlite as nl
from benchmarks import contenders, goals, handwritten, page, runner, timing
from benchmarks.problem import LR, SIZES, Size, make_problem, nnlite_model
from benchmarks.results import Report, StepResult
from benchmarks.timing import Timing

ROOT = Path(__file__).resolve().parent.parent
CASES = [(4, 2, 2, 1), (7, 5, 3, 4)]


def _size(n: int, n_in: int, n_hidden: int, n_out: int) -> Size:
    return Size("case", n, n_in, n_hidden, n_out, rounds=1, sample_seconds=0.0)


# -- the smoke run and the command ------------------------------------------------------------


def test_quick_run_prints_the_table() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick"],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    header = next(index for index, line in enumerate(lines) if line.startswith("size "))
    assert lines[header].split()[-5:] == ["nnlite", "plain", "tuned", "PyTorch", "JAX-jit"]
    row = lines[header + 1]
    assert re.match(r"tiny\s+float64\s+4, 2, 2, 1\s", row), row
    assert len(re.findall(r"\d+\.\d µs", row)) == 3, row  # nnlite, plain and tuned were timed
    ratios = next(line for line in lines[header + 2 :] if line.startswith("tiny"))
    assert re.search(r"\d+\.\d\dx\s+\d+\.\d\dx\s+—\s+—", ratios), ratios


@pytest.mark.parametrize(
    "arguments",
    [["--quick"], ["--sizes", "tiny"], ["--no-growth"], ["--no-extras"]],
    ids=" ".join,
)
def test_write_docs_needs_the_full_run(
    arguments: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    from benchmarks.cli import main

    assert main([*arguments, "--write-docs"]) == 2
    assert "--write-docs needs the full run" in capsys.readouterr().err


# -- the contenders compute the same thing ----------------------------------------------------


@pytest.mark.parametrize("gradients", ["plain", "tuned"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", CASES, ids=str)
def test_handwritten_gradients_are_nnlites(
    gradients: str, dtype: type, shape: tuple[int, int, int, int]
) -> None:
    problem = make_problem(_size(*shape), np.dtype(dtype))
    model = nnlite_model(problem)
    loss = nl.MSELoss()
    model.zero_grad()
    expected_loss = loss(model(problem.X), problem.Y)
    model.backward(loss.backward())

    args = (problem.X, problem.Y, problem.W1, problem.W2)
    if gradients == "plain":
        value, grad_W1, grad_W2 = handwritten.plain_gradients(*args)
    else:
        buffers = handwritten.TunedBuffers(*shape, np.dtype(dtype))
        value, grad_W1, grad_W2 = handwritten.tuned_gradients(*args, buffers)
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    assert grad_W1.dtype == grad_W2.dtype == np.dtype(dtype)
    np.testing.assert_allclose(value, expected_loss, rtol=rtol)
    grads = {name: parameter.grad for name, parameter in model.named_parameters()}
    np.testing.assert_allclose(grad_W1, grads["0.weight"], rtol=rtol, atol=rtol * 1e-3)
    np.testing.assert_allclose(grad_W2, grads["3.weight"], rtol=rtol, atol=rtol * 1e-3)


def _losses(name: str, problem: object, steps: int = 6) -> list[float]:
    step = contenders.CONTENDERS[name].make(problem)  # type: ignore[arg-type]
    return [step() for _ in range(steps)]


@pytest.mark.parametrize("name", ["plain", "tuned"])
def test_handwritten_steps_descend_as_nnlites_does(name: str) -> None:
    """Several steps from the same start give the same losses: the same updates."""
    problem = make_problem(SIZES["small"], np.dtype(np.float64))
    np.testing.assert_allclose(_losses(name, problem), _losses("nnlite", problem), rtol=1e-12)


@pytest.mark.parametrize(("name", "module"), [("PyTorch", "torch"), ("JAX-jit", "jax")])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_engine_steps_descend_as_nnlites_does(name: str, module: str, dtype: type) -> None:
    pytest.importorskip(module)
    problem = make_problem(SIZES["digits"], np.dtype(dtype))
    rtol = 1e-10 if dtype == np.float64 else 1e-4
    np.testing.assert_allclose(_losses(name, problem), _losses("nnlite", problem), rtol=rtol)


def test_contenders_leave_the_problem_alone() -> None:
    problem = make_problem(SIZES["tiny"], np.dtype(np.float64))
    before = dataclasses.replace(problem, W1=problem.W1.copy(), W2=problem.W2.copy())
    for name, contender in contenders.CONTENDERS.items():
        if contender.missing() is None:
            _losses(name, problem, steps=2)
    np.testing.assert_array_equal(problem.W1, before.W1)
    np.testing.assert_array_equal(problem.W2, before.W2)


def test_torch_workers_sleep_when_idle(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("torch")
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    contenders.import_torch()
    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"


def test_benchmark_leaves_numpys_global_random_state_alone() -> None:
    before = np.random.get_state(legacy=False)["state"]  # noqa: NPY002 (reading it is the test)
    problem = make_problem(SIZES["tiny"], np.dtype(np.float32))
    steps = {name: contenders.CONTENDERS[name].make(problem) for name in ("nnlite", "tuned")}
    timing.time_interleaved(steps, rounds=2, sample_seconds=0.0)
    after = np.random.get_state(legacy=False)["state"]  # noqa: NPY002
    assert before["pos"] == after["pos"]
    assert np.array_equal(before["key"], after["key"])


# -- nnlite's step is fit's step --------------------------------------------------------------


class _Batch(ast.NodeTransformer):
    """``X[rows]`` -> ``X``: fit indexes its batch out of the data, the benchmark has it."""

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
        if isinstance(node.slice, ast.Name) and node.slice.id == "rows":
            return node.value
        return self.generic_visit(node)


def _function(function: object) -> ast.FunctionDef:
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))  # type: ignore[arg-type]
    definition = tree.body[0]
    assert isinstance(definition, ast.FunctionDef)
    return definition


def test_nnlite_step_makes_the_calls_fit_makes_for_each_batch() -> None:
    """If this fails, nl.fit's step changed: make benchmarks/contenders.py's nnlite_step the
    new step (the page shows it), and run the benchmark again."""
    inner = next(
        node
        for node in ast.walk(_function(contenders.nnlite_step))
        if isinstance(node, ast.FunctionDef) and node.name == "one_step"
    )
    assert isinstance(inner.body[-1], ast.Return)
    expected = [ast.dump(statement) for statement in inner.body[:-1]]
    batch_loop = next(
        node
        for node in ast.walk(_function(nl.fit))
        if isinstance(node, ast.For)
        and any(
            isinstance(statement, ast.Assign) and ast.unparse(statement.targets[0]) == "rows"
            for statement in node.body
        )
    )
    body = [ast.dump(_Batch().visit(statement)) for statement in batch_loop.body]
    starts = [i for i in range(len(body)) if body[i : i + len(expected)] == expected]
    assert starts, "nl.fit's batch loop no longer makes the benchmark's nnlite step"


def test_nnlite_step_lands_where_fit_does() -> None:
    problem = make_problem(SIZES["digits"], np.dtype(np.float64))
    model = nnlite_model(problem)
    history = nl.fit(
        model,
        nl.MSELoss(),
        nl.optim.SGD(model.parameters(), lr=LR),
        problem.X,
        problem.Y,
        epochs=5,
        batch_size=problem.X.shape[0],
        shuffle=False,
        progress=False,
    )
    np.testing.assert_allclose(_losses("nnlite", problem, steps=5), history.loss, rtol=1e-14)


# -- the schedule -----------------------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 2, 3, 4, 5, 6])
def test_balanced_orders_favour_no_contender(count: int) -> None:
    orders = timing.balanced_orders(count)
    assert all(sorted(order) == list(range(count)) for order in orders)
    positions = Counter((position, c) for order in orders for position, c in enumerate(order))
    assert set(positions.values()) == {len(orders) // count}
    if count > 1:
        pairs = Counter(pair for order in orders for pair in itertools.pairwise(order))
        assert len(pairs) == count * (count - 1)  # every contender right after every other one
        assert len(set(pairs.values())) == 1  # equally often


def test_a_sample_runs_warm_and_without_the_garbage_collector() -> None:
    seen: list[bool] = []
    per_sample = timing.steps_per_sample(lambda: seen.append(gc.isenabled()), 0.0)
    warm_up = len(seen)
    assert per_sample == 1
    assert warm_up >= 2
    timing.sample(lambda: seen.append(gc.isenabled()), 4)
    assert seen[warm_up:] == [False] * 4
    assert gc.isenabled()


def _fake_spawn(jobs: list[dict[str, object]]):
    def spawn(job: dict[str, object]) -> object:
        jobs.append(job)
        fake = Timing(1e-5, 1e-5, 1e-5, 1, 1)
        return {name: dataclasses.asdict(fake) for name in job["contenders"]}  # type: ignore[attr-defined]

    return spawn


def test_each_size_and_dtype_runs_in_its_own_process_runs_interleaved(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    jobs: list[dict[str, object]] = []
    monkeypatch.setattr(runner, "spawn", _fake_spawn(jobs))
    report = runner.run_all(sizes=["tiny", "medium"], runs=3, growth=False, extras=False)
    order = [(job["size"]["name"], job["dtype"]) for job in jobs]  # type: ignore[index]
    one_run = [
        ("tiny", "float64"),
        ("tiny", "float32"),
        ("medium", "float64"),
        ("medium", "float32"),
    ]
    assert order == one_run * 3
    assert all(len(result.runs) == 3 for result in report.steps)


def test_growth_curves_span_the_asked_ranges(monkeypatch: pytest.MonkeyPatch) -> None:
    jobs: list[dict[str, object]] = []
    monkeypatch.setattr(runner, "spawn", _fake_spawn(jobs))
    report = runner.run_all(sizes=["tiny"], runs=1, growth=True, extras=False)
    along_n = [size.size for _, size in report.growth["N"]]
    along_h = [size.size for _, size in report.growth["h"]]
    assert [s.n for s in along_n] == [1, 4, 16, 64, 256, 1024, 4096]
    assert {(s.n_in, s.n_hidden) for s in along_n} == {(64, 64)}
    assert [s.n_hidden for s in along_h] == [16, 32, 64, 128, 256, 512, 1024, 2048]
    assert {(s.n, s.n_in) for s in along_h} == {(256, 64)}


# -- goals ------------------------------------------------------------------------------------


def _result(size: str, runs: list[dict[str, float]]) -> StepResult:
    return StepResult(
        SIZES[size],
        "float64",
        [{name: Timing(t, t, t, 1, 1) for name, t in run.items()} for run in runs],
    )


def _verdict(goal: goals.Goal, runs: list[dict[str, float]]) -> goals.Verdict:
    report = Report(machine={}, runs=len(runs), steps=[_result(goal.sizes[0], runs)])
    return next(v for v in goals.evaluate(report, [goal]) if v.dtype == "float64")


def test_a_goal_is_met_only_when_every_run_meets_it() -> None:
    goal = goals.Goal(("tiny",), "plain", 1.3, stretch=1.15)
    met = _verdict(goal, [{"nnlite": 1.2, "plain": 1.0}, {"nnlite": 1.1, "plain": 1.0}])
    assert (met.status, met.shortfall, met.stretch_met) == ("met", None, False)
    split = _verdict(goal, [{"nnlite": 1.2, "plain": 1.0}, {"nnlite": 1.4, "plain": 1.0}])
    assert split.status == "undecided"
    missed = _verdict(goal, [{"nnlite": 2.0, "plain": 1.0}, {"nnlite": 2.0, "plain": 1.0}])
    assert missed.status == "missed"
    assert missed.shortfall == pytest.approx(0.35)  # 2.0 -> 1.3 is 35% off nnlite's time
    assert _verdict(goal, [{"nnlite": 2.0}]).status == "not measured"


def test_faster_than_means_strictly_faster() -> None:
    goal = goals.Goal(("small",), "PyTorch", 1.0, strict=True)
    assert _verdict(goal, [{"nnlite": 1.0, "PyTorch": 1.0}]).status == "missed"
    assert goal.text == "faster than PyTorch"


# -- the page ---------------------------------------------------------------------------------


def _full_report() -> Report:
    """A report of made-up times: nnlite 20 µs (+1% each run), plain 10, tuned 5,
    PyTorch 100, JAX 16."""
    times = {"nnlite": 20e-6, "plain": 10e-6, "tuned": 5e-6, "PyTorch": 100e-6, "JAX-jit": 16e-6}
    runs = [
        {name: t * (1 + 0.01 * run * (name == "nnlite")) for name, t in times.items()}
        for run in range(3)
    ]
    report = Report(machine={"CPU": "a test CPU"}, runs=3)
    for size in SIZES:
        for dtype in ("float64", "float32"):
            result = _result(size, runs)
            result.dtype = dtype
            report.steps.append(result)
    report.growth = {"N": [(1, _result("tiny", runs[:1]))], "h": [(16, _result("tiny", runs[:1]))]}
    return report


def test_page_is_the_template_filled_in_with_the_reports_numbers() -> None:
    text = page.render_page(_full_report())
    assert "$" not in text
    assert (
        "| tiny | float64 | 4, 2, 2, 1 | 20.2 µs ±1% | 10.0 µs ±0% | 5.0 µs ±0% | 100.0 µs ±0% |"
        in text
    )
    dash = "\N{EN DASH}"
    assert f"| tiny | float64 | 2.02x (2.00{dash}2.04) | 4.04x (4.00{dash}4.08) |" in text
    assert "2.02x: missed, needs 36% off (7.2 µs)" in text  # 1 - 1.3 / 2.02 of 20.2 µs
    assert "a test CPU" in text


def test_committed_page_is_the_template_filled_in_with_the_last_run() -> None:
    """docs/performance.md is today's template and code, filled in with the numbers of the run
    that wrote it. If this fails after an edit to the prose or to the code the page shows, run
    `python -m benchmarks --load benchmarks/last-run.json --write-docs`."""
    shown = (ROOT / "docs" / "performance.md").read_text()
    assert shown == page.render_page(Report.load(page.RESULTS))
    assert page.function_code(contenders.nnlite_step) in shown
    assert (ROOT / "docs" / "images" / "benchmark-growth.png").is_file()


def test_template_uses_only_known_values() -> None:
    template = page.TEMPLATE.read_text()
    names = {
        match[1] or match[2]
        for match in string.Template.pattern.finditer(template)
        if match[1] or match[2]
    }
    assert names <= set(page.page_values(_full_report(), "figure.png"))


def test_the_step_shown_is_the_step_timed() -> None:
    code = page.function_code(contenders.nnlite_step)
    assert code.startswith("def nnlite_step(")
    assert "model.backward_parameters(loss.backward())" in code
    assert '"""' not in code
    namespace: dict[str, object] = {}
    exec(code, {**vars(contenders)}, namespace)  # the code shown runs as the benchmark's
    step = namespace["nnlite_step"](make_problem(SIZES["tiny"], "float64"))  # type: ignore[operator]
    assert step() == contenders.nnlite_step(make_problem(SIZES["tiny"], "float64"))()


OWNERS = {"nl": nl, "model": nl.Sequential, "loss": nl.MSELoss, "optimizer": nl.optim.SGD}


@pytest.mark.parametrize("source", ["template", "contenders"])
def test_page_names_only_calls_that_exist(source: str) -> None:
    if source == "template":
        text = page.TEMPLATE.read_text()
    else:
        text = " ".join(c.description for c in contenders.CONTENDERS.values())
    named = re.findall(r"`[^`]*?\b(nl|model|loss|optimizer)\.([\w.]+)", text)
    assert named
    for owner, path in named:
        target: object = OWNERS[owner]
        for part in path.split("."):
            assert hasattr(target, part), f"the page names {owner}.{path}, which does not exist"
            target = getattr(target, part)
    assert "History.seconds" not in text or "seconds" in {
        f.name for f in dataclasses.fields(nl.History)
    }


def test_page_names_only_files_that_exist() -> None:
    text = page.TEMPLATE.read_text() + " ".join(
        c.description for c in contenders.CONTENDERS.values()
    )
    paths = set(re.findall(r"`((?:benchmarks|tests|docs)/[\w./]+)`", text))
    assert paths
    for path in paths:
        assert (ROOT / path).exists(), path


def test_report_survives_a_save_and_a_load(tmp_path: Path) -> None:
    report = _full_report()
    report.save(tmp_path / "run.json")
    assert page.render_page(Report.load(tmp_path / "run.json")) == page.render_page(report)
