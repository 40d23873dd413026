"""Benchmark: nnlite's gradient checkers against PyTorch's and JAX's, on wrong backward passes.

Run it from a checkout, with nnlite, torch (``pip install ".[torch]"``) and, for the JAX columns,
jax (``pip install ".[jax]"``) installed::

    python -m benchmarks.checkers                  # every case: print the table
    python -m benchmarks.checkers --cases a,b      # only the cases named
    python -m benchmarks.checkers --write-docs     # every case, then rewrite the table in
                                                   # docs/testing.md (between its markers)

The corpus (``benchmarks/checker_corpus.py``) has hand-written backward passes with realistic bugs
and correct controls whose inputs sit on their kinks. Each case runs, as a
``torch.autograd.Function`` and (unless it changes a tensor in place) as a ``jax.custom_vjp``
function, through every checker at its defaults, at the case's inputs:

- nnlite: ``nnlite.testing.torch.check_function(F, *inputs)`` and
  ``nnlite.testing.jax.check_custom_vjp(f, *inputs)``, the constants named;
- ``torch.autograd.gradcheck(F.apply, inputs)``, and with ``fast_mode=True``, float64 inputs,
  ``requires_grad`` on all but the constants;
- ``jax.test_util.check_grads(f, inputs, order=1, modes=("rev",))`` (a custom_vjp has no forward
  mode), under ``jax.enable_x64``, the constants closed over.

A checker that raises anything has failed the case: for a bug that is "caught", for a control a
"false alarm". Each checker gets fresh copies of the inputs and a fresh Function, so what one
checker's run changes cannot reach another's.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import re
import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.checker_corpus import CASES, Case, custom_vjp, torch_function

ROOT = Path(__file__).resolve().parent.parent
DOCS_PAGE = ROOT / "docs" / "testing.md"
COMMAND = "python -m benchmarks.checkers"
START = "<!-- checkers-table: written by python -m benchmarks.checkers --write-docs -->"
END = "<!-- checkers-table: end -->"
SEED = 0


@dataclass(frozen=True)
class Checker:
    """One checker at its defaults: ``run(case)`` raises when it fails the case."""

    name: str
    framework: str  # "torch" or "jax"
    run: Callable[[Case], None]


@dataclass(frozen=True)
class Outcome:
    """What one checker did with one case: failed it or not, and why."""

    applicable: bool
    failed: bool = False
    reason: str = ""  # for nnlite: the check that failed


def inputs_of(case: Case) -> tuple[np.ndarray[Any, Any], ...]:
    """The case's inputs: the same arrays for every checker (each gets its own copies)."""
    return case.inputs(np.random.default_rng(SEED))


def _nnlite_torch(case: Case) -> None:
    from nnlite.testing.torch import check_function

    check_function(torch_function(case), *inputs_of(case), constants=case.constants)


def _gradcheck(fast: bool) -> Callable[[Case], None]:
    def run(case: Case) -> None:
        torch = importlib.import_module("torch")
        tensors = [
            torch.tensor(array, requires_grad=i not in case.constants)
            for i, array in enumerate(inputs_of(case))
        ]
        torch.autograd.gradcheck(torch_function(case).apply, tensors, fast_mode=fast)

    return run


def _nnlite_jax(case: Case) -> None:
    from nnlite.testing.jax import check_custom_vjp

    check_custom_vjp(custom_vjp(case), *inputs_of(case), constants=case.constants)


def _check_grads(case: Case) -> None:
    jax = importlib.import_module("jax")
    check_grads = importlib.import_module("jax.test_util").check_grads

    with jax.enable_x64(True):
        values = [jax.numpy.asarray(array) for array in inputs_of(case)]
        f = custom_vjp(case)
        moving = [i for i in range(len(values)) if i not in case.constants]

        def of_moving(*arguments: Any) -> Any:
            merged = list(values)
            for i, value in zip(moving, arguments, strict=True):
                merged[i] = value
            return f(*merged)

        check_grads(of_moving, [values[i] for i in moving], order=1, modes=("rev",))


CHECKERS: tuple[Checker, ...] = (
    Checker("nnlite", "torch", _nnlite_torch),
    Checker("gradcheck", "torch", _gradcheck(fast=False)),
    Checker("gradcheck fast_mode", "torch", _gradcheck(fast=True)),
    Checker("nnlite (JAX)", "jax", _nnlite_jax),
    Checker("check_grads", "jax", _check_grads),
)


def available(framework: str) -> bool:
    """Whether torch or jax can be imported here."""
    try:
        importlib.import_module(framework)
    except ImportError:
        return False
    return True


