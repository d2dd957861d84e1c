"""Red-team leftovers: hand-edited summaries rows, unknown severities, unreadable times.

The tables can be written by anyone holding a key: a report must neither fail (500) nor show
an impossible share because of a changed row, and one bad event row must not stop a day.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from azure.data.tables import TableClient, UpdateMode
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from driftkeeper.compliance import (
    OpenIncident,
    Summaries,
    compliance_report,
    declared_controls,
    summarize,
)
from driftkeeper.compliance._aggregate import RULE_FIELDS, EventRow, aggregate
from driftkeeper.compliance._report import Period
from driftkeeper.compliance._summaries import _FIGURES, _day_figures, _rule_values
from driftkeeper.store import Ledger

from .seed import story

DAY = datetime(2026, 11, 2, tzinfo=UTC)
KEY = "20261102"

_hostile = st.one_of(
    st.text(max_size=8),
    st.integers(max_value=-1),
    st.floats(allow_nan=True, allow_infinity=True).filter(lambda f: not f >= 0),
    st.just(math.nan),
    st.booleans(),
    st.none(),
    st.floats(min_value=0.1, max_value=10).filter(lambda f: not f.is_integer()),
)


def _fraction(value: Any) -> bool:
    return isinstance(value, float) and math.isfinite(value) and value >= 0


def _report(summaries: Summaries, incidents: list[OpenIncident] = ()) -> dict[str, Any]:  # type: ignore[assignment]
    return compliance_report(
        Period(DAY.date(), DAY.date()),
        summaries.read(KEY, KEY),
        list(incidents),
        declared_controls(),
    )


def _shares(report: dict[str, Any]) -> list[float]:
    found = [d["complianceShare"] for d in report["days"]]
    found += [c["complianceShare"] for c in report["controls"]]
    found.append(report["summary"]["complianceShare"])
    return [s for s in found if s is not None]


def _summarized(
    make_table: Callable[..., TableClient],
) -> tuple[Summaries, TableClient, TableClient]:
    """The summaries of DAY, their table and their count rows' table."""
    events, table, counts = make_table(), make_table(), make_table()
    Ledger(events).record(story(DAY))
    summaries = Summaries(table, counts)
    summarize(DAY.date(), events, summaries)
    return summaries, table, counts


@settings(max_examples=200, deadline=None)
@given(column=st.sampled_from(sorted(_FIGURES.values())), value=_hostile)
def test_a_changed_day_figure_reads_as_0(column: str, value: Any) -> None:
    assume(not (column.endswith("Seconds") and _fraction(value)))  # 1.5 s is a time
    entity = dict.fromkeys(_FIGURES.values(), 3)
    entity[column] = value
    figures = _day_figures(KEY, entity)
    name = next(n for n, c in _FIGURES.items() if c == column)
    assert getattr(figures, name) == 0
    assert all(getattr(figures, n) == 3 for n, c in _FIGURES.items() if c != column)


@settings(max_examples=200, deadline=None)
@given(index=st.integers(min_value=0, max_value=len(RULE_FIELDS) - 1), value=_hostile)
def test_a_changed_rule_value_skips_the_entry(index: int, value: Any) -> None:
    assume(not (RULE_FIELDS[index].endswith("seconds") and _fraction(value)))
    values: list[Any] = [1] * len(RULE_FIELDS)
    assert _rule_values(values) is not None
    values[index] = value
    assert _rule_values(values) is None


def test_changed_rows_on_azurite_neither_fail_nor_leave_0_to_1(
    make_table: Callable[..., TableClient],
) -> None:
    summaries, table, _counts = _summarized(make_table)
    day_row = dict(table.get_entity(KEY, "day"))
    day_row.update(Events="many", Compliant=-4, Drift=math.nan, DetectSeconds="1e9")
    table.upsert_entity(day_row, mode=UpdateMode.REPLACE)
    entity = dict(table.get_entity(KEY, "r|000"))
    rules = json.loads(entity["Rules"])
    kind, rule = rules[0][0], rules[0][1]
    rules[0][2 + RULE_FIELDS.index("drift")] = -1
    entity["Rules"] = json.dumps(rules)
    table.upsert_entity(entity, mode=UpdateMode.REPLACE)

    (day,) = summaries.read(KEY, KEY)
    assert (day.figures.events, day.figures.compliant, day.figures.drift) == (0, 0, 0)
    assert (kind, rule) not in day.rules
    assert len(day.rules) == len(rules) - 1
    assert all(0 <= s <= 1 for s in _shares(_report(summaries)))


