"""Email through SMTP (``smtplib``): STARTTLS unless turned off, login when a user is given.

A 4xx reply or a dropped connection is transient; a 5xx reply (refused sender or all
recipients, failed login) is not. A server that does not offer STARTTLS when it is required
fails the delivery; the message is never sent in clear instead. The password never appears
in an error or a log line.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .._errors import AlertConfigError, DeliveryError
from ._email import email_message, is_email_address, recipients_for
from ._model import Alert
from ._text import clean

if TYPE_CHECKING:
    import ssl

__all__ = ["SmtpEmailChannel"]

_log = logging.getLogger(__name__)


class SmtpEmailChannel:
    """Sends alerts as multipart (text + HTML) mail through an SMTP relay.

    ``to`` are the default recipients; the alert's owners are added. ``ssl_context`` verifies
    the server's certificate after STARTTLS (default: the system trust store).
    """

    name = "email"

    def __init__(
        self,
        host: str,
        *,
        sender: str,
        to: Sequence[str] = (),
        port: int = 587,
        starttls: bool = True,
        username: str | None = None,
        password: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        timeout: float = 30.0,
    ) -> None:
        if not is_email_address(sender):
            raise AlertConfigError("SMTP sender", sender, "is not an email address")
        for address in to:
            if not is_email_address(address):
                raise AlertConfigError("SMTP recipients", address, "is not an email address")
        if username is not None and not starttls:
            raise AlertConfigError(
                "SMTP login", username, "needs STARTTLS (the password would travel in clear)"
            )
        self.host = host
        self.port = port
        self._sender = sender
        self._to = tuple(to)
        self._starttls = starttls
        self._username = username
        self._password = password
        self._ssl_context = ssl_context
        self._timeout = timeout

    def __repr__(self) -> str:
        return f"SmtpEmailChannel(host={self.host!r}, port={self.port})"

    def send(self, alert: Alert) -> None:
        import smtplib
        import ssl

        recipients = recipients_for(self._to, alert)
        if not recipients:
            raise DeliveryError("no email recipients (none configured, no owners)", transient=False)
        message = email_message(alert, sender=self._sender, recipients=recipients)
        where = f"SMTP server {self.host}:{self.port}"
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self._timeout) as smtp:
                smtp.ehlo()
                if self._starttls:
                    smtp.starttls(context=self._ssl_context or ssl.create_default_context())
                    smtp.ehlo()
                if self._username is not None:
                    smtp.login(self._username, self._password or "")
                refused = smtp.send_message(message, from_addr=self._sender, to_addrs=recipients)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = sorted({code for code, _ in exc.recipients.values()})
            raise DeliveryError(
                f"{where} refused all {len(exc.recipients)} recipient(s) "
                f"({', '.join(map(str, codes))})",
                transient=all(400 <= code < 500 for code in codes),
            ) from None
        except smtplib.SMTPResponseException as exc:
            reply = exc.smtp_error
            text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
            raise DeliveryError(
                f"{where} answered {exc.smtp_code}: {clean(text, 200)}",
                transient=400 <= exc.smtp_code < 500,
            ) from None
        except smtplib.SMTPNotSupportedError as exc:
            raise DeliveryError(f"{where}: {clean(exc, 200)}", transient=False) from None
        except ssl.SSLError as exc:
            raise DeliveryError(
                f"{where}: TLS failed: {clean(exc.reason or type(exc).__name__, 120)}",
                transient=False,
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(
                f"no answer from {where}: {type(exc).__name__}", transient=True
            ) from None
        if refused:
            _log.warning(
                "%s refused %d of %d recipients",
                where,
                len(refused),
                len(recipients),
                extra={"resource": alert.resource, "baseline": alert.rule},
            )
        _log.info(
            "alert mailed to %d recipient(s) through %s",
            len(recipients) - len(refused),
            where,
            extra={"resource": alert.resource, "baseline": alert.rule},
        )
