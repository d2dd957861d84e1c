"""The approvals table on Azurite: tokens, replacement, conditional decisions, races."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from azure.core.exceptions import ServiceRequestError
from azure.data.tables import TableClient

from driftkeeper.rollback._approval import Decided, Refused, plan_hash, token_hash
from driftkeeper.rollback._principal import Principal
from driftkeeper.store import TABLES, Approvals, request_keys
from tests.fakes.azurite import TcpProxy
from tests.rollback.builders import ALICE, APPROVERS, BOB, CAROL, NOW, NSG, RULE, plan, request

from .records import MakeTable


class Clock:
    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def approvals(table: TableClient, clock: Clock) -> Approvals:
    return Approvals(table, clock=clock)


def approve(store: Approvals, token: str, who: Principal, **kw: object) -> Decided | Refused:
    found = store.by_token(token)
    assert found is not None
    return store.decide(
        found,
        str(kw.pop("decision", "approve")),
        who,
        current_plan_hash=found.plan_hash,
        approvers=APPROVERS,
        **kw,  # type: ignore[arg-type]
    )


def test_the_table_is_listed_with_the_others() -> None:
    assert "approvals" in TABLES


def test_an_issued_token_finds_its_request_and_only_its_hash_is_stored(
    approvals: Approvals, table: TableClient
) -> None:
    # when a request is issued
    stored, token = approvals.issue(request())
    # then the token finds it, and no row holds the token itself
    assert token is not None
    found = approvals.by_token(token)
    assert found == stored
    assert found is not None
    assert found.token_hash == token_hash(token)
    assert found.plan == plan()
    everything = repr(list(table.list_entities()))
    assert token not in everything
    assert token_hash(token) in everything


@pytest.mark.parametrize(
    "token",
    ["", "short", "A" * 43, "A" * 42 + "!", "../" * 15, "A" * 44, "é" * 43],
    ids=["empty", "short", "unknown", "bad-char", "path", "long", "non-ascii"],
)
def test_unknown_and_malformed_tokens_find_nothing(approvals: Approvals, token: str) -> None:
    approvals.issue(request())
    assert approvals.by_token(token) is None


def test_the_same_plan_keeps_its_link(approvals: Approvals) -> None:
    # given a pending request
    first, token = approvals.issue(request())
    # when the same drift is issued again, no second link is minted
    again, none = approvals.issue(request())
    assert none is None
    assert again.token_hash == first.token_hash
    assert approvals.by_token(token or "") is not None
    # unless asked for one, which replaces the old link
    _, fresh = approvals.issue(request(), new_link=True)
    assert fresh is not None
    assert fresh != token
    assert approvals.by_token(token or "") is None
    assert approvals.by_token(fresh) is not None


def test_a_changed_plan_replaces_the_request_and_kills_the_old_link(approvals: Approvals) -> None:
    # given a pending request and its link
    _, old = approvals.issue(request())
    # when the drift changes (another plan) in the same generation
    changed = plan(port=22)
    stored, new = approvals.issue(request(plan=changed, plan_hash=plan_hash(changed)))
    # then a new link is minted and the old one finds nothing
    assert new is not None
    assert approvals.by_token(old or "") is None
    assert approvals.by_token(new) == stored
    assert stored.plan == changed


def test_an_expired_request_is_replaced(approvals: Approvals, clock: Clock) -> None:
    _, old = approvals.issue(request())
    clock.now = NOW + timedelta(hours=2)
    _, new = approvals.issue(request(expires_at=NOW + timedelta(hours=3)))
    assert new is not None
    assert approvals.by_token(old or "") is None


def test_a_decided_request_is_not_reissued_for_the_same_plan(approvals: Approvals) -> None:
    _, token = approvals.issue(request())
    approve(approvals, token or "", ALICE, decision="reject")
    again, none = approvals.issue(request())
    assert none is None
    assert again.status == "rejected"


def test_a_void_request_is_reissued(approvals: Approvals) -> None:
    # given a request voided because the drift changed
    _, token = approvals.issue(request())
    found = approvals.by_token(token or "")
    assert found is not None
    outcome = approvals.decide(found, "approve", ALICE, current_plan_hash="", approvers=APPROVERS)
    assert isinstance(outcome, Refused)
    assert (outcome.status_code, outcome.request and outcome.request.status) == (409, "void")
    assert approvals.get(NSG, RULE, 1).status == "void"  # type: ignore[union-attr]
    # when the drift is issued again, a fresh link goes out
    stored, fresh = approvals.issue(request())
    assert fresh is not None
    assert stored.status == "pending"


def test_a_decision_is_recorded_with_who_when_where_and_why(approvals: Approvals) -> None:
    _, token = approvals.issue(request())
    outcome = approve(approvals, token or "", BOB, address="198.51.100.4:1234", comment="CHG-9")
    assert isinstance(outcome, Decided)
    assert outcome.execute
    stored = approvals.get(NSG, RULE, 1)
    assert stored is not None
    assert stored.status == "approved"
    [decision] = stored.decisions
    assert (decision.decision, decision.object_id, decision.upn) == (
        "approve",
        BOB.object_id,
        BOB.upn,
    )
    assert (decision.at, decision.address, decision.comment) == (
        "2026-11-30T12:00:00Z",
        "198.51.100.4:1234",
        "CHG-9",
    )


def test_a_reused_token_is_refused(approvals: Approvals) -> None:
    _, token = approvals.issue(request())
    assert isinstance(approve(approvals, token or "", ALICE), Decided)
    again = approve(approvals, token or "", CAROL)
    assert isinstance(again, Refused)
    assert again.status_code == 409


def test_a_stale_read_is_decided_again_on_what_is_stored(approvals: Approvals) -> None:
    # given two readers of the same pending request
    _, token = approvals.issue(request())
    first, second = approvals.by_token(token or ""), approvals.by_token(token or "")
    assert first is not None
    assert second is not None
    # when both approve, the second with its stale copy
    one = approvals.decide(
        first, "approve", ALICE, current_plan_hash=first.plan_hash, approvers=APPROVERS
    )
    two = approvals.decide(
        second, "approve", CAROL, current_plan_hash=second.plan_hash, approvers=APPROVERS
    )
    # then only the first executes; the second sees it approved
    assert isinstance(one, Decided)
    assert one.execute
    assert isinstance(two, Refused)
    assert two.status_code == 409


@pytest.mark.parametrize("required", [1, 2])
def test_racing_approvals_execute_once(approvals: Approvals, required: int) -> None:
    # given a pending request read by four approvers at once
    _, token = approvals.issue(request(required=required))
    racers = [ALICE, CAROL, BOB, ALICE]
    reads = [approvals.by_token(token or "") for _ in racers]
    barrier = threading.Barrier(len(racers))
    outcomes: list[Decided | Refused] = []
    lock = threading.Lock()

    def race(index: int) -> None:
        found = reads[index]
        assert found is not None
        barrier.wait()
        outcome = approvals.decide(
            found, "approve", racers[index], current_plan_hash=found.plan_hash, approvers=APPROVERS
        )
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=race, args=(i,)) for i in range(len(racers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then exactly one was told to execute, and the stored request is approved
    assert sum(1 for o in outcomes if isinstance(o, Decided) and o.execute) == 1
    stored = approvals.get(NSG, RULE, 1)
    assert stored is not None
    assert stored.status == "approved"
    assert len(stored.decisions) == required
    assert len({d.object_id for d in stored.decisions}) == required


def test_finish_records_the_execution(approvals: Approvals) -> None:
    _, token = approvals.issue(request())
    outcome = approve(approvals, token or "", ALICE)
    assert isinstance(outcome, Decided)
    approvals.finish(outcome.request, "rolled-back", {"outcome": "rolled-back", "steps": [1]})
    stored = approvals.get(NSG, RULE, 1)
    assert stored is not None
    assert (stored.status, dict(stored.result)) == (
        "rolled-back",
        {"outcome": "rolled-back", "steps": [1]},
    )
    with pytest.raises(ValueError, match="unknown approval status"):
        approvals.finish(stored, "done", {})  # type: ignore[arg-type]


def test_pending_for_and_list(approvals: Approvals) -> None:
    approvals.issue(request())
    approvals.issue(request(generation=2))
    _, token = approvals.issue(request(rule="other-rule"))
    approve(approvals, token or "", ALICE, decision="reject")
    pending = approvals.pending_for(NSG.upper(), RULE)  # ARM ids compare case-insensitively
    assert pending is not None
    assert pending.generation == 2
    assert approvals.pending_for(NSG, "other-rule") is None
    assert len(approvals.list()) == 3
    assert {(r.rule, r.generation) for r in approvals.list(open_only=True)} == {
        (RULE, 1),
        (RULE, 2),
    }


def test_the_form_key_is_created_once_and_shared(table: TableClient) -> None:
    one, two = Approvals(table), Approvals(table)
    key = one.form_key()
    assert len(key) == 32
    assert two.form_key() == key


def test_a_large_plan_is_split_and_read_back(approvals: Approvals) -> None:
    big = plan(notes=["x" * 1000] * 100)
    stored, token = approvals.issue(request(plan=big, plan_hash=plan_hash(big)))
    assert approvals.by_token(token or "") == stored
    assert stored.plan == big


def test_request_keys_need_a_generation() -> None:
    with pytest.raises(ValueError, match="generation"):
        request_keys(NSG, RULE, 0)
    assert request_keys(NSG.upper(), RULE, 3) == request_keys(NSG, RULE, 3)


def test_store_outages_propagate(make_table: MakeTable, azurite_proxy: TcpProxy) -> None:
    table = make_table(connection_string=azurite_proxy.connection_string, retry_total=0)
    approvals = Approvals(table)
    _, token = approvals.issue(request())
    azurite_proxy.refuse()
    with pytest.raises(ServiceRequestError):
        approvals.by_token(token or "")
    azurite_proxy.up()
    assert approvals.by_token(token or "") is not None


def test_replace_keeps_versions_out_of_equality(approvals: Approvals) -> None:
    stored, _ = approvals.issue(request())
    assert stored.version
    assert replace(stored, version="other") == stored


def test_a_token_pointing_at_another_incident_finds_nothing(
    approvals: Approvals, table: TableClient
) -> None:
    # given two incidents' requests, and the token row of one tampered to point at the other
    _, token_a = approvals.issue(request())
    other, _ = approvals.issue(request(rule="other-rule"))
    pointer = table.get_entity("token", token_hash(token_a or ""))
    pointer["RequestRow"] = request_keys(other.resource, other.rule, other.generation)[1]
    table.update_entity(pointer)
    # then token A does not open the other incident's request (bound by hash)
    assert approvals.by_token(token_a or "") is None


def test_a_request_read_before_its_link_was_replaced_cannot_be_decided(
    approvals: Approvals,
) -> None:
    # given a request read through its link, then replaced (the drift changed)
    _, token = approvals.issue(request())
    stale = approvals.by_token(token or "")
    assert stale is not None
    changed = plan(port=22)
    approvals.issue(request(plan=changed, plan_hash=plan_hash(changed)))
    # when the stale copy is decided, the store sees another token bound to the incident
    outcome = approvals.decide(
        stale, "approve", ALICE, current_plan_hash=stale.plan_hash, approvers=APPROVERS
    )
    assert isinstance(outcome, Refused)
    assert outcome.status_code == 409
    current = approvals.get(NSG, RULE, 1)
    assert current is not None
    assert current.decisions == ()
