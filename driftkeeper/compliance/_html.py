"""Text made safe for the dashboard: every value escaped, bidi controls shown."""

from __future__ import annotations

from typing import Any

from .._pages import escape

__all__ = ["duration", "e", "percent"]

_MAX_SHOWN = 300
NONE = "\u2013"  # an en dash: no value


def e(value: Any, limit: int = _MAX_SHOWN) -> str:
    """A value as page text (:func:`driftkeeper._pages.escape`), cut at ``limit``."""
    return escape(value, limit)


def duration(seconds: float | None) -> str:
    """``42 s``, ``3.5 min``, ``2.1 h``, ``4.0 d``; an en dash when unknown."""
    if seconds is None:
        return NONE
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.1f} min"
    if seconds < 36 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def percent(share: float | None) -> str:
    return NONE if share is None else f"{share * 100:.1f} %"
