"""``python -m benchmarks``: run the benchmark, print its tables, and write the docs page."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from benchmarks.page import COMMAND, FIGURE, PAGE, RESULTS, plot_growth, render_page
from benchmarks.problem import SIZES
from benchmarks.report import print_report
from benchmarks.results import Report
from benchmarks.runner import NO_WAITING, ROOT, Calm, remeasure_cnn_step, run_all, run_job


def _sizes(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in SIZES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"expected a comma-separated list of {', '.join(SIZES)}, got {text!r}"
        )
    return names


def _runs(text: str) -> int:
    try:
        runs = int(text)
    except ValueError:
        runs = 0
    if runs < 1:
        raise argparse.ArgumentTypeError(f"expected an int >= 1, got {text!r}")
    return runs


def parser() -> argparse.ArgumentParser:
    """The command's arguments."""
    result = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Time one training step of the derivation's network: nnlite's against "
        "hand-written numpy, PyTorch and JAX-jit, each size in its own process.",
    )
    result.add_argument(
        "--quick",
        action="store_true",
        help="the CI smoke run: tiny, float64, one short run, numpy's contenders only; seconds",
    )
    result.add_argument(
        "--sizes",
        type=_sizes,
        default=list(SIZES),
        help=f"comma-separated sizes to time (default: all of {','.join(SIZES)})",
    )
    result.add_argument(
        "--runs", type=_runs, default=3, help="runs of each size, each in its own process (3)"
    )
    result.add_argument(
        "--patience",
        type=float,
        default=Calm.patience,
        metavar="SECONDS",
        help="before each job, wait up to this long for a quiet machine (0: never wait)",
    )
    result.add_argument("--no-growth", action="store_true", help="skip the growth curves")
    result.add_argument(
        "--no-extras", action="store_true", help="skip memory, the parts of the step and digits"
    )
    result.add_argument("--save", type=Path, metavar="JSON", help="also write the measurements")
    result.add_argument(
        "--load", type=Path, metavar="JSON", help="measure nothing: report a saved run"
    )
    result.add_argument(
        "--measure-cnn",
        action="store_true",
        help="with --load: time the CNN's step again, keeping the rest of the saved run",
    )
    result.add_argument(
        "--write-docs",
        action="store_true",
        help=f"rewrite {PAGE.relative_to(ROOT)}, its figure and {RESULTS.relative_to(ROOT)}",
    )
    result.add_argument("--job", help=argparse.SUPPRESS)  # one job, in a process of its own
    result.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    return result


def _refusal(args: argparse.Namespace) -> str | None:
    """Why ``--write-docs`` cannot go with the other arguments, or None."""
    if args.measure_cnn and args.load is None:
        return "--measure-cnn needs --load: the run whose other numbers it keeps"
    if not args.write_docs or args.load is not None:
        return None
    if args.quick or args.no_growth or args.no_extras or args.sizes != list(SIZES):
        return "--write-docs needs the full run: every size, the growth curves and the extras"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; return the exit status."""
    args = parser().parse_args(argv)
    if args.job is not None:
        result = run_job(json.loads(args.job))
        args.out.write_text(json.dumps(result))
        return 0
    refusal = _refusal(args)
    if refusal is not None:
        print(f"{COMMAND}: {refusal}", file=sys.stderr)
        return 2
    if args.write_docs:
        try:
            import matplotlib  # noqa: F401 (only to fail early, before a long run)
        except ImportError:
            print(f'{COMMAND}: the figure needs matplotlib: pip install ".[plot]"', file=sys.stderr)
            return 2
    if args.load is not None:
        report = Report.load(args.load)
        if args.measure_cnn:
            calm = NO_WAITING if args.patience <= 0 else Calm(args.patience)
            remeasure_cnn_step(
                report, calm, lambda message: print(message, file=sys.stderr, flush=True)
            )
    else:
        report = run_all(
            sizes=args.sizes,
            runs=args.runs,
            growth=not args.no_growth,
            extras=not args.no_extras,
            quick=args.quick,
            calm=NO_WAITING if args.quick or args.patience <= 0 else Calm(args.patience),
            progress=lambda message: print(message, file=sys.stderr, flush=True),
            checkpoint=lambda so_far: so_far.save(args.save) if args.save else None,
        )
    if args.save is not None:
        report.save(args.save)
    print_report(report)
    if args.write_docs:
        report.save(RESULTS)
        plot_growth(report, FIGURE)
        PAGE.write_text(render_page(report, FIGURE.relative_to(PAGE.parent).as_posix()))
        written = ", ".join(str(path.relative_to(ROOT)) for path in (PAGE, FIGURE, RESULTS))
        print(f"\nwrote {written}")
    return 0
