"""Alerts: deliver a drift finding to Teams, email (SMTP or Microsoft Graph) and Event Grid.

::

    alert = Alert.from_finding(finding, signal, owners=baseline.owners, response="approve")
    routes = Routes.parse('{"high": ["teams", "email"]}', "soc@contoso.com")
    notifier = Notifier([TeamsChannel(url), SmtpEmailChannel(host, sender=..., to=routes.email_to)],
                        routes)
    deliveries = notifier.notify(alert)      # never raises for a channel; record these

The Function App builds its channels from :class:`driftkeeper.config.AlertSettings` (see
:func:`driftkeeper.runtime.build_alerts`); the ``check`` functions here (:func:`webhook_host`,
:func:`topic_host`, :func:`graph_mail_sender_problem`) are what both the channels and the
settings validate with. Errors (:class:`AlertConfigError`, :class:`DeliveryError`) belong to
driftkeeper's one tree, :mod:`driftkeeper._errors`, and are re-exported here.

Channels take their clients and URLs in the constructor and import their SDKs when first
used, so ``import driftkeeper.alerts`` stays cheap. Every value from an event or an API is
escaped for its medium (Markdown in cards, HTML in mail, no CR/LF in headers); links are
validated before they become part of a card or a page.
"""

from __future__ import annotations

from .._errors import AlertConfigError, DeliveryError
from ._email import email_html, email_subject, email_text, is_email_address, recipients_for
from ._eventgrid import EventGridChannel, cloud_event, event_id, topic_host
from ._graph_mail import GraphMailChannel, graph_mail_client, graph_mail_sender_problem
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
from ._teams import TeamsChannel, escape_markdown, teams_message, webhook_host

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
    "graph_mail_sender_problem",
    "is_email_address",
    "is_safe_link",
    "recipients_for",
    "teams_message",
    "topic_host",
    "webhook_host",
]
