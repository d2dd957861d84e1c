"""AuditLogReader against the local Graph stand-in: filter, paging, retries and refusals."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from driftkeeper import InputError, ReadError, TransientReadError
from driftkeeper.intake import parse_events
from driftkeeper.live import AuditLogReader
from driftkeeper.signals import Signal
from tests.fakes.audit_records import CA_POLICY, GA, MEMBER, ca_update, role_added
from tests.fakes.azure_rest import AzureRestServer, directory_audit
from tests.fakes.credentials import StaticAsyncTokenCredential, StaticTokenCredential

AUDITS = "/auditLogs/directoryAudits"
SINCE = datetime(2026, 11, 22, 2, 50, 0, 500_000, tzinfo=UTC)
FILTER = (
    "activityDateTime ge 2026-11-22T02:50:00Z"
    " and (category eq 'Policy' or category eq 'RoleManagement')"
)


def user_updated(ident: str, when: str) -> dict[str, Any]:
    return directory_audit(
        ident,
        when,
        category="UserManagement",
        activity="Update user",
        target={"id": MEMBER, "displayName": "Eve", "type": "User", "modifiedProperties": []},
    )


# Out of order on purpose; two are outside the filter (too old, another category).
RECORDS = [
    role_added("Directory_role-0003", "2026-11-22T03:00:00.1234567Z"),
    ca_update("IPCGraph_ca-0001", "2026-11-22T02:58:13.0000000Z"),
    ca_update("IPCGraph_ca-0000", "2026-11-22T02:49:59.9999999Z"),
    user_updated("Directory_user-0002", "2026-11-22T02:59:00Z"),
    role_added("Directory_role-0002", "2026-11-22T02:59:30Z"),
    ca_update("IPCGraph_ca-0004", "2026-11-22T02:50:00Z"),
]
EXPECTED = ["IPCGraph_ca-0004", "IPCGraph_ca-0001", "Directory_role-0002", "Directory_role-0003"]


@pytest.fixture
def server(azure_rest_server: AzureRestServer) -> AzureRestServer:
    azure_rest_server.data["graph.directoryAudits"] = RECORDS
    azure_rest_server.page_size = 2
    return azure_rest_server


def make_reader(server: AzureRestServer, credential: Any, **options: Any) -> AuditLogReader:
    return AuditLogReader(
        credential,
        graph_endpoint=server.graph_endpoint,
        connection_verify=str(server.ca_file),
        retry_delay=0,
        **options,
    )


@pytest.fixture
def reader(
    server: AzureRestServer, token_credential: StaticTokenCredential
) -> Iterator[AuditLogReader]:
    with make_reader(server, token_credential) as reader:
        yield reader


def test_the_filter_is_sent_and_every_page_is_read(
    server: AzureRestServer, reader: AuditLogReader
) -> None:
    records = reader.list_since(SINCE)

    assert [r["id"] for r in records] == EXPECTED
    sent = server.requests_to(AUDITS)
    assert [r.status for r in sent] == [200, 200]  # 4 records, 2 a page
    assert sent[0].query["$filter"] == [FILTER]
    assert sent[0].query["$orderby"] == ["activityDateTime asc"]
    assert [r.skiptoken for r in sent] == [None, "2"]
    assert all(r.bearer for r in sent)


def test_the_records_parse_as_audit_signals(reader: AuditLogReader) -> None:
    parsed = parse_events(reader.list_since(SINCE))

    assert all(isinstance(p, Signal) for p in parsed)
    by_id = {p.id: p for p in parsed if isinstance(p, Signal)}
    policy, role = by_id["IPCGraph_ca-0001"], by_id["Directory_role-0003"]
    assert (policy.source, policy.category, policy.status) == ("audit", "Policy", "succeeded")
    assert policy.operation == "Update conditional access policy"
    assert policy.targets == (f"policy:{CA_POLICY}",)
    assert policy.actor.upn == "mallory@contoso.example"
    assert policy.time.startswith("2026-11-22T02:58:13")
    assert role.category == "RoleManagement"
    assert role.targets == (f"user:{MEMBER}", f"roletemplate:{GA}")


def test_categories_narrow_the_filter(server: AzureRestServer, reader: AuditLogReader) -> None:
    records = reader.list_since(
        SINCE.astimezone(timezone(timedelta(hours=2))), categories=["Policy"]
    )

    assert [r["id"] for r in records] == ["IPCGraph_ca-0004", "IPCGraph_ca-0001"]
    assert server.requests_to(AUDITS)[0].query["$filter"] == [
        "activityDateTime ge 2026-11-22T02:50:00Z and (category eq 'Policy')"
    ]


def test_nothing_new_is_an_empty_list(server: AzureRestServer, reader: AuditLogReader) -> None:
    assert reader.list_since(datetime(2026, 11, 23, tzinfo=UTC)) == []


@pytest.mark.parametrize(
    ("since", "categories", "error"),
    [
        (datetime(2026, 11, 22, 2, 50), ("Policy",), InputError),  # naive
        (SINCE, ("Policy') or (category eq 'x",), InputError),
        (SINCE, ("Role Management",), InputError),
        (SINCE, (), InputError),
        (SINCE, "Policy", TypeError),
    ],
)
def test_bad_arguments_are_refused_before_any_request(
    server: AzureRestServer,
    reader: AuditLogReader,
    since: datetime,
    categories: Any,
    error: type[Exception],
) -> None:
    with pytest.raises(error):
        reader.list_since(since, categories=categories)

    assert server.requests == []


def test_throttling_is_retried_on_any_page(server: AzureRestServer, reader: AuditLogReader) -> None:
    server.fail(AUDITS, 429, times=2, retry_after=None)

    records = reader.list_since(SINCE)

    assert [r["id"] for r in records] == EXPECTED
    assert [r.status for r in server.requests_to(AUDITS)] == [429, 429, 200, 200]


def test_persistent_503_raises_transient_read_error(
    server: AzureRestServer, token_credential: StaticTokenCredential
) -> None:
    server.fail(AUDITS, 503, times=None, retry_after=None)

    with (
        make_reader(server, token_credential, max_retries=1) as reader,
        pytest.raises(TransientReadError, match=r"503 Service Unavailable.*after retries"),
    ):
        reader.list_since(SINCE)

    assert [r.status for r in server.requests_to(AUDITS)] == [503, 503]


def test_forbidden_raises_read_error_with_status_and_code(
    server: AzureRestServer,
    reader: AuditLogReader,
    bearer_token: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server.fail(
        AUDITS,
        403,
        code="Authorization_RequestDenied",
        message="Insufficient privileges to complete the operation.",
    )
    caplog.set_level(logging.DEBUG)

    with pytest.raises(ReadError) as info:
        reader.list_since(SINCE)

    assert not isinstance(info.value, TransientReadError)
    message = str(info.value)
    assert "403 Forbidden: Authorization_RequestDenied: Insufficient privileges" in message
    assert bearer_token not in message
    assert bearer_token not in caplog.text
    assert len(server.requests_to(AUDITS)) == 1  # a refusal is not retried


def test_the_client_is_built_once_and_closed(
    server: AzureRestServer,
    token_credential: StaticTokenCredential,
    async_token_credential: StaticAsyncTokenCredential,
) -> None:
    reader = make_reader(server, token_credential, async_credential=async_token_credential)
    reader.list_since(SINCE)
    reader.list_since(SINCE)
    reader.close()
    reader.close()

    assert token_credential.requested_scopes == []  # the async credential signs Graph calls
    assert set(async_token_credential.requested_scopes) == {("http://127.0.0.1/.default",)}
    with pytest.raises(RuntimeError, match="closed"):
        reader.list_since(SINCE)


# --- the stand-in's own contract ----------------------------------------------------------------
@pytest.mark.parametrize(
    "query",
    [
        "$filter=activityDateTime ge yesterday",
        "$filter=activityDateTime ge 2026-11-22T02:50:00",  # no offset
        "$filter=startswith(activityDisplayName,'Add')",
        "$filter=(category eq 'Policy' and category eq 'RoleManagement')",
        "$orderby=category",
    ],
)
def test_the_stand_in_refuses_what_it_does_not_support(server: AzureRestServer, query: str) -> None:
    answer = server.handle("graph", "GET", f"/v1.0{AUDITS}?{query}", "Bearer t")

    assert answer.status == 400


def test_the_stand_in_orders_newest_first_and_reads_by_id(server: AzureRestServer) -> None:
    newest = server.handle(
        "graph", "GET", f"/v1.0{AUDITS}?$orderby=activityDateTime desc", "Bearer t"
    )
    one = server.handle("graph", "GET", f"/v1.0{AUDITS}/ipcgraph_ca-0001", "Bearer t")

    assert [r["id"] for r in newest.body["value"]] == ["Directory_role-0003", "Directory_role-0002"]
    assert one.status == 200
    assert one.body["id"] == "IPCGraph_ca-0001"
