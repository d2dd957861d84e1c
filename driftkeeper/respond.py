"""The respond stage: alert the channels for an incident the policy says to alert on (the
finding and the signal it was made from, as they are), and publish every finding to the
optional Event Grid topic."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._model import Finding, Outcome
from .baseline import Baseline
from .signals import Signal

if TYPE_CHECKING:
    from .alerts import Alert, Channel, Link, Notifier
    from .alerts import Transition as AlertTransition

__all__ = ["Responder", "alert_for"]

log = logging.getLogger(__name__)


def alert_for(
    finding: Finding,
    signal: Signal,
    baseline: Baseline | None,
    transition: AlertTransition,
    *,
    links: Sequence[Link] = (),
    outcome: Outcome | None = None,
) -> Alert:
    """The alert for one finding and the signal that led to it. A setting that could not be
    read is only ever alerted (nothing to roll back)."""
    from .alerts import Alert

    return Alert.from_finding(
        finding,
        signal,
        owners=baseline.owners if baseline else (),
        response=baseline.response if baseline and finding.status != "error" else "alert",
        transition=transition,
        outcome=outcome,
        links=links,
    )


@dataclass
class Responder:
    """Delivers alerts through a :class:`~driftkeeper.alerts.Notifier` and publishes every
    finding to an optional Event Grid channel. Never raises for a channel failure."""

    notifier: Notifier
    publisher: Channel | None = None

    def alert(
        self,
        finding: Finding,
        signal: Signal,
        baseline: Baseline | None,
        transition: AlertTransition,
        *,
        links: Sequence[Link] = (),
        outcome: Outcome | None = None,
    ) -> list[dict[str, Any]]:
        deliveries = self.notifier.notify(
            alert_for(finding, signal, baseline, transition, links=links, outcome=outcome)
        )
        return [d.to_dict() for d in deliveries]

    def publish(self, judged: Sequence[tuple[Finding, Signal]]) -> None:
        if self.publisher is None:
            return
        from azure.core.exceptions import AzureError

        from .alerts import DeliveryError

        for finding, signal in judged:
            try:
                self.publisher.send(alert_for(finding, signal, None, "updated"))
            except (DeliveryError, AzureError, OSError) as exc:  # best effort: the row stays
                log.warning(
                    "finding not published to Event Grid: %s",
                    exc,
                    extra={"resource_id": finding.resource, "baseline": finding.rule},
                )
