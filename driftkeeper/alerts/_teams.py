"""Teams through a Power Automate "Workflows" webhook: one Adaptive Card (1.4) per alert.

The card is posted as ``{"type": "message", "attachments": [{"contentType":
"application/vnd.microsoft.card.adaptive", "content": <card>}]}`` with ``urllib.request`` (a
timeout, no redirects followed, so the signed URL is never replayed elsewhere). Retries belong
to :class:`~driftkeeper.alerts.Notifier`: a 408/429/5xx answer or no answer raises a transient
:class:`~driftkeeper.alerts.DeliveryError` carrying the ``Retry-After`` delay.

TextBlocks and FactSets render a Markdown subset and Teams links bare URLs, so every value
from an event or an API is made one line, capped and defanged (``hxxps://evil[.]example``,
:func:`~driftkeeper.alerts._text.shown`), then backslash-escaped (:func:`escape_markdown`).
Links come only from
:class:`~driftkeeper.alerts.Alert`, which validates them. The webhook URL carries a signature:
it is never logged or put into an error; only its host is.
"""

from __future__ import annotations

import json
import logging
import re
from typing import TYPE_CHECKING, Any

from .._errors import AlertConfigError, DeliveryError
from ..live._failures import is_transient
from ._http import parse_retry_after, status_text
from ._model import Alert, endpoint_host
from ._text import alert_title, change_lines, clean, facts, link_title, message_text

if TYPE_CHECKING:
    import urllib.request

__all__ = ["TeamsChannel", "escape_markdown", "teams_message", "webhook_host"]

_log = logging.getLogger(__name__)

# Backslash-escaped anywhere: emphasis, links, code, headings, quotes, strikethrough, tables,
# HTML and entities, and the backslash itself (else "\[" in a value would unescape "[").
_MARKDOWN = re.compile(r"([\\*_\[\]()`#>~|<&!{}])")
# What may start a list or a thematic break at the start of a line: "-", "+", "1. " / "1) ".
_LIST_START = re.compile(r"^([-+])|^(\d{1,9})([.)])(?=\s|$)")

_STYLE = {"critical": "attention", "high": "warning", "medium": "accent", "low": "default"}
_COLOR = {"critical": "Attention", "high": "Warning", "medium": "Accent", "low": "Default"}
_CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"


def escape_markdown(text: str) -> str:
    """``text`` with every Markdown construct Teams renders neutralised by backslashes."""
    escaped = _MARKDOWN.sub(r"\\\1", text)
    return _LIST_START.sub(
        lambda m: "\\" + m.group(1) if m.group(1) else m.group(2) + "\\" + m.group(3), escaped
    )


def teams_message(alert: Alert, *, max_changes: int = 10) -> dict[str, Any]:
    """The Workflows webhook payload: a message with one Adaptive Card 1.4 attachment."""
    resolved = alert.transition == "resolved"
    style = "good" if resolved else _STYLE[alert.severity]
    color = "Good" if resolved else _COLOR[alert.severity]
    body: list[dict[str, Any]] = [
        {
            "type": "Container",
            "style": style,
            "bleed": True,
            "items": [
                {
                    "type": "TextBlock",
                    "text": escape_markdown(alert_title(alert)),
                    "size": "Large",
                    "weight": "Bolder",
                    "color": color,
                    "wrap": True,
                },
                {
                    "type": "TextBlock",
                    "text": escape_markdown(
                        f"driftkeeper · incident {alert.transition} · response: {alert.response}"
                    ),
                    "isSubtle": True,
                    "spacing": "None",
                    "wrap": True,
                },
            ],
        },
        {"type": "TextBlock", "text": escape_markdown(message_text(alert)), "wrap": True},
        {
            "type": "FactSet",
            "facts": [
                {"title": escape_markdown(title), "value": escape_markdown(value)}
                for title, value in facts(alert)
                if not _unbreakable(value)
            ],
        },
    ]
    # a FactSet does not wrap a long value without spaces (an ARM id, an operation name):
    # those get a wrapping line of their own, so the person paged sees the whole id
    for title, value in facts(alert):
        if _unbreakable(value):
            body.append(
                {
                    "type": "TextBlock",
                    "id": f"fact:{title}",
                    "text": f"{escape_markdown(title)}: {escape_markdown(value)}",
                    "fontType": "Monospace",
                    "size": "Small",
                    "spacing": "Small",
                    "wrap": True,
                }
            )
    lines, more = change_lines(alert, max_changes)
    if lines:
        body.append(
            {
                "type": "TextBlock",
                "text": "What changed",
                "weight": "Bolder",
                "spacing": "Medium",
                "wrap": True,
            }
        )
        for line in lines:
            body.append(
                {
                    "type": "TextBlock",
                    "text": f"{escape_markdown(line.path)}: {escape_markdown(line.expected)}"
                    f" → {escape_markdown(line.actual)}",
                    "fontType": "Monospace",
                    "spacing": "Small",
                    "wrap": True,
                }
            )
        if more:
            body.append(
                {"type": "TextBlock", "text": f"and {more} more", "isSubtle": True, "wrap": True}
            )
    actions: list[dict[str, Any]] = []
    if alert.portal_url:
        actions.append(
            {"type": "Action.OpenUrl", "title": "Open in Azure portal", "url": alert.portal_url}
        )
    for link in alert.links:
        actions.append({"type": "Action.OpenUrl", "title": link_title(link), "url": link.url})
    card: dict[str, Any] = {
        "type": "AdaptiveCard",
        "$schema": _CARD_SCHEMA,
        "version": "1.4",
        "msteams": {"width": "Full"},
        "body": body,
    }
    if actions:
        card["actions"] = actions
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }


