"""The Entra audit poll: cursor, overlap window, dedupe by record id, and the pipeline."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ServiceRequestError
from azure.data.tables import TableClient

import driftkeeper.audit
from driftkeeper import InputError, Snapshot, TransientReadError
from driftkeeper.audit import AuditCursor, AuditPoller, CursorStore, PollResult
from driftkeeper.baseline import load_baselines
from driftkeeper.live import AuditLogReader, snapshot_reader
from driftkeeper.memory import MemoryIncidents, MemoryLedger
from driftkeeper.pipeline import Pipeline
from driftkeeper.store import Cursors
from tests.fakes.alerts import RecordingAlerts
from tests.fakes.audit_records import ca_update, role_added
from tests.fakes.azure_rest import AzureRestServer
from tests.fakes.credentials import StaticTokenCredential

ROOT = Path(__file__).resolve().parents[1]
CA_RULE = "ca001-require-mfa-for-administrators-c0ffee00"
MFA_GUARD = "guard:ca-mfa-privileged-roles"  # the policy is report-only: no MFA for admins
NOW = datetime(2026, 11, 22, 3, 5, tzinfo=UTC)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


CA_CHANGE = ca_update("IPCGraph_c0a1b2c3-0004-4000-8000-000000000004", "2026-11-22T02:58:13Z")
ROLE_CHANGE = role_added("Directory_29ab-0001", "2026-11-22T03:00:00.5Z")
LATE_CHANGE = ca_update("IPCGraph_c0a1b2c3-0005-4000-8000-000000000005", "2026-11-22T02:59:10Z")


# --- the parts around the poller --------------------------------------------------------------
class AuditLog:
    """The audit log as Graph keeps it: records become visible when a test adds them."""

    def __init__(self, *records: dict[str, Any]) -> None:
        self.records = list(records)
        self.asked: list[tuple[datetime, tuple[str, ...]]] = []

    def list_since(
        self, since: datetime, *, categories: Sequence[str] = ("RoleManagement", "Policy")
    ) -> list[dict[str, Any]]:
        self.asked.append((since, tuple(categories)))
        found = [
            r
            for r in self.records
            if at(r["activityDateTime"]) >= since and r["category"] in categories
        ]
        return sorted(found, key=lambda r: at(r["activityDateTime"]))


class MemoryCursors:
    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def get(self, name: str) -> str | None:
        return self.values.get(name)

    def set(self, name: str, value: str) -> None:
        self.values[name] = value


def _http_error(status: int) -> HttpResponseError:
    error = HttpResponseError(message=f"{status} from the service")
    error.status_code = status
    return error


class BrokenReader:
    def read(self, kind: str, scope: str, *, newer_than: datetime | None = None) -> Snapshot:
        raise TransientReadError("graph.conditionalAccessPolicies: 503 Service Unavailable")


@pytest.fixture(params=["memory", "azurite"])
def cursors(request: pytest.FixtureRequest) -> CursorStore:
    if request.param == "memory":
        return MemoryCursors()
    make_table: Callable[..., TableClient] = request.getfixturevalue("make_table")
    return Cursors(make_table())


@pytest.fixture
def pipeline() -> Pipeline:
    return Pipeline(
        load_baselines(ROOT / "baselines"),
        snapshot_reader(Snapshot.from_file(ROOT / "examples/tenant-drifted.json")),
        MemoryLedger(),
        MemoryIncidents(),
        RecordingAlerts(),
    )


def poller(log: AuditLog, cursors: CursorStore, pipeline: Any) -> AuditPoller:
    return AuditPoller(log, cursors, pipeline, clock=lambda: NOW)


def outcomes(result: PollResult) -> dict[str, list[str]]:
    return {r.id: [f.rule for f in r.findings if f.status == "drift"] for r in result.signals}


def stored(cursors: CursorStore) -> dict[str, Any]:
    value = cursors.get("directoryAudits")
    assert value is not None
    parsed: dict[str, Any] = json.loads(value)
    return parsed


# --- the flow ---------------------------------------------------------------------------------
def test_the_first_poll_looks_back_and_finds_the_ca_drift(
    cursors: CursorStore, pipeline: Pipeline
) -> None:
    log = AuditLog(CA_CHANGE, ROLE_CHANGE)

    result = poller(log, cursors, pipeline).poll()

    assert log.asked == [(at("2026-11-22T01:55:00Z"), ("Policy", "RoleManagement"))]
    assert result.records_read == 2
    assert [r.outcome for r in result.signals] == ["evaluated", "evaluated"]
    assert outcomes(result) == {CA_CHANGE["id"]: [CA_RULE, MFA_GUARD], ROLE_CHANGE["id"]: []}
    assert result.cursor_before is None
    assert result.cursor_after == AuditCursor(
        at("2026-11-22T03:00:00.5Z"), frozenset({CA_CHANGE["id"], ROLE_CHANGE["id"]})
    )
    assert stored(cursors) == {
        "time": "2026-11-22T03:00:00.500000Z",
        "ids": sorted([CA_CHANGE["id"], ROLE_CHANGE["id"]]),
    }
    assert isinstance(pipeline.alerts, RecordingAlerts)
    assert pipeline.alerts.sent == [
        (CA_CHANGE["id"], CA_RULE, "opened"),
        (CA_CHANGE["id"], MFA_GUARD, "opened"),
    ]


def test_a_late_record_inside_the_overlap_is_the_only_one_processed(
    cursors: CursorStore, pipeline: Pipeline
) -> None:
    log = AuditLog(CA_CHANGE, ROLE_CHANGE)
    polls = poller(log, cursors, pipeline)
    first = polls.poll()
    log.records.append(LATE_CHANGE)  # older than the cursor: it reached Graph late

    second = polls.poll()

    assert log.asked[1][0] == at("2026-11-22T02:50:00Z")  # cursor - 10 min, whole seconds
    assert (second.records_read, second.records_skipped) == (3, 2)
    assert [(r.id, r.outcome) for r in second.signals] == [(LATE_CHANGE["id"], "evaluated")]
    assert outcomes(second) == {LATE_CHANGE["id"]: [CA_RULE, MFA_GUARD]}
    assert second.cursor_before == first.cursor_after
    assert second.cursor_after is not None
    assert second.cursor_after.time == at("2026-11-22T03:00:00.5Z")  # never backwards
    assert second.cursor_after.ids == {CA_CHANGE["id"], ROLE_CHANGE["id"], LATE_CHANGE["id"]}
    assert AuditCursor.from_json(cursors.get("directoryAudits") or "") == second.cursor_after
    assert isinstance(pipeline.alerts, RecordingAlerts)
    # no re-alert: one per incident, from the first poll
    assert [transition for *_, transition in pipeline.alerts.sent] == ["opened", "opened"]

    third = polls.poll()

    assert (third.records_read, third.records_skipped, third.signals) == (3, 3, [])
    assert third.cursor_after == second.cursor_after


def test_the_cursor_advances_and_keeps_only_the_ids_the_next_poll_reads_again(
    cursors: CursorStore, pipeline: Pipeline
) -> None:
    log = AuditLog(CA_CHANGE, ROLE_CHANGE)
    polls = poller(log, cursors, pipeline)
    polls.poll()
    newer = role_added("Directory_29ab-0002", "2026-11-22T03:20:00Z")
    log.records.append(newer)

    result = polls.poll()

    assert [r.id for r in result.signals] == [newer["id"]]
    assert stored(cursors) == {"time": "2026-11-22T03:20:00Z", "ids": [newer["id"]]}

    polls.poll()

    assert log.asked[-1][0] == at("2026-11-22T03:10:00Z")


def test_a_failing_pipeline_leaves_the_cursor_and_the_next_poll_rereads(
    cursors: CursorStore, pipeline: Pipeline
) -> None:
    log = AuditLog(CA_CHANGE)
    poller(log, cursors, pipeline).poll()
    before = cursors.get("directoryAudits")
    log.records.append(ROLE_CHANGE)
    broken = Pipeline(
        pipeline.baselines, BrokenReader(), MemoryLedger(), MemoryIncidents(), RecordingAlerts()
    )

    with pytest.raises(TransientReadError):
        poller(log, cursors, broken).poll()

    assert cursors.get("directoryAudits") == before
    result = poller(log, cursors, pipeline).poll()
    assert [r.id for r in result.signals] == [ROLE_CHANGE["id"]]
    assert stored(cursors)["time"] == "2026-11-22T03:00:00.500000Z"


def test_a_failing_read_leaves_the_cursor(cursors: CursorStore, pipeline: Pipeline) -> None:
    class Throttled(AuditLog):
        def list_since(self, since: datetime, **kwargs: Any) -> list[dict[str, Any]]:
            raise TransientReadError("auditLogs.directoryAudits: 429 Too Many Requests")

    cursors.set("directoryAudits", "2026-11-22T02:00:00Z")

    with pytest.raises(TransientReadError):
        poller(Throttled(), cursors, pipeline).poll()

    assert cursors.get("directoryAudits") == "2026-11-22T02:00:00Z"


class FailingReader:
    """A state reader that raises ``error`` for every read."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def read(self, kind: str, scope: str, *, newer_than: datetime | None = None) -> Snapshot:
        raise self.error


