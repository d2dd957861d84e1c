"""HTTP answers as the channels describe them, and how long the service asks them to wait.

Whether a status is worth retrying is :func:`driftkeeper.live._failures.is_transient`, the
package's one answer to that question (reads and deliveries alike).
"""

from __future__ import annotations

import time
from http import HTTPStatus

__all__ = ["parse_retry_after", "status_text"]


def status_text(status: int) -> str:
    """``"429 Too Many Requests"`` (the bare number for a status Python does not know)."""
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date), else ``None``."""
    import email.utils

    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - time.time())
