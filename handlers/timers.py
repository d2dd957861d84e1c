"""Timer triggers: the Entra audit poll and the reconciliation backstop. Thin adapters."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import azure.functions as func

bp = func.Blueprint()
log = logging.getLogger(__name__)


@bp.function_name("audit_poll")
@bp.timer_trigger(arg_name="timer", schedule="0 */5 * * * *", run_on_startup=False)
def audit_poll(timer: func.TimerRequest) -> None:
    from driftkeeper import runtime

    try:
        result = runtime.current().poll_audit()
    except Exception:
        log.exception("audit poll failed; the cursor did not move, the next poll retries")
        raise
    log.info(
        "audit poll: %d records read, %d skipped, cursor %s",
        result.records_read,
        result.records_skipped,
        result.cursor_after,
    )


@bp.function_name("reconcile")
@bp.timer_trigger(arg_name="timer", schedule="0 0 */6 * * *", run_on_startup=False)
def reconcile(timer: func.TimerRequest) -> None:
    """Read the whole tenant and judge it: through Azure Resource Graph above
    ``DRIFTKEEPER_RESOURCE_GRAPH_MIN_SUBSCRIPTIONS`` watched subscriptions, else per
    subscription (``Runtime.reconcile``); events keep their per-resource ARM reads."""
    from driftkeeper import runtime

    run_id = datetime.now(UTC).replace(minute=0, second=0, microsecond=0).isoformat()
    try:  # the evidence first: a failed tenant read must not hold back sealing
        kept = runtime.current().keep_evidence()
        log.info("evidence: %d day(s) sealed, %s", len(kept.sealed), kept.pruned or "no retention")
    except Exception:
        log.exception("sealing or retention failed; the next reconcile run retries")
    try:
        findings = runtime.current().reconcile(run_id.replace("+00:00", "Z"))
    except Exception:
        log.exception("reconcile %s failed; the next schedule retries", run_id)
        raise
    log.info("reconcile %s: %d drift or error findings", run_id, len(findings))
    _summarize()
    _resend_logs()


def _summarize() -> None:
    """Recompute yesterday's and today's compliance summaries (idempotent). A failure is
    logged, not raised: the judgements are recorded, and the next run recomputes both."""
    from driftkeeper import runtime
    from driftkeeper.compliance._web import summarize_recent

    try:
        summarize_recent(runtime.current(), datetime.now(UTC))
    except Exception:
        log.exception("compliance summaries not updated; the next reconcile recomputes them")


def _resend_logs() -> None:
    """Send Log Analytics the rows an ingestion failure left in the outbox. A failure is
    logged, not raised: the rows are in the event table and their markers stay."""
    from driftkeeper import runtime

    try:
        sent = runtime.current().resend_logs()
    except Exception:
        log.exception("Log Analytics resend failed; the markers stay for the next run")
        return
    if sent is not None and sent.markers:
        log.info(
            "Log Analytics resend: %d row(s) sent, %d still pending, %d gone from the table",
            sent.rows,
            sent.pending,
            sent.gone,
        )
