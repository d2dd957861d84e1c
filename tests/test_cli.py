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
