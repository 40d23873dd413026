"""docs/performance.md: the template's prose, filled in with a report's numbers, and the figure.

The prose lives in ``benchmarks/page.md.in``, a :class:`string.Template`: every ``$name`` in it
is filled in by :func:`page_values`, with numbers, tables made from the report, and text taken
from the code (the contenders' docstrings, nnlite's step, the goals, the sizes). Nothing in the
prose is a number measured by the run.
"""

from __future__ import annotations

import ast
import inspect
import string
import textwrap
from pathlib import Path

from benchmarks import cnn, contenders
from benchmarks.contenders import BASELINES, CONTENDERS, NNLITE
from benchmarks.digits import MAX_ITER, MLP_ARGUMENTS, TARGET_ACCURACY, TEST_SIZE
from benchmarks.goals import GOALS, MEMORY_GOAL
from benchmarks.problem import (
    GROWTH_BATCH,
    GROWTH_H,
    GROWTH_N,
    GROWTH_OUTPUTS,
    GROWTH_WIDTH,
    LR,
    SIZES,
)
from benchmarks.report import (
    cnn_table,
    format_seconds,
    goal_counts,
    goals_table,
    growth_table,
    markdown_table,
    memory_ratio,
    memory_table,
    phases_table,
    ratios_table,
    spread_summary,
    times_table,
)
from benchmarks.results import Report
from benchmarks.runner import DIGITS_REPEATS, PHASE_SIZES, PROFILE_STEPS, ROOT, Calm
from nnlite.cli import DEFAULTS

TEMPLATE = Path(__file__).resolve().parent / "page.md.in"
PAGE = ROOT / "docs" / "performance.md"
FIGURE = ROOT / "docs" / "images" / "benchmark-growth.png"
RESULTS = ROOT / "benchmarks" / "last-run.json"
"""The measurements the page was written from, so that it can be written again without a run."""
COMMAND = "python -m benchmarks --write-docs"
RATIO_TICKS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100)


def function_code(function: object) -> str:
    """The source of ``function`` without its docstring: the code the page shows."""
    source = textwrap.dedent(inspect.getsource(function))  # type: ignore[arg-type]
    lines = source.splitlines()
    definition = ast.parse(source).body[0]
    assert isinstance(definition, ast.FunctionDef)
    first = definition.body[0]
    docstring = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
    body_start = definition.body[1].lineno if docstring else first.lineno
    return "\n".join([*lines[: definition.body[0].lineno - 1], *lines[body_start - 1 :]])


def _bullets(items: list[str]) -> str:
    return "\n".join(f"- {item}" for item in items)


def _goal_sizes(sizes: tuple[str, ...]) -> str:
    return "every size" if sizes == tuple(SIZES) else ", ".join(sizes)


def _profile(report: Report) -> str:
    rows = [
        f"{row.own_seconds * 1e6:10.2f} µs  {row.share:5.1%}  {row.calls:10.1f}  {row.function}"
        for row in report.profile
    ]
    return "\n".join(["own time/step  share  calls/step  function", *rows])


