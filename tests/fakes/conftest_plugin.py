"""Pytest fixtures for the local stand-ins; registered in ``tests/conftest.py``.

- ``tls_files`` (session): a throwaway CA and a 127.0.0.1 server certificate (:class:`TlsFiles`).
- ``azure_rest_server``: a started :class:`AzureRestServer` (ARM over TLS, Graph over http),
  empty until the test fills ``server.data``; closed after the test.
- ``bearer_token``: a token string unique to the test (to look for it in logs).
- ``token_credential`` / ``async_token_credential``: static credentials handing out
  ``bearer_token``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from .azure_rest import AzureRestServer, TlsFiles, make_tls_files
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
