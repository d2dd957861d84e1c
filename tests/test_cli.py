"""The driftkeeper command: exit codes 0 / 1 / 2, table and JSON output."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from driftkeeper import Snapshot
from driftkeeper.cli import main
from tests.builders import healthy, member, rule

ROOT = Path(__file__).resolve().parents[1]
BURST = str(ROOT / "examples/events-burst.json")
RDP_EVENT = "8f1d2a10-0001-4c55-9a51-5d1e0e0a0001"


def write_state(path: Path, doc: dict) -> str:
    path.write_text(json.dumps(doc))
    return str(path)


def run(*argv: str, live=None) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    out = io.StringIO()
    kwargs = {"live": live} if live else {}
    return main(list(argv), out=out, **kwargs), out.getvalue()


@pytest.fixture
def captured(tmp_path: Path) -> Path:
    state = write_state(tmp_path / "good.json", healthy())
    code, _ = run("baseline", "capture", "--state", state, "--out", str(tmp_path / "baselines"))
    assert code == 0
    return tmp_path / "baselines"


def test_clean_scan_exits_0(tmp_path: Path, captured: Path) -> None:
    state = write_state(tmp_path / "same.json", healthy())
    code, out = run("scan", "--baselines", str(captured), "--state", state)
    assert code == 0
    assert "0 drift" in out


def test_drift_exits_1_and_json_lists_findings(tmp_path: Path, captured: Path) -> None:
    rdp = rule("open-rdp", 150, sourceAddressPrefix="Internet", destinationPortRange="3389")
    doc = healthy(directoryRoleAssignments=[member("ga-1"), member("ga-2"), member("eve")])
    doc["arm"]["networkSecurityGroups"][0]["properties"]["securityRules"].append(rdp)
    code, out = run(
        "scan",
        "--baselines",
        str(captured),
        "--state",
        write_state(tmp_path / "d.json", doc),
        "--format",
        "json",
    )
    assert code == 1
    report = json.loads(out)
    assert report["summary"]["drift"] == 3
    assert {f["rule"] for f in report["findings"]} >= {"guard:nsg-internet-management-ports"}
    code, out = run(
        "scan",
        "--baselines",
        str(captured),
        "--state",
        str(tmp_path / "d.json"),
        "--guards",
        "none",
        "--format",
        "json",
    )
    assert json.loads(out)["summary"]["drift"] == 2


def test_table_output_prints_untrusted_text_literally(tmp_path: Path, captured: Path) -> None:
    doc = healthy()
    nasty = rule("[bold red]x[/]", 150)
    doc["arm"]["networkSecurityGroups"][0]["properties"]["securityRules"].append(nasty)
    code, out = run(
        "scan", "--baselines", str(captured), "--state", write_state(tmp_path / "n.json", doc)
    )
    assert code == 1
    assert "[bold red]x[/]" in out


def test_bad_baseline_exits_2_naming_the_file(
    tmp_path: Path, captured: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = captured / "nsg" / "broken.yaml"
    bad.write_text("kind: nsg\nscope: x\nexpected: {rules: [{name: r, priority: 1e9}]}\n")
    code, _ = run(
        "scan", "--baselines", str(captured), "--state", write_state(tmp_path / "s.json", healthy())
    )
    assert code == 2
    err = capsys.readouterr().err
    assert str(bad) in err
    assert "expected.rules[0].priority" in err


def test_live_scan_uses_the_injected_reader(captured: Path) -> None:
    seen: list[Sequence[str]] = []

    def live(subscriptions: Sequence[str]) -> Snapshot:
        seen.append(subscriptions)
        return Snapshot.from_dict(healthy())

    code, _ = run(
        "scan",
        "--baselines",
        str(captured),
        "--subscription",
        "s1",
        "--subscription",
        "s2",
        live=live,
    )
    assert (code, seen) == (0, [["s1", "s2"]])


def test_snapshot_command_writes_the_document(tmp_path: Path) -> None:
    doc = healthy()
    code, _ = run(
        "snapshot", "--out", str(tmp_path / "s.json"), live=lambda subs: Snapshot.from_dict(doc)
    )
    assert code == 0
    assert json.loads((tmp_path / "s.json").read_text()) == doc


def test_schema_and_guards_commands() -> None:
    code, out = run("schema")
    assert code == 0
    assert json.loads(out)["title"] == "driftkeeper baseline"
    code, out = run("guards")
    assert code == 0
    assert "source: CIS Microsoft 365 Foundations Benchmark 1.1.3" in out


# --- replay --------------------------------------------------------------------------------
def example_state(tmp_path: Path, name: str, *, drop: Sequence[str] = ()) -> str:
    """An example snapshot, less the ``drop`` sections (``"arm.networkSecurityGroups"``)."""
    doc = json.loads((ROOT / f"examples/{name}.json").read_text())
    for section in drop:
        group, key = section.split(".")
        del doc[group][key]
    return write_state(tmp_path / f"{name}.json", doc)


def replay(*argv: str) -> tuple[int, str]:
    return run("replay", "--events", BURST, "--baselines", str(ROOT / "baselines"), *argv)


@pytest.mark.parametrize(
    ("example", "drop", "errors", "drift", "code"),
    [
        ("tenant-known-good", (), False, False, 0),
        ("tenant-drifted", (), False, True, 1),
        # the NSG baselines cannot be judged without their section: errors, never compliant
        ("tenant-known-good", ("arm.networkSecurityGroups",), True, False, 2),
        ("tenant-drifted", ("arm.networkSecurityGroups",), True, True, 2),  # errors outrank drift
    ],
)
def test_replay_exits_as_scan_does(
    tmp_path: Path, example: str, drop: tuple[str, ...], errors: bool, drift: bool, code: int
) -> None:
    state = example_state(tmp_path, example, drop=drop)
    exit_code, out = replay("--state", state, "--format", "json")
    summary = json.loads(out)["summary"]
    assert (summary["errors"] > 0, summary["drift"] > 0) == (errors, drift)
    assert exit_code == code


def test_replay_json_has_a_summary_and_every_signal_with_its_findings(tmp_path: Path) -> None:
    code, out = replay("--state", example_state(tmp_path, "tenant-drifted"), "--format", "json")
    assert code == 1
    doc = json.loads(out)
    assert set(doc) == {"summary", "signals"}
    signals, summary = doc["signals"], doc["summary"]
    assert len(signals) == len(json.loads(Path(BURST).read_text()))  # one per event, in order
    assert all({"id", "source", "outcome", "findings"} <= set(s) for s in signals)
    outcomes = ("evaluated", "ignored", "duplicate", "self", "invalid")
    assert set(summary) == {*outcomes, "drift", "errors", "unbaselined"}
    for outcome in outcomes:
        assert summary[outcome] == sum(1 for s in signals if s["outcome"] == outcome)
    findings = [f for s in signals for f in s["findings"]]
    assert summary["drift"] == sum(1 for f in findings if f["status"] == "drift")
    assert summary["unbaselined"] == sum(len(s.get("unbaselined", [])) for s in signals)
    assert all(s["reason"] for s in signals if s["outcome"] == "invalid")
    rdp = next(s for s in signals if s["id"] == RDP_EVENT and s["outcome"] == "evaluated")
    assert {(f["rule"], f["status"]) for f in rdp["findings"]} == {
        ("6f1c2a3b-rg-web-prod-nsg-web-prod", "drift"),
        ("guard:nsg-internet-management-ports", "drift"),
    }


def test_replay_table_prints_the_drift_and_the_summary(tmp_path: Path) -> None:
    code, out = replay("--state", example_state(tmp_path, "tenant-drifted"))
    assert code == 1
    assert "'allow-rdp-temp'" in out
    assert "1 invalid, 7 drift, 0 errors" in out


@pytest.mark.parametrize(
    "content",
    [pytest.param(b"[{not json", id="not-json"), pytest.param(b"\xff\xfe[]", id="not-utf8"), None],
)
def test_replay_of_an_unreadable_events_file_exits_2_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes | None
) -> None:
    events = tmp_path / "events.json"
    if content is not None:  # None: the file does not exist
        events.write_bytes(content)
    state = example_state(tmp_path, "tenant-known-good")
    code, out = run("replay", "--events", str(events), "--state", state)
    assert (code, out) == (2, "")
    assert f"driftkeeper: error: {events}: cannot read events" in capsys.readouterr().err


def test_replay_of_a_file_with_no_event_in_it_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = tmp_path / "events.json"
    events.write_text(json.dumps([{"kind": "not an event"}, {"eventType": 3}]))
    state = example_state(tmp_path, "tenant-known-good")
    code, out = run("replay", "--events", str(events), "--state", state, "--format", "json")
    assert code == 2
    assert [s["outcome"] for s in json.loads(out)["signals"]] == ["invalid", "invalid"]
    assert "no item is an event driftkeeper reads" in capsys.readouterr().err
