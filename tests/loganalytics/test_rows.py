"""The Log Analytics row: the same from a record as from the table rows it became; each
value within what the service keeps; calls within 1 MB."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from driftkeeper._model import Change, EventRecord
from driftkeeper.loganalytics import (
    MAX_CALL_BYTES,
    MAX_VALUE_BYTES,
    STREAM_COLUMNS,
    calls,
    log_row,
    record_row,
)
from driftkeeper.store import OUTCOMES, record_entities

_text = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=0, max_size=40).map(lambda t: t * 900),
)


@st.composite
def records(draw: st.DrawFn) -> EventRecord:
    moment = draw(
        st.datetimes(
            min_value=datetime(2001, 1, 1), max_value=datetime(2099, 1, 1), timezones=st.just(UTC)
        )
    )
    return EventRecord(
        signal_id=draw(st.text(min_size=1, max_size=30)),
        time=moment.isoformat(),
        source="eventgrid",
        event_type=draw(st.text(max_size=20)),
        outcome=draw(st.sampled_from(OUTCOMES)),
        resource=draw(_text),
        message=draw(_text),
        actor_upn=draw(st.text(max_size=30)),
        changes=tuple(
            Change(draw(st.text(max_size=10)), None, v) for v in draw(st.lists(_text, max_size=3))
        ),
    )


@settings(max_examples=60, deadline=None)
@given(records())
def test_the_recording_path_row_is_the_table_row(record: EventRecord) -> None:
    entities = record_entities(record)
    assert record_row(record) == log_row(entities[-1], entities[:-1])


@settings(max_examples=60, deadline=None)
@given(records())
def test_every_value_fits_and_the_cut_ones_are_named(record: EventRecord) -> None:
    row = record_row(record)
    assert list(row) == [name for name, _ in STREAM_COLUMNS]
    cut = set(filter(None, row["Truncated"].split(",")))
    for name, kind in STREAM_COLUMNS:
        if kind == "string" and name not in ("Truncated",):
            assert len(json.dumps(row[name])) <= MAX_VALUE_BYTES
    assert ("Message" in cut) == (len(json.dumps(record.message)) > MAX_VALUE_BYTES)
    assert len(json.dumps(row)) < MAX_CALL_BYTES


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=2, max_value=400_000), max_size=40))
def test_calls_keep_every_row_in_order_under_1_mb(sizes: list[int]) -> None:
    rows = [{"RowKey": str(i), "Message": "x" * size} for i, size in enumerate(sizes)]
    groups = list(calls(rows))
    assert [r for g in groups for r in g] == rows
    assert all(g and len(json.dumps(g).encode()) <= MAX_CALL_BYTES for g in groups)
