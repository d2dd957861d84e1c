"""The one ISO 8601 parser: aware UTC out, a TimeFormatError (an InputError) for the rest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftkeeper import InputError, TimeFormatError
from driftkeeper._time import TABLE_EARLIEST, parse_time


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-07-01T12:00:00Z", datetime(2026, 7, 1, 12, tzinfo=UTC)),
        ("2026-07-01T12:00:00.9584103Z", datetime(2026, 7, 1, 12, 0, 0, 958410, tzinfo=UTC)),
        ("2026-07-01T14:00:00+02:00", datetime(2026, 7, 1, 12, tzinfo=UTC)),
        ("2026-07-01T12:00:00", datetime(2026, 7, 1, 12, tzinfo=UTC)),
        (" 2026-11-01 ", datetime(2026, 11, 1, tzinfo=UTC)),
        ("1500-01-01T00:00Z", datetime(1500, 1, 1, tzinfo=UTC)),
    ],
)
def test_times_become_aware_utc(text: str, expected: datetime) -> None:
    parsed = parse_time(text)
    assert parsed == expected
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize(
    "text",
    ["", "yesterday", "2026-13-01T00:00:00Z", "0001-01-01T00:00:00+01:00", None, 1751371200],
)
def test_anything_else_is_a_time_format_error(text: Any) -> None:
    with pytest.raises(TimeFormatError, match="cursor time is not ISO 8601") as info:
        parse_time(text, what="cursor time")
    assert isinstance(info.value, InputError)
    assert isinstance(info.value, ValueError)  # what callers caught before


def test_the_table_range_starts_in_1601() -> None:
    assert parse_time("1601-01-01T00:00:00Z", table_range=True) == TABLE_EARLIEST
    with pytest.raises(TimeFormatError, match="event time before 1601"):
        parse_time("1600-12-31T23:59:59Z", table_range=True, what="event time")


@given(
    st.datetimes(
        min_value=datetime(2, 1, 1),
        max_value=datetime(9998, 12, 31),
        timezones=st.sampled_from([UTC, timezone(timedelta(hours=-8)), UTC]),
    )
)
def test_any_iso_time_round_trips(moment: datetime) -> None:
    assert parse_time(moment.isoformat()) == moment.astimezone(UTC)
