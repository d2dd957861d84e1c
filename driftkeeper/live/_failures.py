"""How a failed ARM / Graph call is judged and described, whichever SDK made it.

A call fails *transiently* (HTTP 408, 429, 5xx or no response at all, after the SDK's own
retries) or *permanently* (any other 4xx). A transient failure stops the whole read with
:class:`~driftkeeper.TransientReadError`; a permanent one only takes its section out of the
snapshot and is written into ``readErrors``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

__all__ = ["Refused", "SectionReads", "describe_failure", "is_transient"]

_MAX_MESSAGE = 300


def is_transient(status: int) -> bool:
    """Whether an HTTP status is worth retrying later (timeouts, throttling, server errors)."""
    return status in (408, 429) or status >= 500


def describe_failure(status: int, code: str | None, message: str | None) -> str:
    """``"403 Forbidden: AuthorizationFailed: The client ..."`` (the service's words, shortened).

    Only the status and the error body's code and message are used: never headers, so never
    a token.
    """
    try:
        text = f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        text = str(status)
    detail = " ".join((message or "").split())
    if len(detail) > _MAX_MESSAGE:
        detail = detail[: _MAX_MESSAGE - 3] + "..."
    for part in (code, detail):
        if part:
            text += f": {part}"
    return text


@dataclass(frozen=True)
class Refused:
    """A permanent failure: the service answered, and a retry will not change the answer."""

    status: int
    code: str | None
    text: str

    @property
    def gone(self) -> bool:
        """A 404 in which the service says the thing itself does not exist: with an error
        code (a proxy's bare 404 page says nothing), and not ``SubscriptionNotFound``."""
        return self.status == 404 and (self.code or "").casefold() not in (
            "",
            "subscriptionnotfound",
        )


@dataclass
class SectionReads:
    """What one reader produced: captured sections, and the sections that failed and why."""

    sections: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def fail(self, section: str, text: str) -> None:
        """Record a permanent failure; a section that failed once is not captured."""
        self.sections.pop(section, None)
        previous = self.errors.get(section)
        self.errors[section] = f"{previous}; {text}" if previous else text
