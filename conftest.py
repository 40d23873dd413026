"""The examples of README.md, docs/*.md and nnlite's docstrings are tests too: sybil collects
them, as configured in tests/docs_runner.py (this file hands pytest its hook and fixture)."""

from tests.docs_runner import collect_file, in_an_empty_folder

pytest_collect_file = collect_file
__all__ = ["in_an_empty_folder", "pytest_collect_file"]
