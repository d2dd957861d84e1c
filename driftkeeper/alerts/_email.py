"""The alert email, shared by the SMTP and the Microsoft Graph channels.

- Subject: ``[driftkeeper] HIGH drift: nsg nsg-web-prod``; every part is one cleaned line, so
  no CR/LF (header injection) can get in.
- Body: a plain-text part and an HTML part. Every value is defanged first
  (``hxxps://evil[.]example``, ``user[@]host[.]example``:
  :func:`~driftkeeper.alerts._text.shown`), since mail clients link bare URLs and addresses;
  in the HTML it then goes through ``html.escape(..., quote=True)``. The only links are the
  validated ones of the alert.
- Recipients: the configured ones plus the baseline's owners, checked, de-duplicated.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from ._model import Alert
from ._text import alert_title, change_lines, clean, facts, link_title, message_text

if TYPE_CHECKING:
    from email.message import EmailMessage

__all__ = [
    "email_html",
    "email_message",
    "email_subject",
    "email_text",
    "is_email_address",
    "recipients_for",
]

_log = logging.getLogger(__name__)

_LOCAL = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_ADDRESS = re.compile(rf"{_LOCAL}@{_LABEL}(?:\.{_LABEL})+", re.ASCII)
_COLOR = {"critical": "#a4262c", "high": "#c43e1c", "medium": "#0078d4", "low": "#605e5c"}
_GOOD = "#107c10"


def is_email_address(value: str) -> bool:
    """A plain ``local@domain.tld`` address (ASCII; no display name, no quoting)."""
    return len(value) <= 254 and _ADDRESS.fullmatch(value) is not None


def recipients_for(to: Iterable[str], alert: Alert) -> tuple[str, ...]:
    """``to`` plus the alert's owners, without duplicates (case-insensitive); bad owners skipped."""
    seen: set[str] = set()
    recipients: list[str] = []
    for address in (*to, *alert.owners):
        address = address.strip()
        if not is_email_address(address):
            _log.warning(
                "skipping an owner that is not an email address: %r",
                clean(address, 80),
                extra={"resource": alert.resource, "baseline": alert.rule},
            )
            continue
        if address.casefold() not in seen:
            seen.add(address.casefold())
            recipients.append(address)
    return tuple(recipients)


def email_subject(alert: Alert) -> str:
    return clean(f"[driftkeeper] {alert_title(alert)}", 200)


def email_text(alert: Alert, *, max_changes: int = 20) -> str:
    lines = [alert_title(alert), "", message_text(alert), ""]
    pairs = facts(alert)
    width = max(len(title) for title, _ in pairs)
    lines += [f"{title + ':':<{width + 1}} {value}" for title, value in pairs]
    changes, more = change_lines(alert, max_changes)
    if changes:
        lines += ["", "What changed:"]
        lines += [f"- {c.path}: {c.expected} -> {c.actual}" for c in changes]
        if more:
            lines.append(f"  and {more} more")
    links = _links(alert)
    if links:
        lines.append("")
        lines += [f"{title}: {url}" for title, url in links]
    lines += ["", "-- driftkeeper"]
    return "\n".join(lines) + "\n"


def email_html(alert: Alert, *, max_changes: int = 20) -> str:
    def esc(value: str) -> str:
        return html.escape(value, quote=True)

    resolved = alert.transition == "resolved"
    color = _GOOD if resolved else _COLOR[alert.severity]
    rows = "".join(
        f'<tr><th align="left" style="padding:2px 12px 2px 0">{esc(title)}</th>'
        f"<td>{esc(value)}</td></tr>"
        for title, value in facts(alert)
    )
    parts = [
        '<!DOCTYPE html><html><body style="font-family:Segoe UI,Arial,sans-serif">',
        f'<h2 style="color:{color}">{esc(alert_title(alert))}</h2>',
        f"<p>{esc(message_text(alert))}</p>",
        f"<table>{rows}</table>",
    ]
    changes, more = change_lines(alert, max_changes)
    if changes:
        items = "".join(
            f"<li><code>{esc(c.path)}</code>: {esc(c.expected)} &rarr; {esc(c.actual)}</li>"
            for c in changes
        )
        parts += ["<h3>What changed</h3>", f"<ul>{items}</ul>"]
        if more:
            parts.append(f"<p>and {more} more</p>")
    links = _links(alert)
    if links:
        parts.append(
            "<p>"
            + " | ".join(f'<a href="{esc(url)}">{esc(title)}</a>' for title, url in links)
            + "</p>"
        )
    parts.append("<p><small>driftkeeper</small></p></body></html>")
    return "".join(parts)


def email_message(alert: Alert, *, sender: str, recipients: Iterable[str]) -> EmailMessage:
    """A multipart/alternative message (text, then HTML) ready for ``smtplib``."""
    from email.message import EmailMessage
    from email.utils import formatdate, make_msgid

    message = EmailMessage()
    message["Subject"] = email_subject(alert)
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(email_text(alert))
    message.add_alternative(email_html(alert), subtype="html")
    return message


def _links(alert: Alert) -> list[tuple[str, str]]:
    links = [("Open in Azure portal", alert.portal_url)] if alert.portal_url else []
    links += [(link_title(link), link.url) for link in alert.links]
    return links
