"""Azure Resource Manager through one generic client that keeps the JSON ARM sends.

:class:`ArmClient` sends the GETs the kinds declare (:class:`~driftkeeper.kinds.Request`:
path, api-version, query) through azure-mgmt-core's ``ARMPipelineClient``: ARM bearer
authentication (with claims challenges), retries of 408/429/5xx that honour
``Retry-After``, and ARM's logging policy, which never logs the ``Authorization`` header. The
typed management SDKs are not used: their models drop fields they do not know and nulls,
and rewrite timestamps, and a drift detector must see every field Azure returns.

Listings follow every ``nextLink`` (only to the listing's own scheme, host and path, never the
same page twice). Redirects are not followed: a read answered elsewhere is a failed read, and
the token never goes to another host. An answer that is not the JSON object ARM sends (a
list page without a ``value`` list, a body that is not an object) is a failed read, never
"none exist". The provider registration policy of the management SDKs is left out: driftkeeper
never registers a provider.

:meth:`ArmClient.write` sends one change (rollback) through the same pipeline, once, with
``x-ms-client-request-id`` and the pipeline's retries off; :class:`~driftkeeper.live.Writer`
judges the answer, retries within its budget and follows long-running operations.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from .._errors import ReadError, TransientReadError
from ._failures import Refused, describe_failure, is_transient
from ._graph_client import BadNextLinkError, check_next_link
from ._reply import Reply

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

    from ..kinds import Request

__all__ = ["ArmClient"]

_log = logging.getLogger(__name__)


class ArmClient:
    """Sends declared ARM reads for one endpoint; thread-safe; :meth:`close` releases it.

    ``connection_verify`` is ``True``, ``False`` or a CA bundle; ``max_retries`` and
    ``retry_delay`` (seconds, the base delay when ARM sends no ``Retry-After``) override
    azure-core's retry settings (``None`` keeps its defaults).
    """

    def __init__(
        self,
        credential: TokenCredential,
        *,
        endpoint: str = "https://management.azure.com",
        connection_verify: str | bool = True,
        max_retries: int | None = None,
        retry_delay: float | None = None,
    ) -> None:
        from azure.core.pipeline import policies
        from azure.core.pipeline.transport import RequestsTransport
        from azure.mgmt.core import ARMPipelineClient
        from azure.mgmt.core.policies import ARMChallengeAuthenticationPolicy, ARMHttpLoggingPolicy

        from . import _default_scope

        retry: dict[str, Any] = {}
        if max_retries is not None:
            retry.update(retry_total=max_retries, retry_status=max_retries)
        if retry_delay is not None:
            retry["retry_backoff_factor"] = retry_delay
        self.endpoint = endpoint.rstrip("/")
        self._client: Any = ARMPipelineClient(
            base_url=self.endpoint,
            policies=[
                policies.RequestIdPolicy(),
                policies.HeadersPolicy(),
                policies.UserAgentPolicy(sdk_moniker="driftkeeper"),
                policies.ProxyPolicy(),
                policies.ContentDecodePolicy(),
                policies.RedirectPolicy(permit_redirects=False),
                policies.RetryPolicy(**retry),
                ARMChallengeAuthenticationPolicy(credential, _default_scope(endpoint)),
                policies.SensitiveHeaderCleanupPolicy(),
                policies.CustomHookPolicy(),
                policies.NetworkTraceLoggingPolicy(),
                policies.DistributedTracingPolicy(),
                ARMHttpLoggingPolicy(),
            ],
            transport=RequestsTransport(connection_verify=connection_verify),
        )

    def fetch(self, request: Request) -> Any:
        """The answer to ``request``: a list (every page) or an object, or :class:`Refused`.

        Raises :class:`TransientReadError` when a retry later may help and
        :class:`ReadError` when no token can be had.
        """
        where = f"{request.section} {request.path}"
        params = {"api-version": request.api_version, **dict(request.query)}
        url = self.endpoint + request.path
        try:
            page = self._get(where, url, params)
            if isinstance(page, Refused) or not request.many:
                return page
            items: list[dict[str, Any]] = []
            seen: set[str] = set()
            while True:
                values = page.get("value")
                if not isinstance(values, list):
                    return Refused(0, "InvalidBody", "ARM answered a listing without a value list")
                items.extend(values)
                next_link = page.get("nextLink")
                if not next_link:
                    return items
                check_next_link(str(next_link), url, seen)
                page = self._get(where, str(next_link), None)
                if isinstance(page, Refused):
                    return page
        except BadNextLinkError as exc:
            return Refused(0, "BadNextLink", str(exc))

    def _get(self, where: str, url: str, params: dict[str, str] | None) -> Any:
        from azure.core.exceptions import (
            ClientAuthenticationError,
            ServiceRequestError,
            ServiceResponseError,
        )
        from azure.core.rest import HttpRequest

        try:
            response = self._client.send_request(HttpRequest("GET", url, params=params))
        except ClientAuthenticationError as exc:
            first_line = (exc.message or "").strip().splitlines()[:1]
            raise ReadError(
                f"{where}: could not get an access token for ARM: "
                f"{type(exc).__name__}: {' '.join(first_line)}"
            ) from exc
        except (ServiceRequestError, ServiceResponseError) as exc:
            raise TransientReadError(
                f"{where}: no response from ARM ({type(exc).__name__}, after retries)"
            ) from exc
        status = response.status_code
        if status == 200:
            body = _json(response)
            if isinstance(body, dict):
                return body
            return Refused(0, "InvalidBody", "ARM answered 200 with a body that is not an object")
        body = _json(response)
        error = body.get("error") if isinstance(body, dict) else None
        error = error if isinstance(error, dict) else {}
        code = error.get("code") if isinstance(error.get("code"), str) else None
        message = error.get("message") if isinstance(error.get("message"), str) else None
        text = describe_failure(status, code, message or response.reason)
        if is_transient(status):
            raise TransientReadError(f"{where}: {text} (after retries)")
        return Refused(status, code, text)

    def write(self, method: str, url: str, body: Any, client_request_id: str) -> Reply:
        """Send one mutating request (or a long-running operation's poll) once, through the
        same pipeline as the reads (credential, policies, no redirects), with
        ``x-ms-client-request-id`` (and ``x-ms-correlation-request-id``) set to
        ``client_request_id``; the pipeline's own retries are off (the caller,
        :class:`~driftkeeper.live.Writer`, retries within its budget). Never raises for a
        status or a lost connection: see :class:`Reply`. A credential that cannot produce a
        token raises azure-core's ``ClientAuthenticationError`` (the writer words it).
        """
        from azure.core.exceptions import ServiceRequestError, ServiceResponseError
        from azure.core.rest import HttpRequest

        headers = {
            "x-ms-client-request-id": client_request_id,
            # ARM takes a caller's correlation id and puts it into the change's event
            # (``data.correlationId``) and activity log entry
            "x-ms-correlation-request-id": client_request_id,
            "Accept": "application/json",
        }
        request = HttpRequest(method, url, json=body, headers=headers)
        try:
            response = self._client.send_request(request, retry_total=0)
        except ServiceRequestError as exc:  # never reached the service
            return Reply(0, sent=False, problem=type(exc).__name__)
        except ServiceResponseError as exc:  # sent; the answer was lost
            return Reply(0, sent=True, problem=type(exc).__name__)
        return Reply.of(response.status_code, response.headers, response.content)

    def post(
        self, url: str, body: Any, *, params: dict[str, str], keep: tuple[str, ...] = ()
    ) -> Reply:
        """POST a read that carries a body (a Resource Graph query) once, through the same
        pipeline (credential, policies, no redirects), the pipeline's own retries off: the
        caller (:mod:`._resource_graph`) waits as the service's throttling headers say.
        ``keep`` names the response headers (lower-case) kept besides :data:`KEPT_HEADERS`.
        Never raises for a status or a lost connection (see :class:`Reply`); a credential
        that cannot produce a token raises :class:`ReadError`.
        """
        from azure.core.exceptions import (
            ClientAuthenticationError,
            HttpResponseError,
            ServiceRequestError,
            ServiceResponseError,
        )
        from azure.core.rest import HttpRequest

        request = HttpRequest(
            "POST", url, params=params, json=body, headers={"Accept": "application/json"}
        )
        try:  # streamed: the body is parsed once, here, not by the pipeline too
            response = self._client.send_request(request, retry_total=0, stream=True)
        except ClientAuthenticationError as exc:
            first_line = (exc.message or "").strip().splitlines()[:1]
            raise ReadError(
                f"{url}: could not get an access token for ARM: "
                f"{type(exc).__name__}: {' '.join(first_line)}"
            ) from exc
        except ServiceRequestError as exc:
            return Reply(0, sent=False, problem=type(exc).__name__)
        except ServiceResponseError as exc:
            return Reply(0, sent=True, problem=type(exc).__name__)
        try:
            content = response.read()
        except (ServiceResponseError, HttpResponseError) as exc:  # the body was cut off
            return Reply(0, sent=True, problem=type(exc).__name__)
        finally:
            response.close()
        return Reply.of(response.status_code, response.headers, content, keep)

    def close(self) -> None:
        self._client.close()


def _json(response: Any) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
