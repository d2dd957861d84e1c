"""Static token credentials: real implementations of the azure-core credential protocols.

They hand out one fixed bearer token and remember the scopes they were asked for, so tests
can check which audience a client requested. No network, no MSAL.

:func:`token_with_claims` makes a token shaped like Entra's (an unsigned JWT), so the local
stand-in can tell who wrote (``oid``, ``appid``, ``tid``) as ARM and Entra do.
"""

from __future__ import annotations

import base64
import json
import time
from types import TracebackType
from typing import Any

from azure.core.credentials import AccessToken, AccessTokenInfo, TokenRequestOptions

__all__ = ["StaticAsyncTokenCredential", "StaticTokenCredential", "token_with_claims"]

_LIFETIME_S = 3600


def token_with_claims(**claims: str) -> str:
    """An unsigned JWT (``alg: none``) carrying ``claims`` (``oid="..."``, ``appid="..."``,
    ``tid="..."``, ``idtyp="app"`` ...) and an ``exp`` an hour away: opaque to the SDKs,
    readable by the stand-in, worthless to anyone else."""

    def part(value: dict[str, object]) -> str:
        raw = json.dumps(value, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    body: dict[str, object] = {"exp": int(time.time()) + _LIFETIME_S, **claims}
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(body)}.unsigned"


class StaticTokenCredential:
    """A sync ``TokenCredential`` / ``SupportsTokenInfo`` returning ``token`` for any scope."""

    def __init__(self, token: str = "static-test-token") -> None:
        self.token = token
        self.requested_scopes: list[tuple[str, ...]] = []

    def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        self.requested_scopes.append(scopes)
        return AccessToken(self.token, int(time.time()) + _LIFETIME_S)

    def get_token_info(
        self, *scopes: str, options: TokenRequestOptions | None = None
    ) -> AccessTokenInfo:
        self.requested_scopes.append(scopes)
        return AccessTokenInfo(self.token, int(time.time()) + _LIFETIME_S)

    def close(self) -> None:
        """Nothing to release; present because real credentials have it."""

    def __enter__(self) -> StaticTokenCredential:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class StaticAsyncTokenCredential:
    """An ``AsyncTokenCredential`` / ``AsyncSupportsTokenInfo`` returning ``token``."""

    def __init__(self, token: str = "static-test-token") -> None:
        self.token = token
        self.requested_scopes: list[tuple[str, ...]] = []

    async def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        self.requested_scopes.append(scopes)
        return AccessToken(self.token, int(time.time()) + _LIFETIME_S)

    async def get_token_info(
        self, *scopes: str, options: TokenRequestOptions | None = None
    ) -> AccessTokenInfo:
        self.requested_scopes.append(scopes)
        return AccessTokenInfo(self.token, int(time.time()) + _LIFETIME_S)

    async def close(self) -> None:
        """Nothing to release; present because real credentials have it."""

    async def __aenter__(self) -> StaticAsyncTokenCredential:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
