"""Compliance over time: per-day summaries of the event table, the ``/api/compliance``
report and the ``/api/dashboard`` page.

- :func:`summarize` (re)computes one day's summary from that day's partition of the event
  table and upserts it into the ``summaries`` table (:class:`Summaries`): idempotent, so
  retries and concurrent runs never count twice. The reconcile timer runs it for yesterday
  and today; the bench, the tests and ``driftkeeper summarize`` call it directly.
- :func:`compliance_report` builds the report of a period from the summaries and the open
  incidents; :func:`dashboard_page` renders it (plus the latest drift rows) as one HTML
  page without script.

The design is in ``docs/dashboard.md``.
"""

from __future__ import annotations

from ._aggregate import (
    DayFigures,
    DayResult,
    EventRow,
    RuleFigures,
    Tally,
    aggregate,
    by_rule,
    open_key,
)
from ._dashboard import CSP, dashboard_page, security_headers
from ._incidents import OpenIncident, open_incidents
from ._recent import RecentDrift, recent_drift
from ._report import Period, compliance_report
from ._summaries import (
    SUMMARY_TABLE,
    DaySummary,
    Summaries,
    day_key,
    read_day_rows,
    summarize,
    summarize_days,
)
from ._tags import LAYERS, RESPONSIBILITIES, Control, declared_controls, guard_rule

__all__ = [
    "CSP",
    "LAYERS",
    "RESPONSIBILITIES",
    "SUMMARY_TABLE",
    "Control",
    "DayFigures",
    "DayResult",
    "DaySummary",
    "EventRow",
    "OpenIncident",
    "Period",
    "RecentDrift",
    "RuleFigures",
    "Summaries",
    "Tally",
    "aggregate",
    "by_rule",
    "compliance_report",
    "dashboard_page",
    "day_key",
    "declared_controls",
    "guard_rule",
    "open_incidents",
    "open_key",
    "read_day_rows",
    "recent_drift",
    "security_headers",
    "summarize",
    "summarize_days",
]
