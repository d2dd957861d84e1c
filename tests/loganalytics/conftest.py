"""Fixtures: the local Logs Ingestion receiver (TLS) and a sink over Azurite tables."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from driftkeeper.loganalytics import LogsSink, Outbox, logs_client
from driftkeeper.store import Ledger
from tests.fakes.azure_rest import TlsFiles
from tests.fakes.credentials import StaticTokenCredential
from tests.fakes.logs_ingestion import LogsIngestionReceiver

STREAM = "Custom-DriftkeeperEvents_CL"


@pytest.fixture
def receiver(tls_files: TlsFiles) -> Iterator[LogsIngestionReceiver]:
    with LogsIngestionReceiver(tls_files, streams=(STREAM,)) as server:
        yield server


class Setup:
    """A ledger and a sink over fresh Azurite tables, sending to the receiver."""

    def __init__(self, receiver: LogsIngestionReceiver, make_table: Callable[..., Any], ca: str):
        self.receiver = receiver
        self.events = make_table()
        self.outbox_table = make_table()
        self.credential = StaticTokenCredential()
        self.client = logs_client(receiver.url, self.credential, connection_verify=ca)
        self.now = datetime.now(UTC)
        self.outbox = Outbox(self.outbox_table, clock=lambda: self.now)
        self.ledger = Ledger(self.events)
        self.sink = LogsSink(
            self.client,
            self.outbox,
            rule_id=receiver.rule_id,
            stream=STREAM,
            events=self.events,
            clock=lambda: self.now,
        )

    def later(self, minutes: float = 11) -> None:
        """Move the sink's clock on (past the grace of a fresh marker)."""
        self.now += timedelta(minutes=minutes)

    def markers(self) -> list[dict[str, Any]]:
        return list(self.outbox_table.list_entities())


@pytest.fixture
def setup(
    receiver: LogsIngestionReceiver, make_table: Callable[..., Any], tls_files: TlsFiles
) -> Iterator[Setup]:
    made = Setup(receiver, make_table, str(tls_files.ca_file))
    yield made
    made.client.close()
