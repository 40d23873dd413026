"""The Conv2d derivation (docs/_conv2d-derivation.md, or its "## Conv2d" section once it joins
docs/layer-derivations.md) quotes the source: every ```py block after a ``<!-- source: -->``
marker is consecutive lines of the function it names, as derivation.md's are."""

from __future__ import annotations

from pathlib import Path

from tests.test_docs_match_the_code import SOURCE_BLOCK, _is_excerpt_of, _resolve

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _derivation() -> str:
    alone = DOCS / "_conv2d-derivation.md"
    if alone.is_file():
        return alone.read_text()
    text = (DOCS / "layer-derivations.md").read_text()
    return "## Conv2d" + text.split("## Conv2d", 1)[1]


def test_every_quoted_block_of_the_conv2d_derivation_is_the_source() -> None:
    text = _derivation()
    blocks = SOURCE_BLOCK.findall(text)
    assert len(blocks) >= 7
    names = {name for name, _ in blocks}
    assert {"nnlite.Conv2d.forward", "nnlite.Conv2d.backward"} <= names
    assert {"nnlite.MaxPool2d.backward", "nnlite.AvgPool2d.backward"} <= names
    for name, shown in blocks:
        assert _is_excerpt_of(shown, _resolve(name)), f"the derivation quotes {name} wrongly"
