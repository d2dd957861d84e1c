"""Event Grid triggers: ARM resource events (system topic on the subscription) and Graph
change notifications (partner topic). Thin adapters: parse → pipeline → log the outcome."""

from __future__ import annotations

import logging
from typing import Any

import azure.functions as func

bp = func.Blueprint()
log = logging.getLogger(__name__)


def event_document(event: func.EventGridEvent | func.CloudEvent) -> dict[str, Any]:
    """The document the trigger received (Event Grid schema or CloudEvents 1.0, as the
    subscription delivers it), for the intake parser."""
    if isinstance(event, func.CloudEvent):  # partner topics deliver CloudEvents
        return {
            "id": event.id,
            "source": event.source,
            "type": event.type,
            "specversion": event.specversion or "1.0",
            "subject": event.subject,
            "time": event.time.isoformat() if event.time is not None else None,
            "data": event.get_json(),
        }
    when = event.event_time
    return {
        "id": event.id,
        "topic": event.topic,
        "subject": event.subject,
        "eventType": event.event_type,
        "eventTime": when.isoformat() if when is not None else None,
        "dataVersion": event.data_version,
        "data": event.get_json(),
    }


def handle(event: func.EventGridEvent | func.CloudEvent) -> None:
    from driftkeeper import runtime
    from driftkeeper.intake import parse_events

    try:
        results = runtime.current().pipeline().process(parse_events(event_document(event)))
    except Exception:
        # the boundary: log and re-raise, so the platform retries the delivery
        log.exception("event %r not processed; Event Grid will retry", event.id[:200])
        raise
    for result in results:
        log.info(
            "event %s: %s %s",
            result.id,
            result.outcome,
            result.reason,
            extra={"signal_id": result.id, "outcome": result.outcome},
        )


@bp.function_name("arm_events")
@bp.event_grid_trigger(arg_name="event")
def arm_events(event: func.EventGridEvent) -> None:
    handle(event)


@bp.function_name("graph_events")
@bp.event_grid_trigger(arg_name="event")
def graph_events(event: func.EventGridEvent | func.CloudEvent) -> None:
    handle(event)
