"""The respond stage: alert the channels for an opened (or resolved) incident, and publish
every finding to the optional Event Grid topic."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._model import EventRecord, Finding
from .baseline import Baseline
from .signals import Actor, Signal

if TYPE_CHECKING:
    from .alerts import Alert, Channel, Notifier
    from .pipeline import Transition

__all__ = ["Responder", "alert_for"]

log = logging.getLogger(__name__)


def alert_for(record: EventRecord, baseline: Baseline | None, transition: Transition) -> Alert:
    """The alert for one event-table row."""
    from .alerts import Alert

    finding = Finding(
        kind=record.kind,
        resource=record.resource,
        status="drift"
        if record.outcome == "drift"
        else "error"
        if record.outcome == "error"
        else "compliant",
        rule=record.rule,
        severity=record.severity or "high",  # type: ignore[arg-type]
        message=record.message,
        changes=record.changes,
    )
    signal = Signal(
        id=record.signal_id,
        source="reconcile" if record.source == "reconcile" else "eventgrid",
        type=record.event_type,
        time=record.time,
        resource=record.resource,
        operation=record.operation,
        correlation_id=record.correlation_id,
        actor=Actor(record.actor_upn, record.actor_app_id, record.actor_object_id, record.actor_ip),
    )
    return Alert.from_finding(
        finding,
        signal,
        owners=baseline.owners if baseline else (),
        response=baseline.response if baseline else "alert",
        transition=transition if transition != "duplicate" else "opened",  # type: ignore[arg-type]
        outcome=record.outcome,
    )


@dataclass
class Responder:
    """Delivers alerts through a :class:`~driftkeeper.alerts.Notifier` and publishes every
    finding to an optional Event Grid channel. Never raises for a channel failure."""

    notifier: Notifier
    publisher: Channel | None = None

    def alert(
        self, record: EventRecord, baseline: Baseline | None, transition: Transition
    ) -> list[dict[str, Any]]:
        deliveries = self.notifier.notify(alert_for(record, baseline, transition))
        return [d.to_dict() for d in deliveries]

    def publish(self, records: Sequence[EventRecord]) -> None:
        if self.publisher is None:
            return
        from azure.core.exceptions import AzureError

        from .alerts import DeliveryError

        for record in records:
            if record.outcome not in ("drift", "compliant", "error") or not record.rule:
                continue
            try:
                self.publisher.send(alert_for(record, None, "updated"))
            except (DeliveryError, AzureError, OSError) as exc:  # best effort: the row stays
                log.warning(
                    "finding not published to Event Grid: %s",
                    exc,
                    extra={"resource_id": record.resource, "baseline": record.rule},
                )
