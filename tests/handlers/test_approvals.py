"""``GET|POST /api/approvals/{token}`` through the registered ``approvals`` function, on
Azurite: every refused case, a GET that never acts, and racing approvals executed once."""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import azure.functions as func
import pytest
from azure.data.tables import TableServiceClient

from driftkeeper import runtime
from driftkeeper._model import EventRecord
from driftkeeper.config import Settings
from driftkeeper.rollback._approval import ApprovalRequest, form_value, new_token, plan_hash
from driftkeeper.rollback._principal import Principal
from driftkeeper.runtime import Runtime
from driftkeeper.store import Incidents
from tests.rollback.builders import (
    ALICE,
    APPROVERS,
    BOB,
    CAROL,
    EVE,
    MALLORY,
    NSG,
    RULE,
    plan,
    principal_header,
    request,
)

HOST = "driftkeeper.example.net"
KEY = "k3y-for-the-approval-form-0123456789abcdef"
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


@dataclass
class App:
    """The Function App under test: its runtime, the executions it ran, the current plan."""

    rt: Runtime
    call: Callable[[func.HttpRequest], func.HttpResponse]
    executed: list[ApprovalRequest] = field(default_factory=list)
    current_plan: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def issue(self, **changes: Any) -> tuple[ApprovalRequest, str]:
        now = datetime.now(UTC)
        changes.setdefault("created_at", now)
        changes.setdefault("expires_at", now + timedelta(hours=1))
        stored, token = self.rt.approvals().issue(request(**changes))
        assert token is not None
        return stored, token

    def stored(self, generation: int = 1) -> Any:
        table = self.rt.table(self.rt.settings.approvals_table)
        return [
            (e.metadata["etag"], dict(e))
            for e in table.list_entities()
            if e["PartitionKey"].startswith("request|") and e["Generation"] == generation
        ]


def http(
    method: str,
    token: str,
    *,
    who: Principal | None = ALICE,
    form: Mapping[str, str] | None = None,
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
) -> func.HttpRequest:
    sent = {"Host": HOST, "X-Forwarded-For": "198.51.100.7:50123"}
    if who is not None:
        sent["X-MS-CLIENT-PRINCIPAL"] = principal_header(who)
    if form is not None:
        sent["Content-Type"] = "application/x-www-form-urlencoded"
        body = urlencode(form).encode()
    sent.update(headers or {})
    return func.HttpRequest(
        method=method,
        url=f"https://{HOST}/api/approvals/{token}",
        headers=sent,
        params=dict(params or {}),
        route_params={"token": token},
        body=body or b"",
    )


def form_of(response: func.HttpResponse) -> str:
    found = re.search(r'name="form" value="([0-9a-f]{64})"', response.get_body().decode())
    assert found is not None, response.get_body().decode()[:500]
    return found.group(1)


def decision(app: App, token: str, who: Principal, choice: str, **form: str) -> func.HttpResponse:
    page = app.call(http("GET", token, who=who))
    assert page.status_code == 200, page.get_body().decode()[:300]
    return app.call(
        http("POST", token, who=who, form={"form": form_of(page), "decision": choice, **form})
    )


def settings(suffix: str, connection: str, **changes: Any) -> Settings:
    base = Settings(
        storage_connection=connection,
        incidents_table=f"incidents{suffix}",
        approvals_table=f"approvals{suffix}",
        approvers=APPROVERS,
        auth_enabled=True,
        approval_key=KEY,
    )
    return replace(base, **changes)


@pytest.fixture
def service(azurite: str) -> Iterator[TableServiceClient]:
    svc = TableServiceClient.from_connection_string(azurite, retry_total=0)
    yield svc
    for table in list(svc.list_tables()):
        if table.name.startswith(("approvals", "incidents")):
            svc.delete_table(table.name)
    svc.close()
    runtime.install(None)


@pytest.fixture
def make_app(
    functions: dict[str, Any], service: TableServiceClient, azurite: str
) -> Callable[..., App]:
    def make(*, planner: bool = True, **changes: Any) -> App:
        rt = Runtime(settings(uuid.uuid4().hex[:12], azurite, **changes), table_service=service)
        app = App(rt, functions["approvals"].get_user_function())

        def execute(req: ApprovalRequest) -> Mapping[str, Any]:
            with app.lock:
                app.executed.append(req)
            return {"outcome": "rolled-back", "steps": [{"status": 200}], "verify": "compliant"}

        rt.executor = execute
        if planner:
            rt.planner = lambda req: (
                app.current_plan if app.current_plan is not None else req.plan_hash
            )
        runtime.install(rt)
        return app

    return make


