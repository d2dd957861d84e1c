"""The docs' tables name every kind, section and guard the code declares (and nothing else)."""

from __future__ import annotations

import re
from pathlib import Path

from driftkeeper.guards import all_guards
from driftkeeper.kinds import all_kinds, all_sections

ROOT = Path(__file__).resolve().parents[1]


def first_cells(markdown: str) -> list[str]:
    """The first cell of every table row, without its backticks."""
    return [m.group(1) for m in re.finditer(r"^\|\s*`([^`|]+)`\s*\|", markdown, re.M)]


def test_the_readme_lists_every_snapshot_section_and_where_graph_reads_it() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    listed = [c for c in first_cells(readme) if c.startswith(("arm.", "graph."))]
    assert sorted(listed) == sorted(all_sections())
    for name, section in all_sections().items():
        if section.api == "graph":
            [row] = [line for line in readme.splitlines() if line.startswith(f"| `{name}`")]
            assert section.path in row, name


def test_the_baseline_docs_list_every_kind_and_every_guard() -> None:
    cells = set(first_cells((ROOT / "docs" / "baselines.md").read_text(encoding="utf-8")))
    assert set(all_kinds()) <= cells
    assert set(all_guards()) <= cells