def _digits(report: Report) -> dict[str, str]:
    digits = report.digits
    defaults = DEFAULTS["digits"]
    values = {
        "digits_defaults": (
            f"{defaults.optimizer}, lr {defaults.lr:g}, batch size {defaults.batch_size}, "
            f"{defaults.epochs} epochs, {defaults.hidden} hidden units"
        ),
        "digits_target": f"{TARGET_ACCURACY:.0%}",
        "digits_repeats": str(DIGITS_REPEATS),
        "mlp_call": "MLPClassifier("
        + ", ".join(f"{key}={value!r}" for key, value in MLP_ARGUMENTS.items())
        + f", max_iter={MAX_ITER})",
    }
    if digits is None:
        return {
            **values,
            "digits_rows": "not measured",
            "mlp_settings": "—",
            "digits_table": "Not measured in this run.",
        }
    percent = f"{TARGET_ACCURACY:.0%}"
    target = f"≥ {percent}"

    def epoch(index: int | None) -> str:
        return "—" if index is None else str(index + 1)

    def reached(seconds: float | None) -> str:
        return "not reached" if seconds is None else format_seconds(seconds)

    table = markdown_table(
        (
            ("", "time", "test accuracy"),
            [
                (
                    f"nnlite, to {percent} (epoch {epoch(digits.nnlite_epoch_reached)})",
                    reached(digits.nnlite_to_target),
                    target,
                ),
                (
                    f"nnlite, all {digits.nnlite_epochs} epochs (`nnlite train`)",
                    format_seconds(digits.nnlite_total),
                    f"{digits.nnlite_accuracy:.2%}",
                ),
                (
                    f"MLPClassifier `fit` ({digits.sklearn_iterations} iterations)",
                    format_seconds(digits.sklearn_fit),
                    f"{digits.sklearn_accuracy:.2%}",
                ),
                (
                    f"MLPClassifier, epoch by epoch to {TARGET_ACCURACY:.0%} (epoch "
                    f"{epoch(digits.sklearn_epoch_reached)})",
                    reached(digits.sklearn_to_target),
                    target,
                ),
            ],
        )
    )
    settings = ", ".join(f"{key} {value}" for key, value in digits.sklearn_settings.items())
    rows = (
        f"{1 - TEST_SIZE:.0%}/{TEST_SIZE:.0%}: {digits.train_rows} training and "
        f"{digits.test_rows} test rows"
    )
    return {**values, "digits_rows": rows, "mlp_settings": settings, "digits_table": table}


def _cnn(report: Report) -> dict[str, str]:
    def description(make: object) -> str:
        threads = getattr(make, "keywords", {}).get("threads")  # a functools.partial
        if threads is not None:
            return f"the same, on {threads} thread{'s' if threads > 1 else ''}."
        doc = inspect.getdoc(make) or ""
        return " ".join(doc.split("\n\n")[0].split()).replace("``", "`")

    others = report.cnn_others
    return {
        "cnn_batch": str(cnn.CNN_BATCH),
        "cnn_rounds": str(cnn.CNN_ROUNDS),
        "cnn_sample_ms": f"{cnn.CNN_SAMPLE_SECONDS * 1e3:g}",
        "cnn_contenders": _bullets(
            [f"**{name}**: {description(make)}" for name, make in cnn.CNN_CONTENDERS.items()]
        ),
        "cnn_others": "an unknown share" if others is None else f"{others:.0%}",
        "cnn_table": markdown_table(cnn_table(report))
        if report.cnn
        else "Not measured in this run.",
    }


