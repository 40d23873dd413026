"""The examples of README.md, docs/*.md and nnlite's docstrings are tests too: sybil collects
them, as configured in tests/docs_runner.py (this file hands pytest its hook and fixture).

tests/conftest.py is imported first, so that its hypothesis profiles apply to the docs' examples
also when they run on their own (``python -m pytest docs``).
"""

import tests.conftest  # noqa: F401  (registers and loads the hypothesis profile)
from tests.docs_runner import collect_file, in_an_empty_folder

pytest_collect_file = collect_file
__all__ = ["in_an_empty_folder", "pytest_collect_file"]
