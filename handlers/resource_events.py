"""Event Grid triggers: ARM resource events (system topic on the subscription) and Graph
change notifications (partner topic). Thin adapters: parse → pipeline → log the outcome."""

from __future__ import annotations

import logging
from typing import Any

import azure.functions as func

bp = func.Blueprint()
log = logging.getLogger(__name__)


def event_document(event: func.EventGridEvent) -> dict[str, Any]:
    """The Event Grid schema document the trigger received, for the intake parser."""
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


def handle(event: func.EventGridEvent) -> None:
    from driftkeeper import runtime
    from driftkeeper.intake import parse_events

    try:
        results = runtime.current().pipeline().process(parse_events(event_document(event)))
    except Exception:
        # the boundary: log and re-raise, so the platform retries the delivery
        log.exception("event %s not processed; Event Grid will retry", event.id)
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
def graph_events(event: func.EventGridEvent) -> None:
    handle(event)
