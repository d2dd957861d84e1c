from __future__ import annotations

import logging
import uuid

import pytest
from azure.core.credentials import AzureKeyCredential

from driftkeeper.alerts import (
    AlertConfigError,
    DeliveryError,
    EventGridChannel,
    Notifier,
    Routes,
    cloud_event,
    event_id,
)
from tests.fakes.azure_rest import TlsFiles
from tests.fakes.credentials import StaticTokenCredential
from tests.fakes.receivers import HttpReceiver

from ._alerts import FINDING, NSG_ID, SIGNAL_ID, Sleeps, make_alert

EVENTS_PATH = "/api/events"
TOPIC_KEY = "dk-topic-key-0123456789"
EVENTGRID_ONLY = Routes({"high": ("eventgrid",)}, explicit=True)


def key_channel(receiver: HttpReceiver) -> EventGridChannel:
    return EventGridChannel(
        receiver.url + EVENTS_PATH, AzureKeyCredential(TOPIC_KEY), source_name="contoso-prod"
    )


def test_event_id_is_deterministic() -> None:
    first = event_id(SIGNAL_ID, NSG_ID, FINDING.rule)
    assert first == event_id(SIGNAL_ID, NSG_ID.upper(), FINDING.rule)
    assert uuid.UUID(first).version == 5
    assert first != event_id("another-signal", NSG_ID, FINDING.rule)
    assert first != event_id(SIGNAL_ID, NSG_ID, "guard:nsg-internet-management-ports")


def test_cloud_event_shape() -> None:
    event = cloud_event(make_alert(), source="/driftkeeper/contoso-prod")

    assert event.type == "driftkeeper.finding.drift"
    assert event.source == "/driftkeeper/contoso-prod"
    assert event.subject == NSG_ID
    assert event.data == FINDING.to_dict()
    assert event.id == event_id(SIGNAL_ID, NSG_ID, FINDING.rule)
    assert event.time is not None
    assert event.time.isoformat() == "2026-03-02T10:15:00+00:00"
    assert event.extensions == {
        "severity": "high",
        "transition": "opened",
        "signalid": SIGNAL_ID,
        "correlationid": "c0rre1at-1on0-0000-0000-000000000001",
    }


def test_publishes_a_cloudevents_batch_with_the_deterministic_id(
    http_receiver: HttpReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    http_receiver.status = 200
    caplog.set_level(logging.DEBUG)
    with key_channel(http_receiver) as channel:
        channel.send(make_alert())
        channel.send(make_alert())  # a retry of the same signal

    first, second = http_receiver.requests_to(EVENTS_PATH)
    assert first.method == "POST"
    assert first.headers["content-type"] == "application/cloudevents-batch+json; charset=utf-8"
    assert first.headers["aeg-sas-key"] == TOPIC_KEY
    assert first.query["api-version"] == ["2018-01-01"]
    (event,) = first.json()
    assert event["specversion"] == "1.0"
    assert event["id"] == event_id(SIGNAL_ID, NSG_ID, FINDING.rule)
    assert event["type"] == "driftkeeper.finding.drift"
    assert event["source"] == "/driftkeeper/contoso-prod"
    assert event["subject"] == NSG_ID
    assert event["data"] == FINDING.to_dict()
    assert event["severity"] == "high"
    assert event["signalid"] == SIGNAL_ID
    assert second.json()[0]["id"] == event["id"]
    assert "not a known attribute" not in caplog.text
    assert TOPIC_KEY not in caplog.text


def test_token_credential_over_tls(
    https_receiver: HttpReceiver, tls_files: TlsFiles, token_credential: StaticTokenCredential
) -> None:
    https_receiver.status = 200
    with EventGridChannel(
        https_receiver.url + EVENTS_PATH,
        token_credential,
        source_name="contoso-prod",
        connection_verify=str(tls_files.ca_file),
    ) as channel:
        channel.send(make_alert(outcome="error", status="error"))

    (request,) = https_receiver.requests_to(EVENTS_PATH)
    assert request.headers["authorization"] == f"Bearer {token_credential.token}"
    assert request.json()[0]["type"] == "driftkeeper.finding.error"
    assert token_credential.requested_scopes == [("https://eventgrid.azure.net/.default",)]


def test_server_error_is_transient_and_the_sdk_does_not_retry(
    http_receiver: HttpReceiver,
) -> None:
    http_receiver.fail(503, times=1, retry_after=4)
    with key_channel(http_receiver) as channel, pytest.raises(DeliveryError) as info:
        channel.send(make_alert())
    assert info.value.transient
    assert info.value.retry_after == 4.0
    assert str(info.value) == "Event Grid topic on 127.0.0.1 answered 503 Service Unavailable"
    assert len(http_receiver.requests) == 1


def test_notifier_retries_event_grid_with_the_same_id(http_receiver: HttpReceiver) -> None:
    http_receiver.status = 200
    http_receiver.fail(500, times=1)
    with key_channel(http_receiver) as channel:
        (delivery,) = Notifier([channel], EVENTGRID_ONLY, sleep=Sleeps()).notify(make_alert())

    assert (delivery.ok, delivery.attempts) == (True, 2)
    ids = [r.json()[0]["id"] for r in http_receiver.requests]
    assert len(ids) == 2
    assert ids[0] == ids[1]


def test_unauthorized_is_permanent(http_receiver: HttpReceiver) -> None:
    http_receiver.fail(401, times=1)
    with key_channel(http_receiver) as channel, pytest.raises(DeliveryError) as info:
        channel.send(make_alert())
    assert not info.value.transient
    assert "401" in str(info.value)
    assert TOPIC_KEY not in str(info.value)


@pytest.mark.parametrize(
    ("endpoint", "source_name"),
    [
        ("http://topic.westeurope-1.eventgrid.azure.net/api/events", "contoso"),
        ("https://topic.westeurope-1.eventgrid.azure.net/api/events", "contoso/../x"),
        ("https://topic.westeurope-1.eventgrid.azure.net/api/events", ""),
    ],
)
def test_config_is_checked(endpoint: str, source_name: str) -> None:
    with pytest.raises(AlertConfigError):
        EventGridChannel(endpoint, AzureKeyCredential("k"), source_name=source_name)
