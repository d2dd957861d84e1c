"""Events as CSV (RFC 4180) for spreadsheets: one header row, then one row per event.

Fields are quoted when they hold a comma, a quote or a line break (quotes doubled), lines
end in CRLF. A cell that a spreadsheet would take for a formula (it begins with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return) is prefixed with ``'``, so opening the file
never runs what an attacker wrote into a resource name or a message.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from typing import Any

from ._rows import FIELDS

__all__ = ["FORMULA_STARTS", "neutralise", "render_csv"]

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str) -> str:
    """``cell`` as a spreadsheet shows it but never evaluates it."""
    return f"'{cell}" if cell.startswith(FORMULA_STARTS) else cell


def _cell(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def render_csv(events: Iterable[Mapping[str, Any]]) -> str:
    """The CSV text of ``events`` (rows as :func:`~driftkeeper.query._rows.event_row` makes)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(FIELDS)
    for event in events:
        writer.writerow([neutralise(_cell(event.get(name, ""))) for name in FIELDS])
    return out.getvalue()
