"""Event Hub message bodies to signals (:mod:`driftkeeper._hub`): whatever a body holds, it is
read without raising, every item becomes a signal or an ``invalid`` row keyed the same on
every delivery, and one message whose judging fails does not hold back its batch."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import azure.functions as func
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftkeeper import Snapshot, TransientReadError
from driftkeeper._hub import parse_message, process_messages
from driftkeeper.baseline import BaselineSet, load_baselines
from driftkeeper.intake import Invalid, Parsed
from driftkeeper.live import snapshot_reader
from driftkeeper.memory import MemoryIncidents, MemoryLedger
from driftkeeper.pipeline import Pipeline, SignalResult
from driftkeeper.signals import Signal
from tests.builders import corpus

ROOT = Path(__file__).resolve().parents[2]
BURST = json.loads((ROOT / "examples/events-burst.json").read_text())
ENVELOPE = corpus("monitor/docs_entra_auditlogs_records_update_policy.json")
NOW = datetime(2026, 11, 22, 3, 30, tzinfo=UTC)


def message(body: bytes, sequence: int = 0) -> func.EventHubEvent:
    return func.EventHubEvent(body=body, enqueued_time=NOW, sequence_number=sequence)


@cache
def tenant() -> tuple[BaselineSet, Snapshot]:
    return load_baselines(ROOT / "baselines"), Snapshot.from_file(
        ROOT / "examples/tenant-drifted.json"
    )


def memory_pipeline() -> Pipeline:
    baselines, snapshot = tenant()
    reader = snapshot_reader(snapshot)
    return Pipeline(
        baselines,
        reader,
        MemoryLedger(),
        MemoryIncidents(),
        clock=lambda: NOW,
    )


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)
# records that look like the diagnostic ones, with any field replaced or dropped
records = st.builds(
    lambda base, drops, extra: {
        **{k: v for k, v in base.items() if k not in drops},
        **extra,
    },
    st.just(ENVELOPE["records"][0]),
    st.sets(st.sampled_from(sorted(ENVELOPE["records"][0]))),
    st.dictionaries(
        st.sampled_from(["category", "properties", "time", "correlationId"]), json_values
    ),
)
properties = st.builds(
    lambda drops, extra: {
        **ENVELOPE["records"][0],
        "properties": {
            **{k: v for k, v in ENVELOPE["records"][0]["properties"].items() if k not in drops},
            **extra,
        },
    },
    st.sets(st.sampled_from(sorted(ENVELOPE["records"][0]["properties"]))),
    st.dictionaries(
        st.sampled_from(
            ["id", "activityDateTime", "result", "targetResources", "initiatedBy", "category"]
        ),
        json_values,
    ),
)
bodies = (
    st.binary(max_size=200)
    | json_values.map(lambda v: json.dumps(v).encode())
    | st.lists(records | properties | json_values, max_size=4).map(
        lambda rs: json.dumps({"records": rs}).encode()
    )
)


@settings(derandomize=True, database=None)
@given(bodies)
def test_any_body_is_read_without_raising_and_keyed_the_same_each_time(body: bytes) -> None:
    parsed, skipped = parse_message(body, enqueued=NOW)
    again, skipped_again = parse_message(body, enqueued=NOW)
    assert all(isinstance(p, Signal | Invalid) for p in parsed)
    assert [p.id for p in parsed] == [p.id for p in again]  # a redelivery: the same rows
    assert skipped >= 0
    assert skipped == skipped_again
    if not parsed and not skipped:  # only an envelope with no records holds nothing
        assert json.loads(body)["records"] == []


@settings(derandomize=True, database=None)
@given(st.lists(bodies, min_size=1, max_size=5))
def test_any_batch_is_judged_and_every_message_leaves_a_row(batch: list[bytes]) -> None:
    pipeline = memory_pipeline()
    result = process_messages(pipeline, [message(b, n) for n, b in enumerate(batch)])
    assert not result.one_by_one
    assert isinstance(pipeline.ledger, MemoryLedger)
    ids = {key[0] for key in pipeline.ledger.rows}
    for body in batch:
        parsed, _ = parse_message(body, enqueued=NOW)
        assert {p.id for p in parsed} <= ids


class FailsOn:
    """A pipeline that raises ``error`` whenever a batch holds the signal ``poison``."""

    def __init__(self, inner: Pipeline, poison: str, error: Exception) -> None:
        self.inner, self.poison, self.error = inner, poison, error
        self.passes = 0

    def process(self, parsed: Iterable[Parsed]) -> list[SignalResult]:
        items = list(parsed)
        self.passes += 1
        if any(p.id == self.poison for p in items):
            raise self.error
        return self.inner.process(items)


def test_a_message_failing_its_batch_is_recorded_invalid_and_the_rest_judged() -> None:
    inner = memory_pipeline()
    pipeline = FailsOn(inner, BURST[0]["id"], ValueError("a bug, not the platform"))
    batch = [message(json.dumps(BURST[0]).encode(), 0), message(json.dumps(ENVELOPE).encode(), 1)]
    result = process_messages(pipeline, batch)
    assert result.one_by_one
    ledger = inner.ledger
    assert isinstance(ledger, MemoryLedger)
    assert [r.outcome for r in result.results] == ["invalid", "ignored"]  # the docs' policy
    outcomes = {key[0]: row.outcome for key, row in ledger.rows.items()}
    assert outcomes["Directory_VNXV4_28148892"] != "invalid"
    [poisoned] = [row for row in ledger.rows.values() if row.outcome == "invalid"]
    assert "ValueError: a bug, not the platform" in poisoned.message
    # and a redelivery rewrites the same invalid row
    process_messages(pipeline, batch)
    assert len([r for r in ledger.rows.values() if r.outcome == "invalid"]) == 1


def test_a_transient_failure_raises_for_the_platform_to_retry() -> None:
    pipeline = FailsOn(memory_pipeline(), BURST[0]["id"], TransientReadError("503"))
    with pytest.raises(TransientReadError):
        process_messages(pipeline, [message(json.dumps(BURST[:2]).encode())])
    assert pipeline.passes == 1


def test_a_body_the_worker_cannot_hand_over_is_still_recorded() -> None:
    class NoBody:
        enqueued_time = NOW
        sequence_number = 7
        partition_key = None

        def get_body(self) -> Any:
            raise ValueError("no body")

    pipeline = memory_pipeline()
    [result] = process_messages(pipeline, [NoBody()]).results
    assert (result.outcome, result.source) == ("invalid", "eventhub")


def test_an_event_grid_id_equal_to_an_audit_record_id_does_not_hide_the_record() -> None:
    # in-batch dedupe is per (source, id): an Event Grid event whose id equals an audit
    # record's id must not make the record "duplicate, seen in this batch"
    [record] = ENVELOPE["records"]
    event = {**BURST[0], "id": record["properties"]["id"]}
    pipeline = memory_pipeline()
    batch = [message(json.dumps(event).encode(), 0), message(json.dumps(ENVELOPE).encode(), 1)]

    results = process_messages(pipeline, batch).results

    assert [(r.id, r.source) for r in results] == [
        (event["id"], "eventgrid"),
        (event["id"], "audit"),
    ]
    assert "duplicate" not in [r.outcome for r in results]
    # the same event twice in one batch is still one
    again = process_messages(memory_pipeline(), [batch[0], batch[0], batch[1]]).results
    assert [r.outcome for r in again].count("duplicate") == 1
