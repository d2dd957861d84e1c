"""One answer to one write (or poll), whichever SDK sent it: what :mod:`._write` judges.

A client never raises for an HTTP status or a lost connection here; it returns a
:class:`Reply`, so retries, long-running operations and errors are decided in one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["KEPT_HEADERS", "Reply", "json_or_none"]

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
    def of(cls, status: int, headers: Mapping[str, str], content: bytes | None) -> Reply:
        kept = {name: headers[name] for name in KEPT_HEADERS if headers.get(name) is not None}
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
