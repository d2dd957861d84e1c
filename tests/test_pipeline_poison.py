"""Poison items: only a transient failure fails a batch; anything else one signal raises is
that signal's ``invalid`` row (with the error as its reason), and the rest is judged."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import (
    ClientAuthenticationError,
    DecodeError,
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ServiceRequestError,
    ServiceResponseError,
)

from driftkeeper import DeliveryError, InputError, Snapshot, TimeFormatError, TransientReadError
from driftkeeper._errors import BadNextLinkError, InvalidBodyError
from driftkeeper.baseline import load_baselines
from driftkeeper.intake import parse_events
from driftkeeper.live import snapshot_reader
from driftkeeper.memory import MemoryIncidents, MemoryLedger
from driftkeeper.pipeline import MAX_REASON, Pipeline, is_transient, poison_reason

ROOT = Path(__file__).resolve().parents[1]
BURST = json.loads((ROOT / "examples/events-burst.json").read_text())
RDP = BURST[0]  # an NSG rule opened: drift
CA_RECORD = next(e for e in BURST if "activityDisplayName" in e)


def _status(status: int, kind: type[HttpResponseError] = HttpResponseError) -> HttpResponseError:
    error = kind(message=f"{status} from the service")
    error.status_code = status
    return error


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (TransientReadError("503"), True),
        (DeliveryError("429", transient=True), True),
        (DeliveryError("400", transient=False), False),
        (ServiceRequestError("connection refused"), True),
        (ServiceResponseError("connection reset"), True),
        (DecodeError("half a body"), True),
        (_status(500), True),
        (_status(503), True),
        (_status(429), True),
        (_status(408), True),
        (_status(401, ClientAuthenticationError), True),
        (_status(409, ResourceExistsError), True),
        (_status(412, ResourceModifiedError), True),
        (_status(400), False),
        (_status(404), False),
        (_status(413), False),
        (ConnectionResetError(), True),
        (TimeoutError(), True),
        (InputError("bad"), False),
        (TimeFormatError("bogus time"), False),
        (InvalidBodyError("not JSON"), False),
        (BadNextLinkError("elsewhere"), False),
        (ValueError("a bug"), False),
        (KeyError("a bug"), False),
        (RecursionError(), False),
        (UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed"), False),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else str(v),
)
def test_only_a_failure_a_retry_may_fix_is_transient(error: Exception, transient: bool) -> None:
    assert is_transient(error) is transient


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (ValueError("bad"), "not processed: ValueError: bad"),
        (KeyError("k"), "not processed: KeyError: 'k'"),
        (RecursionError(), "not processed: RecursionError"),
        (ValueError("a\x00b\u202ec\ud800\n\nd"), "not processed: ValueError: a?b?c? d"),
    ],
)
def test_the_reason_names_the_error_in_printable_text(error: Exception, reason: str) -> None:
    assert poison_reason(error) == reason


def test_a_huge_error_text_is_cut_short() -> None:
    reason = poison_reason(ValueError("x" * 1_000_000))
    assert reason.endswith("…")
    assert len(reason) <= MAX_REASON + len("not processed: ValueError: ")


class PoisonedReader:
    """Reads the example tenant; raises ``error`` for the scopes of ``poisoned`` kinds."""

    def __init__(self, error: Exception, *poisoned: str) -> None:
        self.inner = snapshot_reader(Snapshot.from_file(ROOT / "examples/tenant-drifted.json"))
        self.error = error
        self.poisoned = poisoned

    def read(self, kind: str, scope: str, *, newer_than: datetime | None = None) -> Snapshot:
        if kind in self.poisoned:
            raise self.error
        return self.inner.read(kind, scope, newer_than=newer_than)


def pipeline(reader: Any) -> Pipeline:
    return Pipeline(load_baselines(ROOT / "baselines"), reader, MemoryLedger(), MemoryIncidents())


@pytest.mark.parametrize(
    "error",
    [ValueError("a bug in a kind"), _status(400), RecursionError("too deep")],
    ids=["bug", "http-400", "recursion"],
)
def test_a_poison_signal_is_invalid_and_the_rest_of_the_batch_is_judged(error: Exception) -> None:
    # given a batch in which judging one signal (the NSG event) raises for good
    judge = pipeline(PoisonedReader(error, "nsg"))
    # when the batch is processed, then nothing is raised
    results = judge.process(parse_events([RDP, CA_RECORD]))
    # and the NSG event is invalid with the error as its reason, the audit record judged
    by_id = {r.id: r for r in results}
    assert by_id[RDP["id"]].outcome == "invalid"
    assert by_id[RDP["id"]].reason == poison_reason(error)
    assert by_id[CA_RECORD["id"]].outcome == "evaluated"
    # and the event table holds the invalid row with its reason and the event's own time
    assert isinstance(judge.ledger, MemoryLedger)
    [row] = [r for r in judge.ledger.rows.values() if r.signal_id == RDP["id"]]
    assert (row.outcome, row.message, row.time) == (
        "invalid",
        by_id[RDP["id"]].reason,
        RDP["eventTime"],
    )


@pytest.mark.parametrize(
    "error",
    [TransientReadError("503"), ServiceRequestError("refused"), _status(503)],
    ids=["read", "store", "http-503"],
)
def test_a_transient_failure_fails_the_whole_batch(error: Exception) -> None:
    judge = pipeline(PoisonedReader(error, "nsg"))
    with pytest.raises(type(error)):
        judge.process(parse_events([CA_RECORD, RDP]))
    assert isinstance(judge.ledger, MemoryLedger)
    assert judge.ledger.rows == {}  # nothing recorded: the retry records it all once
