"""python -m benchmarks.checkers: the table in docs/testing.md is what the script measures.

Without torch: the page's table lists every case of the corpus, its totals are its rows counted,
and it shows what the page claims (nnlite catches strictly more than gradcheck, with no false
alarm). With torch (and jax, for its columns): the script, run on a subset of the corpus, writes
exactly the page's rows for those cases.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "checkers.py"
PAGE = ROOT / "docs" / "testing.md"
SUBSET = [
    "layernorm_eps",
    "clipped_upstream",
    "max_every_tie",
    "grad_default_dtype",
    "backward_mutates_grad_output",
    "relu_at_zero",
]


@pytest.fixture(scope="module")
def checkers() -> ModuleType:
    """The benchmark script, python -m benchmarks.checkers."""
    return importlib.import_module("benchmarks.checkers")


def _block(checkers: ModuleType) -> str:
    text = PAGE.read_text()
    assert text.count(checkers.START) == 1
    assert text.count(checkers.END) == 1
    return text.split(checkers.START)[1].split(checkers.END)[0]


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip())[1:-1]]


def _rows(checkers: ModuleType) -> dict[str, list[str]]:
    """The page's rows by case name: the cells after the name."""
    rows = {}
    for line in _block(checkers).splitlines():
        if line.startswith("| `"):
            cells = _cells(line)
            rows[cells[0].strip("`")] = cells[1:]
    return rows


def test_the_page_lists_every_case_of_the_corpus_in_order(checkers: ModuleType) -> None:
    assert list(_rows(checkers)) == [case.name for case in checkers.CASES]
    header = next(line for line in _block(checkers).splitlines() if line.startswith("| case"))
    assert _cells(header)[2:] == [checker.name for checker in checkers.CHECKERS]


def test_the_corpus_has_the_bugs_and_controls_the_page_describes(checkers: ModuleType) -> None:
    bugs = [case for case in checkers.CASES if not case.correct]
    controls = [case for case in checkers.CASES if case.correct]
    assert len(bugs) >= 20
    assert {"1e-4", "1e-5", "1e-6", "upstream", "tie", "formula", "dtype", "in place"} <= {
        case.kind for case in bugs
    }
    assert {"kink", "tie"} <= {case.kind for case in controls}
    assert len({case.name for case in checkers.CASES}) == len(checkers.CASES)


def test_the_totals_are_the_rows_counted(checkers: ModuleType) -> None:
    rows = _rows(checkers)
    bugs = {case.name for case in checkers.CASES if not case.correct}
    lines = _block(checkers).splitlines()
    caught = _cells(next(line for line in lines if line.startswith("| **bugs caught**")))[2:]
    alarms = _cells(next(line for line in lines if line.startswith("| **false alarms**")))[2:]
    for column, checker in enumerate(checkers.CHECKERS):
        cells = {name: row[column + 1] for name, row in rows.items()}
        applicable = {name: cell for name, cell in cells.items() if cell != "n/a"}
        n_bugs = sum(name in bugs for name in applicable)
        n_caught = sum(cell.startswith("caught") for cell in applicable.values())
        n_alarms = sum(cell == "**false alarm**" for cell in applicable.values())
        assert caught[column] == f"{n_caught} of {n_bugs}", checker.name
        assert alarms[column] == f"{n_alarms} of {len(applicable) - n_bugs}", checker.name


def test_nnlite_catches_strictly_more_than_gradcheck_with_no_false_alarm(
    checkers: ModuleType,
) -> None:
    lines = _block(checkers).splitlines()
    caught = _cells(next(line for line in lines if line.startswith("| **bugs caught**")))[2:]
    alarms = _cells(next(line for line in lines if line.startswith("| **false alarms**")))[2:]
    count = {c.name: int(n.split()[0]) for c, n in zip(checkers.CHECKERS, caught, strict=True)}
    false = {c.name: int(n.split()[0]) for c, n in zip(checkers.CHECKERS, alarms, strict=True)}
    assert count["nnlite"] > count["gradcheck"]
    assert count["nnlite"] > count["gradcheck fast_mode"]
    assert count["nnlite (JAX)"] > count["check_grads"]
    assert false["nnlite"] == false["nnlite (JAX)"] == 0


def test_a_run_on_a_subset_writes_the_page_s_rows(checkers: ModuleType) -> None:
    pytest.importorskip("torch")
    jax = checkers.available("jax")
    cases = [case for case in checkers.CASES if case.name in SUBSET]
    results = checkers.run(cases)
    on_page = _rows(checkers)
    for line in checkers.table_rows(cases, results):
        name, *measured = _cells(line)
        expected = on_page[name.strip("`")]
        for checker, got, shown in zip(checkers.CHECKERS, measured[1:], expected[1:], strict=True):
            if checker.framework == "jax" and not jax:
                assert got == "n/a"
                continue
            assert got == shown, (
                f"{name} {checker.name}: the page shows {shown!r}, measured {got!r}"
            )


def test_write_docs_replaces_only_the_marked_block(
    checkers: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = tmp_path / "testing.md"
    page.write_text(f"before\n{checkers.START}\nold table\n{checkers.END}\nafter\n")
    monkeypatch.setattr(checkers, "DOCS_PAGE", page)
    checkers.write_docs("| new | table |")
    text = page.read_text()
    assert text.startswith(f"before\n{checkers.START}\n")
    assert text.endswith(f"| new | table |\n\n{checkers.END}\nafter\n")
    assert "old table" not in text
