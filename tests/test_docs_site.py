"""The documentation site: it builds with ``mkdocs build --strict``, and it documents everything.

The API reference is generated from the docstrings by mkdocstrings, one ``::: nnlite.name``
directive per object. A public name that is renamed or deleted breaks the strict build (its
directive no longer resolves), and one that is added to ``__all__`` without a directive fails
``test_every_public_name_has_an_api_entry``, which needs no mkdocs. The built site's checks run
when the ``docs`` extra is installed (``pip install ".[docs]"``) and skip otherwise.
"""

from __future__ import annotations

import importlib.util
import inspect
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import nnlite as nl
from nnlite import testing
from nnlite.testing.checks import LAYER_CHECKS

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
API = DOCS / "api"
DIRECTIVE = re.compile(r"^::: (\S+)$", re.MULTILINE)
# Public names documented elsewhere than in an API directive, and where.
NOT_IN_API = {"__version__": DOCS / "changelog.md"}
# Modules in nl.__all__ documented as a whole (every public member) by one directive.
MODULES = {"datasets", "optim", "testing"}


def _api_directives() -> set[str]:
    return {name for page in API.glob("*.md") for name in DIRECTIVE.findall(page.read_text())}


def _nav_pages(nav: Any) -> list[str]:
    """Every page file named in mkdocs.yml's nav, in order."""
    if isinstance(nav, str):
        return [nav]
    if isinstance(nav, list):
        return [page for item in nav for page in _nav_pages(item)]
    if isinstance(nav, dict):
        return [page for value in nav.values() for page in _nav_pages(value)]
    raise TypeError(f"unexpected nav entry {nav!r}")


def _nav() -> list[str]:
    yaml = pytest.importorskip("yaml")
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    return _nav_pages(config["nav"])


def _page_html(site: Path, page: str) -> str:
    """The built HTML of a docs page (``use_directory_urls``: api/layers.md is api/layers/)."""
    stem = page.removesuffix(".md")
    path = site / "index.html" if stem == "index" else site / stem / "index.html"
    return path.read_text()


def test_every_public_name_has_an_api_entry() -> None:
    directives = _api_directives()
    public = {f"nnlite.{name}" for name in nl.__all__ if name not in NOT_IN_API}
    public |= {f"nnlite.testing.{name}" for name in testing.__all__}
    documented = {
        name
        for name in public
        if name in directives
        or (name.removeprefix("nnlite.") in MODULES and any(d.startswith(name) for d in directives))
    }
    assert sorted(public - documented) == [], "public names missing from docs/api/*.md"
    # The modules documented whole have a directive of their own, not only members' ones.
    assert {"nnlite.datasets", "nnlite.optim", "nnlite.testing.strategies"} <= directives
    assert {"nnlite.testing.checks", "nnlite.testing.checks.losses"} <= directives


def test_api_directives_name_real_objects() -> None:
    """Catches a stale directive without mkdocs (the strict build catches it too)."""
    for directive in sorted(_api_directives()):
        module_name, _, attribute = directive.rpartition(".")
        try:
            if importlib.util.find_spec(directive) is not None:
                continue  # a module
        except ModuleNotFoundError:  # a name inside a module (not a package): looked up below
            pass
        module = importlib.import_module(module_name)
        assert hasattr(module, attribute), f"docs/api names {directive}, which does not exist"


def test_version_is_in_the_changelog() -> None:
    assert f"## {nl.__version__}" in NOT_IN_API["__version__"].read_text()


def test_nav_names_only_pages_that_exist() -> None:
    missing = [page for page in _nav() if not (DOCS / page).is_file()]
    assert missing == [], f"mkdocs.yml nav names pages that do not exist: {missing}"