def webhook_host(url: str, *, variable: str = "Teams webhook URL") -> str:
    """The host of a usable webhook URL (https; plain http only to a loopback address).

    Raises :class:`~driftkeeper.AlertConfigError` naming ``variable``. The URL itself is a
    secret: errors say what is wrong and show at most the host, never the URL.
    """
    try:
        scheme, host = endpoint_host(url)
    except ValueError:
        raise AlertConfigError(variable, "<URL>", "is not a URL") from None
    if not host:
        raise AlertConfigError(variable, f"<{scheme or 'no scheme'} URL>", "must be https")
    if re.search(r"[\x00-\x20\x7f]", url):
        raise AlertConfigError(
            variable, f"<URL to {host}>", "contains spaces or control characters"
        )
    return host


class TeamsChannel:
    """Posts alerts to a Teams Workflows webhook.

    ``webhook_url`` must be https (plain http only to a loopback address, for local tests).
    """

    name = "teams"

    def __init__(
        self,
        webhook_url: str,
        *,
        timeout: float = 10.0,
        max_changes: int = 10,
    ) -> None:
        self._url = webhook_url
        self.host = webhook_host(webhook_url)
        self._timeout = timeout
        self._max_changes = max_changes
        self._opener: urllib.request.OpenerDirector | None = None

    def __repr__(self) -> str:
        return f"TeamsChannel(host={self.host!r})"

    def send(self, alert: Alert) -> None:
        payload = json.dumps(
            teams_message(alert, max_changes=self._max_changes), ensure_ascii=False
        ).encode("utf-8")
        status = self._post(payload)
        _log.info(
            "Teams webhook on %s accepted the alert (%d)",
            self.host,
            status,
            extra={"resource": alert.resource, "baseline": alert.rule},
        )

    def _post(self, payload: bytes) -> int:
        import http.client
        import urllib.error
        import urllib.request

        if self._opener is None:
            self._opener = _build_opener()
        request = urllib.request.Request(  # noqa: S310 - scheme checked in __init__
            self._url,
            data=payload,
            method="POST",
            headers={"Content-Type": "application/json; charset=utf-8"},
        )
        try:
            with self._opener.open(request, timeout=self._timeout) as response:
                response.read()
                return int(response.status)
        except urllib.error.HTTPError as exc:
            with exc:
                status = exc.code
                retry_after = parse_retry_after(exc.headers.get("Retry-After"))
            raise DeliveryError(
                f"Teams webhook on {self.host} answered {status_text(status)}",
                transient=is_transient(status),
                retry_after=retry_after,
            ) from None
        except urllib.error.URLError as exc:
            reason = exc.reason
            detail = reason if isinstance(reason, str) else type(reason).__name__
            raise DeliveryError(
                f"no answer from the Teams webhook on {self.host}: {clean(detail, 120)}",
                transient=True,
            ) from None
        except (OSError, http.client.HTTPException) as exc:
            raise DeliveryError(
                f"no answer from the Teams webhook on {self.host}: {type(exc).__name__}",
                transient=True,
            ) from None


def _build_opener() -> urllib.request.OpenerDirector:
    """An opener that follows no redirect: a 3xx answer becomes an ``HTTPError``."""
    import urllib.request

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    return urllib.request.build_opener(NoRedirect)


def _unbreakable(value: str) -> bool:
    """A value a FactSet would cut: long, with no space to break at."""
    return len(value) > 40 and " " not in value
