"""Plain text of an alert, shared by the channels before each escapes it for its medium.

Every value is made one line of printable text (controls, line breaks, bidi overrides and
other format characters become spaces) and capped, so no value can add a line to a header, a
card or a page, or reorder what is shown around it.

Then it is defanged (:func:`defang`): Teams and mail clients turn bare URLs, ``www.`` hosts,
bare domains and email addresses in plain text into links, so every URL-like piece of a value
is broken the way analysts write indicators (``hxxps://evil[.]example/x``,
``user[@]host[.]example``). Every value an alert shows goes through :func:`shown`, here, once,
for all channels; only driftkeeper's own links (:attr:`Alert.portal_url`, :attr:`Alert.links`)
are put into a card or a page as links.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from ._model import Alert, Link

__all__ = [
    "ChangeLine",
    "alert_title",
    "change_lines",
    "clean",
    "defang",
    "facts",
    "link_title",
    "message_text",
    "short_name",
    "shown",
]

_SPACES = re.compile(r"\s+")
_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})

VALUE_LIMIT = 200
MESSAGE_LIMIT = 1000

# "scheme://" (any scheme), and the schemes that make a link without "//".
_SCHEME = re.compile(
    r"(?<![A-Za-z0-9+.\-])([A-Za-z][A-Za-z0-9+.\-]*):(?=//)"
    r"|(?<![A-Za-z0-9+.\-])(https?|ftps?|javascript|vbscript|data|file|mailto|tel|sms|sip"
    r"|callto|skype|msteams|ms-[A-Za-z0-9\-]+):(?=\S)",
    re.IGNORECASE,
)
# Already defanged schemes stay as they are.
_DEFANGED_SCHEME = {"http": "hxxp", "https": "hxxps", "ftp": "fxp", "ftps": "fxps"}
_DEFANGED_SCHEME.update({v: v for v in _DEFANGED_SCHEME.values()})
# "//host" or "\\host" not right after a scheme (protocol-relative URL, UNC path).
_SLASHES = re.compile(r"(?<!:)//|\\\\")
# Dots as IDNA reads them: full stop, ideographic, fullwidth and halfwidth ideographic.
_DOT = "[.\u3002\uff0e\uff61]"
# A dotted name (host, domain, IPv4), Unicode labels included (IDN).
_DOTTED = re.compile(rf"(?<![\w\-])[\w\-]+(?:{_DOT}[\w\-]+)+")
_AT = re.compile(r"(?<=[\w.+\-])@(?=[\w\-])")


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


def defang(text: str) -> str:
    """``text`` with every URL-like piece made unclickable (for text already :func:`clean`).

    - schemes: ``https://`` → ``hxxps://``, ``ftp://`` → ``fxp://``, any other ``x://`` →
      ``x[://]``, ``javascript:`` / ``mailto:`` / ... → ``javascript[:]``;
    - a ``//host`` or ``\\\\host`` not after a defanged scheme → ``[//]host``, ``[\\\\]host``;
    - every dot of a dotted name with anything but decimal digits after its first dot
      (``evil.example``,
      ``Microsoft.Network``, IDN and punycode names), starting with ``www.``, or right after
      ``//`` or ``@`` (an IP address in a URL) → ``[.]``; bare IPs and version numbers
      (``10.0.0.0/8``, ``1.2.3``) stay as they are;
    - ``user@host`` → ``user[@]host``.
    """
    text = _SCHEME.sub(_defang_scheme, text)
    text = _SLASHES.sub(lambda m: f"[{m.group(0)}]", text)
    text = _DOTTED.sub(_defang_dotted, text)
    return _AT.sub("[@]", text)


def _defang_scheme(match: re.Match[str]) -> str:
    scheme = match.group(1) or match.group(2)
    defanged = _DEFANGED_SCHEME.get(scheme.lower())
    if defanged is not None:
        return defanged + ":"
    return f"{scheme}[:]"


def _defang_dotted(match: re.Match[str]) -> str:
    name = match.group(0)
    first, *rest = re.split(_DOT, name)
    before = match.string[max(0, match.start() - 3) : match.start()]
    if (
        before.endswith(("//", "/]", "@", "@]"))
        or first.lower() == "www"
        # anything after a dot but decimal digits (a letter, "²", "Ⅻ") may be read as a
        # domain label by some linkifier
        or any(not (c.isdecimal() or c in "-_") for label in rest for c in label)
    ):
        return re.sub(_DOT, "[.]", name)
    return name


def shown(value: object, limit: int = VALUE_LIMIT) -> str:
    """``value`` as an alert shows it: :func:`clean` (one line, at most ``limit`` characters),
    then :func:`defang` (which may add a few brackets)."""
    return defang(clean(value, limit))


def message_text(alert: Alert) -> str:
    """The finding's message as shown."""
    return shown(alert.message, MESSAGE_LIMIT)


def link_title(link: Link) -> str:
    """The title of one of driftkeeper's own links as shown (its URL stays a link)."""
    return shown(link.title, 60)


def short_name(resource: str) -> str:
    """The last segment of a resource id (``nsg-web-prod``), or the id itself, as shown."""
    segments = [s for s in resource.split("/") if s]
    return shown(segments[-1] if segments else resource, 80)


def alert_title(alert: Alert) -> str:
    """``HIGH drift: nsg nsg-web-prod`` (``resolved`` added when the incident closed)."""
    title = f"{alert.severity.upper()} {alert.outcome}: {shown(alert.kind, 60)} "
    title += short_name(alert.resource)
    if alert.transition == "resolved":
        title += " (resolved)"
    return title


def facts(alert: Alert) -> list[tuple[str, str]]:
    """The (title, value) pairs every channel shows, values :func:`shown`; empty ones left out."""
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
    return [(title, shown(value, 300)) for title, value in pairs if clean(value)]


@dataclass(frozen=True)
class ChangeLine:
    """One field change as text: ``path``, ``expected``, ``actual`` (:func:`shown`)."""

    path: str
    expected: str
    actual: str


def change_lines(alert: Alert, limit: int) -> tuple[list[ChangeLine], int]:
    """The first ``limit`` changes as text, and how many more there are."""
    lines = [
        ChangeLine(
            shown(c.path or "(resource)", 120), _value_text(c.expected), _value_text(c.actual)
        )
        for c in alert.changes[: max(0, limit)]
    ]
    return lines, max(0, len(alert.changes) - len(lines))


def _value_text(value: Any) -> str:
    if value is None:
        return "absent"
    if isinstance(value, str):
        return shown(value, 150)
    try:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    except ValueError:  # a circular structure
        text = repr(value)
    return shown(text, 150)
