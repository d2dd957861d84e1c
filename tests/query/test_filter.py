"""The OData filter: fixed text, values only as SDK parameters, within 15 comparisons."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from driftkeeper.query import MAX_COMPARISONS, EventQuery, comparisons, event_filter
from driftkeeper.query._filter import SERVICE_LIMIT

T0 = datetime(2026, 7, 1, tzinfo=UTC)
WIDEST = EventQuery(
    T0,
    T0 + timedelta(days=400),
    kind="nsg",
    outcome="drift",
    severity="high",
    resource="r",
    actor="a",
    baseline="b",
)


def test_the_widest_query_stays_within_the_services_15_comparisons() -> None:
    text, params = event_filter(WIDEST)
    assert comparisons(text) == MAX_COMPARISONS == 13
    assert MAX_COMPARISONS <= SERVICE_LIMIT
    assert set(params) == {
        "fromDay", "toDay", "from", "to", "kind", "outcome", "severity", "resource", "actor",
        "baseline",
    }  # fmt: skip


def test_the_time_range_bounds_the_partitions_and_to_is_exclusive() -> None:
    text, params = event_filter(EventQuery(T0, T0 + timedelta(days=2)))
    assert text == (
        "PartitionKey ge @fromDay and PartitionKey le @toDay and RowKey ge @from"
        " and RowKey lt @to and Parts ge 0"
    )
    assert params == {
        "fromDay": "20260701",
        "toDay": "20260702",  # 2026-07-03T00:00Z is excluded: its partition is not read
        "from": "2026-07-01T00:00:00.000000Z",
        "to": "2026-07-03T00:00:00.000000Z",
    }


def test_the_actor_matches_any_of_its_three_columns() -> None:
    text, _ = event_filter(EventQuery(T0, T0 + timedelta(days=1), actor="x"))
    either = "ActorUpn eq @actor or ActorObjectId eq @actor or ActorAppId eq @actor"
    assert text.endswith(f"and ( {either} )")


@given(
    values=st.fixed_dictionaries(
        {},
        optional={
            name: st.text(min_size=1, max_size=30)
            for name in ("kind", "outcome", "severity", "resource", "actor", "baseline")
        },
    )
)
def test_no_value_ever_reaches_the_filter_text(values: dict[str, str]) -> None:
    query = EventQuery(T0, T0 + timedelta(days=1), **values)
    placeholders = EventQuery(T0, T0 + timedelta(days=1), **dict.fromkeys(values, "v"))
    text, params = event_filter(query)
    assert text == event_filter(placeholders)[0]
    assert {k: params[k] for k in values} == values
    assert comparisons(text) <= SERVICE_LIMIT
