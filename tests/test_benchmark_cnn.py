"""The benchmark's CNN row (benchmarks/cnn.py): both steps do the same work, nnlite's is the step
``nl.fit`` runs, and the row is saved, loaded, measured again alone and shown on the page.

No timing is asserted: the numbers depend on the machine.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import numpy as np
import pytest

import nnlite as nl
from benchmarks import cnn, page, runner
from benchmarks.cli import main
from benchmarks.handwritten import Step
from benchmarks.results import Report
from benchmarks.timing import Timing
from nnlite._cli_commands import CNN_DEFAULTS
from tests.test_benchmark import _Batch, _full_report, _function


def _losses(make: Step, steps: int = 5) -> list[float]:
    return [make() for _ in range(steps)]


def test_pytorchs_cnn_step_descends_as_nnlites_does() -> None:
    """The same network, weights, loss and optimizer: the same losses step by step."""
    pytest.importorskip("torch")
    X, Y = cnn.cnn_batch(8)
    expected = _losses(cnn.nnlite_cnn_step(X, Y))
    np.testing.assert_allclose(_losses(cnn.torch_cnn_step(X, Y)), expected, rtol=1e-10)
    one_thread = cnn.CNN_CONTENDERS[cnn.TORCH_ONE_THREAD](X, Y)
    np.testing.assert_allclose(_losses(one_thread), expected, rtol=1e-10)
    assert expected[-1] < expected[0]  # it trains


def test_the_nnlite_cnn_step_makes_the_calls_fit_makes_for_each_batch() -> None:
    inner = next(
        node
        for node in ast.walk(_function(cnn.nnlite_cnn_step))
        if isinstance(node, ast.FunctionDef) and node.name == "one_step"
    )
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
    assert any(body[i : i + len(expected)] == expected for i in range(len(body)))


def test_the_nnlite_cnn_step_lands_where_fit_does() -> None:
    X, Y = cnn.cnn_batch(8)
    model = nl.digits_cnn(rng=0)
    history = nl.fit(
        model,
        nl.SoftmaxCrossEntropyLoss(),
        nl.optim.Adam(model.parameters(), lr=CNN_DEFAULTS.lr),
        X,
        Y,
        epochs=3,
        batch_size=8,
        shuffle=False,
        progress=False,
    )
    np.testing.assert_allclose(_losses(cnn.nnlite_cnn_step(X, Y), 3), history.loss, rtol=1e-14)


def test_the_cnn_job_times_both_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cnn, "CNN_SAMPLE_SECONDS", 0.0)  # one step a sample: cheap
    result = runner.run_job({"kind": "cnn", "rounds": 1})
    torch = {"PyTorch", "PyTorch, 1 thread"} if importlib.util.find_spec("torch") else set()
    expected = {"nnlite", *torch}
    assert set(result) == expected
    assert all(timing["median"] > 0 for timing in result.values())


def _with_cnn(report: Report) -> Report:
    report.cnn = {
        "nnlite": Timing(2e-3, 1.9e-3, 2.1e-3, 40, 25),
        "PyTorch": Timing(4e-3, 3.8e-3, 4.4e-3, 40, 12),
    }
    report.cnn_others = 0.5
    return report


def test_the_page_shows_the_cnn_row_and_says_the_machine_was_shared() -> None:
    text = page.render_page(_with_cnn(_full_report()))
    assert "| nnlite | 2.00 ms | 1.90 ms to 2.10 ms |" in text
    assert "| nnlite / PyTorch | 0.50x |  |" in text
    assert "other programs took 50% of its CPU time" in text
    assert "`nl.digits_cnn(rng=0)`" in text
    assert "Not measured in this run." in page.render_page(_full_report())


def test_a_run_saved_before_the_cnn_row_loads_without_it(tmp_path: Path) -> None:
    report = _with_cnn(_full_report())
    report.save(tmp_path / "run.json")
    loaded = Report.load(tmp_path / "run.json")
    assert loaded.cnn == report.cnn
    assert loaded.cnn_others == 0.5
    old = (tmp_path / "run.json").read_text().replace('"cnn"', '"not_cnn"')
    old = old.replace('"cnn_others"', '"not_cnn_others"')
    (tmp_path / "old.json").write_text(old)
    assert Report.load(tmp_path / "old.json").cnn == {}


def test_measuring_the_cnn_again_keeps_the_rest_of_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = _full_report()
    report.interference = [("run 1/3: tiny float64", 0.1, 2.0)]
    report.save(tmp_path / "run.json")
    timings = {"nnlite": {"median": 1e-3, "q25": 1e-3, "q75": 1e-3, "samples": 1}}
    timings["nnlite"]["steps_per_sample"] = 1
    monkeypatch.setattr(runner, "spawn", lambda job: timings if job["kind"] == "cnn" else None)
    assert main(["--load", str(tmp_path / "run.json"), "--measure-cnn", "--patience", "0",
                 "--save", str(tmp_path / "after.json")]) == 0  # fmt: skip
    after = Report.load(tmp_path / "after.json")
    assert after.cnn["nnlite"].median == 1e-3
    assert after.interference == report.interference  # the earlier run's load, untouched
    assert after.machine == report.machine
    assert (
        page.page_values(after, "f.png")["times_table"]
        == page.page_values(report, "f.png")["times_table"]
    )


def test_measure_cnn_needs_a_run_to_keep(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--measure-cnn"]) == 2
    assert "--measure-cnn needs --load" in capsys.readouterr().err
