"""Email through Microsoft Graph: ``POST /users/{sender}/sendMail`` with msgraph-sdk.

The ``GraphServiceClient`` is injected (point it elsewhere with
``client.request_adapter.base_url``). msgraph-sdk is async and its httpx client keeps
connections on the loop that opened them, so the channel runs every call on one private event
loop thread (:class:`~driftkeeper._loop.LoopThread`, as the Graph readers do);
:meth:`GraphMailChannel.close` runs ``aclose`` (the owner's coroutine function releasing the
client) on that loop, then stops it.

kiota's own retries are turned off for this request: :class:`~driftkeeper.alerts.Notifier`
retries, and honours ``Retry-After``. The app needs the ``Mail.Send`` application permission
(best limited to the sender's mailbox with an Exchange application access policy).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Coroutine, Sequence
from typing import TYPE_CHECKING, Any

from .._errors import AlertConfigError, DeliveryError
from ..live._failures import is_transient
from ._email import email_html, email_subject, is_email_address, recipients_for
from ._http import parse_retry_after, status_text
from ._model import Alert
from ._text import clean

if TYPE_CHECKING:
    from .._loop import LoopThread

__all__ = ["GraphMailChannel", "graph_mail_client", "graph_mail_sender_problem"]

_log = logging.getLogger(__name__)

_OBJECT_ID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


def graph_mail_sender_problem(sender: str) -> str | None:
    """What is wrong with ``sender`` as the mailbox to send from (a UPN / address or a user
    id), or None."""
    if is_email_address(sender) or _OBJECT_ID.fullmatch(sender):
        return None
    return "is not a UPN or a user id"


class GraphMailChannel:
    """Sends alerts as HTML mail from the ``sender`` mailbox (a UPN / address or a user id).

    ``to`` are the default recipients; the alert's owners are added. ``timeout`` bounds one
    sendMail call (seconds).
    """

    name = "email"

    def __init__(
        self,
        client: Any,
        *,
        sender: str,
        to: Sequence[str] = (),
        timeout: float = 60.0,
        aclose: Callable[[], Coroutine[Any, Any, None]] | None = None,
    ) -> None:
        problem = graph_mail_sender_problem(sender)
        if problem:
            raise AlertConfigError("Graph mail sender", sender, problem)
        for address in to:
            if not is_email_address(address):
                raise AlertConfigError("Graph mail recipients", address, "is not an email address")
        self._client = client
        self._sender = sender
        self._to = tuple(to)
        self._timeout = timeout
        self._aclose = aclose
        from .._loop import LoopThread  # asyncio: only when the channel is used

        self._loop: LoopThread = LoopThread("driftkeeper-graph-mail")

    def __repr__(self) -> str:
        return f"GraphMailChannel(sender={self._sender!r})"

    def send(self, alert: Alert) -> None:
        recipients = recipients_for(self._to, alert)
        if not recipients:
            raise DeliveryError("no email recipients (none configured, no owners)", transient=False)
        try:
            self._loop.run(self._send(alert, recipients), timeout=self._timeout)
        except TimeoutError:
            raise DeliveryError(
                f"Microsoft Graph sendMail gave no answer within {self._timeout:g} s",
                transient=True,
            ) from None
        _log.info(
            "alert mailed to %d recipient(s) through Microsoft Graph",
            len(recipients),
            extra={"resource": alert.resource, "baseline": alert.rule},
        )

    def close(self) -> None:
        """Run ``aclose`` on the channel's loop (if given), then stop the loop."""
        try:
            if self._aclose is not None:
                self._loop.run(self._aclose())
        finally:
            self._loop.close()

    def __enter__(self) -> GraphMailChannel:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    async def _send(self, alert: Alert, recipients: Sequence[str]) -> None:
        import httpx
        from azure.core.exceptions import ClientAuthenticationError
        from kiota_abstractions.api_error import APIError

        from ..live._graph_client import sdk_deprecations_silenced

        with sdk_deprecations_silenced():
            from kiota_abstractions.base_request_configuration import RequestConfiguration
            from kiota_http.middleware.options import RetryHandlerOption
            from msgraph.generated.models.body_type import BodyType
            from msgraph.generated.models.email_address import EmailAddress
            from msgraph.generated.models.item_body import ItemBody
            from msgraph.generated.models.message import Message
            from msgraph.generated.models.recipient import Recipient
            from msgraph.generated.users.item.send_mail.send_mail_post_request_body import (
                SendMailPostRequestBody,
            )

            builder = self._client.users.by_user_id(self._sender).send_mail

        body = SendMailPostRequestBody(
            message=Message(
                subject=email_subject(alert),
                body=ItemBody(content_type=BodyType.Html, content=email_html(alert)),
                to_recipients=[
                    Recipient(email_address=EmailAddress(address=address)) for address in recipients
                ],
            ),
            save_to_sent_items=False,
        )
        no_sdk_retries: Any = RequestConfiguration(
            options=[RetryHandlerOption(delay=0, max_retries=0, should_retry=False)]
        )
        try:
            await builder.post(body, request_configuration=no_sdk_retries)
        except APIError as exc:
            status = exc.response_status_code
            error = getattr(exc, "error", None)  # ODataError carries the Graph error body
            code = getattr(error, "code", None) or ""
            message = getattr(error, "message", None) or exc.message or ""
            if status is None:
                raise DeliveryError(
                    f"Microsoft Graph sendMail failed: {clean(message, 200)}", transient=False
                ) from None
            headers = {k.lower(): v for k, v in (exc.response_headers or {}).items()}
            retry_after = headers.get("retry-after")
            raise DeliveryError(
                f"Microsoft Graph sendMail answered {status_text(status)}"
                + (f": {clean(code, 80)}" if code else "")
                + (f": {clean(message, 200)}" if message else ""),
                transient=is_transient(status),
                retry_after=parse_retry_after(
                    retry_after if isinstance(retry_after, str) else None
                ),
            ) from None
        except httpx.TransportError as exc:
            raise DeliveryError(
                f"no answer from Microsoft Graph: {type(exc).__name__}", transient=True
            ) from None
        except ClientAuthenticationError:
            raise DeliveryError(
                "could not get an access token for Microsoft Graph", transient=False
            ) from None


def graph_mail_client(
    credential: Any, *, endpoint: str = "https://graph.microsoft.com/v1.0"
) -> tuple[Any, Callable[[], Coroutine[Any, Any, None]]]:
    """A GraphServiceClient for ``endpoint`` (HTTP/1.1, built as the live readers build
    theirs), and the coroutine function that releases its connections. ``credential`` is
    an async token credential."""
    from ..live._graph_client import GraphSettings, aclose, graph_client, graph_http

    settings = GraphSettings.for_endpoint(
        endpoint, credential, connection_verify=True, max_retries=None, retry_delay=None
    )
    http = graph_http(settings)

    async def release() -> None:
        await aclose(http)

    return graph_client(settings, http), release
