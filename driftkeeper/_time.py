"""The one ISO 8601 parser: event times, audit records' ``activityDateTime``, cursors, CLI
bounds all become aware UTC datetimes here, the same way.

- ``Z`` and any ``+hh:mm`` offset are accepted; a time without an offset is UTC.
- Seven fractional digits (Event Grid, Graph, ARM) are accepted and cut to microseconds.
- ``table_range=True`` also refuses a time before 1601-01-01 UTC, the first time Azure Table
  Storage (``Edm.DateTime``) can hold.
"""

from __future__ import annotations

from datetime import UTC, datetime

from ._errors import TimeFormatError

__all__ = ["TABLE_EARLIEST", "parse_time"]

TABLE_EARLIEST = datetime(1601, 1, 1, tzinfo=UTC)
"""The earliest time an ``Edm.DateTime`` property (and so the event table) can hold."""


def parse_time(text: str, *, table_range: bool = False, what: str = "time") -> datetime:
    """``text`` (ISO 8601) as an aware UTC datetime.

    Raises :class:`~driftkeeper.TimeFormatError` (a ``ValueError``) naming ``what`` when
    ``text`` is not a string in ISO 8601, cannot be expressed in UTC, or, with
    ``table_range``, is before :data:`TABLE_EARLIEST`.
    """
    if not isinstance(text, str):
        raise TimeFormatError(f"{what} is not ISO 8601: {text!r}")
    try:
        parsed = datetime.fromisoformat(text.strip())
        parsed = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        raise TimeFormatError(f"{what} is not ISO 8601: {text!r}") from None
    if table_range and parsed < TABLE_EARLIEST:
        raise TimeFormatError(f"{what} before 1601: {text!r}")
    return parsed
