"""Delivering one alert to its routed channels, with retries; never raising for a channel.

A failure to alert must not lose the event row: :meth:`Notifier.notify` returns one
:class:`Delivery` per routed channel (ok or not, attempts, error) for the caller to record.
Transient failures (HTTP 408/429/5xx, SMTP 4xx, no answer) are retried with exponential
backoff; a ``Retry-After`` the service sent is honoured up to ``retry_after_cap``. Permanent
failures (4xx, bad configuration) are not retried. Errors are the channels' own messages,
which never carry a webhook URL, token, key or password.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from .._errors import AlertConfigError, DeliveryError
from ._model import Alert
from ._routing import ROUTES_VARIABLE, Routes
from ._text import clean

__all__ = ["Channel", "Delivery", "Notifier"]

_log = logging.getLogger(__name__)


class Channel(Protocol):
    """A way to deliver an alert; raises :class:`~driftkeeper.alerts.DeliveryError` on failure."""

    @property
    def name(self) -> str: ...

    def send(self, alert: Alert) -> None: ...


@dataclass(frozen=True)
class Delivery:
    """What became of one alert on one channel."""

    channel: str
    ok: bool
    attempts: int
    error: str = ""
    """The last failure's message (empty when ``ok``)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "ok": self.ok,
            "attempts": self.attempts,
            "error": self.error,
        }


class Notifier:
    """Sends alerts to the channels their severity routes to.

    ``attempts`` is the number of tries per channel; the n-th retry waits
    ``backoff * 2**(n-1)`` seconds (at most ``max_backoff``), or the ``Retry-After`` the
    service asked for (at most ``retry_after_cap``). ``sleep`` is injectable for tests.
    """

    def __init__(
        self,
        channels: Iterable[Channel],
        routes: Routes,
        *,
        attempts: int = 3,
        backoff: float = 2.0,
        max_backoff: float = 30.0,
        retry_after_cap: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        self._channels: dict[str, Channel] = {}
        for channel in channels:
            if channel.name in self._channels:
                raise ValueError(f"two channels are named {channel.name!r}")
            self._channels[channel.name] = channel
        missing = sorted(routes.channel_names() - self._channels.keys())
        if missing and routes.explicit:
            routed = {s: list(n) for s, n in routes.by_severity.items()}
            raise AlertConfigError(
                ROUTES_VARIABLE,
                json.dumps(routed),
                f"routes to {', '.join(missing)}, which is not configured "
                f"(configured: {', '.join(sorted(self._channels)) or 'none'})",
            )
        if missing:
            _log.info("default alert routes: %s not configured, left out", ", ".join(missing))
        self._routes = routes
        self._attempts = attempts
        self._backoff = backoff
        self._max_backoff = max_backoff
        self._retry_after_cap = retry_after_cap
        self._sleep = sleep

    @property
    def channels(self) -> list[Channel]:
        """The configured channels, in the order given."""
        return list(self._channels.values())

    def notify(self, alert: Alert) -> list[Delivery]:
        """Deliver ``alert`` to each routed, configured channel; one :class:`Delivery` each."""
        deliveries = []
        for name in self._routes.channels_for(alert.severity):
            channel = self._channels.get(name)
            if channel is not None:
                deliveries.append(self._deliver(channel, alert))
        return deliveries

    def _deliver(self, channel: Channel, alert: Alert) -> Delivery:
        extra = {"resource": alert.resource, "baseline": alert.rule, "channel": channel.name}
        attempt = 0
        while True:
            attempt += 1
            try:
                channel.send(alert)
            except DeliveryError as exc:
                error = str(exc)
                transient, retry_after = exc.transient, exc.retry_after
            except Exception as exc:  # a channel bug must not cost the other channels or the row
                error = f"unexpected {type(exc).__name__}: {clean(exc, 300)}"
                transient, retry_after = False, None
                _log.error("alert channel %s failed: %s", channel.name, error, extra=extra)
            else:
                if attempt > 1:
                    _log.info(
                        "alert delivered by %s on attempt %d", channel.name, attempt, extra=extra
                    )
                return Delivery(channel.name, True, attempt)
            if not transient or attempt == self._attempts:
                _log.warning(
                    "alert not delivered by %s after %d attempt(s): %s",
                    channel.name,
                    attempt,
                    error,
                    extra=extra,
                )
                return Delivery(channel.name, False, attempt, error)
            delay = self._delay(attempt, retry_after)
            _log.info(
                "alert channel %s failed (%s); retrying in %.1f s",
                channel.name,
                error,
                delay,
                extra=extra,
            )
            self._sleep(delay)

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return max(0.0, min(retry_after, self._retry_after_cap))
        return float(min(self._backoff * 2 ** (attempt - 1), self._max_backoff))