def test_every_page_is_in_the_nav() -> None:
    pages = {str(path.relative_to(DOCS)) for path in DOCS.rglob("*.md")}
    excluded = (ROOT / "mkdocs.yml").read_text().split("exclude_docs: |\n", 1)[1].split("\n\n")[0]
    for entry in excluded.split():  # not pages of the site (mkdocs.yml says why)
        pages -= {page for page in pages if page == entry or page.startswith(entry)}
    assert sorted(pages - set(_nav())) == []


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    for module in ("mkdocs", "material", "mkdocstrings_handlers.python"):
        pytest.importorskip(module, reason='the site needs the docs extra: pip install ".[docs]"')
    site = tmp_path_factory.mktemp("site")
    environment = dict(os.environ, NO_MKDOCS_2_WARNING="1", PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stderr[-4000:]}"
    return site


def test_site_has_every_nav_page(site: Path) -> None:
    for page in _nav():
        assert "<h1" in _page_html(site, page), page


def test_site_shows_the_loss_curve(site: Path) -> None:
    html = _page_html(site, "train-a-classifier.md")
    assert 'src="../images/loss_curve.png"' in html
    assert (site / "images" / "loss_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_site_api_reference_has_every_public_name(site: Path) -> None:
    html = "".join(path.read_text() for path in (site / "api").rglob("index.html"))
    anchors = set(re.findall(r'id="(nnlite\.[\w.]+)"', html))
    expected = {f"nnlite.{name}" for name in nl.__all__ if name not in NOT_IN_API.keys() | MODULES}
    expected |= {
        f"nnlite.testing.{name}"
        for name in testing.__all__
        if not inspect.ismodule(getattr(testing, name))
    }
    expected |= {f"nnlite.testing.checks.{check.function.__name__}" for check in LAYER_CHECKS}
    expected |= {"nnlite.optim.SGD", "nnlite.optim.Adam", "nnlite.datasets.load_digits"}
    expected |= {f"nnlite.testing.strategies.{name}" for name in ("arrays", "two_layer_networks")}
    assert sorted(expected - anchors) == []
    # The docstrings' text made it, not only the headings: the formula-first lines.
    assert "y = x @ W + b" in html
    assert "The two-layer sigmoid network of the derivation" in html


def test_site_renders_math_without_a_cdn(site: Path) -> None:
    html = _page_html(site, "derivation.md")
    math = re.findall(r'<div class="arithmatex">(.*?)</div>', html, re.DOTALL)
    for number in range(1, 10):
        assert any(f"\\tag{{{number}}}" in block for block in math), f"equation {number}"
    assert 'src="../assets/katex/katex.min.js"' in html
    assert 'src="../javascripts/katex.js"' in html
    assert 'href="../assets/katex/katex.min.css"' in html
    for asset in ("katex.min.js", "katex.min.css", "fonts/KaTeX_Main-Regular.woff2"):
        assert (site / "assets" / "katex" / asset).is_file(), asset
    # every font the stylesheet names is there
    css = (site / "assets" / "katex" / "katex.min.css").read_text()
    for font in re.findall(r"url\((fonts/[^)]+)\)", css):
        assert (site / "assets" / "katex" / font).is_file(), font
    # nothing is loaded from another host, on any page
    for path in site.rglob("*.html"):
        text = path.read_text()
        assert not re.search(r'<(script|img)[^>]+src="(https?:)?//', text), path
        assert not re.search(r'<link[^>]+rel="stylesheet"[^>]+href="(https?:)?//', text), path


def test_loss_curve_script_draws_the_figure(tmp_path: Path) -> None:
    for module in ("sklearn", "matplotlib"):
        pytest.importorskip(module, reason='the figure needs pip install ".[datasets,plot]"')
    output = tmp_path / "curve.png"
    result = subprocess.run(
        [sys.executable, str(DOCS / "scripts" / "loss_curve.py"), str(output)],
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert output.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "30 epochs, test accuracy" in result.stdout


def test_committed_figure_exists() -> None:
    """The site shows the committed PNG; rerun docs/scripts/loss_curve.py when the model changes."""
    assert (DOCS / "images" / "loss_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