def run_case(case: Case, checker: Checker) -> Outcome:
    """Run one checker on one case, quietly; any exception is a failure."""
    if not available(checker.framework) or (checker.framework == "jax" and case.torch_only):
        return Outcome(applicable=False)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            checker.run(case)
    except Exception as error:  # a checker fails a case by raising anything
        found = re.match(r"check_(\w+)\(", str(error))
        reason = found[1] if found else type(error).__name__
        return Outcome(applicable=True, failed=True, reason=reason)
    return Outcome(applicable=True)


def run(cases: Sequence[Case]) -> dict[str, dict[str, Outcome]]:
    """Every checker on every case: ``results[case.name][checker.name]``."""
    results: dict[str, dict[str, Outcome]] = {}
    for case in cases:
        print(f"  {case.name} ...", file=sys.stderr, flush=True)
        results[case.name] = {checker.name: run_case(case, checker) for checker in CHECKERS}
    return results


def cell(case: Case, outcome: Outcome, nnlite: bool) -> str:
    """A table cell: caught / missed for a bug, passed / false alarm for a control."""
    if not outcome.applicable:
        return "n/a"
    if case.correct:
        return "**false alarm**" if outcome.failed else "passed"
    if not outcome.failed:
        return "missed"
    return f"caught ({outcome.reason})" if nnlite else "caught"


def table_rows(cases: Sequence[Case], results: dict[str, dict[str, Outcome]]) -> list[str]:
    """The markdown rows of the cases, one per case."""
    rows = []
    for case in cases:
        cells = [
            cell(case, results[case.name][checker.name], checker.name.startswith("nnlite"))
            for checker in CHECKERS
        ]
        what = (case.bug or f"correct ({case.kind})").replace("|", "\\|")  # a cell's own |
        rows.append(f"| `{case.name}` | {what} | " + " | ".join(cells) + " |")
    return rows


def totals(cases: Sequence[Case], results: dict[str, dict[str, Outcome]]) -> list[str]:
    """The rows of totals: bugs caught, and false alarms on the controls, per checker."""
    caught, alarms = ["| **bugs caught** | |"], ["| **false alarms** | |"]
    for checker in CHECKERS:
        outcomes = [(case, results[case.name][checker.name]) for case in cases]
        bugs = [o for case, o in outcomes if o.applicable and not case.correct]
        controls = [o for case, o in outcomes if o.applicable and case.correct]
        caught.append(f" {sum(o.failed for o in bugs)} of {len(bugs)} |")
        alarms.append(f" {sum(o.failed for o in controls)} of {len(controls)} |")
    return ["".join(caught), "".join(alarms)]


def render_table(cases: Sequence[Case], results: dict[str, dict[str, Outcome]]) -> str:
    """The markdown table: a header, a row per case, and the totals."""
    header = "| case | what is wrong | " + " | ".join(c.name for c in CHECKERS) + " |"
    rule = "|---|---|" + "---|" * len(CHECKERS)
    return "\n".join([header, rule, *table_rows(cases, results), *totals(cases, results)])


def versions() -> str:
    """The versions the table was measured with."""
    parts = [f"numpy {np.__version__}"]
    for name in ("torch", "jax"):
        if available(name):
            parts.append(f"{name} {importlib.import_module(name).__version__}")
    return ", ".join(parts)


def write_docs(table: str) -> None:
    """Replace the marked block of docs/testing.md with this run's table."""
    page = DOCS_PAGE.read_text()
    if page.count(START) != 1 or page.count(END) != 1:
        raise SystemExit(f"{COMMAND}: {DOCS_PAGE} must hold the markers {START} and {END} once")
    before, rest = page.split(START)
    _, after = rest.split(END)
    block = f"{START}\n\nMeasured with {versions()}.\n\n{table}\n\n{END}"
    DOCS_PAGE.write_text(before + block + after)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; return the exit status."""
    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__.split("\n")[0])
    parser.add_argument("--cases", help="comma-separated case names (default: every case)")
    parser.add_argument(
        "--write-docs", action="store_true", help="rewrite the table in docs/testing.md"
    )
    args = parser.parse_args(argv)
    cases = list(CASES)
    if args.cases:
        wanted = args.cases.split(",")
        unknown = sorted(set(wanted) - {case.name for case in CASES})
        if unknown:
            print(f"{COMMAND}: no case named {', '.join(unknown)}", file=sys.stderr)
            return 2
        cases = [case for case in CASES if case.name in wanted]
    if args.write_docs and len(cases) != len(CASES):
        print(f"{COMMAND}: --write-docs needs every case", file=sys.stderr)
        return 2
    if not available("torch"):
        print(f'{COMMAND}: needs torch: pip install ".[torch]"', file=sys.stderr)
        return 2
    table = render_table(cases, run(cases))
    print(table)
    if args.write_docs:
        write_docs(table)
        print(f"\nwrote the table in {DOCS_PAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
