"""Event Grid triggers: ARM resource events (system topic on the subscription) and Graph
change notifications (partner topic). Thin adapters: parse the trigger's event (once, from
its attributes) → pipeline → log the outcome.

Only a transient failure (the store, ARM or Graph unavailable; see
:func:`driftkeeper.pipeline.is_transient`) or a broken runtime (a setting) fails the trigger,
so Event Grid retries it; anything else about the event is recorded as ``invalid`` with the
reason and acknowledged: Event Grid never retries a message that cannot succeed."""

from __future__ import annotations

import logging

import azure.functions as func

bp = func.Blueprint()
log = logging.getLogger(__name__)


def handle(event: func.EventGridEvent | func.CloudEvent) -> None:
    from driftkeeper import runtime
    from driftkeeper.intake import parse_trigger, unreadable
    from driftkeeper.pipeline import is_transient, poison_reason

    try:
        pipeline = runtime.current().pipeline()
        try:
            results = pipeline.process([parse_trigger(event)])
        except Exception as exc:
            if is_transient(exc):
                raise
            # about this event, not the platform: a retry cannot help, so record and ack
            log.exception("event %r not processed; recorded invalid", str(event.id)[:200])
            results = pipeline.process([unreadable(event, poison_reason(exc))])
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
