"""Regressions of the evidence pack's security review: a forged retention anchor, unreadable
rows, pruning a tampered day, an ``etag`` column, sub-microsecond DateTime changes (the seal
level, on Azurite); then the ``evidence`` command with garbage rows, symlinks in ``--out``,
out-of-range dates and a browser that prints no PDF (end to end)."""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from azure.data.tables import EdmType, EntityProperty, TableClient, UpdateMode

from driftkeeper.evidence import Anchor, Seals, prune, seal_closed_days, verify
from driftkeeper.store import Ledger, record_keys

from .helpers import TODAY, ledger_table, record
from .test_cli_evidence import RECORDS as CLI_RECORDS
from .test_cli_evidence import Tables, day, run
from .test_cli_evidence import tables as tables

DAYS = ["20261001", "20261005", "20261010", "20261120"]
ROWS = [
    record("a1", "2026-10-01T10:00:00Z"),
    record("a2", "2026-10-01T11:00:00Z"),
    record("b", "2026-10-05T10:00:00Z"),
    record("c", "2026-10-10T10:00:00Z"),
    record("d", "2026-11-20T10:00:00Z"),
]
TAMPERED = ROWS[2]  # day 20261005


@pytest.fixture
def events(make_table: Callable[..., TableClient]) -> TableClient:
    return ledger_table(make_table, ROWS)


def sealed(events: TableClient, seals: Seals) -> list[Any]:
    seal_closed_days(events, seals, today=TODAY)
    return seals.all()


def check(events: TableClient, seals: Seals) -> Any:
    return verify(events, seals, first=date(2026, 9, 1), last=TODAY, today=TODAY)


def statuses(events: TableClient, seals: Seals) -> dict[str, str]:
    return {d.day: d.status for d in check(events, seals).days}


def merge(events: TableClient, row: Any, **values: Any) -> None:
    partition, key = record_keys(row)
    events.update_entity({"PartitionKey": partition, "RowKey": key, **values}, UpdateMode.MERGE)


def forge_anchor(seals: Seals, day_: str, chain: str) -> None:
    seals._table.upsert_entity(
        {"PartitionKey": "anchor", "RowKey": "anchor", "Day": day_, "Chain": chain}
    )


# 1. the retention anchor


@pytest.mark.parametrize(
    "anchor",
    [
        pytest.param(lambda s: ("99991231", "x"), id="far-future"),
        pytest.param(lambda s: ("20261002", "x"), id="made-up-past"),
        pytest.param(lambda s: (s[1].day, s[1].chain), id="a-mid-chain-seal"),
        pytest.param(lambda s: (s[2].day, s[1].chain), id="between-seals-wrong-link"),
        pytest.param(lambda s: (s[0].day, "0" * 64), id="the-first-seal-wrong-chain"),
    ],
)
def test_a_forged_anchor_hides_nothing(
    events: TableClient, seals: Seals, anchor: Callable[[list[Any]], tuple[str, str]]
) -> None:
    # given sealed days, then a row changed in the second one
    all_seals = sealed(events, seals)
    merge(events, TAMPERED, ActorUpn="nobody@contoso.com")
    # when an anchor that is not where the chain starts is written
    forge_anchor(seals, *anchor(all_seals))
    result = check(events, seals)
    # then no day is taken as pruned, the change shows and the chain is broken
    found = {d.day: d.findings for d in result.days}
    assert result.tampered
    assert "changed" in found["20261005"]
    assert not any("pruned" in f for f in found.values()), found
    assert any("chain broken" in f for f in found.values()), found
    assert result.anchor_problem
    assert result.summary()["anchor"]["trusted"] is False


def test_a_genuine_anchor_is_trusted_and_exported(events: TableClient, seals: Seals) -> None:
    # given the first day pruned
    sealed(events, seals)
    done = prune(events, seals, today=TODAY, keep_days=50)
    assert done.days == ("20261001",)
    anchor = seals.anchor()
    assert anchor is not None
    # when verified
    result = check(events, seals)
    # then the pruned day is gone, the rest ok, and the anchor goes to the summary
    assert statuses(events, seals) == {"20261005": "ok", "20261010": "ok", "20261120": "ok"}
    assert not result.tampered
    assert result.summary()["anchor"] == {
        "day": "20261001", "chain": anchor.chain, "trusted": True, "problem": "",
    }  # fmt: skip


def test_a_prune_cut_short_is_verified_not_skipped(events: TableClient, seals: Seals) -> None:
    # given a prune stopped after one of the first day's two rows
    sealed(events, seals)
    assert prune(events, seals, today=TODAY, keep_days=50, max_rows=1).complete is False
    assert statuses(events, seals)["20261001"] == "pruned"
    # when the row left is changed
    merge(events, ROWS[1], Message="rewritten")
    result = check(events, seals)
    # then the day is checked against its seal: changed
    first = next(d for d in result.days if d.day == "20261001")
    assert "changed" in first.findings
    assert result.tampered


