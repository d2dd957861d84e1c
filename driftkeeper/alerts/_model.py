"""The alert: one finding plus the context a person needs to act on it.

Every text field may come from outside (event fields, names read from ARM or Graph): the
channels escape them for their medium. Links are the exception: they are validated here, so
a channel may put :attr:`Alert.portal_url` and :attr:`Alert.links` into a card or a page as
they are.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, get_args
from urllib.parse import urlsplit

from .._model import RESPONSES, SEVERITIES, Change, Finding, Outcome, Response, Severity, Status
from ..signals import Actor, Signal

__all__ = ["TRANSITIONS", "Alert", "Link", "Transition", "arm_portal_url", "is_safe_link"]

Transition = Literal["opened", "updated", "resolved"]
"""What happened to the incident (one open drift per resource and baseline)."""
TRANSITIONS: tuple[Transition, ...] = get_args(Transition)

_PORTAL = "https://portal.azure.com/#@/resource"

# A strict ARM resource id: subscription, optional resource group, optional provider path of
# type/name pairs; or a management group, optionally with a provider path. ASCII only, no
# empty segments, no "..", nothing a URL would read as a delimiter ("?", "#", "%", "@", ...).
_GUID = r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
_NAME = r"[A-Za-z0-9_(][A-Za-z0-9_.()\-]{0,259}"
_NAMESPACE = r"[A-Za-z][A-Za-z0-9]*(?:\.[A-Za-z][A-Za-z0-9]*)+"
_TYPE = r"[A-Za-z][A-Za-z0-9]{0,79}"
_PROVIDER_PATH = rf"/providers/{_NAMESPACE}(?:/{_TYPE}/{_NAME})+"
_ARM_ID = re.compile(
    rf"(?:/subscriptions/{_GUID}(?:/resourceGroups/{_NAME})?"
    rf"|/providers/Microsoft\.Management/managementGroups/{_NAME})"
    rf"(?:{_PROVIDER_PATH})?",
    re.ASCII | re.IGNORECASE,
)
_URL_FORBIDDEN = re.compile(r"[\x00-\x20\x7f-\x9f\"'<>\\^`{|}]")


def endpoint_host(url: str) -> tuple[str, str]:
    """(scheme, host) of a channel endpoint; host is empty unless the URL is https, or plain
    http to a loopback address (local tests). Raises ValueError for what is not a URL."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    _ = parts.port  # raises ValueError for a bad port
    loopback = host in ("127.0.0.1", "::1", "localhost")
    if parts.scheme == "https" or (parts.scheme == "http" and loopback):
        return parts.scheme, host
    return parts.scheme, ""


def arm_portal_url(resource: str) -> str | None:
    """The Azure portal page of an ARM resource id, or ``None`` when it is not a strict ARM id."""
    if len(resource) > 2048 or not _ARM_ID.fullmatch(resource):
        return None
    return _PORTAL + resource


def is_safe_link(url: str) -> bool:
    """Whether ``url`` may go into a card action or an ``href`` as it is.

    Only absolute ``https`` URLs with a host, no user info, and none of the characters that
    could end an attribute or be read as markup (quotes, ``<``, ``>``, spaces, controls).
    """
    if len(url) > 2048 or _URL_FORBIDDEN.search(url):
        return False
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises on a malformed port
    except ValueError:
        return False
    return parts.scheme == "https" and bool(parts.hostname) and "@" not in parts.netloc


@dataclass(frozen=True)
class Link:
    """A link shown with an alert (approval page, runbook).

    ``url`` must pass :func:`is_safe_link`; ``title`` is escaped like any other text.
    """

    title: str
    url: str

    def __post_init__(self) -> None:
        if not is_safe_link(self.url):
            raise ValueError("Link.url must be an absolute https URL without user info or markup")


@dataclass(frozen=True)
class Alert:
    """What the channels deliver: a finding, the signal behind it, and what to do about it.

    ``status`` is the finding's judgement (``drift`` / ``compliant`` / ``error``); ``outcome``
    what the pipeline made of it (the event table's outcome, e.g. ``drift`` or ``self``).
    ``owners`` are the baseline's owners (email addresses), added to the email recipients.
    """

    kind: str
    resource: str
    rule: str
    """The baseline name, or ``guard:<name>`` for a built-in guard."""
    severity: Severity
    message: str
    changes: tuple[Change, ...] = ()
    status: Status = "drift"
    outcome: Outcome = "drift"
    signal_id: str = ""
    event_time: str = ""
    """When the change happened (ISO 8601 UTC), as the event says."""
    actor: Actor = field(default_factory=Actor)
    operation: str = ""
    correlation_id: str = ""
    owners: tuple[str, ...] = ()
    response: Response = "alert"
    transition: Transition = "opened"
    links: tuple[Link, ...] = ()
    """Further links (approval page, runbook); the portal link is :attr:`portal_url`."""

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"Alert.severity must be one of {', '.join(SEVERITIES)}")
        if self.response not in RESPONSES:
            raise ValueError(f"Alert.response must be one of {', '.join(RESPONSES)}")
        if self.transition not in TRANSITIONS:
            raise ValueError(f"Alert.transition must be one of {', '.join(TRANSITIONS)}")
        for name in ("changes", "owners", "links"):
            if not isinstance(getattr(self, name), tuple):
                raise TypeError(f"Alert.{name} must be a tuple")

    @classmethod
    def from_finding(
        cls,
        finding: Finding,
        signal: Signal | None = None,
        *,
        owners: Iterable[str] = (),
        response: Response = "alert",
        transition: Transition = "opened",
        outcome: Outcome | None = None,
        links: Iterable[Link] = (),
    ) -> Alert:
        """An alert for ``finding``, with the context of ``signal`` when there is one."""
        return cls(
            kind=finding.kind,
            resource=finding.resource,
            rule=finding.rule,
            severity=finding.severity,
            message=finding.message,
            changes=tuple(finding.changes),
            status=finding.status,
            outcome=outcome or finding.status,
            signal_id=signal.id if signal else "",
            event_time=signal.time if signal else "",
            actor=signal.actor if signal else Actor(),
            operation=signal.operation if signal else "",
            correlation_id=signal.correlation_id if signal else "",
            owners=tuple(owners),
            response=response,
            transition=transition,
            links=tuple(links),
        )

    @property
    def portal_url(self) -> str | None:
        """The resource's Azure portal page (ARM ids only, validated), else ``None``."""
        return arm_portal_url(self.resource)

    def finding_dict(self) -> dict[str, Any]:
        """The finding in the JSON shape of ``driftkeeper scan --format json``."""
        return Finding(
            kind=self.kind,
            resource=self.resource,
            status=self.status,
            rule=self.rule,
            severity=self.severity,
            message=self.message,
            changes=self.changes,
        ).to_dict()
