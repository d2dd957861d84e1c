"""The bundled examples: make demo finds exactly the three planted drifts, nothing else."""

from __future__ import annotations

import io
import runpy
import subprocess
import sys
from contextlib import redirect_stdout
from pathlib import Path

from driftkeeper import Snapshot
from driftkeeper.baseline import load_baselines
from driftkeeper.capture import capture_baselines
from driftkeeper.engine import scan

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
