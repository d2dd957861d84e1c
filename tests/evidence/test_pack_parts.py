"""The parts of the pack and of a seal that need no browser: CSV neutralisation, a day whose
row list spans several pieces, and the control mapping."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date
from pathlib import Path

from azure.data.tables import TableClient, UpdateMode

from driftkeeper.evidence import CONTROLS, Seals, control_of, seal_closed_days, verify
from driftkeeper.evidence._csv import neutral, write_csv
from driftkeeper.kinds import all_kinds
from driftkeeper.store import Ledger, record_keys

from .helpers import TODAY, record


def test_formula_cells_are_neutralised_and_numbers_kept(tmp_path: Path) -> None:
    hostile = ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", 'a "quoted"\r\nline', "plain"]
    path = tmp_path / "x.csv"
    write_csv(path, ["=header", "n"], [[value, -5] for value in hostile])
    raw = path.read_bytes()
    assert raw.startswith(b"'=header,n\r\n")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8"), newline="")))
    assert [r[0] for r in rows[1:]] == [
        "'=1+1", "'+1", "'-1", "'@SUM(A1)", "'\tx", "'\rx", 'a "quoted"\r\nline', "plain",
    ]  # fmt: skip
    assert {r[1] for r in rows[1:]} == {"-5"}  # a number we computed stays a number
    assert neutral(None) is None


def test_a_day_of_many_rows_is_sealed_in_pieces_and_a_change_is_named(
    make_table: Callable[..., TableClient],
) -> None:
    events, seals = make_table(), Seals(make_table())
    records = [record(f"s{i:05d}", f"2026-11-20T10:{i // 60 % 60:02d}:{i % 60:02d}Z",
                      rule=f"r{i}") for i in range(1500)]  # fmt: skip
    Ledger(events).record(records)
    (sealed,) = seal_closed_days(events, seals, today=TODAY)
    assert sealed.rows == 1500
    assert len(seals.row_list(sealed)) == 1500
    day, row = record_keys(records[777])
    entity = events.get_entity(day, row)
    entity["Severity"] = "low"
    events.update_entity(entity, mode=UpdateMode.MERGE)
    result = verify(events, seals, first=date(2026, 11, 20), last=date(2026, 11, 20), today=TODAY)
    (check,) = result.days
    assert (check.status, check.changed) == ("changed", (row,))


def test_every_watched_kind_maps_to_one_control() -> None:
    for kind in all_kinds():
        control = control_of(kind)
        assert control is not None, kind
    assert sum(len(c.kinds) for c in CONTROLS) == len({k for c in CONTROLS for k in c.kinds})
