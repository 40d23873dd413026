"""Every example in README.md, docs/*.md and the docstrings runs, and shows what it prints."""

from __future__ import annotations

import contextlib
import doctest
import importlib
import io
import pkgutil
import re
from pathlib import Path

import numpy as np
import pytest

import nnlite as nl

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
# Error digits depend on the machine's BLAS; everything else in shown output must match.
SCIENTIFIC = re.compile(r"\d\.\d+e[+-]\d+")
# A page whose examples need an optional extra says so at its top: <!-- requires: torch -->
REQUIRES = re.compile(r"\A\s*<!-- requires: ([\w.]+) -->")


def _blocks(page: Path) -> list[tuple[str, str]]:
    return [(match[1], match[2]) for match in FENCE.finditer(page.read_text())]


def _normalize(text: str) -> str:
    return "\n".join(SCIENTIFIC.sub("<num>", line.rstrip()) for line in text.strip().splitlines())


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_page_examples_run_and_print_what_the_page_shows(
    page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run the page's python blocks in order in one namespace, in an empty folder (examples may
    write files); a text block right after a block that printed something must be that output."""
    for module in REQUIRES.findall(page.read_text()):
        pytest.importorskip(module)  # a page marked <!-- requires: torch --> needs torch
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem}"}
    blocks = _blocks(page)
    for number, (language, code) in enumerate(blocks):
        if language != "python":
            continue
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(code, f"{page.name} block {number}", "exec"), namespace)
        following = blocks[number + 1] if number + 1 < len(blocks) else None
        if printed.getvalue() and following is not None and following[0] == "text":
            assert _normalize(printed.getvalue()) == _normalize(following[1]), (
                f"{page.name} block {number} printed something else than the page shows"
            )


def test_pages_have_examples() -> None:
    """The runner above must not pass by finding nothing."""
    assert sum(language == "python" for language, _ in _blocks(ROOT / "README.md")) >= 3
    for page in PAGES:
        if page.name != "index.md":
            assert any(language == "python" for language, _ in _blocks(page)), page.name


def test_readme_quickstart_is_the_example_script() -> None:
    quickstart = next(
        code for language, code in _blocks(ROOT / "README.md") if language == "python"
    )
    assert quickstart == (ROOT / "examples" / "quickstart.py").read_text()


def test_readme_shows_the_real_repr() -> None:
    shown = next(code for _, code in _blocks(ROOT / "README.md") if code.startswith("Sequential("))
    assert shown.strip() == repr(nl.two_layer_network(2, 4, rng=0))


def test_readme_commands_are_marked_for_ci() -> None:
    """.ci/run runs the commands under these markers; they must exist exactly once each."""
    text = (ROOT / "README.md").read_text()
    for marker in ("<!-- command: run -->", "<!-- command: test -->"):
        assert text.count(marker) == 1
        assert text.split(marker, 1)[1].lstrip().startswith("```bash\n")


MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(nl.__path__, prefix="nnlite.")
    if not info.ispkg and info.name != "nnlite.__main__"  # importing it would run the command
)


@pytest.mark.parametrize("module_name", MODULES)
def test_docstring_examples(module_name: str) -> None:
    module = importlib.import_module(module_name)
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    for test in finder.find(module, module_name, globs={"np": np, "nl": nl}):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {module_name}"


def test_docstrings_have_examples() -> None:
    finder = doctest.DocTestFinder()
    examples = sum(
        len(test.examples)
        for name in MODULES
        for test in finder.find(importlib.import_module(name), name)
    )
    assert examples >= 10


def test_readme_shows_the_real_output_of_nnlite_train(capsys: pytest.CaptureFixture[str]) -> None:
    """The README's sample output of its run command is what it prints: exactly, but for the
    measured numbers (accuracy, loss, time), whose last digits may differ on another machine's
    BLAS; their lines must still be there."""
    pytest.importorskip("sklearn")
    from nnlite.cli import main

    shown = next(code for _, code in _blocks(ROOT / "README.md") if code.startswith("data: digits"))
    assert main(["train", "--no-progress"]) == 0
    printed = capsys.readouterr().out

    measured = re.compile(r"^(train accuracy|test accuracy|final loss|wall time)\s")

    def structure(text: str) -> list[str]:
        return [
            match[1] if (match := measured.match(line)) else line
            for line in text.strip().splitlines()
        ]

    assert structure(printed) == structure(shown)