@pytest.fixture
def app(make_app: Callable[..., App]) -> App:
    return make_app()


def body(response: func.HttpResponse) -> str:
    return response.get_body().decode()


# --- the route ---------------------------------------------------------------------------------


def test_the_route_is_registered_anonymous_for_get_and_post(functions: dict[str, Any]) -> None:
    binding = functions["approvals"].get_trigger()
    assert binding.get_binding_name() == "httpTrigger"
    assert binding.route == "approvals/{token}"
    assert {str(m).upper().split(".")[-1] for m in binding.methods} == {"GET", "POST"}
    assert str(binding.auth_level).lower().endswith("anonymous")


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_without_app_service_authentication_the_pages_refuse_to_serve(
    make_app: Callable[..., App], method: str
) -> None:
    # given a Function App without App Service Authentication nor the local setting
    app = make_app(auth_enabled=False)
    _, token = app.issue()
    # when a signed-in looking caller asks (a header anybody could forge)
    response = app.call(http(method, token, form={"decision": "approve"}))
    # then 503 says why, and nothing changed
    assert response.status_code == 503
    assert "WEBSITE_AUTH_ENABLED" in body(response)
    assert "DRIFTKEEPER_LOCAL_AUTH" in body(response)
    assert app.stored()[0][1]["Status"] == "pending"


def test_local_development_may_trust_the_header(make_app: Callable[..., App]) -> None:
    app = make_app(auth_enabled=False, local_auth="trust-header")
    _, token = app.issue()
    assert app.call(http("GET", token)).status_code == 200


# --- a decision that goes through ------------------------------------------------------------


def test_an_approval_runs_the_plan_once_and_records_who_when_where_why(app: App) -> None:
    # given a pending request and its link
    _, token = app.issue()
    # when an approver opens the page and approves with a ticket number
    response = decision(app, token, BOB, "approve", comment="CHG-4711")
    # then the plan ran once, and the request records the decision and the result
    assert response.status_code == 200, body(response)
    assert "rolled-back" in body(response)
    assert len(app.executed) == 1
    stored = app.rt.approvals().by_token(token)
    assert stored is not None
    assert stored.status == "rolled-back"
    assert stored.result["verify"] == "compliant"
    [made] = stored.decisions
    assert (made.decision, made.object_id, made.upn, made.comment) == (
        "approve",
        BOB.object_id,
        BOB.upn,
        "CHG-4711",
    )
    assert made.address == "198.51.100.7:50123"
    assert abs(datetime.fromisoformat(made.at) - datetime.now(UTC)) < timedelta(minutes=1)


def test_the_default_executor_skips_a_request_whose_baseline_is_gone(app: App) -> None:
    app.rt.executor = None
    _, token = app.issue()
    response = decision(app, token, ALICE, "approve")
    assert response.status_code == 200
    assert "the baseline is no longer deployed" in body(response)
    stored = app.rt.approvals().by_token(token)
    assert stored is not None
    assert stored.status == "rollback-skipped"


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_with_the_kill_switch_off_the_pages_decide_nothing(app: App, method: str) -> None:
    stored, token = app.issue()
    app.rt.settings = replace(app.rt.settings, rollback="off")
    response = app.call(http(method, token, form={"decision": "approve"}))
    assert response.status_code == 503
    assert "DRIFTKEEPER_ROLLBACK=off" in body(response)
    assert app.rt.approvals().by_token(token) == stored


def test_a_failing_executor_is_recorded_and_fails_the_invocation(app: App) -> None:
    def broken(req: ApprovalRequest) -> Mapping[str, Any]:
        raise RuntimeError("ARM said no")

    app.rt.executor = broken
    _, token = app.issue()
    with pytest.raises(RuntimeError, match="ARM said no"):
        decision(app, token, ALICE, "approve")
    stored = app.rt.approvals().by_token(token)
    assert stored is not None
    assert (stored.status, stored.result["error"]) == ("rollback-failed", "RuntimeError")


@pytest.mark.parametrize(("choice", "status"), [("reject", "rejected"), ("accept", "accepted")])
def test_reject_and_accept_close_without_executing(app: App, choice: str, status: str) -> None:
    _, token = app.issue()
    response = decision(app, token, ALICE, choice)
    assert response.status_code == 200
    assert app.executed == []
    stored = app.rt.approvals().by_token(token)
    assert stored is not None
    assert stored.status == status


