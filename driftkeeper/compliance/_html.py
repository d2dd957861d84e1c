"""Text made safe for the dashboard: every value escaped, bidi controls shown."""

from __future__ import annotations

import html
import re
from typing import Any

__all__ = ["duration", "e", "percent"]

_BIDI = re.compile(r"[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_MAX_SHOWN = 300
NONE = "\u2013"  # an en dash: no value


_SURROGATE = re.compile("[\ud800-\udfff]")


def e(value: Any, limit: int = _MAX_SHOWN) -> str:
    """A value as page text: cut, bidi controls made visible, then escaped (quotes too)."""
    text = value if isinstance(value, str) else str(value)
    if len(text) > limit:
        text = text[:limit] + "…"
    text = _BIDI.sub(lambda m: f"[U+{ord(m.group()):04X}]", text)
    text = _SURROGATE.sub("\ufffd", text)  # legal in JSON, not encodable: never a 500
    return html.escape(text, quote=True)


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
