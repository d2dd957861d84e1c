"""CSV files for spreadsheets: RFC 4180 (CRLF, quoted as needed, UTF-8), and no cell a
spreadsheet would run as a formula."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from pathlib import Path

__all__ = ["FORMULA_STARTS", "csv_bytes", "neutral", "write_csv"]

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""A text cell starting with one of these is prefixed with ``'`` (shown as text)."""

Cell = str | int | float | None


def neutral(value: Cell) -> Cell:
    """``value``, with ``'`` before a text that a spreadsheet would take for a formula.

    Numbers we computed (durations, counts) are left as numbers.
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> bytes:
    """``header`` and ``rows`` as RFC 4180 CSV in UTF-8 (lone surrogates backslash-escaped)."""
    handle = io.StringIO(newline="")
    writer = csv.writer(handle, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow([neutral(h) for h in header])
    for row in rows:
        writer.writerow(["" if c is None else neutral(c) for c in row])
    return handle.getvalue().encode("utf-8", "backslashreplace")


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> None:
    """Write ``header`` and ``rows`` as RFC 4180 CSV (lone surrogates backslash-escaped)."""
    path.write_bytes(csv_bytes(header, rows))
