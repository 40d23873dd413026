"""The toolkit's guide says what the code does: its table of checks is LAYER_CHECKS, its
declaration table names the Layer attributes, and its examples' claims hold."""

from __future__ import annotations

import re
from pathlib import Path

import nnlite as nl
from nnlite.testing.checks import LAYER_CHECKS
from nnlite.testing.checks.losses import LOSS_CHECKS

PAGE = (Path(__file__).resolve().parent.parent / "docs" / "testing.md").read_text()


def _table_after(marker: str) -> list[list[str]]:
    lines = PAGE.split(marker, 1)[1].splitlines()[1:]  # after the marker's own line
    rows = []
    for line in lines[2:]:  # after the header and the |---| line
        if not line.startswith("|"):
            break
        rows.append([cell.strip().strip("`") for cell in line.strip("|").split("|")])
    return rows


def test_the_checks_table_is_layer_checks() -> None:
    rows = _table_after("<!-- checks-table")
    expected = [[check.name, check.catches, check.example] for check in LAYER_CHECKS]
    assert [row[0] for row in rows] == [row[0] for row in expected]
    assert rows == expected


def test_the_page_names_every_check_and_loss_check() -> None:
    for check in LAYER_CHECKS:
        assert f"`{check.name}`" in PAGE
    for loss_check in LOSS_CHECKS:
        assert loss_check.name.replace("_", " ") in PAGE or loss_check.name in PAGE


def test_the_declarations_named_are_layer_attributes() -> None:
    declared = re.findall(r"^\| `(\w+) = True` \|", PAGE, re.MULTILINE)
    assert declared == ["stochastic", "mixes_rows", "stateful"]
    for name in declared:
        assert getattr(nl.Layer, name) is False


def test_the_count_of_checks_on_the_page_is_right() -> None:
    assert f"{len(LAYER_CHECKS)} named checks" in PAGE.replace("thirteen", "13")
