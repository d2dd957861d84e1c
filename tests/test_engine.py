"""scan(): not captured is skipped, a failed read is an error, never compliant."""

from __future__ import annotations

from driftkeeper import Snapshot
from driftkeeper.engine import scan
from tests.builders import baselines_of, document, healthy, member


def test_missing_section_skips_its_kind_with_a_notice() -> None:
    baselines = baselines_of(healthy())
    doc = healthy()
    del doc["arm"]["networkSecurityGroups"]
    report = scan(Snapshot.from_dict(doc), baselines)
    assert report.drift == 0
    assert (
        "nsg: arm.networkSecurityGroups not captured (1 baseline(s) not evaluated)"
        in report.skipped
    )
    assert (
        "guard:nsg-internet-management-ports: arm.networkSecurityGroups not captured"
        in report.skipped
    )


def test_failed_read_is_an_error_finding_for_baselines_and_guards() -> None:
    baselines = baselines_of(healthy())
    doc = healthy()
    del doc["graph"]["directoryRoleAssignments"]
    doc["readErrors"] = {
        "graph.directoryRoleAssignments": "403 Forbidden: Authorization_RequestDenied"
    }
    report = scan(Snapshot.from_dict(doc), baselines)
    errors = [f for f in report.findings if f.status == "error"]
    assert {f.rule for f in errors} >= {"guard:global-admin-count", "global-administrator"}
    assert all("403 Forbidden" in f.message for f in errors)
    assert report.exit_code == 2
    assert report.findings[0].status == "error"  # errors sort first


def test_exit_codes() -> None:
    baselines = baselines_of(healthy())
    assert scan(Snapshot.from_dict(healthy()), baselines).exit_code == 0
    drifted = healthy(directoryRoleAssignments=[member("ga-1"), member("ga-2"), member("eve")])
    assert scan(Snapshot.from_dict(drifted), baselines).exit_code == 1


def test_unbaselined_settings_are_listed() -> None:
    report = scan(Snapshot.from_dict(healthy()), baselines_of(document()))
    assert "nsg: " + healthy()["arm"]["networkSecurityGroups"][0]["id"] in report.unbaselined


def test_json_shape() -> None:
    drifted = healthy(directoryRoleAssignments=[member("ga-1"), member("ga-2"), member("eve")])
    out = scan(Snapshot.from_dict(drifted), baselines_of(healthy())).to_dict()
    assert set(out["summary"]) >= {"drift", "compliant", "errors", "skipped"}
    [finding] = out["findings"]
    assert set(finding) == {"kind", "resource", "status", "rule", "severity", "changes", "message"}
    assert finding["changes"] == [
        {
            "path": "active[eve@/]",
            "expected": None,
            "actual": {"principalId": "eve", "directoryScopeId": "/"},
        }
    ]


def test_baselines_of_subscriptions_not_read_are_skipped_not_deleted() -> None:
    from tests.builders import SUB, assignment, nsg, rule

    other = "/subscriptions/00000000-0000-0000-0000-00000000bbbb"
    other_nsg = f"{other}/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/b"
    both = document(
        networkSecurityGroups=[nsg([rule("a")]), nsg([rule("b")], other_nsg)],
        roleAssignments=[assignment("o1"), assignment("o2", scope=other)],
    )
    only_first = document(
        networkSecurityGroups=[nsg([rule("a")])], roleAssignments=[assignment("o1")]
    )
    only_first["subscriptions"] = [SUB.rsplit("/", 1)[-1]]
    report = scan(Snapshot.from_dict(only_first), baselines_of(both), guards="none")
    assert report.drift == 0
    assert "nsg: 1 baseline(s) of subscriptions not read" in report.skipped
    assert "role-assignments: 1 baseline(s) of subscriptions not read" in report.skipped
    # without the list, every subscription counts as read: the other one is gone
    del only_first["subscriptions"]
    assert scan(Snapshot.from_dict(only_first), baselines_of(both), guards="none").drift == 2


def test_baselines_asking_for_a_rollback_are_judged_and_noted() -> None:
    from dataclasses import replace

    from driftkeeper.baseline import BaselineSet

    plain = baselines_of(healthy())
    asking = BaselineSet(
        tuple(replace(b, response="auto") if b.kind == "nsg" else b for b in plain.baselines)
    )
    drifted = healthy(directoryRoleAssignments=[member("ga-1"), member("ga-2"), member("eve")])

    before = scan(Snapshot.from_dict(drifted), plain)
    after = scan(Snapshot.from_dict(drifted), asking)

    assert (after.findings, after.compliant) == (before.findings, before.compliant)
    assert not any(n.startswith("rollback is") for n in before.skipped)
    files = [b.file for b in asking.baselines if b.response == "auto"]
    assert after.skipped[0] == (
        f"rollback is approve-only (DRIFTKEEPER_ROLLBACK): {len(files)} baseline(s) with "
        f"response auto wait for approval instead: {', '.join(sorted(files))}"
    )
