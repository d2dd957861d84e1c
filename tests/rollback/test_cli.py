"""``driftkeeper rollback plan``: a dry run over a scan, offline with ``--state``."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from driftkeeper.cli import main

ROOT = Path(__file__).resolve().parents[2]
DRIFTED = str(ROOT / "examples/tenant-drifted.json")
GOOD = str(ROOT / "examples/tenant-known-good.json")
BASELINES = str(ROOT / "baselines")


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out, live=_no_live), out.getvalue()


def _no_live(subscriptions: object) -> object:
    raise AssertionError("rollback plan --state must not read live")


def test_json_lists_the_plans_of_every_drift_and_what_is_not_planned() -> None:
    # when the drifted example tenant is planned
    code, out = run(
        "rollback", "plan", "--state", DRIFTED, "--baselines", BASELINES, "--format", "json"
    )
    # then each baseline drift has a plan of absolute URLs, and each guard finding a reason
    assert code == 0
    doc = json.loads(out)
    assert doc.keys() == {"plans", "notPlanned"}
    assert sorted(p["kind"] for p in doc["plans"]) == [
        "conditional-access-policy",
        "nsg",
        "role-assignments",
    ]
    for plan in doc["plans"]:
        assert {"kind", "resource", "baseline", "steps", "permissions"} <= plan.keys()
        for step in plan["steps"]:
            assert step.keys() == {"method", "url", "body"}
            assert step["method"] in {"PUT", "PATCH", "POST", "DELETE"}
            arm = step["url"].startswith("https://management.azure.com/")
            graph = step["url"].startswith("https://graph.microsoft.com/v1.0/")
            assert arm or graph
            assert ("?api-version=" in step["url"]) == arm
    nsg = next(p for p in doc["plans"] if p["kind"] == "nsg")
    assert [(s["method"], s["url"].split("?")[0].rsplit("/", 1)[-1]) for s in nsg["steps"]] == [
        ("DELETE", "allow-rdp-temp")
    ]
    assert {n["rule"] for n in doc["notPlanned"]} == {
        "guard:ca-mfa-privileged-roles",
        "guard:nsg-internet-management-ports",
    }
    assert all(n.keys() == {"kind", "resource", "rule", "reason"} for n in doc["notPlanned"])


def test_the_table_shows_each_step_and_says_nothing_was_sent() -> None:
    code, out = run("rollback", "plan", "--state", DRIFTED, "--baselines", BASELINES)
    assert code == 0
    assert "DELETE" in out
    assert "PATCH" in out
    assert "not planned: nsg" in out
    assert "3 plan(s), 3 step(s), 2 not planned (a dry run: nothing was sent)" in out


def test_a_tenant_without_drift_plans_nothing() -> None:
    code, out = run(
        "rollback", "plan", "--state", GOOD, "--baselines", BASELINES, "--format", "json"
    )
    assert (code, json.loads(out)) == (0, {"plans": [], "notPlanned": []})


def test_endpoints_come_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRIFTKEEPER_ARM_ENDPOINT", "http://127.0.0.1:8079/arm")
    monkeypatch.setenv("DRIFTKEEPER_GRAPH_ENDPOINT", "http://127.0.0.1:8079/graph/v1.0")
    _, out = run(
        "rollback", "plan", "--state", DRIFTED, "--baselines", BASELINES, "--format", "json"
    )
    urls = [s["url"] for p in json.loads(out)["plans"] for s in p["steps"]]
    assert urls
    assert all(u.startswith("http://127.0.0.1:8079/") for u in urls)


def test_a_missing_state_file_is_an_input_error(tmp_path: Path) -> None:
    code, _ = run("rollback", "plan", "--state", str(tmp_path / "nope.json"))
    assert code == 2
