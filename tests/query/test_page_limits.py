"""``next`` tokens expire an hour after they were issued (a 400 that says so), and a page
stops at its byte limit, the next one resuming at the first event left out."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from azure.data.tables import TableClient, TableServiceClient
from hypothesis import given
from hypothesis import strategies as st

from driftkeeper._model import EventRecord
from driftkeeper.query import Cursor, EventQuery, ParameterError, read_page, read_token, write_token
from driftkeeper.query._cursor import TOKEN_TTL, derive_key

from .paging import read_all
from .seed import DAYS, LARGE, T0, expected, records, seed_table

KEY = derive_key(b"k" * 32)
NOW = datetime(2026, 7, 1, 12, tzinfo=UTC)
QUERY = EventQuery(NOW - timedelta(days=3), NOW, kind="nsg")
CURSOR = Cursor(QUERY, "20260630", "2026-06-30T10:00:00.000000Z|3f2a9c0d51e4b7a8")


@given(st.integers(min_value=0, max_value=int(TOKEN_TTL.total_seconds())))
def test_a_token_is_accepted_for_an_hour(seconds: int) -> None:
    token = write_token(KEY, CURSOR, now=NOW)
    assert read_token(KEY, token, now=NOW + timedelta(seconds=seconds)) == CURSOR


@given(st.integers(min_value=int(TOKEN_TTL.total_seconds()) + 1, max_value=10**9))
def test_then_it_expires_with_a_clear_400(seconds: int) -> None:
    token = write_token(KEY, CURSOR, now=NOW)
    with pytest.raises(ParameterError) as raised:
        read_token(KEY, token, now=NOW + timedelta(seconds=seconds))
    assert raised.value.parameter == "next"
    assert "expired" in str(raised.value)
    assert "start the query again" in str(raised.value)


def test_a_token_from_the_future_is_refused() -> None:
    token = write_token(KEY, CURSOR, now=NOW + timedelta(hours=2))
    with pytest.raises(ParameterError):
        read_token(KEY, token, now=NOW)
    assert read_token(KEY, write_token(KEY, CURSOR, now=NOW + timedelta(minutes=4)), now=NOW)


def test_a_resume_token_round_trips() -> None:
    cursor = Cursor(QUERY, "", None, resume="2026-06-30T10:00:00.000000Z|3f2a9c0d51e4b7a8")
    back = read_token(KEY, write_token(KEY, cursor, now=NOW), now=NOW)
    assert back == cursor
    assert back.continuation() is None


@pytest.fixture(scope="module")
def seeded(azurite: str) -> Iterator[tuple[TableClient, list[EventRecord]]]:
    service = TableServiceClient.from_connection_string(azurite)
    recs = records(300)  # the first LARGE events spill into continuation rows
    name = f"q{uuid.uuid4().hex}"
    table = seed_table(service, name, recs)
    yield table, recs
    service.delete_table(name)


ALL = EventQuery(T0, T0 + timedelta(days=DAYS))


@pytest.mark.parametrize(
    ("max_bytes", "page_size"), [(50_000, 1000), (1_500_000, 100), (4_000_000, 1000)]
)
def test_byte_limited_pages_return_every_event_exactly_once(
    seeded: tuple[TableClient, list[EventRecord]], max_bytes: int, page_size: int
) -> None:
    table, recs = seeded
    events, _ = read_all(table, ALL, page_size, max_bytes=max_bytes)
    assert [e["signalId"] for e in events] == expected(recs, ALL)


def test_a_page_stays_within_its_bytes_unless_one_event_is_larger(
    seeded: tuple[TableClient, list[EventRecord]],
) -> None:
    table, _ = seeded
    page = read_page(table, ALL, page_size=1000, max_bytes=100_000)
    assert page.resume is not None
    assert page.continuation is None
    size = sum(len(json.dumps(e)) + 1 for e in page.events)
    assert size <= 100_000 or len(page.events) == 1
    assert LARGE >= 1
