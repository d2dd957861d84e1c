"""Which channels get an alert: by severity, from the Function App settings (read by
:class:`driftkeeper.config.Settings`, parsed here).

- ``DRIFTKEEPER_ALERT_ROUTES``: JSON object severity -> list of channel names, e.g.
  ``{"critical": ["teams", "email"], "high": ["teams", "email"], "medium": ["teams"], "low": []}``.
  A severity left out gets no channel. Unset or empty: :data:`DEFAULT_ROUTES`, restricted to
  the channels that are configured.
- ``DRIFTKEEPER_ALERT_EMAIL_TO``: default email recipients, comma- or semicolon-separated; the
  baseline's owners are added to them for each alert.

Whether a change by an expected actor is low severity is decided upstream: routing follows
the alert's severity, nothing else.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .._errors import AlertConfigError
from .._model import SEVERITIES, Severity
from ._email import is_email_address

__all__ = [
    "CHANNEL_NAMES",
    "DEFAULT_ROUTES",
    "EMAIL_TO_VARIABLE",
    "ROUTES_VARIABLE",
    "Routes",
]

ROUTES_VARIABLE = "DRIFTKEEPER_ALERT_ROUTES"
EMAIL_TO_VARIABLE = "DRIFTKEEPER_ALERT_EMAIL_TO"
CHANNEL_NAMES: tuple[str, ...] = ("teams", "email", "eventgrid")
"""The names routes may use: :attr:`name` of the channel classes."""

DEFAULT_ROUTES: Mapping[Severity, tuple[str, ...]] = {
    "critical": ("teams", "email", "eventgrid"),
    "high": ("teams", "email", "eventgrid"),
    "medium": ("teams", "eventgrid"),
    "low": ("eventgrid",),
}
"""People hear about medium and above; every finding goes to Event Grid (when configured)."""

_SPLIT = re.compile(r"[,;]")


@dataclass(frozen=True)
class Routes:
    """Channels per severity, and the default email recipients.

    ``explicit`` is ``False`` for :data:`DEFAULT_ROUTES`: the
    :class:`~driftkeeper.alerts.Notifier` then skips the channels that are not configured
    instead of refusing to start.
    """

    by_severity: Mapping[Severity, tuple[str, ...]] = field(
        default_factory=lambda: dict(DEFAULT_ROUTES)
    )
    email_to: tuple[str, ...] = ()
    explicit: bool = False

    @classmethod
    def parse(cls, routes: str = "", email_to: str = "") -> Routes:
        """Routes from the values of ``DRIFTKEEPER_ALERT_ROUTES`` and
        ``DRIFTKEEPER_ALERT_EMAIL_TO`` (read by :class:`driftkeeper.config.Settings`).

        Raises :class:`~driftkeeper.AlertConfigError` naming the variable and the value.
        """
        addresses = parse_email_to(email_to)
        text = routes.strip()
        if not text:
            return cls(dict(DEFAULT_ROUTES), addresses, explicit=False)
        return cls(parse_routes(text), addresses, explicit=True)

    def channels_for(self, severity: Severity) -> tuple[str, ...]:
        """The channel names an alert of ``severity`` goes to (maybe none)."""
        return self.by_severity.get(severity, ())

    def channel_names(self) -> frozenset[str]:
        """Every channel name some severity routes to."""
        return frozenset(name for names in self.by_severity.values() for name in names)

    def without(self, names: Iterable[str]) -> Routes:
        """These routes with the channels ``names`` left out."""
        drop = frozenset(names)
        return Routes(
            {
                severity: tuple(name for name in routed if name not in drop)
                for severity, routed in self.by_severity.items()
            },
            self.email_to,
            self.explicit,
        )


def parse_routes(text: str, *, variable: str = ROUTES_VARIABLE) -> dict[Severity, tuple[str, ...]]:
    """``{"high": ["teams", "email"], ...}`` checked against the severities and channel names."""
    try:
        value: Any = json.loads(text)
    except ValueError as exc:
        raise AlertConfigError(variable, text, f"is not JSON ({exc})") from None
    if not isinstance(value, dict):
        raise AlertConfigError(
            variable, text, 'must be a JSON object like {"high": ["teams", "email"]}'
        )
    routes: dict[Severity, tuple[str, ...]] = dict.fromkeys(SEVERITIES, ())
    for key, names in value.items():
        severity = next((s for s in SEVERITIES if s == key), None)
        if severity is None:
            raise AlertConfigError(
                variable, text, f"unknown severity {key!r} (use {', '.join(SEVERITIES)})"
            )
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise AlertConfigError(variable, text, f"{key!r} must map to a list of channel names")
        for name in names:
            if name not in CHANNEL_NAMES:
                raise AlertConfigError(
                    variable,
                    text,
                    f"unknown channel {name!r} for {key!r} (use {', '.join(CHANNEL_NAMES)})",
                )
        routes[severity] = tuple(dict.fromkeys(names))
    return routes


def parse_email_to(text: str, *, variable: str = EMAIL_TO_VARIABLE) -> tuple[str, ...]:
    """Comma- or semicolon-separated addresses, each checked; duplicates dropped."""
    addresses: dict[str, str] = {}
    for part in _SPLIT.split(text):
        address = part.strip()
        if not address:
            continue
        if not is_email_address(address):
            raise AlertConfigError(variable, text, f"{address!r} is not an email address")
        addresses.setdefault(address.casefold(), address)
    return tuple(addresses.values())
