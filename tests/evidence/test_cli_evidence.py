"""``driftkeeper seal`` and ``driftkeeper evidence`` end to end on Azurite, with hostile
values in every column a person or an event controls: the pack is written, its manifest
hashes match, its CSV runs no formula, its report injects no element (parsed, and rendered in
headless Chromium: ``build/test-artifacts/evidence-report.png``), and tampering after sealing
makes the command exit 1 with a report that says what."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import escape
from html.parser import HTMLParser
from pathlib import Path

import pytest
from azure.data.tables import TableClient, TableServiceClient, UpdateMode

from driftkeeper.cli import main
from driftkeeper.evidence import seals_table_name
from driftkeeper.evidence._render import CSP
from driftkeeper.rollback._approval import Decision
from driftkeeper.store import Incidents, Ledger, record_keys
from driftkeeper.store._approvals import _to_entity
from tests.fakes.browser import chromium_or_skip, open_page
from tests.rollback.builders import request

from .helpers import record

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "build" / "test-artifacts"
SCRIPT = "<script>document.title='pwned'</script>"
FORMULA_ACTOR = '=HYPERLINK("http://evil.example","click")'
NSG = f"/subscriptions/x/networkSecurityGroups/nsg-{SCRIPT}"
TODAY = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def at(days_back: int, hour: int, minute: int = 0) -> str:
    moment = TODAY - timedelta(days=days_back) + timedelta(hours=hour, minutes=minute)
    return moment.isoformat().replace("+00:00", "Z")


NSG_DRIFT = record(
    "ev-nsg", at(3, 10), resource=NSG, rule="@SUM(1)", actor=FORMULA_ACTOR,
    ip="+1 203.0.113.9",
    message='<img src=x onerror="alert(1)"> opened 3389 \u202eexe.txt " \' & done',
)  # fmt: skip
RECORDS = [
    NSG_DRIFT,
    record(
        "rb-nsg",
        at(3, 10, 5),
        "rolled-back",
        resource=NSG,
        rule="@SUM(1)",
        actor="alice@contoso.example",
        message="-2+3 restored",
        source="rollback",
    ),
    record(
        "ev-role",
        at(2, 9),
        kind="role-assignments",
        resource="/subscriptions/x/ra/1",
        rule="owners",
        actor="mallory@contoso.com",
        ip="198.51.100.4",
        message="\tOwner granted to <b>mallory</b>",
    ),
    record(
        "rc-role",
        at(2, 12),
        "compliant",
        kind="role-assignments",
        resource="/subscriptions/x/ra/2",
        rule="owners",
        source="reconcile",
    ),
    record(
        "ev-ca",
        at(1, 8),
        kind="conditional-access-policy",
        resource="ca/mfa-admins",
        rule="ca001",
        message="MFA for admins disabled",
    ),
    record(
        "ev-ca-ok",
        at(1, 9, 30),
        "compliant",
        kind="conditional-access-policy",
        resource="ca/mfa-admins",
        rule="ca001",
        message="\rMFA restored",
    ),
    record(
        "ev-today",
        at(0, 0, 1),
        kind="directory-role",
        resource="roles/global-admin",
        rule="ga",
        message="member added",
    ),
]


@dataclass
class Tables:
    events: TableClient
    incidents: TableClient
    approvals: TableClient


@pytest.fixture
def tables(
    make_table: Callable[..., TableClient],
    azurite: str,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Tables]:
    t = Tables(make_table(), make_table(), make_table())
    monkeypatch.setenv("DRIFTKEEPER_STORAGE_CONNECTION", azurite)
    monkeypatch.setenv("DRIFTKEEPER_EVENTS_TABLE", t.events.table_name)
    monkeypatch.setenv("DRIFTKEEPER_INCIDENTS_TABLE", t.incidents.table_name)
    monkeypatch.setenv("DRIFTKEEPER_APPROVALS_TABLE", t.approvals.table_name)
    Ledger(t.events).record(RECORDS)
    incidents = Incidents(t.incidents)
    for r in RECORDS:
        if r.outcome in ("drift", "compliant") and r.source != "reconcile":
            incidents.observe(r, alerting=False)
    approved = request(
        resource=NSG, rule="@SUM(1)", drift_time=NSG_DRIFT.time, status="approved",
        decisions=(Decision("approve", "a11ce000-0000-4000-8000-000000000001",
                            "alice@contoso.example", at(3, 10, 2), "192.0.2.1",
                            "=cmd|' /C calc'!A0 <script>x</script>"),),
    )  # fmt: skip
    t.approvals.upsert_entity(_to_entity(approved))
    yield t
    with TableServiceClient.from_connection_string(azurite) as service:
        service.delete_table(seals_table_name(t.events.table_name))


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


def day(days_back: int) -> str:
    return (TODAY - timedelta(days=days_back)).date().isoformat()


class Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.attributes: set[str] = set()
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes.update(name for name, _ in attrs)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


ALLOWED_TAGS = {
    "html", "head", "meta", "title", "style", "body", "main", "h1", "h2", "h3", "p", "section",
    "table", "thead", "tbody", "tr", "th", "td", "code", "small", "b", "br", "ul", "li", "bdi",
}  # fmt: skip


def parsed(html_text: str) -> Elements:
    parser = Elements()
    parser.feed(html_text)
    parser.close()
    return parser


def check_no_injection(html_text: str) -> Elements:
    page = parsed(html_text)
    assert page.tags <= ALLOWED_TAGS, page.tags - ALLOWED_TAGS
    assert page.attributes <= {"lang", "charset", "http-equiv", "content", "name", "class", "id"}
    text = "".join(page.text)
    assert SCRIPT in text  # shown as text, not run
    assert '<img src=x onerror="alert(1)">' in text
    assert "[U+202E]" in text
    assert "\u202e" not in text
    return page


def test_the_pack_of_a_sealed_period(tables: Tables, tmp_path: Path) -> None:
    chromium = chromium_or_skip()
    code, out = run("seal")
    assert code == 0, out
    assert "3 day(s) sealed" in out
    code, out = run("evidence", "--from", day(3), "--to", day(0), "--out", str(tmp_path / "p"))
    assert code == 0, out
    pack = tmp_path / "p"
    assert sorted(p.name for p in pack.iterdir()) == [
        "events.csv", "incidents.csv", "manifest.json", "report.html", "report.pdf",
    ]  # fmt: skip
    manifest = json.loads((pack / "manifest.json").read_text())
    assert manifest["period"] == {"from": day(3), "to": day(0)}
    assert manifest["seals"]["result"] == "verified"
    assert manifest["seals"]["days"] == {"ok": 3, "open": 1}
    assert manifest["pdf"] == "written"
    for entry in manifest["files"]:
        data = (pack / entry["name"]).read_bytes()
        assert (entry["sha256"], entry["size"]) == (hashlib.sha256(data).hexdigest(), len(data))
    pdf = (pack / "report.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "evidence-report.pdf").write_bytes(pdf)

    # CSV: RFC 4180, and no cell a spreadsheet would run
    raw = (pack / "events.csv").read_bytes()
    assert b"\r\n" in raw
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8"), newline="")))
    assert len(rows) == len(RECORDS)
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value
    nsg = next(r for r in rows if r["SignalId"] == "ev-nsg")
    assert (nsg["ActorUpn"], nsg["ActorIp"], nsg["Rule"]) == (
        "'" + FORMULA_ACTOR, "'+1 203.0.113.9", "'@SUM(1)",
    )  # fmt: skip
    assert nsg["Control"] == "Network rules"
    assert float(nsg["MttdSeconds"]) > 0
    incidents = list(csv.DictReader(io.StringIO((pack / "incidents.csv").read_text(), newline="")))
    ca = next(r for r in incidents if r["Rule"] == "ca001")
    assert (ca["Status"], float(ca["MttrSeconds"])) == ("resolved", 5400.0)

    # the report: every change, who, from where, what was done; nothing injected
    html_text = (pack / "report.html").read_text()
    assert f'http-equiv="Content-Security-Policy" content="{escape(CSP)}"' in html_text
    page = check_no_injection(html_text)
    text = "".join(page.text)
    for expected in (
        FORMULA_ACTOR, "+1 203.0.113.9", "198.51.100.4", "mallory@contoso.com",
        "approved by alice@contoso.example from 192.0.2.1", "rolled-back by alice@contoso.example",
        "Privileged roles", "MFA and Conditional Access", "Network rules", "SOC 2 CC7.1",
        "ISO/IEC 27001:2022 A.8.32", "Seals verify", "1h 30m",
    ):  # fmt: skip
        assert expected in text, expected
    assert "rc-role" not in html_text  # a reconcile run finding nothing is not a change

    shot = ARTIFACTS / "evidence-report.png"
    rendered = open_page(chromium, pack / "report.html", screenshot=shot, window_size=(1400, 1800))
    assert parsed(rendered.dom).tags <= ALLOWED_TAGS
    assert "<title>pwned" not in rendered.dom
    assert "pwned</title>" not in rendered.dom
    assert shot.stat().st_size > 10_000


def test_tampering_after_sealing_exits_1_and_the_pack_says_what(
    tables: Tables, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("seal")[0] == 0
    day_key, row_key = record_keys(RECORDS[2])
    entity = tables.events.get_entity(day_key, row_key)
    entity["ActorUpn"] = "nobody@contoso.com"
    tables.events.update_entity(entity, mode=UpdateMode.MERGE)
    code, out = run(
        "evidence", "--from", day(3), "--to", day(1), "--out", str(tmp_path / "p"),
        "--chromium", str(tmp_path / "no-such-browser"),
    )  # fmt: skip
    assert code == 1
    assert f"{day_key}: changed" in out
    assert "report.pdf skipped" in capsys.readouterr().err
    pack = tmp_path / "p"
    assert not (pack / "report.pdf").exists()
    manifest = json.loads((pack / "manifest.json").read_text())
    assert manifest["seals"]["result"] == "tampering found"
    assert manifest["pdf"].startswith("skipped")
    (finding,) = manifest["seals"]["findings"]
    assert (finding["day"], finding["status"], finding["changed"]) == (
        day_key,
        "changed",
        [row_key],
    )
    html_text = (pack / "report.html").read_text()
    assert "Tampering found" in html_text
    assert row_key in html_text
    check_no_injection(html_text)


def test_unsealed_days_are_reported_not_failed(tables: Tables, tmp_path: Path) -> None:
    code, out = run(
        "evidence", "--from", day(3), "--to", day(1), "--out", str(tmp_path / "p"),
        "--chromium", str(tmp_path / "none"),
    )  # fmt: skip
    assert code == 0
    assert "unsealed 3" in out


@pytest.mark.parametrize(
    "argv",
    [
        ("evidence", "--from", "2026-13-01", "--to", "2026-12-01"),
        ("evidence", "--from", "yesterday", "--to", "2026-12-01"),
        ("evidence", "--from", "2026-11-02", "--to", "2026-11-01"),
        ("seal", "--through", "2999-01-01"),
        ("seal", "--through", "2026-11-01T00:00:00Z"),
    ],
)
def test_bad_input_exits_2(
    tables: Tables, tmp_path: Path, argv: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    extra = ("--out", str(tmp_path / "p")) if argv[0] == "evidence" else ()
    assert run(*argv, *extra)[0] == 2
    assert "error" in capsys.readouterr().err
    assert not (tmp_path / "p").exists()


def test_an_out_that_is_a_file_exits_2(tables: Tables, tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    assert run("evidence", "--from", day(2), "--to", day(1), "--out", str(target))[0] == 2
