"""The respond stage: the alert is made from the finding and signal it is about, as they are."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from driftkeeper.alerts import Alert, DeliveryError, Notifier, Routes
from driftkeeper.baseline import load_baselines
from driftkeeper.respond import Responder, alert_for
from tests.alerts._alerts import FINDING, SIGNAL

ROOT = Path(__file__).resolve().parents[1]
BASELINE = next(b for b in load_baselines(ROOT / "baselines").baselines if b.name == FINDING.rule)


class Recorder:
    """A channel that keeps what it was sent, or fails while ``down``."""

    name = "teams"

    def __init__(self) -> None:
        self.sent: list[Alert] = []
        self.down = False

    def send(self, alert: Alert) -> None:
        if self.down:
            raise DeliveryError("503 Service Unavailable", transient=False)
        self.sent.append(alert)


@pytest.mark.parametrize(
    ("status", "response"),
    [("drift", BASELINE.response), ("error", "alert")],
    ids=["drift: the baseline's response", "read error: nothing to roll back"],
)
def test_the_alert_is_the_finding_and_signal_as_they_are(status: str, response: str) -> None:
    finding = dataclasses.replace(FINDING, status=status)  # type: ignore[arg-type]
    alert = alert_for(finding, SIGNAL, BASELINE, "opened")
    assert alert == Alert.from_finding(
        finding,
        SIGNAL,
        owners=BASELINE.owners,
        response=response,  # type: ignore[arg-type]
        transition="opened",
    )
    assert (alert.actor, alert.signal_id, alert.event_time) == (
        SIGNAL.actor,
        SIGNAL.id,
        SIGNAL.time,
    )
    assert alert.outcome == status


def test_deliveries_come_back_as_records_and_publishing_never_raises() -> None:
    channel, topic = Recorder(), Recorder()
    topic.name = "eventgrid"
    responder = Responder(Notifier([channel], Routes({"high": ("teams",)})), topic)
    assert responder.alert(FINDING, SIGNAL, None, "opened") == [
        {"channel": "teams", "ok": True, "attempts": 1, "error": ""}
    ]
    responder.publish([(FINDING, SIGNAL)])
    topic.down = True
    responder.publish([(FINDING, SIGNAL)])  # logged, not raised: the row is recorded already
    assert [(a.rule, a.signal_id, a.transition) for a in topic.sent] == [
        (FINDING.rule, SIGNAL.id, "updated")
    ]
