"""The rules of a decision (pure): who may decide what, when, and what it does."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftkeeper.rollback._approval import (
    MAX_COMMENT,
    ApprovalRequest,
    Decided,
    Decision,
    Refused,
    check_form_value,
    clean_comment,
    decide,
    form_value,
    is_token_shaped,
    new_token,
    plan_hash,
    token_hash,
)
from driftkeeper.rollback._principal import Principal

from .builders import ALICE, APPROVERS, BOB, CAROL, EVE, MALLORY, NOW, plan, request


def run(req: ApprovalRequest, decision: str, who: Principal, **kw: object) -> Decided | Refused:
    args: dict[str, object] = {
        "now": NOW,
        "current_plan_hash": req.plan_hash,
        "approvers": APPROVERS,
        "address": "203.0.113.9:51234",
        "comment": "",
    }
    args.update(kw)
    return decide(req, decision, who, **args)  # type: ignore[arg-type]


def earlier(decision: str, who: Principal) -> Decision:
    return Decision(decision, who.object_id, who.upn, "2026-11-30T11:59:00Z")  # type: ignore[arg-type]


REFUSED = [
    # (case, request changes, decision, principal, extra arguments, status, reason excerpt)
    ("unknown decision", {}, "delete", ALICE, {}, 400, "approve, reject or accept"),
    ("not an approver", {}, "approve", EVE, {}, 403, "not an approver"),
    ("self-approval by id", {}, "approve", MALLORY, {}, 403, "made the change"),
    ("already approved", {"status": "approved"}, "approve", ALICE, {}, 409, "approved"),
    ("rejected", {"status": "rejected"}, "approve", ALICE, {}, 409, "rejected"),
    ("void", {"status": "void"}, "approve", ALICE, {}, 409, "void"),
    ("executing", {"status": "executing"}, "reject", ALICE, {}, 409, "executing"),
    ("expired", {}, "approve", ALICE, {"now": NOW + timedelta(hours=1)}, 410, "expired"),
    ("plan changed", {}, "approve", ALICE, {"current_plan_hash": "0" * 64}, 409, "changed"),
    ("drift gone", {}, "approve", ALICE, {"current_plan_hash": ""}, 409, "changed"),
    (
        "same approver twice",
        {"required": 2, "decisions": (earlier("approve", ALICE),)},
        "approve",
        ALICE,
        {},
        409,
        "already decided",
    ),
]


@pytest.mark.parametrize(
    ("changes", "decision", "who", "extra", "status", "reason"),
    [case[1:] for case in REFUSED],
    ids=[case[0] for case in REFUSED],
)
def test_refused_decisions(
    changes: dict[str, object],
    decision: str,
    who: Principal,
    extra: dict[str, object],
    status: int,
    reason: str,
) -> None:
    # given a request, when the decision is refused
    req = request(**changes)
    outcome = run(req, decision, who, **extra)
    # then it says why, with the status the page answers
    assert isinstance(outcome, Refused)
    assert outcome.status_code == status
    assert reason in outcome.reason


def test_self_approval_is_refused_by_upn_whatever_its_case() -> None:
    # given the drift was made by an actor known by UPN only
    req = request(drift_actor_ids=("ALICE@contoso.example",))
    outcome = run(req, "approve", ALICE)
    assert isinstance(outcome, Refused)
    assert outcome.status_code == 403


def test_a_changed_plan_voids_the_request() -> None:
    outcome = run(request(), "approve", ALICE, current_plan_hash=plan_hash(plan(port=22)))
    assert isinstance(outcome, Refused)
    assert outcome.request is not None
    assert outcome.request.status == "void"


def test_other_refusals_leave_the_request_alone() -> None:
    for case in REFUSED:
        if "changed" in case[0] or "gone" in case[0]:
            continue
        outcome = run(request(**case[1]), case[2], case[3], **case[4])
        assert isinstance(outcome, Refused)
        assert outcome.request is None, case[0]


@pytest.mark.parametrize(
    ("decision", "status", "execute"),
    [("approve", "approved", True), ("reject", "rejected", False), ("accept", "accepted", False)],
)
def test_one_decision_closes_a_single_approver_request(
    decision: str, status: str, execute: bool
) -> None:
    # when an approver decides a request that needs one approval
    outcome = run(request(), decision, BOB, comment="CHG-1234")
    # then the request closes, executing only on approve, and the decision is recorded
    assert isinstance(outcome, Decided)
    assert (outcome.request.status, outcome.execute) == (status, execute)
    assert outcome.request.decisions == (
        Decision(
            decision,
            BOB.object_id,
            BOB.upn,
            "2026-11-30T12:00:00Z",
            "203.0.113.9:51234",
            "CHG-1234",
        ),  # type: ignore[arg-type]
    )


def test_two_approvals_are_needed_when_the_baseline_asks() -> None:
    # given a request needing two approvers
    req = request(required=2)
    # when the first approves, it is recorded and stays pending
    first = run(req, "approve", ALICE)
    assert isinstance(first, Decided)
    assert (first.request.status, first.execute) == ("pending", False)
    # and when a second, distinct approver approves, the plan executes
    second = run(first.request, "approve", CAROL)
    assert isinstance(second, Decided)
    assert (second.request.status, second.execute) == ("approved", True)
    assert [d.object_id for d in second.request.decisions] == [ALICE.object_id, CAROL.object_id]


def test_approve_and_accept_are_counted_apart() -> None:
    first = run(request(required=2), "approve", ALICE)
    assert isinstance(first, Decided)
    second = run(first.request, "accept", CAROL)
    assert isinstance(second, Decided)
    assert (second.request.status, second.execute) == ("pending", False)


def test_one_reject_closes_a_two_approver_request() -> None:
    first = run(request(required=2), "approve", ALICE)
    assert isinstance(first, Decided)
    second = run(first.request, "reject", CAROL)
    assert isinstance(second, Decided)
    assert (second.request.status, second.execute) == ("rejected", False)


def test_the_comment_is_capped_and_cleaned() -> None:
    comment = "  ok\x00\x1b[31m\u202egnp.exe " + "x" * 2000
    outcome = run(request(), "reject", ALICE, comment=comment)
    assert isinstance(outcome, Decided)
    recorded = outcome.decision.comment
    assert len(recorded) == MAX_COMMENT
    assert recorded.startswith("ok[31mgnp.exe x")


@given(st.text(max_size=2000))
def test_any_comment_is_recorded_bounded_and_without_controls(comment: str) -> None:
    cleaned = clean_comment(comment)
    assert len(cleaned) <= MAX_COMMENT
    assert not any(ord(c) < 32 and c != "\n" for c in cleaned)
    assert not any(0x7F <= ord(c) <= 0x9F or 0x202A <= ord(c) <= 0x202E for c in cleaned)
    assert "\u2067" not in cleaned


def test_naive_times_are_a_bug_in_the_caller() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        run(request(), "approve", ALICE, now=NOW.replace(tzinfo=None))
    with pytest.raises(ValueError, match="1 or 2"):
        request(required=3)


# --- tokens ----------------------------------------------------------------------------------


def test_tokens_are_long_random_and_url_safe() -> None:
    tokens = {new_token() for _ in range(200)}
    assert len(tokens) == 200
    assert all(is_token_shaped(t) for t in tokens)
    assert all(len(t) == 43 for t in tokens)  # 32 bytes = 256 bits


def test_only_the_hash_of_a_token_is_kept() -> None:
    token = new_token()
    assert token_hash(token) != token
    assert len(token_hash(token)) == 64
    assert token_hash(token) == token_hash(token)


@given(st.text(max_size=60))
def test_token_shape_is_length_and_alphabet(text: str) -> None:
    allowed = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert is_token_shaped(text) == (len(text) == 43 and set(text) <= allowed)


def test_plan_hash_ignores_key_order_only() -> None:
    a = {"kind": "nsg", "steps": [1, 2]}
    assert plan_hash(a) == plan_hash({"steps": [1, 2], "kind": "nsg"})
    assert plan_hash(a) != plan_hash({"kind": "nsg", "steps": [2, 1]})


# --- anti-forgery ----------------------------------------------------------------------------

KEY = b"k" * 32


def test_the_form_value_is_bound_to_token_principal_and_key() -> None:
    value = form_value(KEY, "t" * 64, ALICE.object_id)
    assert check_form_value(KEY, "t" * 64, ALICE.object_id, value)
    assert not check_form_value(KEY, "u" * 64, ALICE.object_id, value)
    assert not check_form_value(KEY, "t" * 64, BOB.object_id, value)
    assert not check_form_value(b"j" * 32, "t" * 64, ALICE.object_id, value)
    assert not check_form_value(KEY, "t" * 64, ALICE.object_id, "")


@given(st.text(max_size=100))
def test_no_other_form_value_passes(value: str) -> None:
    expected = form_value(KEY, "t" * 64, ALICE.object_id)
    assert check_form_value(KEY, "t" * 64, ALICE.object_id, value) == (value == expected)


def test_a_request_keeps_its_decisions_in_order() -> None:
    req = replace(request(required=2), decisions=(earlier("approve", ALICE),))
    assert req.approvers_of("approve")[0].object_id == ALICE.object_id
    assert req.approvers_of("reject") == []