EARLIER_ROLE_CHANGE = {**ROLE_CHANGE, "activityDateTime": "2026-11-22T02:59:00Z"}


class RawLog:
    """An audit log that returns its records as they are, whatever their times."""

    def __init__(self, *records: Any) -> None:
        self.records = list(records)

    def list_since(self, since: datetime, **kwargs: Any) -> list[Any]:
        return list(self.records)


def _with_pipeline(pipeline: Pipeline, reader: Any) -> Pipeline:
    return Pipeline(
        pipeline.baselines, reader, MemoryLedger(), MemoryIncidents(), RecordingAlerts()
    )


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(TransientReadError("graph: 503 Service Unavailable"), id="transient-read"),
        pytest.param(ServiceRequestError("connection refused"), id="store-unreachable"),
        pytest.param(_http_error(503), id="http-503"),
        pytest.param(_http_error(429), id="http-429"),
    ],
)
def test_a_transient_failure_fails_the_poll_and_leaves_the_cursor(
    cursors: CursorStore, pipeline: Pipeline, error: Exception
) -> None:
    # given a stored cursor and a record past it
    cursors.set("directoryAudits", "2026-11-22T02:00:00Z")
    broken = _with_pipeline(pipeline, FailingReader(error))
    # when judging it fails in a way a retry may fix, then the poll fails
    with pytest.raises(type(error)):
        poller(AuditLog(CA_CHANGE), cursors, broken).poll()
    # and the cursor did not move: the next poll reads the record again
    assert cursors.get("directoryAudits") == "2026-11-22T02:00:00Z"


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        pytest.param(ValueError("bad\x00 input\n"), "ValueError: bad? input", id="bug"),
        pytest.param(_http_error(400), "HttpResponseError", id="http-400"),
        pytest.param(RecursionError("too deep"), "RecursionError: too deep", id="recursion"),
    ],
)
def test_a_poison_record_is_recorded_invalid_and_the_cursor_moves_past_it(
    cursors: CursorStore, pipeline: Pipeline, error: Exception, reason: str
) -> None:
    # given a record whose judging raises something a retry cannot fix
    broken = _with_pipeline(pipeline, FailingReader(error))
    # when the poll runs, then it completes
    result = poller(AuditLog(CA_CHANGE), cursors, broken).poll()
    # and the record is invalid, with the error as its reason, in the event table too
    [signal] = result.signals
    assert (signal.id, signal.outcome) == (CA_CHANGE["id"], "invalid")
    assert signal.reason.startswith("not processed: ")
    assert reason in signal.reason
    assert isinstance(broken.ledger, MemoryLedger)
    [row] = broken.ledger.rows.values()
    assert (row.outcome, row.message) == ("invalid", signal.reason)
    # and the cursor moved past it: the next poll does not process it again
    assert stored(cursors) == {"time": "2026-11-22T02:58:13Z", "ids": [CA_CHANGE["id"]]}
    assert poller(AuditLog(CA_CHANGE), cursors, broken).poll().signals == []


