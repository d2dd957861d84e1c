"""docs/baselines.md has a row for every kind and guard the code declares (a new kind's one
docs row)."""

from __future__ import annotations

import re
from pathlib import Path

from driftkeeper.guards import all_guards
from driftkeeper.kinds import all_kinds

ROOT = Path(__file__).resolve().parents[1]


def first_cells(markdown: str) -> list[str]:
    """The first cell of every table row, without its backticks."""
    return [m.group(1) for m in re.finditer(r"^\|\s*`([^`|]+)`\s*\|", markdown, re.M)]


def test_the_baseline_docs_list_every_kind_and_every_guard() -> None:
    cells = set(first_cells((ROOT / "docs" / "baselines.md").read_text(encoding="utf-8")))
    assert set(all_kinds()) <= cells
    assert set(all_guards()) <= cells
