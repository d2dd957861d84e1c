"""``GET /api/events`` through the registered ``events`` function, on Azurite: the access
check first, every parameter validated, JSON and CSV pages followed to the end, a tampered
or forged ``next`` refused, hostile filter values matched exactly."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import azure.functions as func
import pytest
from azure.data.tables import TableServiceClient

from driftkeeper import runtime
from driftkeeper._model import EventRecord
from driftkeeper.config import Settings
from driftkeeper.query import FIELDS, EventQuery, neutralise
from driftkeeper.rollback._principal import Principal
from driftkeeper.runtime import Runtime
from tests.query.seed import DAYS, LARGE, T0, as_row, expected, records, seed_table
from tests.rollback.builders import ALICE, EVE, principal_header

HOST = "driftkeeper.example.net"
KEY = "k3y-for-the-approval-form-0123456789abcdef"
READER = Principal("4ead0000-0000-4000-8000-000000000009", "rita@contoso.example", "Rita")
COUNT = 600
RANGE = {"from": T0.isoformat(), "to": (T0 + timedelta(days=DAYS)).isoformat()}
Call = Callable[..., func.HttpResponse]


@pytest.fixture(scope="module")
def seeded(azurite: str) -> Iterator[tuple[TableServiceClient, str, list[EventRecord]]]:
    service = TableServiceClient.from_connection_string(azurite)
    recs = records(COUNT, seed=11)
    name = f"api{uuid.uuid4().hex}"
    seed_table(service, name, recs).close()
    yield service, name, recs
    for table in list(service.list_tables()):
        if table.name.startswith(("api", "apiapprovals")):
            service.delete_table(table.name)
    service.close()


@pytest.fixture
def make_call(
    functions: dict[str, Any], seeded: tuple[TableServiceClient, str, list[EventRecord]]
) -> Iterator[Callable[..., Call]]:
    service, name, _ = seeded

    def make(**changes: Any) -> Call:
        base = Settings(
            storage_connection="UseDevelopmentStorage=true",
            events_table=name,
            approvals_table=f"apiapprovals{uuid.uuid4().hex[:8]}",
            auth_enabled=True,
            readers=(READER.object_id,),
            approvers=(ALICE.object_id,),
            approval_key=KEY,
        )
        runtime.install(Runtime(replace(base, **changes), table_service=service))
        user = functions["events"].get_user_function()

        def call(
            params: Mapping[str, str] | list[tuple[str, str]] | None = None,
            *,
            who: Principal | None = READER,
            headers: Mapping[str, str] | None = None,
            method: str = "GET",
        ) -> func.HttpResponse:
            pairs = list(params.items()) if isinstance(params, Mapping) else list(params or [])
            sent = {"Host": HOST, **(headers or {})}
            if who is not None:
                sent["X-MS-CLIENT-PRINCIPAL"] = principal_header(who)
            query = urlencode(pairs)
            return user(
                func.HttpRequest(
                    method=method,
                    url=f"https://{HOST}/api/events" + (f"?{query}" if query else ""),
                    headers=sent,
                    params=dict(pairs),
                    body=b"",
                )
            )

        return call

    yield make
    runtime.install(None)


@pytest.fixture
def call(make_call: Callable[..., Call]) -> Call:
    return make_call()


def body(response: func.HttpResponse) -> Any:
    return json.loads(response.get_body())


def follow(call: Call, params: Mapping[str, str]) -> tuple[list[dict[str, Any]], int]:
    """Every event of a query, following ``next``; and how many pages it took."""
    events: list[dict[str, Any]] = []
    pages = 0
    token = None
    while True:
        response = call({**params, **({"next": token} if token else {})})
        assert response.status_code == 200, response.get_body()[:300]
        answer = body(response)
        events.extend(answer["events"])
        pages += 1
        token = answer["next"]
        if token is None:
            return events, pages


# --- the route and the access check ------------------------------------------------------------


def test_the_route_is_registered_anonymous_for_get_only(functions: dict[str, Any]) -> None:
    binding = functions["events"].get_trigger()
    assert binding.route == "events"
    assert {str(m).upper().split(".")[-1] for m in binding.methods} == {"GET"}
    assert str(binding.auth_level).lower().endswith("anonymous")


@pytest.mark.parametrize(
    ("changes", "who", "status", "says"),
    [
        ({"auth_enabled": False}, READER, 503, "WEBSITE_AUTH_ENABLED"),
        ({}, None, 401, "not signed in"),
        ({}, EVE, 403, "not a reader or an approver"),
        ({"readers": ()}, READER, 403, "not a reader or an approver"),
    ],
)
def test_the_access_check_comes_first(
    make_call: Callable[..., Call],
    changes: dict[str, Any],
    who: Principal | None,
    status: int,
    says: str,
) -> None:
    # given a caller the access check refuses, with a bad query string too
    call = make_call(**changes)
    # when it asks
    response = call({"bogus": "1", "next": "forged"}, who=who)
    # then the refusal is a short JSON error, before the parameters are looked at
    assert response.status_code == status
    assert response.mimetype == "application/json"
    assert says in body(response)["error"]


@pytest.mark.parametrize("who", [READER, ALICE])
def test_readers_and_approvers_may_read(make_call: Callable[..., Call], who: Principal) -> None:
    response = make_call()({**RANGE, "pageSize": "5"}, who=who)
    assert response.status_code == 200
    assert len(body(response)["events"]) == 5
    assert response.headers["Cache-Control"] == "no-store"


def test_only_get_is_answered(call: Call) -> None:
    assert call(method="POST").status_code == 405


# --- pages -------------------------------------------------------------------------------------


@pytest.mark.parametrize("page_size", ["1000", "97"])
def test_json_pages_followed_to_the_end_give_every_event_once_in_order(
    call: Call, seeded: tuple[TableServiceClient, str, list[EventRecord]], page_size: str
) -> None:
    _, _, recs = seeded
    events, pages = follow(call, {**RANGE, "pageSize": page_size})
    query = EventQuery(T0, T0 + timedelta(days=DAYS))
    assert [e["signalId"] for e in events] == expected(recs, query)
    full_pages = -(-COUNT // int(page_size)) + (COUNT % int(page_size) == 0)
    # the large events (1 to 2.5 MB of JSON each) pass a page's 4 MB: a page may stop
    # before one of them, so up to one more page per large event
    assert 0 <= pages - full_pages <= LARGE
    by_id = {r.signal_id: r for r in recs}
    for event in events:
        assert set(event) == set(FIELDS)
        assert {k: event[k] for k in as_row(by_id[event["signalId"]])} == as_row(
            by_id[event["signalId"]]
        )


def test_the_default_range_is_the_last_seven_days(call: Call) -> None:
    answer = body(call())
    assert answer == {"events": [], "next": None}  # the seeded events are in July 2026


def test_filters_through_the_route(
    call: Call, seeded: tuple[TableServiceClient, str, list[EventRecord]]
) -> None:
    _, _, recs = seeded
    params = {**RANGE, "kind": "nsg", "outcome": "drift", "actor": "alice@contoso.example"}
    events, _ = follow(call, params)
    query = EventQuery(
        T0, T0 + timedelta(days=DAYS), kind="nsg", outcome="drift", actor="alice@contoso.example"
    )
    assert [e["signalId"] for e in events] == expected(recs, query)
    assert events


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("resource", "' or 1 eq 1"),
        ("resource", "(Kind eq 'nsg')"),
        ("resource", "résumé/ü-名前 😀"),
        ("actor", "' or 1 eq 1"),
        ("baseline", "x' or RowKey ne '"),
        ("baseline", "baseline (prod)"),
        ("actor", "') or true or ('"),
        ("resource", "*"),
    ],
)
def test_hostile_filter_values_match_exactly_never_more(
    call: Call,
    seeded: tuple[TableServiceClient, str, list[EventRecord]],
    name: str,
    value: str,
) -> None:
    _, _, recs = seeded
    events, _ = follow(call, {**RANGE, name: value})
    query = EventQuery(T0, T0 + timedelta(days=DAYS), **{name: value})
    assert [e["signalId"] for e in events] == expected(recs, query)
    assert all(name != "resource" or e["resource"] == value for e in events)


# --- CSV ---------------------------------------------------------------------------------------


@pytest.fixture
def large_csv_fields() -> Iterator[None]:
    """csv.reader refuses fields over 128 KiB by default; the large diffs are whole."""
    before = csv.field_size_limit(2**31 - 1)
    yield
    csv.field_size_limit(before)


@pytest.mark.parametrize(
    ("params", "headers"),
    [({"format": "csv"}, {}), ({}, {"Accept": "text/csv"})],
)
def test_csv_pages_round_trip_through_csv_reader(
    large_csv_fields: None,
    call: Call,
    seeded: tuple[TableServiceClient, str, list[EventRecord]],
    params: dict[str, str],
    headers: dict[str, str],
) -> None:
    _, _, recs = seeded
    rows: list[list[str]] = []
    token = None
    while True:
        response = call(
            {**RANGE, "pageSize": "250", **params, **({"next": token} if token else {})},
            headers=headers,
        )
        assert response.status_code == 200
        assert response.mimetype == "text/csv"
        page = list(csv.reader(io.StringIO(response.get_body().decode(), newline="")))
        assert page[0] == list(FIELDS)
        rows.extend(page[1:])
        token = response.headers.get("X-Next-Token")
        if not token:
            break
    query = EventQuery(T0, T0 + timedelta(days=DAYS))
    assert [row[FIELDS.index("signalId")] for row in rows] == expected(recs, query)
    by_id = {r.signal_id: as_row(r) for r in recs}
    injected = 0
    for row in rows:
        got = dict(zip(FIELDS, row, strict=True))
        want = by_id[got["signalId"]]
        for name in ("message", "resource", "actorUpn", "rule"):
            assert got[name] == neutralise(str(want[name]))
        assert json.loads(got["changes"]) == want["changes"]
        injected += got["message"].startswith("'")
    assert injected > 0  # formula-looking messages came back prefixed


# --- bad requests ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ([("$filter", "true")], "$filter"),
        ([("pageSize", "0")], "pageSize"),
        ([("kind", "nsg' or '1' eq '1")], "kind"),
        ([("outcome", "drift"), ("outcome", "error")], "outcome"),
        ([("from", "last week")], "from"),
        ([("from", "2025-01-01"), ("to", "2026-07-01")], "from"),
        ([("format", "xlsx")], "format"),
        ([("next", "not-a-token")], "next"),
    ],
)
def test_a_bad_parameter_is_a_400_naming_it(
    call: Call, params: list[tuple[str, str]], parameter: str
) -> None:
    response = call(params)
    assert response.status_code == 400
    answer = body(response)
    assert answer["parameter"] == parameter
    assert answer["error"].startswith(f"{parameter}: ")
    assert answer["expected"]


def test_a_query_string_of_too_many_parameters_is_a_400(call: Call) -> None:
    response = call([("kind", "nsg")] * 40)
    assert response.status_code == 400
    assert body(response)["parameter"] == "(query string)"


def first_token(call: Call, **params: str) -> str:
    answer = body(call({**RANGE, "pageSize": "10", **params}))
    assert answer["next"]
    return str(answer["next"])


def test_a_tampered_next_is_a_400(call: Call) -> None:
    token = first_token(call)
    head, _, signature = token.partition(".")
    for altered in (head[:-2] + ("AA" if head[-2:] != "AA" else "BB") + "." + signature,
                    head + "." + signature[::-1], token + "x", "." + signature, head):  # fmt: skip
        response = call({**RANGE, "pageSize": "10", "next": altered})
        assert response.status_code == 400
        assert body(response)["parameter"] == "next"


def test_a_next_signed_with_another_key_is_a_400(make_call: Callable[..., Call]) -> None:
    token = first_token(make_call(approval_key="another-key-" + "0" * 40))
    response = make_call()({**RANGE, "pageSize": "10", "next": token})
    assert response.status_code == 400


def test_a_next_used_with_other_filters_is_a_400(call: Call) -> None:
    token = first_token(call, kind="nsg")
    assert call({**RANGE, "kind": "nsg", "next": token}).status_code == 200
    response = call({**RANGE, "kind": "directory-role", "next": token})
    assert response.status_code == 400
    assert body(response)["parameter"] == "next"
    # the query is the token's: a next alone goes on with it
    alone = body(call({"next": token}))
    assert {e["kind"] for e in alone["events"]} == {"nsg"}


def test_without_an_approval_key_the_approvals_tables_key_signs(
    make_call: Callable[..., Call],
) -> None:
    call = make_call(approval_key="")
    token = first_token(call)
    assert call({**RANGE, "pageSize": "10", "next": token}).status_code == 200


def test_a_stored_lone_surrogate_never_breaks_a_page(make_call: Any, seeded: Any) -> None:
    # given a row whose diff and message hold a lone surrogate (legal in JSON, stored escaped)
    from dataclasses import replace as _replace
    from datetime import timedelta

    from driftkeeper._model import Change
    from driftkeeper.store import Ledger
    from tests.query.seed import T0

    service, name, records = seeded
    odd = _replace(
        records[100],
        signal_id="sig-lone-surrogate",
        message="note \ud800 here",
        changes=(Change("tags.note", None, "x\udfffy"),),
        time=(T0 + timedelta(days=8, hours=23, minutes=30)).isoformat().replace("+00:00", "Z"),
    )
    Ledger(service.get_table_client(name)).record([odd])
    call = make_call()
    since = (T0 + timedelta(days=8, hours=23, minutes=29)).isoformat()
    # when the page holding it is read, as JSON and as CSV
    for fmt in ("json", "csv"):
        response = call({"from": since, "to": RANGE["to"], "format": fmt})
        # then it is served, the surrogate shown as U+FFFD
        assert response.status_code == 200
        assert "note \ufffd here" in response.get_body().decode("utf-8")