@pytest.mark.parametrize(
    "poison",
    [
        pytest.param({"activityDisplayName": "\ud800", "activityDateTime": 3}, id="no-id"),
        pytest.param({**EARLIER_ROLE_CHANGE, "id": None, "category": "\ud800"}, id="null-id"),
        pytest.param({**EARLIER_ROLE_CHANGE, "id": "x" * 5000}, id="huge-id"),
        pytest.param(
            {**ROLE_CHANGE, "id": "future", "activityDateTime": "9999-01-01T00:00:00Z"},
            id="far-future",
        ),
        pytest.param(
            {**EARLIER_ROLE_CHANGE, "initiatedBy": [], "targetResources": "x"}, id="wrong-types"
        ),
        pytest.param(["not", "a", "record"], id="a-list"),
    ],
)
def test_a_hostile_record_neither_stops_nor_poisons_the_cursor(
    cursors: CursorStore, pipeline: Pipeline, poison: Any
) -> None:
    # given a hostile record among good ones
    log = RawLog(CA_CHANGE, poison, LATE_CHANGE)
    # when the poll runs, then it completes and reports every record
    result = poller(log, cursors, pipeline).poll()  # type: ignore[arg-type]
    assert len(result.signals) == 3
    assert {CA_CHANGE["id"], LATE_CHANGE["id"]} <= {
        r.id for r in result.signals if r.outcome != "invalid"
    }
    assert all(r.reason for r in result.signals if r.outcome == "invalid")
    # and the cursor stands at the newest good record, holding only ids a record can have
    cursor = stored(cursors)
    assert cursor["time"] == "2026-11-22T02:59:10Z"
    assert all(len(ident) <= 1024 for ident in cursor["ids"])
    assert {CA_CHANGE["id"], LATE_CHANGE["id"]} <= set(cursor["ids"])