def page_values(report: Report, figure: str) -> dict[str, str]:
    """Every ``$name`` of the template, from ``report`` and the code."""
    met, undecided, missed = goal_counts(report)
    widest, where, median_spread = spread_summary(report.steps)
    others = report.others_share()
    not_measured = "Not measured in this run."
    values = {
        "command": COMMAND,
        "patience": f"{Calm.patience:g}",
        "others_share": "an unknown share" if others is None else f"{others[0]:.0%}",
        "quiet_threshold": f"{Calm.threshold:.0%}",
        "machine_table": markdown_table(
            (("", ""), [(key, value) for key, value in report.machine.items()])
        ),
        "goals_list": _bullets(
            [f"{_goal_sizes(goal.sizes)}: {goal.text}" for goal in GOALS]
            + [f"large, float64: {MEMORY_GOAL}"]
        ),
        "goals_met": str(met),
        "goals_undecided": str(undecided),
        "goals_missed": str(missed),
        "goals_total": str(met + undecided + missed),
        "lr": f"{LR:g}",
        "contenders": _bullets(
            [f"**{contender.name}**: {contender.description}" for contender in CONTENDERS.values()]
        ),
        "nnlite_step_code": function_code(contenders.nnlite_step),
        "sizes_table": markdown_table(
            (
                ("size", "N, n_in, hidden, n_out", "rounds", "a sample lasts about"),
                [
                    (
                        size.name,
                        size.shape,
                        str(size.rounds),
                        "one step"
                        if size.sample_seconds == 0
                        else f"{size.sample_seconds * 1e3:g} ms",
                    )
                    for size in SIZES.values()
                ],
            )
        ),
        "runs": str(report.runs),
        "times_table": markdown_table(times_table(report.steps)),
        "ratios_table": markdown_table(ratios_table(report.steps)),
        "widest_spread": f"{widest:.1%}",
        "widest_where": where,
        "median_spread": f"{median_spread:.1%}",
        "growth_width": str(GROWTH_WIDTH),
        "growth_batch": str(GROWTH_BATCH),
        "growth_outputs": str(GROWTH_OUTPUTS),
        "growth_n_range": f"{GROWTH_N[0]} to {GROWTH_N[-1]}",
        "growth_h_range": f"{GROWTH_H[0]} to {GROWTH_H[-1]}",
        "growth_figure": figure,
        "growth_n_table": markdown_table(growth_table("N", report.growth.get("N", []))),
        "growth_h_table": markdown_table(growth_table("h", report.growth.get("h", []))),
        "memory_table": markdown_table(memory_table(report.memory)) if report.memory else "",
        "memory_ratio": memory_ratio(report.memory),
        "phase_sections": "\n\n".join(
            f"At the {name} size:\n\n{markdown_table(phases_table(phases))}"
            for name, phases in report.phases.items()
        )
        or not_measured,
        "phase_steps": ", ".join(f"{steps} steps at {name}" for name, steps in PHASE_SIZES.items()),
        "profile_steps": str(PROFILE_STEPS),
        "profile": _profile(report) if report.profile else not_measured,
        "goals_table": markdown_table(goals_table(report)),
        "notes": _bullets(
            [f"{name} was not timed: {why}." for name, why in report.missing.items()] + report.notes
        )
        or "None: every contender ran.",
    }
    return {**values, **_digits(report), **_cnn(report)}


def render_page(report: Report, figure: str = "images/benchmark-growth.png") -> str:
    """The page: the template with every ``$name`` filled in (a missing one is a KeyError)."""
    return string.Template(TEMPLATE.read_text()).substitute(page_values(report, figure))


def plot_growth(report: Report, path: Path) -> None:
    """A PNG of nnlite's time over each baseline's against N and against h (log scales)."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no window
    import matplotlib.pyplot as plt

    figure, panels = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    labels = {
        "N": f"batch size N (n_in = hidden = {GROWTH_WIDTH})",
        "h": f"hidden width h (N = {GROWTH_BATCH}, n_in = {GROWTH_WIDTH})",
    }
    for panel, (axis, points) in zip(panels, report.growth.items(), strict=False):
        xs = [value for value, _ in points]
        for name in BASELINES:
            ys = [point.ratio(NNLITE, name) for _, point in points]
            if all(y is not None for y in ys):
                panel.plot(xs, ys, marker="o", label=f"nnlite / {name}")
        panel.axhline(1, color="grey", linewidth=0.8, linestyle="--")
        panel.set(xscale="log", yscale="log", xlabel=labels[axis], title=f"growth in {axis}")
        panel.set_xticks(xs, [str(x) for x in xs])
        panel.grid(True, which="major", alpha=0.3)
    low, high = panels[0].get_ylim()
    ticks = [t for t in RATIO_TICKS if low <= t <= high]
    panels[0].set_yticks(ticks, [f"{t:g}x" for t in ticks])
    panels[0].minorticks_off()
    panels[1].minorticks_off()
    panels[0].set_ylabel("nnlite's time per step / the other's")
    panels[0].legend()
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(figure)