def test_two_approvers_when_the_baseline_asks_for_two(app: App) -> None:
    _, token = app.issue(required=2)
    first = decision(app, token, ALICE, "approve")
    assert first.status_code == 200
    assert "1 more approver" in body(first)
    assert app.executed == []
    # the same approver cannot count twice: the page says so
    again = app.call(http("GET", token, who=ALICE))
    assert again.status_code == 409
    second = decision(app, token, CAROL, "approve")
    assert second.status_code == 200
    assert len(app.executed) == 1


# --- refused: every case counted in the report ------------------------------------------------


def assert_untouched(app: App, before: Any) -> None:
    assert app.stored() == before
    assert app.executed == []


@pytest.mark.parametrize(
    "token",
    ["", "x", "A" * 42, "A" * 44, "A" * 42 + "/", "A" * 42 + "%", "../../" + "A" * 37],
    ids=["empty", "short", "42", "44", "slash", "percent", "traversal"],
)
def test_malformed_tokens_are_not_found(app: App, token: str) -> None:
    _, _real = app.issue()
    before = app.stored()
    unknown = app.call(http("GET", new_token()))
    response = app.call(http("POST", token, form={"decision": "approve"}))
    assert response.status_code == unknown.status_code == 404
    assert body(response) == body(unknown)  # the same answer for both
    assert_untouched(app, before)


def test_a_forged_token_is_not_found(app: App) -> None:
    _, _real = app.issue()
    before = app.stored()
    forged = new_token()
    for method in ("GET", "POST"):
        response = app.call(http(method, forged, form={"decision": "approve", "form": "0" * 64}))
        assert response.status_code == 404
    assert_untouched(app, before)


@pytest.mark.parametrize(
    "header",
    [None, "", "not base64 at all", principal_header(ALICE, oid="not-a-guid")],
    ids=["missing", "empty", "garbage", "no-object-id"],
)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_no_principal_is_401(app: App, header: str | None, method: str) -> None:
    _, token = app.issue()
    before = app.stored()
    extra = {} if header is None else {"X-MS-CLIENT-PRINCIPAL": header}
    response = app.call(http(method, token, who=None, headers=extra, form={"decision": "approve"}))
    assert response.status_code == 401
    assert_untouched(app, before)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_principal_not_an_approver_is_403(app: App, method: str) -> None:
    _, token = app.issue()
    before = app.stored()
    response = app.call(http(method, token, who=EVE, form={"decision": "approve"}))
    assert response.status_code == 403
    assert "not an approver" in body(response)
    assert_untouched(app, before)


def test_the_actor_who_made_the_drift_cannot_approve_its_rollback(app: App) -> None:
    # given Mallory made the drift and is an approver
    _, token = app.issue()
    before = app.stored()
    page = app.call(http("GET", token, who=MALLORY))
    assert page.status_code == 403
    # even with a valid form value for herself
    key = KEY.encode()
    stored = app.rt.approvals().by_token(token)
    assert stored is not None
    value = form_value(key, stored.token_hash, MALLORY.object_id)
    response = app.call(
        http("POST", token, who=MALLORY, form={"form": value, "decision": "approve"})
    )
    assert response.status_code == 403
    assert "made the change" in body(response)
    assert_untouched(app, before)


def test_an_expired_link_is_410(app: App) -> None:
    now = datetime.now(UTC)
    _, token = app.issue(created_at=now - timedelta(hours=2), expires_at=now - timedelta(seconds=1))
    before = app.stored()
    assert app.call(http("GET", token)).status_code == 410
    stored = app.rt.approvals().by_token(token)
    assert stored is not None
    value = form_value(KEY.encode(), stored.token_hash, ALICE.object_id)
    response = app.call(http("POST", token, form={"form": value, "decision": "approve"}))
    assert response.status_code == 410
    assert_untouched(app, before)


def test_a_reused_token_is_409(app: App) -> None:
    _, token = app.issue()
    page = app.call(http("GET", token, who=CAROL))
    assert decision(app, token, ALICE, "approve").status_code == 200
    # when the link is used again (a second approver, or the same form replayed)
    replay = app.call(
        http("POST", token, who=CAROL, form={"form": form_of(page), "decision": "approve"})
    )
    assert replay.status_code == 409
    assert app.call(http("GET", token, who=CAROL)).status_code == 409
    assert len(app.executed) == 1


