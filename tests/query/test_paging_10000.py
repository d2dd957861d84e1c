"""10,000 events on Azurite, read one page at a time with several page sizes: every event
exactly once, in time order, every page but the last full.

One test on purpose: the 10,000 rows are written once (Ledger.record, in transactions of
100), and a single test item keeps pytest-xdist from seeding them on both workers."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from azure.data.tables import TableServiceClient

from driftkeeper.query import EventQuery

from .paging import Counting, read_all
from .seed import DAYS, T0, expected, records, seed_table

COUNT = 10_000


@pytest.mark.timeout(600)  # 25-90 s alone; minutes on a shared, loaded machine
def test_paging_through_10000_events_returns_each_once_in_order(azurite: str) -> None:
    # given 10,000 events over nine days, three of them large (continuation rows)
    service = TableServiceClient.from_connection_string(azurite)
    name = f"q{uuid.uuid4().hex}"
    recs = records(COUNT)
    table = seed_table(service, name, recs)
    try:
        everything = EventQuery(T0, T0 + timedelta(days=DAYS))
        hour = EventQuery(T0 + timedelta(days=3, hours=5), T0 + timedelta(days=3, hours=7))
        for query, page_size in ((everything, 1000), (everything, 337), (hour, 7), (hour, 1)):
            # when every page is read in turn
            counting = Counting(table)
            events, sizes = read_all(counting, query, page_size, max_bytes=10**9)
            # then each event comes once, in table order, and every page but the last is full
            want = expected(recs, query)
            assert [e["signalId"] for e in events] == want
            assert all(size == page_size for size in sizes[:-1])
            assert len(sizes) == max(1, -(-len(want) // page_size))
            # one service request per page: each asks only for the rows still missing
            assert counting.requests == len(sizes)
        assert len(expected(recs, everything)) == COUNT
    finally:
        table.close()
        service.delete_table(name)
        service.close()
