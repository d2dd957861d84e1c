"""Summaries on Azurite: equal to a plain aggregation of the seeded rows, the same when
recomputed, and never counted twice by concurrent runs."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from azure.data.tables import TableClient

from driftkeeper.compliance import DayFigures, DayResult, Summaries, summarize, summarize_days
from driftkeeper.compliance._summaries import MAX_OPEN
from driftkeeper.store import Ledger

from .seed import row, story

DAY = datetime(2026, 11, 2, tzinfo=UTC)
FIRST, SECOND = date(2026, 11, 2), date(2026, 11, 3)


def seeded(make_table: Callable[..., TableClient]) -> tuple[TableClient, Summaries, TableClient]:
    events, table = make_table(), make_table()
    Ledger(events).record(story(DAY))
    return events, Summaries(table, make_table()), table


def plain_counts(events: TableClient, day: str) -> Counter[tuple[str, str, str, str]]:
    """What the summary must say, aggregated the obvious way from the stored rows."""
    return Counter(
        (e["Kind"], e["Rule"], e["Outcome"], e["Severity"])
        for e in events.list_entities()
        if e["PartitionKey"] == day and "Outcome" in e
    )


def plain_mttd(events: TableClient, day: str) -> tuple[float, int]:
    took = [
        max(0.0, (e.metadata["timestamp"] - datetime.fromisoformat(e["Time"])).total_seconds())
        for e in events.list_entities()
        if e["PartitionKey"] == day and e.get("Outcome") == "drift"
    ]
    return sum(took), len(took)


def stored(table: TableClient, day: str) -> dict[str, dict[str, Any]]:
    return {
        e["RowKey"]: {k: v for k, v in e.items() if k != "SummarizedAt"}
        for e in table.list_entities()
        if e["PartitionKey"] == day
    }


def test_the_summary_is_the_plain_aggregation_of_the_day(
    make_table: Callable[..., TableClient],
) -> None:
    events, summaries, _ = seeded(make_table)
    summarize_days([SECOND, FIRST], events, summaries)  # oldest first, whatever the order
    [day1, day2] = summaries.read("20261102", "20261103")
    for summary in (day1, day2):
        tallies = summaries.counts(summary.day)
        counts = {key: tally.count for key, tally in tallies.items()}
        assert counts == plain_counts(events, summary.day)
        assert sum(summary.rule(*key).judged for key in summary.rules) == sum(
            n for key, n in counts.items() if key[2] in ("compliant", "drift")
        )
        detect = sum(t.detect_seconds for t in tallies.values())
        expected_seconds, expected_count = plain_mttd(events, summary.day)
        assert summary.figures.detect_count == expected_count
        assert detect == pytest.approx(expected_seconds)
    assert (day1.figures.restored_by_hand_seconds, day2.figures.restored_by_hand_seconds) == (
        30 * 60,
        3 * 3600,
    )
    assert day1.figures.restored_by_rollback_seconds == 6 * 60
    f = day1.figures
    assert (f.approved, f.automatic, f.rejected, f.failed, f.accepted) == (2, 1, 1, 1, 1)


def test_recomputing_a_day_writes_the_same_rows(make_table: Callable[..., TableClient]) -> None:
    events, summaries, table = seeded(make_table)
    summarize(FIRST, events, summaries)
    before = stored(table, "20261102")
    summarize(FIRST, events, summaries)
    summarize(FIRST, events, summaries)
    assert stored(table, "20261102") == before
    assert len(before) == 2  # the day and rules rows; the counts are in their own table
    assert len(summaries.counts("20261102")) == len(plain_counts(events, "20261102"))


def test_late_events_are_counted_when_the_day_is_summarized_again(
    make_table: Callable[..., TableClient],
) -> None:
    events, summaries, _ = seeded(make_table)
    summarize(FIRST, events, summaries)
    Ledger(events).record([row(DAY + timedelta(hours=20), "compliant", signal_id="late")])
    summarize(FIRST, events, summaries)
    tallies = summaries.counts("20261102")
    assert tallies["nsg", "nsg-web", "compliant", "high"].count == 3
    assert sum(t.count for t in tallies.values()) == sum(plain_counts(events, "20261102").values())
    [day1] = summaries.read("20261102", "20261102")
    assert day1.rule("nsg", "nsg-web").compliant == 3


def test_concurrent_runs_never_count_twice(make_table: Callable[..., TableClient]) -> None:
    events, summaries, _ = seeded(make_table)
    summarize(FIRST, events, summaries)
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            summarize(SECOND, events, summaries)
            summarize(FIRST, events, summaries)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    for summary in summaries.read("20261102", "20261103"):
        counts = {key: tally.count for key, tally in summaries.counts(summary.day).items()}
        assert counts == plain_counts(events, summary.day)
        assert summary.figures.events == sum(counts.values())
    day2 = summaries.read("20261103", "20261103")[0]
    assert day2.figures.restored_by_hand == 1  # the carry from the first day, once


def test_the_carry_keeps_the_newest_open_incidents_within_an_entity(
    make_table: Callable[..., TableClient],
) -> None:
    summaries = Summaries(make_table(), make_table())
    carry = {f"{i:016x}": f"2026-11-02T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:00Z" for i in range(
        MAX_OPEN + 1000
    )}  # fmt: skip
    summaries.write("20261102", DayResult({}, DayFigures(), carry))
    kept = summaries.carry("20261102")
    assert len(kept) == MAX_OPEN
    assert min(kept.values()) >= sorted(carry.values())[1000]
