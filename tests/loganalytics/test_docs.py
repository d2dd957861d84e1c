"""docs/dashboards.md lists the stream's columns as STREAM_COLUMNS declares them."""

from __future__ import annotations

import re
from pathlib import Path

from driftkeeper.loganalytics import STREAM_COLUMNS

DOC = Path(__file__).resolve().parents[2] / "docs" / "dashboards.md"


def test_the_documented_columns_are_the_stream_columns() -> None:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("### The table and the stream", 1)[1].split("###", 1)[0]
    rows = re.findall(r"^\| `(\w+)` \| (\w+) \|", section, flags=re.MULTILINE)
    assert rows == list(STREAM_COLUMNS)