def test_nothing_read_stores_nothing(cursors: CursorStore, pipeline: Pipeline) -> None:
    result = poller(AuditLog(), cursors, pipeline).poll()

    assert (result.records_read, result.signals, result.cursor_after) == (0, [], None)
    assert cursors.get("directoryAudits") is None


def test_a_record_repeated_in_one_read_is_processed_once(pipeline: Pipeline) -> None:
    cursors = MemoryCursors()
    log = AuditLog(CA_CHANGE, ROLE_CHANGE, CA_CHANGE)  # paging shifted under the reader

    result = poller(log, cursors, pipeline).poll()

    assert sorted(r.id for r in result.signals) == sorted([CA_CHANGE["id"], ROLE_CHANGE["id"]])
    assert result.records_skipped == 1


# --- the cursor value -------------------------------------------------------------------------
def test_a_bare_timestamp_sets_where_the_poll_starts(pipeline: Pipeline) -> None:
    cursors = MemoryCursors()
    cursors.set("directoryAudits", "2026-11-22T03:00:00Z")
    log = AuditLog(CA_CHANGE, ROLE_CHANGE)

    result = poller(log, cursors, pipeline).poll()

    assert log.asked[0][0] == at("2026-11-22T02:50:00Z")
    assert result.cursor_before == AuditCursor(at("2026-11-22T03:00:00Z"))
    assert len(result.signals) == 2


@pytest.mark.parametrize(
    "value", ["yesterday", '{"ids": []}', '{"time": "2026-11-22T03:00:00Z", "ids": "x"}', "{"]
)
def test_an_unreadable_cursor_raises_input_error(pipeline: Pipeline, value: str) -> None:
    cursors = MemoryCursors()
    cursors.set("directoryAudits", value)
    log = AuditLog(CA_CHANGE)

    with pytest.raises(InputError, match="cursor 'directoryAudits' is unreadable"):
        poller(log, cursors, pipeline).poll()

    assert log.asked == []


def test_a_full_cursor_keeps_the_newest_ids(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(driftkeeper.audit, "MAX_CURSOR_CHARS", 200)
    start = at("2026-11-22T02:58:00Z")
    records = [
        role_added(f"Directory_{n:04d}", (start + timedelta(seconds=n)).isoformat())
        for n in range(20)
    ]
    cursors = MemoryCursors()

    with caplog.at_level(logging.WARNING, logger="driftkeeper.audit"):
        result = poller(AuditLog(*records), cursors, pipeline).poll()

    value = cursors.get("directoryAudits") or ""
    assert len(value) <= 200
    kept = json.loads(value)["ids"]
    assert kept == [f"Directory_{n:04d}" for n in range(20 - len(kept), 20)]
    assert result.cursor_after is not None
    assert result.cursor_after.time == start + timedelta(seconds=19)
    assert "may be processed again" in caplog.text


def test_negative_windows_are_refused(pipeline: Pipeline) -> None:
    with pytest.raises(ValueError, match="negative"):
        AuditPoller(AuditLog(), MemoryCursors(), pipeline, overlap=timedelta(minutes=-1))


# --- end to end: Graph stand-in, Azurite cursors ---------------------------------------------
@pytest.fixture
def audit_reader(
    azure_rest_server: AzureRestServer, token_credential: StaticTokenCredential
) -> Iterator[AuditLogReader]:
    with AuditLogReader(
        token_credential,
        graph_endpoint=azure_rest_server.graph_endpoint,
        connection_verify=str(azure_rest_server.ca_file),
        retry_delay=0,
    ) as reader:
        yield reader


def test_polling_graph_into_the_table_store(
    azure_rest_server: AzureRestServer,
    audit_reader: AuditLogReader,
    make_table: Callable[..., TableClient],
    pipeline: Pipeline,
) -> None:
    azure_rest_server.page_size = 1
    azure_rest_server.data["graph.directoryAudits"] = [ROLE_CHANGE, CA_CHANGE]
    cursors = Cursors(make_table())
    polls = AuditPoller(audit_reader, cursors, pipeline, clock=lambda: NOW)

    first = polls.poll()
    azure_rest_server.data["graph.directoryAudits"].append(LATE_CHANGE)
    second = polls.poll()

    assert outcomes(first) == {CA_CHANGE["id"]: [CA_RULE, MFA_GUARD], ROLE_CHANGE["id"]: []}
    assert [r.id for r in second.signals] == [LATE_CHANGE["id"]]
    filters = [r.query["$filter"][0] for r in azure_rest_server.requests if "$filter" in r.query]
    assert filters[0].startswith("activityDateTime ge 2026-11-22T01:55:00Z and (")
    assert filters[-1].startswith("activityDateTime ge 2026-11-22T02:50:00Z and (")
    assert stored(cursors)["time"] == "2026-11-22T03:00:00.500000Z"
