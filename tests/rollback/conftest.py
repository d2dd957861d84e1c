"""Rollback against the stateful ARM / Graph stand-in: each test module sets the tenant the
stand-in serves (its own ``server`` fixture); ``rollbacks`` reads and writes it through
driftkeeper's real clients, judged by the repository's baselines."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from driftkeeper.baseline import load_baselines
from driftkeeper.live import ResourceReader, Writer
from driftkeeper.rollback import Endpoints
from driftkeeper.rollback._service import Rollbacks
from tests.fakes.azure_rest import AzureRestServer
from tests.fakes.credentials import StaticTokenCredential

ROOT = Path(__file__).resolve().parents[2]
SUB = "6f1c2a3b-4d5e-4f60-8a91-b2c3d4e5f607"
BASELINES = load_baselines(ROOT / "baselines")


@pytest.fixture
def rollbacks(
    server: AzureRestServer, token_credential: StaticTokenCredential
) -> Iterator[Rollbacks]:
    clients = server.live_clients(token_credential)
    yield Rollbacks(
        BASELINES,
        ResourceReader(token_credential, clients=clients, subscriptions=[SUB]),
        Writer(clients, sleep=lambda _: None),
        None,
        endpoints=Endpoints(server.arm_endpoint, server.graph_endpoint),
        clock=lambda: datetime.now(UTC),
    )
    clients.close()
