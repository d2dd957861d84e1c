"""The shell every HTML page driftkeeper serves shares: escaping, the strict policy, the
security headers, the document.

A page carries one inline ``<style>`` allowed by its hash and nothing else (no script, no
outside resource). The policy is sent as a header and repeated in a ``<meta>`` (which cannot
carry ``frame-ancestors``), so a saved or forwarded copy is held to it too. Every value is
escaped, bidi controls made visible and lone surrogates (legal in JSON, not encodable in
UTF-8) replaced, so no stored value can become markup or break a page.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Page", "PageStyle", "escape"]

_BIDI = re.compile(r"[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def escape(value: Any, limit: int, *, count: bool = False) -> str:
    """``value`` as page text: cut at ``limit`` characters (``count``: saying how many it
    had), bidi controls shown as ``[U+202E]``, lone surrogates as U+FFFD, then escaped
    (quotes too)."""
    text = value if isinstance(value, str) else str(value)
    if len(text) > limit:
        text = text[:limit] + (f"… ({len(text)} characters)" if count else "…")
    text = _BIDI.sub(lambda m: f"[U+{ord(m.group()):04X}]", text)
    text = _SURROGATE.sub("\ufffd", text)
    return html.escape(text, quote=True)


@dataclass(frozen=True)
class PageStyle:
    """One stylesheet and the policy that allows exactly it."""

    css: str
    form_action: str = "'none'"
    """``'self'`` for a page whose form posts back."""

    @property
    def meta_csp(self) -> str:
        digest = base64.b64encode(hashlib.sha256(self.css.encode("utf-8")).digest())
        return (
            f"default-src 'none'; style-src 'sha256-{digest.decode('ascii')}'; "
            f"form-action {self.form_action}; base-uri 'none'"
        )

    @property
    def csp(self) -> str:
        return f"{self.meta_csp}; frame-ancestors 'none'"

    def headers(self) -> dict[str, str]:
        """The headers every page in this style is sent with."""
        return {
            "Content-Security-Policy": self.csp,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store",
            "X-Frame-Options": "DENY",
        }

    def document(self, title: str, body: str, *, head: str = "") -> str:
        """A whole page: ``title`` escaped, ``body`` already safe HTML, ``head`` extra safe
        head elements (a refresh)."""
        return (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width,initial-scale=1">'
            '<meta name="referrer" content="no-referrer">'
            f'<meta http-equiv="Content-Security-Policy" content="{self.meta_csp}">{head}'
            f"<title>{escape(title, 300)}</title><style>{self.css}</style></head>"
            f"<body><main>{body}</main></body></html>"
        )


@dataclass(frozen=True)
class Page:
    """An HTML answer: status, body, headers."""

    status_code: int
    body: str
    headers: Mapping[str, str] = field(default_factory=dict)
