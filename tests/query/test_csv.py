"""CSV for spreadsheets: RFC 4180 round trip, formulas neutralised."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftkeeper.query import FIELDS, neutralise, render_csv


@pytest.mark.parametrize(
    ("cell", "shown"),
    [
        ("=1+1", "'=1+1"),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("a=b", "a=b"),
        ("", ""),
        ("'quoted'", "'quoted'"),
    ],
)
def test_a_formula_is_prefixed_with_a_quote(cell: str, shown: str) -> None:
    assert neutralise(cell) == shown


def test_one_header_row_crlf_and_quoting() -> None:
    text = render_csv([{"message": 'a, "b"\r\nc', "changes": [{"path": "p"}]}])
    assert text.startswith(",".join(FIELDS) + "\r\n")
    assert '"a, ""b""\r\nc"' in text
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == list(FIELDS)
    got = dict(zip(FIELDS, rows[1], strict=True))
    assert got["message"] == 'a, "b"\r\nc'
    assert got["changes"] == '[{"path":"p"}]'


@given(st.lists(st.dictionaries(st.sampled_from(FIELDS), st.text(max_size=40)), max_size=5))
def test_csv_round_trips_through_csv_reader(events: list[dict[str, str]]) -> None:
    rows = list(csv.reader(io.StringIO(render_csv(events), newline="")))
    assert rows[0] == list(FIELDS)
    assert len(rows) == len(events) + 1
    for event, row in zip(events, rows[1:], strict=True):
        assert row == [neutralise(event.get(name, "")) for name in FIELDS]
