"""baseline capture: deterministic, diff-friendly, and keeps what people edited."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from driftkeeper import Snapshot
from driftkeeper.baseline import MAX_FILE_BYTES, load_baselines
from driftkeeper.capture import capture_baselines
from driftkeeper.engine import scan
from tests.builders import READER, RG, assignment, healthy


def test_capture_is_deterministic_and_has_no_volatile_fields(tmp_path: Path) -> None:
    snapshot = Snapshot.from_dict(healthy())
    capture_baselines(snapshot, tmp_path / "a")
    reordered = healthy()
    for section in reordered["arm"].values():
        section.reverse()
    reordered["capturedAt"] = "2030-01-01T00:00:00Z"
    capture_baselines(Snapshot.from_dict(reordered), tmp_path / "b")
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.yaml"))
    files_b = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*.yaml"))
    assert files_a == files_b
    for rel in files_a:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()
    text = "".join(p.read_text() for p in (tmp_path / "a").rglob("*.yaml"))
    for volatile in ("etag", "provisioningState", "createdOn", "createdDateTime", "2026-11-22"):
        assert volatile not in text


def test_recapture_keeps_edits_and_replaces_expected(tmp_path: Path) -> None:
    capture_baselines(Snapshot.from_dict(healthy()), tmp_path)
    [path] = (tmp_path / "security-defaults").glob("*.yaml")
    doc = yaml.safe_load(path.read_text())
    doc.update(response="approve", approvals=2, severity="critical", owners=["secops@contoso.com"])
    path.write_text(yaml.safe_dump(doc))
    capture_baselines(Snapshot.from_dict(healthy(securityDefaults={"isEnabled": True})), tmp_path)
    again = yaml.safe_load(path.read_text())
    assert (again["response"], again["approvals"], again["severity"], again["owners"]) == (
        "approve",
        2,
        "critical",
        ["secops@contoso.com"],
    )
    assert again["expected"] == {"isEnabled": True}


def test_captured_files_load_and_scan_clean(tmp_path: Path) -> None:
    snapshot = Snapshot.from_dict(healthy())
    result = capture_baselines(snapshot, tmp_path)
    loaded = load_baselines(tmp_path)
    assert len(loaded.baselines) == len(result.written)
    report = scan(snapshot, loaded)
    assert (report.drift, report.errors) == (0, 0)


def test_sections_not_captured_are_skipped_not_written(tmp_path: Path) -> None:
    doc = healthy()
    del doc["graph"]
    result = capture_baselines(Snapshot.from_dict(json.loads(json.dumps(doc))), tmp_path)
    assert not (tmp_path / "conditional-access-policy").exists()
    assert any("graph.conditionalAccessPolicies not captured" in s for s in result.skipped)


def test_a_subscription_at_azures_assignment_limit_captures_into_a_loadable_file(
    tmp_path: Path,
) -> None:
    # Given a subscription holding Azure's limit of 4,000 role assignments, at resource scope
    # (the longest ids), when it is captured, then its one file is within the size limit
    # and loads and scans clean
    tenant = healthy()
    scopes = [
        f"{RG}-{n % 40:02d}/providers/Microsoft.Storage/storageAccounts/stlongaccountname{n:05d}"
        for n in range(3997)
    ]
    tenant["arm"]["roleAssignments"] += [
        assignment(f"{n:08x}-1111-2222-3333-444444444444", READER, scope)
        for n, scope in enumerate(scopes)
    ]
    snapshot = Snapshot.from_dict(tenant)
    capture_baselines(snapshot, tmp_path)
    biggest = max(tmp_path.rglob("*.yaml"), key=lambda p: p.stat().st_size)
    assert 1024 * 1024 < biggest.stat().st_size < MAX_FILE_BYTES / 2
    report = scan(snapshot, load_baselines(tmp_path))
    assert (report.drift, report.errors) == (0, 0)