# 3. retention never deletes a tampered day


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda e, s: merge(e, TAMPERED, ActorUpn="nobody"), id="changed"),
        pytest.param(lambda e, s: e.delete_entity(*record_keys(TAMPERED)), id="removed"),
        pytest.param(
            lambda e, s: e.upsert_entity({"PartitionKey": "20261005", "RowKey": "x"}), id="added"
        ),
    ],
)
def test_retention_keeps_a_tampered_day(
    events: TableClient,
    seals: Seals,
    tamper: Callable[[TableClient, Seals], None],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # given sealed days, the second one tampered with
    sealed(events, seals)
    tamper(events, seals)
    # when every day but the newest is due for deletion
    done = prune(events, seals, today=TODAY, keep_days=5)
    # then the first is pruned, the tampered one kept (with a warning) and still reported
    assert done.days == ("20261001",)
    assert done.kept.startswith("20261005 kept")
    assert "20261005 kept" in caplog.text
    result = check(events, seals)
    assert result.tampered
    assert next(d for d in result.days if d.day == "20261005").tampered


def test_retention_prunes_nothing_under_a_forged_anchor(events: TableClient, seals: Seals) -> None:
    sealed(events, seals)
    forge_anchor(seals, "20261007", "x")
    done = prune(events, seals, today=TODAY, keep_days=5)
    assert (done.days, done.rows) == ((), 0)
    assert done.kept
    assert len(seals.all()) == len(DAYS)


# 4, 5. what a row hash covers


def test_an_added_etag_column_is_a_change(events: TableClient, seals: Seals) -> None:
    sealed(events, seals)
    merge(events, TAMPERED, etag="added")
    assert statuses(events, seals)["20261005"] == "changed"


def test_a_sub_microsecond_datetime_change_is_a_change(events: TableClient, seals: Seals) -> None:
    # given a DateTime column, sealed (and a reseal-free rewrite of the same value is ok)
    stamp = "2026-10-05T10:00:00.0000000Z"
    merge(events, TAMPERED, Seen=EntityProperty(stamp, EdmType.DATETIME))
    sealed(events, seals)
    merge(events, TAMPERED, Seen=EntityProperty(stamp, EdmType.DATETIME))
    assert statuses(events, seals)["20261005"] == "ok"
    # when it moves by 100 ns
    merge(events, TAMPERED, Seen=EntityProperty("2026-10-05T10:00:00.0000001Z", EdmType.DATETIME))
    # then the day is changed
    assert statuses(events, seals)["20261005"] == "changed"


# 2, 6, 7, 8. the evidence command


def big_record_keys(tables: Tables) -> tuple[str, str]:
    from dataclasses import replace

    from driftkeeper._model import Change

    big = replace(
        CLI_RECORDS[2], signal_id="ev-big", changes=(Change("rules", None, {"x": "y" * 1_100_000}),)
    )
    Ledger(tables.events).record([big])
    return record_keys(big)


def _no_time(t: Tables, key: tuple[str, str]) -> None:
    row = key[1][:-1] + ("0" if key[1][-1] != "0" else "1")
    t.events.upsert_entity({"PartitionKey": key[0], "RowKey": row, "Outcome": "drift", "Parts": 0})


GARBAGE: dict[str, Callable[[Tables, tuple[str, str]], None]] = {
    "no-time": _no_time,
    "continuation-deleted": lambda t, k: t.events.delete_entity(k[0], k[1] + "~001"),
    "changes-not-json": lambda t, k: t.events.update_entity(
        {"PartitionKey": k[0], "RowKey": k[1], "Changes": "not json"}, UpdateMode.MERGE
    ),
    "parts-int64": lambda t, k: t.events.update_entity(
        {"PartitionKey": k[0], "RowKey": k[1], "Parts": EntityProperty(1, EdmType.INT64)},
        UpdateMode.MERGE,
    ),
}


@pytest.mark.parametrize("garble", GARBAGE.values(), ids=GARBAGE.keys())
def test_a_garbage_row_is_a_finding_in_a_written_pack(
    tables: Tables, tmp_path: Path, garble: Callable[[Tables, tuple[str, str]], None]
) -> None:
    # given a sealed period with a record in continuation rows
    key = big_record_keys(tables)
    assert run("seal")[0] == 0
    # when a row of a sealed day is made unreadable
    garble(tables, key)
    code, out = run(
        "evidence", "--from", day(3), "--to", day(1), "--out", str(tmp_path / "p"),
        "--chromium", str(tmp_path / "none"),
    )  # fmt: skip
    # then exit 1, the pack is written, and the row is listed as unreadable with raw columns
    assert code == 1, out
    assert "unreadable row" in out
    manifest = json.loads((tmp_path / "p" / "manifest.json").read_text())
    assert manifest["seals"]["result"] == "tampering found"
    assert len(manifest["unreadableRows"]) == 1
    bad = manifest["unreadableRows"][0]
    csv.field_size_limit(sys.maxsize)  # the big record's Changes
    rows = list(csv.DictReader(io.StringIO((tmp_path / "p" / "events.csv").read_text())))
    raw = next(r for r in rows if r["RowKey"] == bad["rowKey"])
    assert raw["Unreadable"] == bad["reason"]
    assert all(not r["Unreadable"] for r in rows if r["RowKey"] != bad["rowKey"])
    for row in rows:
        assert not any(v.startswith(("=", "+", "-", "@", "\t", "\r")) for v in row.values())
    assert "Unreadable rows" in (tmp_path / "p" / "report.html").read_text()


def test_a_symlink_in_out_is_replaced_not_followed(tables: Tables, tmp_path: Path) -> None:
    assert run("seal")[0] == 0
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    pack = tmp_path / "p"
    pack.mkdir()
    for name in ("events.csv", "report.html", "manifest.json", "incidents.csv"):
        (pack / name).symlink_to(victim)
    code, out = run(
        "evidence", "--from", day(3), "--to", day(1), "--out", str(pack),
        "--chromium", str(tmp_path / "none"),
    )  # fmt: skip
    assert code == 0, out
    assert victim.read_text() == "precious"
    assert not any((pack / n).is_symlink() for n in ("events.csv", "manifest.json"))
    assert not [p for p in pack.iterdir() if p.name.endswith(".tmp")]


def test_a_dangling_out_symlink_is_refused(
    tables: Tables, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere" / "x")
    code, _ = run(
        "evidence", "--from", day(3), "--to", day(1), "--out", str(tmp_path / "dangling"),
    )  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert "dangling symlink" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("first", "last", "flag"),
    [("2026-01-01", "9999-12-31", "--to"), ("0001-01-01", "2026-01-01", "--from")],
)
def test_dates_outside_the_table_range_are_bad_input(
    tables: Tables,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    first: str,
    last: str,
    flag: str,
) -> None:
    code, _ = run("evidence", "--from", first, "--to", last, "--out", str(tmp_path / "r"))
    err = capsys.readouterr().err
    assert code == 2
    assert f"driftkeeper: error: {flag}:" in err
    assert "Traceback" not in err
    assert not (tmp_path / "r").exists()


def test_a_browser_output_that_is_not_a_pdf_is_skipped(tables: Tables, tmp_path: Path) -> None:
    fake = tmp_path / "fakechrome"
    fake.write_text(
        "#!/bin/sh\nfor a; do case $a in --print-to-pdf=*) echo notapdf > ${a#--print-to-pdf=};;"
        " esac; done\nexit 0\n"
    )
    fake.chmod(0o755)
    code, _ = run(
        "evidence", "--from", day(3), "--to", day(1), "--out", str(tmp_path / "p"),
        "--chromium", str(fake),
    )  # fmt: skip
    manifest = json.loads((tmp_path / "p" / "manifest.json").read_text())
    assert code == 0
    assert manifest["pdf"].startswith("skipped: ")
    assert "%PDF-" in manifest["pdf"]
    assert "report.pdf" not in [f["name"] for f in manifest["files"]]
    assert not (tmp_path / "p" / "report.pdf").exists()


def test_anchor_dataclass_round_trips(seals: Seals) -> None:
    seals.set_anchor(Anchor("20261001", "c" * 64))
    assert seals.anchor() == Anchor("20261001", "c" * 64)


@pytest.mark.parametrize(
    "rows",
    [pytest.param("two", id="text"), pytest.param(EntityProperty(2, EdmType.INT64), id="int64")],
)
def test_a_garbage_seal_row_breaks_the_chain_not_the_verification(
    events: TableClient, seals: Seals, rows: Any
) -> None:
    # given sealed days, one seal's Rows rewritten as something that is not a 32-bit count
    sealed(events, seals)
    seals._table.update_entity(
        {"PartitionKey": "seal", "RowKey": "20261005", "Rows": rows}, UpdateMode.MERGE
    )
    # when verified, then the day's seal is reported broken (no exception)
    result = check(events, seals)
    assert result.tampered
    assert "chain broken" in next(d for d in result.days if d.day == "20261005").findings
