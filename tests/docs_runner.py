"""How the examples in the docs run as tests, with sybil: README.md, docs/*.md and the docstrings.

The repository's conftest.py hands ``collect_file`` to pytest, so ``python -m pytest`` collects
them with the rest of the suite (``testpaths`` in pyproject.toml names the docs and nnlite).

- A page's ```python blocks run in order in one namespace, the page's, in an empty folder (an
  example may write files). The ```text block that comes next after a ```python block, before any
  other block, shows what that block prints, and must be it: exactly, but for numbers in
  e-notation (``4.44e-16``), whose last digits depend on the machine's BLAS. Every other block is
  shown, not run: ```bash, a ```text block after another kind, and ```py, Python that is not run
  (it needs a GPU, say).
- A page whose examples need an optional extra skips them when it is missing, with sybil's skip
  directive at its top: ``<!-- skip: start if(missing("torch"), reason="needs torch") -->``.
- The ``>>>`` examples in nnlite's docstrings run as doctests, in their module's namespace with
  ``np`` and ``nl`` added.

Each example is one test, named by its file and line:
``docs/conventions.md::sybil:page,line:28,column:1``.
"""

from __future__ import annotations

import contextlib
import doctest
import importlib.util
import io
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sybil import Document, Example, Region, Sybil
from sybil.evaluators.python import PythonEvaluator
from sybil.parsers.markdown import SkipParser
from sybil.parsers.markdown.lexers import FencedCodeBlockLexer
from sybil.parsers.rest import DocTestParser

import nnlite as nl

ROOT = Path(__file__).resolve().parent.parent
# Error digits depend on the machine's BLAS; everything else in shown output must match.
SCIENTIFIC = re.compile(r"\d\.\d+e[+-]\d+")


def normalize(output: str) -> str:
    """Printed or shown output, compared line by line: trailing spaces and e-notation digits
    dropped."""
    return "\n".join(SCIENTIFIC.sub("<num>", line.rstrip()) for line in output.strip().splitlines())


class PageParser:
    """The ```python blocks of a page, and the ```text block right after each, as sybil regions.

    A python block is run with sybil's own evaluator, its standard output captured; the text block
    after it is then checked against what it printed.
    """

    def __init__(self) -> None:
        self.lexer = FencedCodeBlockLexer(r"[\w-]*")
        self.printed: dict[Region, str] = {}  # what each python block printed, once it ran
        self.run_python = PythonEvaluator()

    def __call__(self, document: Document) -> Iterator[Region]:
        previous: Region | None = None  # the fenced block before, when it is python
        for region in self.lexer(document):
            language, source = region.lexemes["language"], region.lexemes["source"]
            if language == "python":
                region.parsed, region.evaluator = source, self.run
                yield region
            elif language == "text" and previous is not None:
                region.parsed, region.evaluator = (source, previous), self.compare
                yield region
            previous = region if language == "python" else None

    def run(self, example: Example) -> None:
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            self.run_python(example)
        self.printed[example.region] = printed.getvalue()

    def compare(self, example: Example) -> str | None:
        shown, python = example.parsed
        if python not in self.printed:
            return "the python block above this output did not run (see its failure)"
        printed = self.printed[python]
        if not printed:
            return "the python block above printed nothing, but the page shows this output"
        if normalize(printed) != normalize(shown):
            return f"the python block above printed\n{printed}\nwhere the page shows\n{shown}"
        return None


def missing(module: str) -> bool:
    """For a page's skip directive: True when ``module`` (an optional extra) is not installed."""
    return importlib.util.find_spec(module) is None


def page_setup(namespace: dict[str, Any]) -> None:
    namespace.update(__name__="docs_page", missing=missing)


def docstring_setup(namespace: dict[str, Any]) -> None:
    namespace.update(np=np, nl=nl)


@contextlib.contextmanager
def empty_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A new empty folder as the working directory, the previous one restored after."""
    before = Path.cwd()
    folder = tmp_path_factory.mktemp("page")
    os.chdir(folder)
    try:
        yield folder
    finally:
        os.chdir(before)


@pytest.fixture(scope="module")
def in_an_empty_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The working directory while one page's examples run (module scope: one page)."""
    with empty_folder(tmp_path_factory) as folder:
        yield folder


def parsers_of_pages() -> list[Any]:
    """New parsers for pages: the python blocks with their shown output, and sybil's skip."""
    return [PageParser(), SkipParser()]


PAGES = Sybil(
    parsers=parsers_of_pages(),
    path=str(ROOT),
    patterns=["README.md", "docs/*.md"],
    excludes=["assets/katex/README.md"],  # the vendored copy's notes, not a page
    setup=page_setup,
    fixtures=["in_an_empty_folder"],
    name="page",
)
DOCSTRINGS = Sybil(
    path=str(ROOT),
    parsers=[DocTestParser(optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)],
    patterns=["nnlite/*.py", "nnlite/*/*.py"],
    excludes=["nnlite/__main__.py"],  # importing it would run the command
    setup=docstring_setup,
    name="docstring",
)

collect_file = (PAGES + DOCSTRINGS).pytest()
