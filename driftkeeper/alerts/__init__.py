"""Alerts: deliver a drift finding to Teams, email (SMTP or Microsoft Graph) and Event Grid.

::

    alert = Alert.from_finding(finding, signal, owners=baseline.owners, response="approve")
    notifier = Notifier([TeamsChannel(url), SmtpEmailChannel(host, sender=..., to=routes.email_to)],
                        Routes.from_env(os.environ))
    deliveries = notifier.notify(alert)      # never raises for a channel; record these

Channels take their clients and URLs in the constructor and import their SDKs when first
used, so ``import driftkeeper.alerts`` stays cheap. Every value from an event or an API is
escaped for its medium (Markdown in cards, HTML in mail, no CR/LF in headers); links are
validated before they become part of a card or a page.
"""

from __future__ import annotations

from ._email import email_html, email_subject, email_text, recipients_for
from ._errors import AlertConfigError, DeliveryError
from ._eventgrid import EventGridChannel, cloud_event, event_id
from ._graph_mail import GraphMailChannel, graph_mail_client
from ._model import TRANSITIONS, Alert, Link, Transition, arm_portal_url, is_safe_link
from ._notifier import Channel, Delivery, Notifier
from ._routing import (
    CHANNEL_NAMES,
    DEFAULT_ROUTES,
    EMAIL_TO_VARIABLE,
    ROUTES_VARIABLE,
    Routes,
)
from ._smtp import SmtpEmailChannel
from ._teams import TeamsChannel, escape_markdown, teams_message

__all__ = [
    "CHANNEL_NAMES",
    "DEFAULT_ROUTES",
    "EMAIL_TO_VARIABLE",
    "ROUTES_VARIABLE",
    "TRANSITIONS",
    "Alert",
    "AlertConfigError",
    "Channel",
    "Delivery",
    "DeliveryError",
    "EventGridChannel",
    "GraphMailChannel",
    "Link",
    "Notifier",
    "Routes",
    "SmtpEmailChannel",
    "TeamsChannel",
    "Transition",
    "arm_portal_url",
    "cloud_event",
    "email_html",
    "email_subject",
    "email_text",
    "escape_markdown",
    "event_id",
    "graph_mail_client",
    "is_safe_link",
    "recipients_for",
    "teams_message",
]
