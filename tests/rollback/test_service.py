"""Rolling back each drifted baseline of the example tenant through the real readers and
writer, against the stateful ARM / Graph stand-in: the state read back is restored, with
one read before, the plan's writes, and one read after."""

from __future__ import annotations

from pathlib import Path

import pytest

from driftkeeper import Snapshot
from driftkeeper._state import StateView
from driftkeeper.baseline import Baseline
from driftkeeper.engine import evaluate
from driftkeeper.kinds import get_kind
from driftkeeper.rollback import Plan
from driftkeeper.rollback._service import Rollbacks
from tests.fakes.azure_rest import AzureRestServer

from .conftest import BASELINES

ROOT = Path(__file__).resolve().parents[2]
DRIFTED = Snapshot.from_file(ROOT / "examples/tenant-drifted.json")


def drifted() -> list[Baseline]:
    out = []
    for b in BASELINES.baselines:
        kind = get_kind(b.kind)
        finding = evaluate(kind, b, StateView(DRIFTED).index(kind.name), DRIFTED)
        if finding.status == "drift":
            out.append(b)
    return out


@pytest.fixture
def server(azure_rest_server: AzureRestServer) -> AzureRestServer:
    azure_rest_server.data = dict(DRIFTED.sections)
    return azure_rest_server


@pytest.mark.parametrize("baseline", drifted(), ids=lambda b: f"{b.kind}:{b.name}")
def test_each_drift_is_rolled_back_and_verified(
    baseline: Baseline, rollbacks: Rollbacks, server: AzureRestServer
) -> None:
    # given the drift as driftkeeper saw it when it recorded the incident
    target = rollbacks.target(baseline)
    live = target.read()
    finding = target.judge(live)
    assert finding.status == "drift"
    plan = rollbacks.plan(finding, baseline, live)
    assert isinstance(plan, Plan)
    server.requests.clear()
    # when the recorded plan is run
    result = rollbacks.run(baseline, plan.plan_hash, key="k")
    # then it is verified rolled back, the state read back matches the baseline,
    assert result is not None
    assert (result.outcome, result.reason) == ("rolled-back", "verified: matches its baseline")
    assert target.judge(target.read()).status == "compliant"
    # with one read before, the plan's writes and one read after
    writes = [r for r in server.requests if r.method != "GET"]
    assert len(writes) == len(plan.steps) == result.writes
    assert result.reads == 2
    # and every write carried its own client request id
    sent = {r.client_request_id for r in writes}
    assert sent == set(rollbacks.sent)
    assert len(sent) == len(writes)


def test_a_plan_recorded_before_another_change_is_not_written(
    rollbacks: Rollbacks, server: AzureRestServer
) -> None:
    [nsg] = [b for b in drifted() if b.kind == "nsg"]
    target = rollbacks.target(nsg)
    live = target.read()
    plan = rollbacks.plan(target.judge(live), nsg, live)
    assert isinstance(plan, Plan)
    # when someone changes the NSG again before the approved plan runs
    server.apply("DELETE", f"{nsg.scope}/securityRules/{_a_rule(live, nsg)}")
    server.requests.clear()
    result = rollbacks.run(nsg, plan.plan_hash, key="k")
    assert result is not None
    assert result.outcome == "rollback-skipped"
    assert result.changed_since
    assert [r for r in server.requests if r.method != "GET"] == []


def _a_rule(live: Snapshot, nsg: Baseline) -> str:
    for item in live.items("arm.networkSecurityGroups"):
        if item["id"].casefold() == nsg.scope.casefold():
            return str(item["properties"]["securityRules"][0]["name"])
    raise AssertionError("NSG not served")
