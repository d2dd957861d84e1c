"""Plain text of an alert, shared by the channels before each escapes it for its medium.

Every value is made one line of printable text (controls, line breaks, bidi overrides and
other format characters become spaces) and capped, so no value can add a line to a header, a
card or a page, or reorder what is shown around it.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from ._model import Alert

__all__ = ["ChangeLine", "alert_title", "change_lines", "clean", "facts", "short_name"]

_SPACES = re.compile(r"\s+")
_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})

VALUE_LIMIT = 200
MESSAGE_LIMIT = 1000


def clean(value: object, limit: int = VALUE_LIMIT) -> str:
    """``value`` as one line of printable text of at most ``limit`` characters (``…`` if cut)."""
    text = value if isinstance(value, str) else str(value)
    if len(text) > limit * 4:  # bound the work on huge values before cleaning
        text = text[: limit * 4]
    text = "".join(" " if unicodedata.category(c) in _INVISIBLE else c for c in text)
    text = _SPACES.sub(" ", text).strip()
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def short_name(resource: str) -> str:
    """The last segment of a resource id (``nsg-web-prod``), or the id itself."""
    segments = [s for s in resource.split("/") if s]
    return clean(segments[-1] if segments else resource, 80)


def alert_title(alert: Alert) -> str:
    """``HIGH drift: nsg nsg-web-prod`` (``resolved`` added when the incident closed)."""
    title = f"{alert.severity.upper()} {alert.outcome}: {clean(alert.kind, 60)} "
    title += short_name(alert.resource)
    if alert.transition == "resolved":
        title += " (resolved)"
    return title


def facts(alert: Alert) -> list[tuple[str, str]]:
    """The (title, value) pairs every channel shows, values cleaned; empty ones left out."""
    actor = alert.actor
    who = [actor.upn]
    if actor.app_id:
        who.append(f"app {actor.app_id}")
    if actor.object_id:
        who.append(f"object {actor.object_id}")
    if actor.ip:
        who.append(f"from {actor.ip}")
    pairs = [
        ("Kind", alert.kind),
        ("Resource", alert.resource),
        ("Baseline", alert.rule),
        ("Severity", alert.severity),
        ("Outcome", alert.outcome),
        ("Incident", alert.transition),
        ("Response", alert.response),
        ("Who", " ".join(w for w in who if w) or "unknown"),
        ("When", alert.event_time),
        ("Operation", alert.operation),
        ("Correlation id", alert.correlation_id),
        ("Signal id", alert.signal_id),
        ("Owners", ", ".join(alert.owners)),
    ]
    return [(title, clean(value, 300)) for title, value in pairs if clean(value)]


@dataclass(frozen=True)
class ChangeLine:
    """One field change as text: ``path``, ``expected``, ``actual`` (cleaned, capped)."""

    path: str
    expected: str
    actual: str


def change_lines(alert: Alert, limit: int) -> tuple[list[ChangeLine], int]:
    """The first ``limit`` changes as text, and how many more there are."""
    lines = [
        ChangeLine(
            clean(c.path or "(resource)", 120), _value_text(c.expected), _value_text(c.actual)
        )
        for c in alert.changes[: max(0, limit)]
    ]
    return lines, max(0, len(alert.changes) - len(lines))


def _value_text(value: Any) -> str:
    if value is None:
        return "absent"
    if isinstance(value, str):
        return clean(value, 150)
    try:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    except ValueError:  # a circular structure
        text = repr(value)
    return clean(text, 150)
