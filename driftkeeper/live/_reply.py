"""One answer to one write (or poll), whichever SDK sent it: what :mod:`._write` judges.

A client never raises for an HTTP status or a lost connection here; it returns a
:class:`Reply`, so retries, long-running operations and errors are decided in one place.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

__all__ = ["KEPT_HEADERS", "Reply", "json_or_none", "retry_after"]

KEPT_HEADERS = (
    "retry-after",
    "retry-after-ms",
    "x-ms-retry-after-ms",
    "azure-asyncoperation",
    "location",
)
"""The response headers a write looks at (lower-case); no other header is kept."""


@dataclass(frozen=True)
class Reply:
    """An HTTP answer (``status`` > 0), or none (``status`` 0: ``problem`` says why and
    ``sent`` whether the request may have reached the service)."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = None
    sent: bool = True
    problem: str = ""

    @classmethod
    def of(
        cls,
        status: int,
        headers: Mapping[str, str],
        content: bytes | None,
        keep: tuple[str, ...] = (),
    ) -> Reply:
        """``keep`` names response headers (lower-case) kept besides :data:`KEPT_HEADERS`."""
        names = (*KEPT_HEADERS, *keep)
        kept = {name: headers[name] for name in names if headers.get(name) is not None}
        return cls(status, kept, json_or_none(content))


def json_or_none(content: bytes | None) -> Any:
    """The JSON in ``content``; None when it is empty or not JSON."""
    import json

    if not content:
        return None
    try:
        return json.loads(content)
    except (ValueError, UnicodeDecodeError):
        return None


def retry_after(reply: Reply) -> float | None:
    """The wait the service asked for, in seconds (``retry-after-ms`` first, then
    ``Retry-After`` as seconds or an HTTP date); None when it asked for none."""
    for name, scale in (("retry-after-ms", 1000.0), ("x-ms-retry-after-ms", 1000.0)):
        value = _number(reply.headers.get(name))
        if value is not None:
            return value / scale
    text = reply.headers.get("retry-after")
    if text is None:
        return None
    value = _number(text)
    if value is not None:
        return value
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _number(text: str | None) -> float | None:
    try:
        value = float(text) if text is not None else None
    except ValueError:
        return None
    if value is None or not math.isfinite(value):
        return None
    return max(0.0, value)
