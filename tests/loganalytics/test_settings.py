"""DRIFTKEEPER_LOGS_INGESTION_*: all three or none; the runtime wires the sink from them."""

from __future__ import annotations

import uuid

import pytest
from azure.data.tables import TableServiceClient

from driftkeeper import SettingsError
from driftkeeper.config import Settings
from driftkeeper.loganalytics import MirroredLedger
from driftkeeper.runtime import Runtime
from tests.fakes.azure_rest import TlsFiles
from tests.fakes.credentials import StaticTokenCredential
from tests.fakes.logs_ingestion import LogsIngestionReceiver

RULE = "dcr-00112233445566778899aabbccddeeff"
STREAM = "Custom-DriftkeeperEvents_CL"
ENDPOINT = "https://dce-x.westeurope-1.ingest.monitor.azure.com"
ON = {
    "DRIFTKEEPER_LOGS_INGESTION_ENDPOINT": ENDPOINT,
    "DRIFTKEEPER_LOGS_INGESTION_RULE_ID": RULE,
    "DRIFTKEEPER_LOGS_INGESTION_STREAM": STREAM,
}


def test_off_when_unset() -> None:
    settings = Settings.from_env({})
    assert not settings.logs_ingestion
    assert Runtime(settings).logs_sink() is None
    assert Runtime(settings).resend_logs() is None


def test_on_with_all_three() -> None:
    settings = Settings.from_env(ON)
    assert settings.logs_ingestion
    assert (settings.logs_ingestion_rule_id, settings.logs_ingestion_stream) == (RULE, STREAM)


@pytest.mark.parametrize("left_out", sorted(ON))
def test_a_missing_one_is_named(left_out: str) -> None:
    env = {k: v for k, v in ON.items() if k != left_out}
    with pytest.raises(SettingsError) as info:
        Settings.from_env(env)
    assert info.value.variable == left_out


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DRIFTKEEPER_LOGS_INGESTION_RULE_ID", "dcr-xyz"),
        ("DRIFTKEEPER_LOGS_INGESTION_RULE_ID", "/subscriptions/s/dataCollectionRules/r"),
        ("DRIFTKEEPER_LOGS_INGESTION_STREAM", "DriftkeeperEvents_CL"),
        ("DRIFTKEEPER_LOGS_INGESTION_STREAM", "Custom-a/../b"),
        ("DRIFTKEEPER_LOGS_INGESTION_ENDPOINT", "https://user:pw@dce.example"),
        ("DRIFTKEEPER_LOGS_INGESTION_ENDPOINT", "not a url"),
    ],
)
def test_a_bad_value_is_refused_naming_the_variable(variable: str, value: str) -> None:
    with pytest.raises(SettingsError) as info:
        Settings.from_env({**ON, variable: value})
    assert info.value.variable == variable
    assert "pw" not in str(info.value)


def test_the_runtime_mirrors_the_event_table(azurite: str, tls_files: TlsFiles) -> None:
    with (
        LogsIngestionReceiver(tls_files, rule_id=RULE, streams=(STREAM,)) as receiver,
        TableServiceClient.from_connection_string(azurite) as service,
    ):
        suffix = uuid.uuid4().hex[:12]
        settings = Settings.from_env(
            {
                **ON,
                "DRIFTKEEPER_LOGS_INGESTION_ENDPOINT": receiver.url,
                "DRIFTKEEPER_CA_BUNDLE": str(tls_files.ca_file),
                "DRIFTKEEPER_EVENTS_TABLE": f"laevents{suffix}",
                "DRIFTKEEPER_INCIDENTS_TABLE": f"laincidents{suffix}",
                "DRIFTKEEPER_ROLLBACK": "off",
            }
        )
        rt = Runtime(settings, table_service=service, credential=StaticTokenCredential())
        try:
            assert isinstance(rt.pipeline().ledger, MirroredLedger)
            sent = rt.resend_logs()
            assert sent is not None
            assert sent.markers == 0
        finally:
            rt.close()
            service.delete_table(settings.events_table)
            for name in ("outbox", ""):
                service.delete_table(settings.events_table + name)
            service.delete_table(settings.incidents_table)
