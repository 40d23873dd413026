"""What an installed nnlite promises: numpy only at import, typed, a command, extras named."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import nnlite as nl

ROOT = Path(__file__).resolve().parent.parent


def test_importing_nnlite_imports_no_optional_dependency() -> None:
    code = (
        "import sys, nnlite\n"
        "optional = ['hypothesis', 'pytest', 'sklearn', 'tqdm', 'matplotlib', 'torch', 'jax']\n"
        "print(','.join(name for name in optional if name in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert result.stdout.strip() == ""


def test_importing_nnlite_testing_imports_neither_torch_nor_jax() -> None:
    """The adapters nnlite.testing.torch and nnlite.testing.jax import their framework only when
    they are called."""
    code = (
        "import sys, nnlite.testing, nnlite.testing.torch, nnlite.testing.jax\n"
        "print(','.join(name for name in ('torch', 'jax') if name in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert result.stdout.strip() == ""


def test_runtime_dependency_is_numpy_only_and_extras_are_named() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert [requirement.split(">")[0] for requirement in project["dependencies"]] == ["numpy"]
    extras = project["optional-dependencies"]
    assert {"test", "datasets", "progress", "plot"} <= set(extras)
    assert project["scripts"]["nnlite"] == "nnlite.cli:main"


def test_the_package_is_typed() -> None:
    assert (Path(nl.__file__).parent / "py.typed").exists()


def test_every_public_name_exists() -> None:
    for name in nl.__all__:
        assert hasattr(nl, name), name