def test_a_replaced_link_is_dead(app: App) -> None:
    _, old = app.issue()
    changed = plan(port=22)
    _, new = app.issue(plan=changed, plan_hash=plan_hash(changed))
    assert app.call(http("GET", old)).status_code == 404
    assert app.call(http("GET", new)).status_code == 200


def test_the_plan_changed_since_voids_the_link(app: App) -> None:
    # given a page opened while the drift was the one the link was sent for
    _, token = app.issue()
    page = app.call(http("GET", token))
    # when the drift changes before the approver presses the button
    app.current_plan = plan_hash(plan(port=22))
    response = app.call(http("POST", token, form={"form": form_of(page), "decision": "approve"}))
    # then nothing runs, the request is void, and the next issue mints a fresh link
    assert response.status_code == 409
    assert "changed" in body(response)
    assert app.executed == []
    assert app.stored()[0][1]["Status"] == "void"
    _, fresh = app.rt.approvals().issue(
        request(created_at=datetime.now(UTC), expires_at=datetime.now(UTC) + timedelta(hours=1))
    )
    assert fresh is not None


def record(generation_time: str, outcome: str) -> EventRecord:
    return EventRecord(
        signal_id=str(uuid.uuid4()),
        time=generation_time,
        source="eventgrid",
        event_type="Microsoft.Resources.ResourceWriteSuccess",
        outcome=outcome,  # type: ignore[arg-type]
        resource=NSG,
        setting=NSG.lower(),
        kind="nsg",
        rule=RULE,
        severity="high",
        message="rule allow-rdp added",
    )


def test_a_token_of_another_incident_generation_is_void(make_app: Callable[..., App]) -> None:
    # given the default check (the incident itself), and an incident now at generation 2
    app = make_app(planner=False)
    incidents = Incidents(app.rt.table(app.rt.settings.incidents_table))
    incidents.observe(record("2026-11-30T10:00:00Z", "drift"))
    incidents.observe(record("2026-11-30T10:05:00Z", "compliant"))
    incidents.observe(record("2026-11-30T10:10:00Z", "drift"))
    assert incidents.get(NSG, RULE).generation == 2
    _, old = app.issue(generation=1)
    _, current = app.issue(generation=2)
    # when the link of generation 1 is used: it is void, generation 2's is served
    assert app.call(http("GET", old)).status_code == 409
    stored = app.rt.approvals().by_token(old)
    assert stored is not None
    value = form_value(KEY.encode(), stored.token_hash, ALICE.object_id)
    response = app.call(http("POST", old, form={"form": value, "decision": "approve"}))
    assert response.status_code == 409
    assert app.executed == []
    assert app.call(http("GET", current)).status_code == 200


def test_a_resolved_incident_voids_its_link(make_app: Callable[..., App]) -> None:
    app = make_app(planner=False)
    _, token = app.issue()
    assert app.call(http("GET", token)).status_code == 409  # no incident: no drift to undo


def test_a_get_never_acts_whatever_its_query_says(app: App) -> None:
    # given a pending request
    _, token = app.issue()
    before = app.stored()
    # when link scanners fetch it, with and without decision parameters
    for params in ({}, {"decision": "approve"}, {"decision": "accept", "comment": "x"}):
        response = app.call(http("GET", token, params=params))
        assert response.status_code == 200
    response = app.call(
        http("GET", token, params={"decision": "approve"}, form={"decision": "approve"})
    )
    assert response.status_code == 200
    # then nothing changed: not the row (same ETag), not the store, no execution
    assert_untouched(app, before)


@pytest.mark.parametrize(
    "form",
    [
        {"decision": "approve"},
        {"decision": "approve", "form": ""},
        {"decision": "approve", "form": "0" * 64},
        {"decision": "approve", "form": "<script>"},
    ],
    ids=["missing", "empty", "wrong", "garbage"],
)
def test_a_post_without_the_right_anti_forgery_value_is_403(app: App, form: dict[str, str]) -> None:
    _, token = app.issue()
    before = app.stored()
    response = app.call(http("POST", token, form=form))
    assert response.status_code == 403
    assert "not from this page" in body(response)
    assert_untouched(app, before)


