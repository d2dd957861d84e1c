"""The bundled examples: make demo finds exactly the three planted drifts, nothing else, and
shows one approval-gated and one automatic rollback end to end."""

from __future__ import annotations

import io
import json
import re
import runpy
import shutil
import subprocess
import sys
import tempfile
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest

from driftkeeper import Snapshot
from driftkeeper.baseline import load_baselines
from driftkeeper.capture import capture_baselines
from driftkeeper.engine import scan
from tests.fakes.azure_rest import AzureRestServer
from tests.fakes.receivers import HttpReceiver

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "examples/demo.py"


def test_bundled_baselines_are_the_capture_of_the_known_good_example(tmp_path: Path) -> None:
    capture_baselines(Snapshot.from_file(ROOT / "examples/tenant-known-good.json"), tmp_path)
    fresh = {p.relative_to(tmp_path): p.read_text() for p in tmp_path.rglob("*.yaml")}
    bundled = {
        p.relative_to(ROOT / "baselines"): p.read_text()
        for p in (ROOT / "baselines").rglob("*.yaml")
    }
    assert fresh == bundled


def test_drifted_example_has_exactly_the_planted_drift() -> None:
    report = scan(
        Snapshot.from_file(ROOT / "examples/tenant-drifted.json"),
        load_baselines(ROOT / "baselines"),
    )
    found = {(f.kind, f.rule) for f in report.findings}
    assert found == {
        ("nsg", "6f1c2a3b-rg-web-prod-nsg-web-prod"),
        ("nsg", "guard:nsg-internet-management-ports"),
        ("role-assignments", "subscription-6f1c2a3b-4d5e-4f60-8a91-b2c3d4e5f607"),
        ("conditional-access-policy", "ca001-require-mfa-for-administrators-c0ffee00"),
        ("conditional-access-policy", "guard:ca-mfa-privileged-roles"),
    }
    assert report.errors == 0


def test_demo_scan_prints_the_findings(tmp_path: Path) -> None:
    scan_demo = runpy.run_path(str(DEMO))["scan_demo"]  # not as __main__: nothing runs
    out = io.StringIO()
    with redirect_stdout(out):
        assert scan_demo(tmp_path) == 0
    text = out.getvalue()
    assert "allow-rdp-temp" in text
    assert "report-only" in text
    assert "Owner granted" in text
    assert "5 drift" in text


def test_make_demo_runs_the_whole_loop() -> None:
    done = subprocess.run(
        [sys.executable, str(DEMO)],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    assert "5 drift" in out  # the scan
    assert "27 Event Grid deliveries to the registered arm_events function" in out
    # the audit record reached the pipeline through the timer and the Graph stand-in
    assert "audit_poll timer read the audit log from the Graph stand-in" in out
    assert "cursor moved from 2026-11-22T02:55:00Z to 2026-11-22T02:58:13Z" in out
    assert "Baseline: ca001-require-mfa-for-administrators-c0ffee00" in out  # its alert
    assert "5 alert(s) reached the Teams webhook" in out
    assert "state reads: 6 for 28 events" in out
    assert "Azurite, the webhook and the Graph stand-in stopped." in out
    # part 3: the approval-gated rollback
    rollback = out[out.index("7. Rollback") :]
    assert "approval link: https://driftkeeper.example.net/api/approvals/" in rollback
    assert "nothing written yet: allow-rdp-temp is still on nsg-web-prod" in rollback
    assert 'the result page: "Approved / Rollback: rolled-back."' in rollback
    assert "recorded as self" in rollback
    assert "the incident of 6f1c2a3b-rg-web-prod-nsg-web-prod: resolved" in rollback
    # the rule is gone after each rollback, read back from ARM
    assert rollback.count("; gone: allow-rdp-temp") == 2
    read_back = re.findall(r"rules read back from ARM \(\d+\): (.*)", rollback)
    assert len(read_back) == 2
    assert all("allow-rdp-temp" not in line.split(";")[0] for line in read_back)
    # the rows: per part a drift, its rollback (by Alice, then automatic) and our own write
    assert len(re.findall(r"│ rolled-back │", rollback)) == 2
    assert len(re.findall(r"│ self +│", rollback)) == 2
    assert "approved by alice@contoso.example" in rollback
    assert "automatic (response: auto)" in rollback
    assert "no human involved" in rollback
    assert "Azurite, the webhook and the ARM/Graph stand-in stopped." in out
    # the auditor's pack and the dashboard come from the same tables
    assert "build/demo/evidence/manifest.json" in out
    assert "build/demo/evidence/events.csv" in out
    assert "11. The compliance dashboard" in out
    assert "200, " in out.split("11. The compliance dashboard")[1]
    assert "All expected outcomes seen." in out


@pytest.fixture
def demo() -> dict[str, Any]:
    return runpy.run_path(str(DEMO))  # not as __main__: nothing runs


def test_the_demo_fails_when_no_rollback_happens(
    demo: dict[str, Any],
    functions: dict[str, Any],
    azurite: str,
    azure_rest_server: AzureRestServer,
    http_receiver: HttpReceiver,
) -> None:
    """With the kill switch off the alert has no approval link: the demo says what it
    missed and exits 1 (the check CI's ``make demo`` relies on)."""
    approval_gated = demo["approval_gated"]
    approval_gated.__globals__["registered"] = lambda: functions  # one get_functions() per app

    good = json.loads((ROOT / "examples/tenant-known-good.json").read_text())
    azure_rest_server.data = {"arm.networkSecurityGroups": good["arm"]["networkSecurityGroups"]}
    with tempfile.TemporaryDirectory() as work:
        baselines = Path(work) / "baselines"
        shutil.copytree(ROOT / "baselines" / "nsg", baselines / "nsg")
        loop = demo["make_loop"](
            azurite, azure_rest_server, http_receiver, baselines, "approve", rollback="off"
        )
        try:
            with redirect_stdout(io.StringIO()), pytest.raises(demo["DemoError"]) as missed:
                approval_gated(loop)
        finally:
            demo["runtime"].install(None)
            s = loop.rt.settings
            tables = (s.events_table, s.incidents_table, s.approvals_table, s.brakes_table)
            service = loop.rt.table_service
            for name in tables:
                service.delete_table(name)  # no error when it was never created
            loop.rt.close()
    assert "one alert with an approval link, got 0" in str(missed.value)


def test_a_missed_outcome_is_exit_code_1(
    demo: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    main = demo["main"]

    def missing(*_: object) -> int:
        raise demo["DemoError"]("something")

    main.__globals__["scan_demo"] = missing
    assert main() == 1
    assert "demo FAILED: expected something" in capsys.readouterr().err
