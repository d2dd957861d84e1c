"""The runtime's live clients build its credential (and import azure.identity) only when a
client first asks for a token (issue 10: the first event)."""

from __future__ import annotations

from driftkeeper.config import Settings
from driftkeeper.runtime import Runtime
from tests.fakes.credentials import StaticTokenCredential

SCOPE = "https://graph.microsoft.com/.default"


def test_live_clients_build_the_credential_only_when_a_token_is_asked_for() -> None:
    built: list[StaticTokenCredential] = []

    class Counting(Runtime):
        def _credential(self) -> StaticTokenCredential:
            if not built:
                built.append(StaticTokenCredential())
            return built[0]

    rt = Counting(Settings())
    clients = rt._live_clients()  # what the rollback stage's Writer takes on the first event
    assert built == []  # no credential (nor azure.identity) for an event that never writes
    token = clients.graph_settings.credential.get_token(SCOPE)
    assert built
    assert token == built[0].get_token(SCOPE)
    rt.close()
