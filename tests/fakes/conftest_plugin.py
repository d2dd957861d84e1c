"""Pytest fixtures for the local stand-ins; registered in ``tests/conftest.py``.

- ``tls_files`` (session): a throwaway CA and a 127.0.0.1 server certificate (:class:`TlsFiles`).
- ``azure_rest_server``: a started :class:`AzureRestServer` (ARM over TLS, Graph over http),
  empty until the test fills ``server.data``; closed after the test.
- ``bearer_token``: a token string unique to the test (to look for it in logs).
- ``token_credential`` / ``async_token_credential``: static credentials handing out
  ``bearer_token``.
- ``azurite`` (session): connection string of an in-memory Azurite table service
  (``node_modules/.bin/azurite-table``; fails with "run `npm ci`" when it is missing).
- ``table_service``: a ``TableServiceClient`` on it, closed after the test.
- ``make_table``: ``make_table(*, connection_string=None, **client_kwargs) -> TableClient``
  creates a uniquely named table, returns a client on it (through ``connection_string``,
  e.g. a proxy's, if given), and closes the clients and deletes the tables after the test.
- ``azurite_proxy``: a :class:`TcpProxy` in front of Azurite; ``refuse()`` / ``hang()`` make
  the store unavailable, ``up()`` brings it back.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest
from azure.data.tables import TableClient, TableServiceClient

from .azure_rest import AzureRestServer, TlsFiles, make_tls_files
from .azurite import Azurite, AzuriteMissingError, TcpProxy, table_endpoint_port
from .credentials import StaticAsyncTokenCredential, StaticTokenCredential


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def azure_rest_server(tls_files: TlsFiles) -> Iterator[AzureRestServer]:
    with AzureRestServer(tls_files) as server:
        yield server


@pytest.fixture
def bearer_token() -> str:
    return f"dk-test-token-{uuid.uuid4().hex}"


@pytest.fixture
def token_credential(bearer_token: str) -> StaticTokenCredential:
    return StaticTokenCredential(bearer_token)


@pytest.fixture
def async_token_credential(bearer_token: str) -> StaticAsyncTokenCredential:
    return StaticAsyncTokenCredential(bearer_token)


# -- Azure Table Storage (Azurite) --------------------------------------------------------


@pytest.fixture(scope="session")
def azurite() -> Iterator[str]:
    server = Azurite()
    try:
        server.start()
    except AzuriteMissingError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield server.connection_string
    finally:
        server.stop()


@pytest.fixture
def table_service(azurite: str) -> Iterator[TableServiceClient]:
    with TableServiceClient.from_connection_string(azurite) as service:
        yield service


@pytest.fixture
def make_table(
    azurite: str, table_service: TableServiceClient
) -> Iterator[Callable[..., TableClient]]:
    created: list[str] = []
    clients: list[TableClient] = []

    def make(*, connection_string: str | None = None, **client_kwargs: object) -> TableClient:
        name = f"t{uuid.uuid4().hex}"
        table_service.create_table(name)
        created.append(name)
        client = TableClient.from_connection_string(
            connection_string or azurite, name, **client_kwargs
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
    for name in created:
        table_service.delete_table(name)


@pytest.fixture
def azurite_proxy(azurite: str) -> Iterator[TcpProxy]:
    with TcpProxy(table_endpoint_port(azurite)) as proxy:
        yield proxy


# --- alert receivers (tests/fakes/receivers.py) -----------------------------------------------
# - ``http_receiver``: a started :class:`HttpReceiver` on plain http (Teams webhook, Graph
#   sendMail, Event Grid with a key credential); ``https_receiver``: the same over TLS with
#   ``tls_files`` (Event Grid with a token credential needs https).
# - ``smtp_receiver``: aiosmtpd without TLS or AUTH; ``smtp_tls_receiver``: STARTTLS required
#   and AUTH as ``receivers.SMTP_USER`` / ``receivers.SMTP_PASSWORD``.
from .receivers import SMTP_PASSWORD, SMTP_USER, HttpReceiver, SmtpReceiver  # noqa: E402


@pytest.fixture
def http_receiver() -> Iterator[HttpReceiver]:
    with HttpReceiver() as receiver:
        yield receiver


@pytest.fixture
def https_receiver(tls_files: TlsFiles) -> Iterator[HttpReceiver]:
    with HttpReceiver(tls=tls_files) as receiver:
        yield receiver


@pytest.fixture
def smtp_receiver() -> Iterator[SmtpReceiver]:
    with SmtpReceiver() as receiver:
        yield receiver


@pytest.fixture
def smtp_tls_receiver(tls_files: TlsFiles) -> Iterator[SmtpReceiver]:
    with SmtpReceiver(tls=tls_files, users={SMTP_USER: SMTP_PASSWORD}) as receiver:
        yield receiver
