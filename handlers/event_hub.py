"""Event Hubs trigger (``cardinality=many``): Event Grid events delivered to an Event Hub and
Entra audit logs streamed by a diagnostic setting, judged a batch at a time. Thin adapter:
the messages → :func:`driftkeeper._hub.process_messages` → log the outcome.

The connection is identity-based: ``DRIFTKEEPER_EVENT_HUB__fullyQualifiedNamespace`` names the
namespace (``<ns>.servicebus.windows.net``), ``DRIFTKEEPER_EVENT_HUB__credential`` =
``managedidentity`` and ``DRIFTKEEPER_EVENT_HUB__clientId`` pick the user-assigned identity,
and ``DRIFTKEEPER_EVENT_HUB_NAME`` names the hub; the identity needs *Azure Event Hubs Data
Receiver* on it. Without an Event Hub, the function is disabled
(``AzureWebJobs.hub_events.Disabled`` = ``true``) and the audit poll alone reads the audit
logs. A message that cannot succeed is recorded ``invalid`` and acknowledged; a transient
failure (the store, ARM or Graph unavailable) fails the invocation, and the retry policy below
runs the same batch again until it succeeds (the Event Hubs trigger would otherwise
checkpoint past a failed batch)."""

from __future__ import annotations

import logging

import azure.functions as func

bp = func.Blueprint()
log = logging.getLogger(__name__)

CONNECTION = "DRIFTKEEPER_EVENT_HUB"
"""The connection's setting prefix (``<prefix>__fullyQualifiedNamespace``)."""
HUB_NAME = "%DRIFTKEEPER_EVENT_HUB_NAME%"
HOST_SETTINGS = (
    f"{CONNECTION}__fullyQualifiedNamespace",
    f"{CONNECTION}__credential",
    f"{CONNECTION}__clientId",
    HUB_NAME.strip("%"),
)
"""The app settings the Functions host reads for this trigger (driftkeeper's code does not)."""


def handle(events: list[func.EventHubEvent]) -> None:
    from driftkeeper import runtime
    from driftkeeper._hub import process_messages

    try:
        batch = process_messages(runtime.current().pipeline(), events)
    except Exception:
        # the boundary: log and re-raise, so the retry policy runs the batch again
        log.exception("a batch of %d Event Hub messages not processed; retrying", len(events))
        raise
    outcomes: dict[str, int] = {}
    for result in batch.results:
        outcomes[result.outcome] = outcomes.get(result.outcome, 0) + 1
        if result.outcome in ("evaluated", "invalid"):
            log.info(
                "event %s: %s %s",
                result.id,
                result.outcome,
                result.reason,
                extra={"signal_id": result.id, "outcome": result.outcome},
            )
    log.info(
        "event hub batch: %d messages, %d signals %s, %d records of other categories skipped",
        batch.messages,
        len(batch.results),
        outcomes,
        batch.skipped,
    )


@bp.function_name("hub_events")
@bp.retry(
    strategy="exponential_backoff",
    max_retry_count="-1",
    minimum_interval="00:00:05",
    maximum_interval="00:15:00",
)
@bp.event_hub_message_trigger(
    arg_name="events",
    connection=CONNECTION,
    event_hub_name=HUB_NAME,
    cardinality=func.Cardinality.MANY,
)
def hub_events(events: list[func.EventHubEvent]) -> None:
    handle(events)