def test_a_form_value_of_another_principal_or_token_is_403(app: App) -> None:
    _, token = app.issue()
    _, other = app.issue(rule="other-rule")
    before = app.stored()
    carol_page = app.call(http("GET", token, who=CAROL))
    other_page = app.call(http("GET", other, who=ALICE))
    for value in (form_of(carol_page), form_of(other_page)):
        response = app.call(http("POST", token, form={"form": value, "decision": "approve"}))
        assert response.status_code == 403
    assert_untouched(app, before)


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Origin": "https://evil.example"}, 403),
        ({"Referer": "https://evil.example/approvals"}, 403),
        ({"Origin": f"https://{HOST}"}, 200),
        ({"Origin": "null"}, 200),  # what a browser sends under Referrer-Policy: no-referrer
    ],
)
def test_a_post_from_another_site_is_refused(
    app: App, headers: dict[str, str], status: int
) -> None:
    _, token = app.issue()
    value = form_of(app.call(http("GET", token)))
    response = app.call(
        http("POST", token, form={"form": value, "decision": "reject"}, headers=headers)
    )
    assert response.status_code == status


@pytest.mark.parametrize(
    ("headers", "payload", "status"),
    [
        ({"Content-Type": "application/json"}, b'{"decision": "approve"}', 415),
        (
            {"Content-Type": "application/x-www-form-urlencoded"},
            b"decision=approve&" + b"x" * 9000,
            413,
        ),
        (
            {"Content-Type": "application/x-www-form-urlencoded"},
            b"decision=approve&decision=reject",
            400,
        ),
        ({"Content-Type": "application/x-www-form-urlencoded"}, b"decision=approve&extra=1", 400),
        ({"Content-Type": "application/x-www-form-urlencoded"}, b"\xff\xfe", 400),
    ],
    ids=["json", "too-large", "repeated", "unknown-field", "not-utf8"],
)
def test_a_malformed_post_is_refused(
    app: App, headers: dict[str, str], payload: bytes, status: int
) -> None:
    _, token = app.issue()
    before = app.stored()
    response = app.call(http("POST", token, headers=headers, body=payload))
    assert response.status_code == status
    assert_untouched(app, before)


def test_an_unknown_decision_is_400(app: App) -> None:
    _, token = app.issue()
    value = form_of(app.call(http("GET", token)))
    response = app.call(http("POST", token, form={"form": value, "decision": "delete"}))
    assert response.status_code == 400


def test_every_answer_carries_the_security_headers(make_app: Callable[..., App]) -> None:
    app = make_app()
    _, token = app.issue()
    answers = [
        app.call(http("GET", token)),
        app.call(http("GET", new_token())),
        app.call(http("GET", token, who=None)),
        app.call(http("POST", token, form={"decision": "approve"})),
    ]
    for response in answers:
        assert response.mimetype == "text/html"
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value
        csp = response.headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp
        assert "frame-ancestors 'none'" in csp
        assert "form-action 'self'" in csp
        assert "script-src" not in csp
        assert "unsafe-inline" not in csp


def test_the_form_key_defaults_to_one_kept_in_the_store(make_app: Callable[..., App]) -> None:
    app = make_app(approval_key="")
    _, token = app.issue()
    assert decision(app, token, ALICE, "approve").status_code == 200
    assert len(app.executed) == 1


# --- racing approvals -------------------------------------------------------------------------


@pytest.mark.parametrize("required", [1, 2])
def test_racing_approvals_execute_the_plan_once(app: App, required: int) -> None:
    # given four approvers (one of them twice) each holding the open page
    _, token = app.issue(required=required)
    racers = [ALICE, BOB, CAROL, ALICE]
    forms = [form_of(app.call(http("GET", token, who=who))) for who in racers]
    barrier = threading.Barrier(len(racers))
    statuses: list[int] = []
    errors: list[BaseException] = []

    def press(index: int) -> None:
        req = http(
            "POST", token, who=racers[index], form={"form": forms[index], "decision": "approve"}
        )
        barrier.wait()
        try:
            response = app.call(req)
        except BaseException as exc:  # collected: asserted empty below
            errors.append(exc)
            return
        with app.lock:
            statuses.append(response.status_code)

    # when they all press Approve at once (real threads, one store)
    threads = [threading.Thread(target=press, args=(i,)) for i in range(len(racers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then the plan ran exactly once, and the losers were told why
    assert errors == []
    assert len(app.executed) == 1
    assert sorted(statuses).count(409) >= len(racers) - required
    stored = app.rt.approvals().by_token(token)
    assert stored is not None
    assert stored.status == "rolled-back"
    assert len({d.object_id for d in stored.decisions}) == len(stored.decisions) == required
