"""Hostile events through the registered Event Grid functions, as the host calls them: the
live reader against the local ARM/Graph stand-in, Azurite as the store, a local Teams webhook.

No event fails its trigger (only a store or an API being unavailable may), every event is
logged with its outcome, and every event leaves its rows: an ``invalid`` one with a reason.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import azure.functions as func
import pytest
from azure.data.tables import TableServiceClient
from hypothesis import given, settings
from hypothesis import strategies as st

from driftkeeper import runtime
from driftkeeper._model import EventRecord
from driftkeeper.live import CoalescingReader, ResourceReader
from driftkeeper.runtime import Runtime
from driftkeeper.store import Ledger
from tests.fakes.azure_rest import AzureRestServer
from tests.fakes.azurite import drop_app_tables
from tests.fakes.receivers import HttpReceiver
from tests.fuzz.conftest import FUZZ_SETTINGS, report
from tests.fuzz.strategies import FUZZ_ITEMS, cloud_events, grid_events
from tests.handlers.test_resource_events import SINCE, install_runtime

ROOT = Path(__file__).resolve().parents[2]
DRIFTED = json.loads((ROOT / "examples/tenant-drifted.json").read_text())
BATCH = 25
"""Events drawn per hypothesis example (each one its own invocation, as the host does)."""


PLAIN_PATH = re.compile(r"(/[A-Za-z0-9_.()~%:@+-]+)+")
"""A request path built only from validated, percent-encoded segments."""


@pytest.fixture
def live_app(
    azure_rest_server: AzureRestServer,
    token_credential: Any,
    azurite: str,
    http_receiver: HttpReceiver,
) -> Iterator[tuple[Runtime, AzureRestServer]]:
    azure_rest_server.data = {
        f"{group}.{name}": value
        for group in ("arm", "graph")
        for name, value in DRIFTED[group].items()
    }
    inner = ResourceReader(
        token_credential,
        arm_endpoint=azure_rest_server.arm_endpoint,
        graph_endpoint=azure_rest_server.graph_endpoint,
        connection_verify=azure_rest_server.ca_file,
        max_retries=0,
        retry_delay=0,
    )
    service = TableServiceClient.from_connection_string(azurite)
    rt = install_runtime(
        azurite, CoalescingReader(inner), f"{http_receiver.url}/workflows/teams",
        table_service=service,
    )  # fmt: skip
    yield rt, azure_rest_server
    inner.close()
    drop_app_tables(service)
    runtime.install(None)


def _time(value: Any) -> Any:
    """What the worker would hand over: a datetime when the text is one, else as sent."""
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return value
    return value


def trigger_event(doc: dict[str, Any]) -> func.EventGridEvent | func.CloudEvent:
    if "specversion" in doc:
        known = {"specversion", "id", "source", "type", "time", "subject", "data"}
        extensions = {k: v for k, v in doc.items() if k not in known}
        return func.CloudEvent(
            id=doc.get("id"),  # type: ignore[arg-type]
            source=doc.get("source"),  # type: ignore[arg-type]
            type=doc.get("type"),  # type: ignore[arg-type]
            specversion=doc.get("specversion"),  # type: ignore[arg-type]
            time=_time(doc.get("time")),
            subject=doc.get("subject"),
            data=doc.get("data"),
            **extensions,
        )
    return func.EventGridEvent(
        id=doc.get("id"),  # type: ignore[arg-type]
        data=doc.get("data"),
        topic=doc.get("topic"),  # type: ignore[arg-type]
        subject=doc.get("subject"),  # type: ignore[arg-type]
        event_type=doc.get("eventType"),  # type: ignore[arg-type]
        event_time=_time(doc.get("eventTime")),
        data_version=doc.get("dataVersion"),  # type: ignore[arg-type]
    )


def test_hostile_events_through_the_functions_are_recorded_and_acknowledged(
    functions: dict[str, Any],
    live_app: tuple[Runtime, AzureRestServer],
    caplog: pytest.LogCaptureFixture,
) -> None:
    app, server = live_app
    caplog.set_level(logging.INFO, logger="handlers")
    delivered = 0
    outcomes: list[tuple[str, str]] = []
    started = time.monotonic()

    @settings(FUZZ_SETTINGS, max_examples=max(FUZZ_ITEMS // BATCH, 1))
    @given(st.lists(st.one_of(grid_events, cloud_events), min_size=BATCH, max_size=BATCH))
    def deliver(docs: list[dict[str, Any]]) -> None:
        nonlocal delivered
        for doc in docs:
            name = "graph_events" if "specversion" in doc else "arm_events"
            caplog.clear()
            # when the host calls the function: it returns (no retry), whatever the event
            functions[name].get_user_function()(trigger_event(doc))
            delivered += 1
            # then it logged one outcome for the event
            [logged] = [r for r in caplog.records if hasattr(r, "outcome")]
            outcomes.append((logged.signal_id, logged.outcome))

    deliver()

    assert delivered == len(outcomes) >= FUZZ_ITEMS // BATCH * BATCH
    rows = Ledger(app.table(app.settings.events_table)).query(since=SINCE)
    assert_rows_cover(outcomes, rows)
    # and nothing from an event reached ARM or Graph but validated, encoded path segments
    paths = {r.path for r in server.requests}
    assert paths  # the plausible events were read, not only refused
    for path in paths:
        assert PLAIN_PATH.fullmatch(path), path
        assert not {".", ".."} & set(path.split("/")), path
    counts = Counter(outcome for _, outcome in outcomes)
    ids = len({ident for ident, _ in outcomes})
    report("functions", started, items=delivered, ids=ids, rows=len(rows), outcomes=counts)


def assert_rows_cover(outcomes: list[tuple[str, str]], rows: list[EventRecord]) -> None:
    """Every item left a row, every row belongs to an item, every invalid row says why.

    Items that share an id (and time) are one event delivered again, as Event Grid does:
    their row is the last delivery's, so only an id judged one way is held to its outcome.
    """
    by_id: dict[str, set[str]] = {}
    for row in rows:
        by_id.setdefault(row.signal_id, set()).add(row.outcome)
        if row.outcome == "invalid":
            assert row.message.strip(), row
    logged: dict[str, set[str]] = {}
    for ident, outcome in outcomes:
        logged.setdefault(ident, set()).add(outcome)
    assert set(by_id) == set(logged)
    for ident, seen in logged.items():
        if len(seen) > 1:
            continue
        [outcome] = seen
        if outcome in ("invalid", "ignored", "self"):
            assert outcome in by_id[ident], (ident, outcome, by_id[ident])
