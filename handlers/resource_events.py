"""Event Grid triggers: ARM resource events (system topic on the subscription) and Graph
change notifications (partner topic). Thin adapters: parse the trigger's event (once, from
its attributes) → pipeline → log the outcome."""

from __future__ import annotations

import logging

import azure.functions as func

bp = func.Blueprint()
log = logging.getLogger(__name__)


def handle(event: func.EventGridEvent | func.CloudEvent) -> None:
    from driftkeeper import runtime
    from driftkeeper.intake import parse_trigger

    try:
        results = runtime.current().pipeline().process([parse_trigger(event)])
    except Exception:
        # the boundary: log and re-raise, so the platform retries the delivery
        log.exception("event %r not processed; Event Grid will retry", str(event.id)[:200])
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