def test_more_compliant_than_judged_is_skipped(make_table: Callable[..., TableClient]) -> None:
    summaries, table, _counts = _summarized(make_table)
    entity = dict(table.get_entity(KEY, "r|000"))
    rules = json.loads(entity["Rules"])
    judged, compliant = RULE_FIELDS.index("judged"), RULE_FIELDS.index("compliant")
    rules[0][2 + compliant] = rules[0][2 + judged] + 5
    entity["Rules"] = json.dumps(rules)
    table.upsert_entity(entity, mode=UpdateMode.REPLACE)
    report = _report(summaries)
    assert all(0 <= s <= 1 for s in _shares(report))


def test_a_changed_count_row_is_skipped(make_table: Callable[..., TableClient]) -> None:
    summaries, _table, counts = _summarized(make_table)
    before = summaries.counts(KEY)
    victim = next(e for e in counts.list_entities() if str(e["RowKey"]).startswith("c|"))
    entity = dict(victim)
    entity["Count"] = "lots"
    counts.upsert_entity(entity, mode=UpdateMode.REPLACE)
    assert len(summaries.counts(KEY)) == len(before) - 1


def test_open_incidents_of_an_unknown_severity_are_counted_as_unknown() -> None:
    incidents = [
        OpenIncident("/r/1", "nsg-web-prod", "nsg", "high", "drift", "2026-11-02T00:00:00Z"),
        OpenIncident("/r/2", "nsg-web-prod", "nsg", "<script>", "drift", "2026-11-02T00:00:00Z"),
        OpenIncident("/r/3", "nsg-web-prod", "nsg", "", "drift", "2026-11-02T00:00:00Z"),
    ]
    report = compliance_report(
        Period(DAY.date(), DAY.date()),
        [],
        incidents,
        declared_controls(),
        [("nsg-web-prod", "nsg")],
    )
    counts = report["summary"]["openIncidents"]
    assert counts["high"] == 1
    assert counts["unknown"] == 2
    assert sum(counts.values()) == 3


def _row(n: int, time: str, outcome: str = "compliant") -> EventRow:
    return EventRow(
        row_key=f"{n:04d}", time=time, outcome=outcome, kind="nsg", rule="r", resource="x"
    )


@given(st.lists(st.one_of(st.text(max_size=30), st.just("2026-13-45T99:00:00Z")), max_size=5))
def test_unreadable_times_are_skipped_and_counted(bad_times: list[str]) -> None:
    good = [_row(i, (DAY + timedelta(minutes=i)).isoformat()) for i in range(4)]
    bad = [_row(100 + i, t) for i, t in enumerate(bad_times)]
    readable = [r for r in bad if _readable(r.time)]
    result = aggregate([*good, *bad])
    assert result.figures.events == len(good) + len(readable)
    assert result.figures.skipped == len(bad) - len(readable)


def _readable(text: str) -> bool:
    from driftkeeper._time import parse_time

    try:
        parse_time(text)
    except ValueError:
        return False
    return True


def test_an_unreadable_carried_opening_closes_without_a_restore_time() -> None:
    from driftkeeper.compliance._aggregate import open_key

    result = aggregate([_row(1, DAY.isoformat(), "compliant")], {open_key("x", "r"): "not a time"})
    assert result.figures.restored_by_hand == 0
    assert result.carry == {}


def test_a_day_with_a_hand_edited_time_is_summarized(
    make_table: Callable[..., TableClient],
) -> None:
    events, summaries = make_table(), Summaries(make_table(), make_table())
    Ledger(events).record(story(DAY))
    victim = next(e for e in events.list_entities() if e.get("Outcome"))
    entity = dict(victim)
    entity["Time"] = "yesterday, around noon"
    events.upsert_entity(entity, mode=UpdateMode.REPLACE)

    result = summarize(date(2026, 11, 2), events, summaries)
    assert result.figures.skipped == 1
    (day,) = summaries.read(KEY, KEY)
    assert day.figures.skipped == 1
    report = _report(summaries)
    assert report["days"][0]["skipped"] == 1
