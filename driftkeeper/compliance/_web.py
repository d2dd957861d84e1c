"""``GET /api/compliance`` and ``GET /api/dashboard``: the access check, the period, then
the report from the summaries and the open incidents (never from every event)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from .._errors import InputError
from ..access import Refusal, caller
from ._dashboard import Page, dashboard_page, message_page
from ._incidents import open_incidents
from ._recent import recent_drift
from ._report import Period, compliance_report
from ._summaries import day_key
from ._tags import declared_controls

if TYPE_CHECKING:
    from ..runtime import Runtime

__all__ = ["DEFAULT_DAYS", "MAX_DAYS", "JsonAnswer", "compliance_answer", "dashboard_answer"]

DEFAULT_DAYS = 30
MAX_DAYS = 366
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class JsonAnswer:
    status_code: int
    body: str
    headers: Mapping[str, str] = field(
        default_factory=lambda: {
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store",
        }
    )


class BadParameter(InputError):
    """A query parameter that is unusable (answered 400 naming it)."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name}: {reason}")
        self.name = name


def _date(params: Mapping[str, str], name: str) -> date | None:
    text = params.get(name)
    if text is None:
        return None
    if not _DATE.fullmatch(text):
        raise BadParameter(name, f"expected a date YYYY-MM-DD, got {text[:40]!r}")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadParameter(name, f"not a date: {text!r}") from None


def period_of(params: Mapping[str, str], today: date) -> Period:
    """The period ``from`` .. ``to`` (inclusive); the last 30 days by default."""
    last = _date(params, "to") or today
    try:
        first = _date(params, "from") or last - timedelta(days=DEFAULT_DAYS - 1)
    except OverflowError:
        raise BadParameter("to", "a date after 0001-01-30") from None
    if last < first:
        raise BadParameter("to", "must not be before from")
    if (last - first).days + 1 > MAX_DAYS:
        raise BadParameter("from", f"the period is longer than {MAX_DAYS} days")
    return Period(first, last)


def _report(rt: Runtime, period: Period) -> tuple[dict[str, Any], list[Any]]:
    incidents = open_incidents(rt.table(rt.settings.incidents_table))
    summaries = rt.summaries().read(day_key(period.first), day_key(period.last))
    report = compliance_report(
        period, summaries, incidents, declared_controls(), rt.declared_rules()
    )
    return report, incidents


def _json(status: int, body: Any) -> JsonAnswer:
    """JSON as strict parsers read it: ASCII (a stored lone surrogate stays ``\\udXXX``),
    and a non-finite number from a tampered summary is null, never a bare ``NaN``."""
    return JsonAnswer(status, json.dumps(_finite(body), ensure_ascii=True, separators=(",", ":")))


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def compliance_answer(
    rt: Runtime, headers: Mapping[str, str], params: Mapping[str, str], now: datetime
) -> JsonAnswer:
    who = caller(headers, rt.settings, "read")
    if isinstance(who, Refusal):
        return _json(who.status_code, {"error": who.reason})
    try:
        period = period_of(params, now.date())
    except BadParameter as exc:
        return _json(400, {"error": str(exc), "parameter": exc.name})
    report, _ = _report(rt, period)
    return _json(200, report)


def dashboard_answer(
    rt: Runtime, headers: Mapping[str, str], params: Mapping[str, str], now: datetime
) -> Page:
    who = caller(headers, rt.settings, "read")
    if isinstance(who, Refusal):
        titles = {401: "Sign-in required", 403: "Not allowed"}
        return message_page(who.status_code, titles.get(who.status_code, "Unavailable"), who.reason)
    try:
        period = period_of(params, now.date())
    except BadParameter as exc:
        return message_page(400, "Bad request", str(exc))
    # the recent drift is read while the report's reads run: the page waits for the
    # slower of the two, not their sum (the table clients are thread-safe)
    events = rt.table(rt.settings.events_table)
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(recent_drift, events, now)
        report, incidents = _report(rt, period)
        recent = pending.result()
    still_open = {(i.resource.lower(), i.rule) for i in incidents if i.track == "drift"}
    return dashboard_page(report, recent, still_open, now=now, viewer=who.shown)


def summarize_recent(rt: Runtime, now: datetime) -> Sequence[Any]:
    """Yesterday's and today's summaries (what the reconcile timer runs)."""
    today = now.date()
    return rt.summarize([today - timedelta(days=1), today])
