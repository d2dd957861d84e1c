"""One page at a time over 2,000 seeded events on Azurite: filters as a pure Python filter
says (hostile values matched exactly, never more); empty service pages followed up to a
bound; large events joined from their continuation rows. The 10,000-event paging is in
``test_paging_10000.py``."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from datetime import timedelta

import pytest
from azure.data.tables import TableClient, TableServiceClient
from hypothesis import given, settings
from hypothesis import strategies as st

from driftkeeper._model import EventRecord
from driftkeeper._time import parse_time
from driftkeeper.query import MAX_REQUESTS, EventQuery, read_page

from .paging import Counting, read_all
from .seed import (
    DAYS,
    HOSTILE,
    KINDS,
    LARGE,
    OBJECT_IDS,
    OUTCOMES,
    RESOURCES,
    RULES,
    SEVERITIES,
    T0,
    UPNS,
    as_row,
    expected,
    records,
    seed_table,
)

COUNT = 2_000
EVERYTHING = EventQuery(T0, T0 + timedelta(days=DAYS))


@pytest.fixture(scope="module")
def seeded(azurite: str) -> Iterator[tuple[TableClient, list[EventRecord]]]:
    """2,000 events in a table of this module, written once (Ledger.record, batched)."""
    service = TableServiceClient.from_connection_string(azurite)
    recs = records(COUNT)
    name = f"q{uuid.uuid4().hex}"
    table = seed_table(service, name, recs)
    yield table, recs
    table.close()
    service.delete_table(name)
    service.close()


def test_large_events_are_joined_from_their_continuation_rows(
    seeded: tuple[TableClient, list[EventRecord]],
) -> None:
    # given events whose diff spilled into continuation rows (RowKey <main>~001 ...)
    table, recs = seeded
    spilled = {e["RowKey"].split("~")[0] for e in table.list_entities(select=["RowKey"])}
    assert sum(1 for e in table.list_entities(select=["RowKey"]) if "~" in e["RowKey"]) >= LARGE
    assert len(spilled) == COUNT
    # when they are read in pages so small that a page ends between a main row and its parts
    big = {r.signal_id: r for r in recs[:LARGE]}
    for record in big.values():
        moment = parse_time(record.time)
        query = EventQuery(moment, moment + timedelta(microseconds=1))
        events, _ = read_all(table, query, 1)
        # then each comes once, whole
        assert len(events) == 1
        got = events[0]
        assert {k: got[k] for k in as_row(record)} == as_row(record)


def test_empty_service_pages_are_followed(seeded: tuple[TableClient, list[EventRecord]]) -> None:
    # given a service that answers two empty pages (with a continuation) before each real
    # one after the first
    table, recs = seeded
    counting = Counting(table, empty_first=2)
    query = EventQuery(T0, T0 + timedelta(days=1))
    # when pages of 500 are read
    events, sizes = read_all(counting, query, 500)
    # then the empty pages are invisible to the caller: full pages, every event once
    assert [e["signalId"] for e in events] == expected(recs, query)
    assert all(size == 500 for size in sizes[:-1])
    assert counting.requests >= 3 * (len(sizes) - 1)


def test_a_run_of_empty_pages_ends_at_the_bound_with_a_continuation(
    seeded: tuple[TableClient, list[EventRecord]],
) -> None:
    table, _ = seeded
    first = read_page(table, EVERYTHING, page_size=100)
    # given a service that, from here on, answers only empty pages with a continuation
    counting = Counting(table, always_empty=True)
    # when the next page is asked for
    page = read_page(counting, EVERYTHING, page_size=100, continuation=first.continuation)
    # then the API stops at the bound and hands back where to go on (no endless loop)
    assert page.events == []
    assert page.continuation == first.continuation
    assert page.requests == counting.requests == MAX_REQUESTS


def test_each_service_request_asks_only_for_the_rows_still_missing(
    seeded: tuple[TableClient, list[EventRecord]],
) -> None:
    table, _ = seeded
    counting = Counting(table)
    page = read_page(counting, EVERYTHING, page_size=1000)
    assert len(page.events) == 1000
    # one request per service page (day partitions may end one early), never past the page
    assert page.requests == counting.requests <= 3


FILTER_VALUES: dict[str, Sequence[str]] = {
    "kind": KINDS,
    "outcome": OUTCOMES,
    "severity": SEVERITIES,
    "resource": RESOURCES,
    "actor": (*UPNS, *OBJECT_IDS, "c0ffee00-0000-4000-8000-0000000000aa", "nobody"),
    "baseline": (*(r for r in RULES if r), *HOSTILE),
}


@pytest.mark.parametrize(
    "filters",
    [
        {"kind": "directory-role"},
        {"outcome": "drift", "severity": "critical"},
        {"actor": "c0ffee00-0000-4000-8000-0000000000aa", "kind": "nsg"},
        {"resource": "' or 1 eq 1"},
        {"resource": "(Kind eq 'nsg')"},
        {"resource": "résumé/ü-名前 😀"},
        {"actor": "' or 1 eq 1", "baseline": "baseline (prod)"},
        {"baseline": "' or 1 eq 1"},
        {
            "kind": "nsg", "outcome": "drift", "severity": "high", "actor": "bob@contoso.example",
            "baseline": "nsg-web-prod",
            "resource": RESOURCES[0],
        },
    ],
)  # fmt: skip
def test_filters_combine(
    seeded: tuple[TableClient, list[EventRecord]], filters: dict[str, str]
) -> None:
    table, recs = seeded
    query = EventQuery(T0, T0 + timedelta(days=DAYS), **filters)
    events, _ = read_all(table, query, 1000)
    assert [e["signalId"] for e in events] == expected(recs, query)


@settings(max_examples=20)
@given(
    filters=st.fixed_dictionaries(
        {},
        optional={name: st.sampled_from(values) for name, values in FILTER_VALUES.items()},
    ),
    start=st.integers(0, DAYS * 24 - 1),
    hours=st.integers(1, 48),
)
def test_any_combination_of_filters_matches_a_python_filter(
    seeded: tuple[TableClient, list[EventRecord]],
    filters: dict[str, str],
    start: int,
    hours: int,
) -> None:
    table, recs = seeded
    since = T0 + timedelta(hours=start)
    query = EventQuery(since, since + timedelta(hours=hours), **filters)
    events, _ = read_all(table, query, 1000)
    assert [e["signalId"] for e in events] == expected(recs, query)


@settings(max_examples=20)
@given(
    name=st.sampled_from(["resource", "actor", "baseline"]),
    value=st.one_of(
        st.sampled_from(
            [
                "' or 1 eq 1", "' or '1' eq '1", "x') or (RowKey ne '", "@actor", "''",
                "Kind eq 'nsg'", "%27%20or%20true", "\\'", "*", "ñ' or 'ñ' eq 'ñ",
            ]
        ),
        st.text(st.characters(blacklist_categories=["Cc", "Cs"]), min_size=1, max_size=20),
    ),
)  # fmt: skip
def test_injection_attempts_match_exactly_never_more(
    seeded: tuple[TableClient, list[EventRecord]], name: str, value: str
) -> None:
    table, recs = seeded
    query = EventQuery(T0, T0 + timedelta(days=DAYS), **{name: value})
    events, _ = read_all(table, query, 1000)
    assert [e["signalId"] for e in events] == expected(recs, query)
