"""The day aggregation, pure: MTTD and MTTR arithmetic, rollback decisions, the carry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from driftkeeper.compliance import EventRow, aggregate, open_key
from driftkeeper.store import record_keys

from .seed import CA, NSG, story

DAY = datetime(2026, 11, 2, tzinfo=UTC)


def rows_of(day: datetime, *, detect: timedelta = timedelta(seconds=0)) -> list[list[EventRow]]:
    """The story's rows per day partition, recorded ``detect`` after each change."""
    days: dict[str, list[EventRow]] = {}
    for record in story(day):
        partition, row_key = record_keys(record)
        days.setdefault(partition, []).append(
            EventRow(
                row_key=row_key,
                time=record.time,
                outcome=record.outcome,
                kind=record.kind,
                rule=record.rule,
                severity=record.severity,
                resource=record.resource,
                message=record.message,
                actor=record.actor_upn,
                recorded=datetime.fromisoformat(record.time) + detect,
            )
        )
    return [days[k] for k in sorted(days)]


def test_mttr_by_hand_and_by_rollback_and_the_rollback_decisions() -> None:
    first, _ = rows_of(DAY)
    result = aggregate(reversed(first))  # any order: sorted by RowKey
    f = result.figures
    assert f.restored_by_hand == 1
    assert f.restored_by_hand_seconds == 30 * 60
    assert f.restored_by_rollback == 2
    assert f.restored_by_rollback_seconds == 5 * 60 + 60
    assert (f.approved, f.automatic, f.rejected, f.failed, f.accepted) == (2, 1, 1, 1, 1)
    assert (f.compliant, f.drift, f.errors, f.events) == (2, 6, 1, len(first))


def test_a_drift_open_at_midnight_is_restored_the_next_day() -> None:
    first, second = rows_of(DAY)
    day1 = aggregate(first)
    assert list(day1.carry) == [open_key(NSG, "nsg-web")]
    day2 = aggregate(second, day1.carry)
    assert day2.figures.restored_by_hand == 1
    assert day2.figures.restored_by_hand_seconds == 3 * 3600
    assert list(day2.carry) == [open_key(CA, "ca-mfa")]
    # without the carry the restore is not counted (nothing invented)
    assert aggregate(second).figures.restored_by_hand == 0


def test_mttd_is_the_recorded_time_less_the_change_time() -> None:
    first, _ = rows_of(DAY, detect=timedelta(seconds=42))
    f = aggregate(first).figures
    assert f.detect_count == f.drift == 6
    assert f.detect_seconds == 6 * 42
    early, _ = rows_of(DAY, detect=timedelta(seconds=-5))  # a skewed sender's clock
    assert aggregate(early).figures.detect_seconds == 0


def test_tallies_are_per_kind_rule_outcome_and_severity() -> None:
    first, _ = rows_of(DAY)
    tallies = aggregate(first).tallies
    assert tallies["nsg", "nsg-web", "drift", "high"].count == 3
    assert tallies["nsg", "nsg-web", "compliant", "high"].restore_count == 1
    rolled = tallies["conditional-access-policy", "ca-mfa", "rolled-back", "critical"]
    assert (rolled.count, rolled.approved, rolled.restore_seconds) == (1, 1, 300.0)
    assert sum(t.count for t in tallies.values()) == len(first)
