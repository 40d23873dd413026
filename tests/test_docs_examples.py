"""The docs' examples are run, and what the README shows beside them is what nnlite does.

The examples themselves run as tests of their own, collected by sybil (configured in
tests/docs_runner.py): every python block of README.md and docs/*.md with the output shown after
it, and the docstrings' examples. Here: that runner finds what it should and can fail, and the
README's claims that are not python blocks (the quickstart script, the repr, the command's
output and the CI markers).
"""

from __future__ import annotations

import re
import unittest
from pathlib import Path

import pytest
from sybil import Sybil
from sybil.example import SybilFailure

import nnlite as nl
from tests.docs_runner import DOCSTRINGS, PAGES, ROOT, empty_folder, page_setup, parsers_of_pages

PAGE_PATHS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def _blocks(page: Path) -> list[tuple[str, str]]:
    return [(match[1], match[2]) for match in FENCE.finditer(page.read_text())]


def _evaluators(sybil: Sybil, path: Path) -> list[str]:
    """The name of the evaluator of each example sybil finds in ``path``, in order."""
    return [
        getattr(example.region.evaluator, "__name__", type(example.region.evaluator).__name__)
        for example in sybil.parse(path)
    ]


def test_sybil_runs_every_page() -> None:
    """Every page is collected, and every python block of it is an example that runs."""
    for page in PAGE_PATHS:
        assert PAGES.should_parse(page), page.name
        python_blocks = sum(language == "python" for language, _ in _blocks(page))
        assert _evaluators(PAGES, page).count("run") == python_blocks, page.name
        if page.name != "index.md":
            assert python_blocks > 0, page.name
    assert sum(language == "python" for language, _ in _blocks(ROOT / "README.md")) >= 3
    assert not PAGES.should_parse(ROOT / "docs" / "assets" / "katex" / "README.md")


def test_sybil_compares_the_shown_output() -> None:
    """The README's and the tutorials' shown outputs are compared, not only run past."""
    for name, at_least in [("README.md", 1), ("docs/write-a-layer.md", 4), ("docs/index.md", 1)]:
        assert _evaluators(PAGES, ROOT / name).count("compare") >= at_least, name


def test_sybil_runs_the_docstrings() -> None:
    examples = [
        example
        for path in sorted((ROOT / "nnlite").rglob("*.py"))
        if DOCSTRINGS.should_parse(path)
        for example in DOCSTRINGS.parse(path)
    ]
    assert len(examples) >= 10
    assert DOCSTRINGS.should_parse(ROOT / "nnlite" / "layers" / "linear.py")
    assert not DOCSTRINGS.should_parse(ROOT / "nnlite" / "__main__.py")


def _run_page(tmp_path: Path, text: str) -> list[Exception | None]:
    """Run a page through the pages' parsers as pytest would; what each example raised."""
    page = tmp_path / "page.md"
    page.write_text(text)
    sybil = Sybil(parsers_of_pages(), path=str(tmp_path), patterns=["*.md"], setup=page_setup)
    document = sybil.parse(page)
    page_setup(document.namespace)
    outcomes: list[Exception | None] = []
    for example in document:
        try:
            example.evaluate()
        except (SybilFailure, unittest.SkipTest, NameError) as error:
            outcomes.append(error)
        else:
            outcomes.append(None)
    return outcomes


PRINT_ONE = "```python\nx = 1\nprint(x, 2.25e-16)\n```\n\n"


def test_shown_output_that_matches_passes(tmp_path: Path) -> None:
    """Digits in e-notation may differ (BLAS), trailing spaces too; the namespace is the page's."""
    text = PRINT_ONE + "```text\n1 3.17e-16   \n```\n\n```python\nassert x == 1\n```\n"
    assert _run_page(tmp_path, text) == [None, None, None]


@pytest.mark.parametrize(
    ("shown", "complaint"),
    [("2 2.25e-16", "where the page shows\n2 2.25e-16"), ("1", "where the page shows\n1")],
)
def test_shown_output_that_differs_fails(tmp_path: Path, shown: str, complaint: str) -> None:
    outcomes = _run_page(tmp_path, PRINT_ONE + f"```text\n{shown}\n```\n")
    assert outcomes[0] is None
    assert isinstance(outcomes[1], SybilFailure)
    assert complaint in str(outcomes[1])


def test_shown_output_of_a_silent_block_fails(tmp_path: Path) -> None:
    outcomes = _run_page(tmp_path, "```python\nx = 1\n```\n```text\n1\n```\n")
    assert isinstance(outcomes[1], SybilFailure)
    assert "printed nothing" in str(outcomes[1])


def test_text_after_prose_or_bash_is_not_output(tmp_path: Path) -> None:
    text = PRINT_ONE + "Prose.\n\n```bash\necho\n```\n\n```text\nnot output\n```\n"
    assert _run_page(tmp_path, text) == [None]


def test_a_page_needing_a_missing_extra_is_skipped(tmp_path: Path) -> None:
    skip = '<!-- skip: start if(missing("no_such_module"), reason="needs no_such_module") -->\n'
    outcomes = _run_page(tmp_path, skip + "```python\nraise ValueError\n```\n")
    assert isinstance(outcomes[1], unittest.SkipTest)
    assert "needs no_such_module" in str(outcomes[1])
    present = '<!-- skip: start if(missing("numpy"), reason="needs numpy") -->\n'
    outcomes = _run_page(tmp_path, present + "```python\nundefined_name\n```\n")
    assert isinstance(outcomes[1], NameError)  # numpy is there: the block ran


def test_pages_run_in_an_empty_folder(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Examples may write files (nl.save): each page runs in a new folder, never the checkout."""
    assert PAGES.fixtures == ("in_an_empty_folder",)
    before = Path.cwd()
    with empty_folder(tmp_path_factory) as folder:
        assert Path.cwd() == folder != before
        assert list(folder.iterdir()) == []
    assert Path.cwd() == before


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
