from __future__ import annotations

import ssl
from collections.abc import Callable, Coroutine
from html.parser import HTMLParser
from typing import Any
from urllib.parse import unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftkeeper._model import Change
from driftkeeper.alerts import (
    AlertConfigError,
    DeliveryError,
    GraphMailChannel,
    Link,
    Notifier,
    Routes,
    SmtpEmailChannel,
    email_html,
    email_subject,
    recipients_for,
)
from driftkeeper.signals import Actor
from tests.fakes.azure_rest import TlsFiles
from tests.fakes.credentials import StaticAsyncTokenCredential
from tests.fakes.receivers import SMTP_PASSWORD, SMTP_USER, HttpReceiver, SmtpReceiver

from ._alerts import PORTAL_URL, Sleeps, make_alert

SENDER = "driftkeeper@contoso.example"
ONCALL = "oncall@contoso.example"
EMAIL_ONLY = Routes({"high": ("email",)}, explicit=True)
TAGS = {
    "html",
    "body",
    "h2",
    "h3",
    "p",
    "table",
    "tr",
    "th",
    "td",
    "ul",
    "li",
    "code",
    "a",
    "small",
}


# --- the message ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("overrides", "subject"),
    [
        ({}, "[driftkeeper] HIGH drift: nsg nsg-web-prod"),
        ({"severity": "critical"}, "[driftkeeper] CRITICAL drift: nsg nsg-web-prod"),
        ({"transition": "resolved"}, "[driftkeeper] HIGH drift: nsg nsg-web-prod (resolved)"),
        (
            {"kind": "nsg\r\nBcc: victim@evil.example", "resource": "/x/evil\r\nX-A: 1"},
            "[driftkeeper] HIGH drift: nsg Bcc: victim[@]evil[.]example evil X-A: 1",
        ),
    ],
)
def test_subject(overrides: dict[str, Any], subject: str) -> None:
    assert email_subject(make_alert(**overrides)) == subject


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.hrefs: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.hrefs += [v or "" for k, v in attrs if k == "href"]

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html: str) -> _Tags:
    parser = _Tags()
    parser.feed(html)
    parser.close()
    return parser


@given(st.text(max_size=200))
def test_html_never_carries_markup_from_a_value(value: str) -> None:
    alert = make_alert(
        message=value,
        kind=value,
        rule=value,
        actor=Actor(upn=value, ip=value),
        changes=(Change(value, value, {"v": value}),),
        links=(Link(value or "x", "https://dk.contoso.example/approve"),),
    )
    html = email_html(alert)
    parsed = parse(html)
    assert parsed.tags <= TAGS
    assert set(parsed.hrefs) <= {PORTAL_URL, "https://dk.contoso.example/approve"}
    # Every "<" in the page opens one of our tags; values only ever contribute "&lt;".
    for piece in html.split("<")[1:]:
        name = piece.split(">", 1)[0].split(" ", 1)[0].lstrip("/!").lower()
        assert name in TAGS | {"doctype"}, piece[:40]


def test_html_escapes_hostile_values() -> None:
    alert = make_alert(message='<script>alert("x")</script>', actor=Actor(upn="<b>m</b>"))
    html = email_html(alert)
    assert "<script>" not in html
    assert "<b>" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert '<a href="' + PORTAL_URL + '">Open in Azure portal</a>' in html


def test_recipients_add_owners_skip_bad_ones_and_dedupe() -> None:
    alert = make_alert(owners=("NetOps@contoso.example", "not an address", "x@y\r\nBcc: z@e.x"))
    assert recipients_for(["netops@contoso.example", ONCALL], alert) == (
        "netops@contoso.example",
        ONCALL,
    )


# --- SMTP ----------------------------------------------------------------------------------
def test_smtp_sends_text_and_html(smtp_receiver: SmtpReceiver) -> None:
    channel = SmtpEmailChannel(
        smtp_receiver.host, port=smtp_receiver.port, sender=SENDER, to=[ONCALL], starttls=False
    )

    channel.send(make_alert())

    (mail,) = smtp_receiver.messages
    assert mail.mail_from == SENDER
    assert mail.rcpt_tos == (ONCALL, "netops@contoso.example")
    message = mail.message
    assert message["Subject"] == "[driftkeeper] HIGH drift: nsg nsg-web-prod"
    assert message["To"] == f"{ONCALL}, netops@contoso.example"
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None
    assert html is not None
    assert "rules[allow-rdp-temp]: absent -> " in text.get_content()
    assert "Who:            mallory[@]contoso[.]example" in text.get_content()
    assert "<th" in html.get_content()
    assert "nsg-web-prod" in html.get_content()


def login_channel(
    receiver: SmtpReceiver, tls_files: TlsFiles, *, password: str
) -> SmtpEmailChannel:
    """A channel that logs in as :data:`SMTP_USER` after STARTTLS, trusting the test CA."""
    return SmtpEmailChannel(
        receiver.host,
        port=receiver.port,
        sender=SENDER,
        to=[ONCALL],
        username=SMTP_USER,
        password=password,
        ssl_context=ssl.create_default_context(cafile=str(tls_files.ca_file)),
    )


def test_smtp_starttls_and_login(smtp_tls_receiver: SmtpReceiver, tls_files: TlsFiles) -> None:
    channel = login_channel(smtp_tls_receiver, tls_files, password=SMTP_PASSWORD)

    channel.send(make_alert())

    (mail,) = smtp_tls_receiver.messages
    assert (mail.tls, mail.login) == (True, SMTP_USER)


def test_smtp_wrong_password_fails_without_the_password(
    smtp_tls_receiver: SmtpReceiver, tls_files: TlsFiles
) -> None:
    channel = login_channel(smtp_tls_receiver, tls_files, password="wrong-password-value")
    with pytest.raises(DeliveryError) as info:
        channel.send(make_alert())
    assert not info.value.transient
    assert "535" in str(info.value)
    assert "wrong-password-value" not in str(info.value)
    assert smtp_tls_receiver.messages == []


def test_smtp_untrusted_certificate_is_refused(smtp_tls_receiver: SmtpReceiver) -> None:
    channel = SmtpEmailChannel(
        smtp_tls_receiver.host, port=smtp_tls_receiver.port, sender=SENDER, to=[ONCALL]
    )
    with pytest.raises(DeliveryError, match="TLS failed") as info:
        channel.send(make_alert())
    assert not info.value.transient


def test_smtp_server_without_starttls_is_refused(smtp_receiver: SmtpReceiver) -> None:
    channel = SmtpEmailChannel(
        smtp_receiver.host, port=smtp_receiver.port, sender=SENDER, to=[ONCALL]
    )
    with pytest.raises(DeliveryError, match="STARTTLS"):
        channel.send(make_alert())
    assert smtp_receiver.messages == []


def test_smtp_temporary_failure_is_retried(smtp_receiver: SmtpReceiver) -> None:
    smtp_receiver.fail("451 4.3.0 Try again later", times=2)  # both recipients, first attempt
    channel = SmtpEmailChannel(
        smtp_receiver.host, port=smtp_receiver.port, sender=SENDER, to=[ONCALL], starttls=False
    )
    sleeps = Sleeps()

    (delivery,) = Notifier([channel], EMAIL_ONLY, sleep=sleeps).notify(make_alert())

    assert (delivery.ok, delivery.attempts) == (True, 2)
    assert len(smtp_receiver.messages) == 1
    assert sleeps == [2.0]


def test_smtp_no_server_is_transient() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    channel = SmtpEmailChannel("127.0.0.1", port=port, sender=SENDER, to=[ONCALL], timeout=2)
    with pytest.raises(DeliveryError, match="no answer") as info:
        channel.send(make_alert())
    assert info.value.transient


def test_no_recipients_is_a_permanent_failure(smtp_receiver: SmtpReceiver) -> None:
    channel = SmtpEmailChannel(
        smtp_receiver.host, port=smtp_receiver.port, sender=SENDER, starttls=False
    )
    with pytest.raises(DeliveryError, match="no email recipients") as info:
        channel.send(make_alert(owners=()))
    assert not info.value.transient


@pytest.mark.parametrize(
    "kwargs",
    [
        {"sender": "not-an-address"},
        {"sender": SENDER, "to": ["a@b.example\r\nBcc: x@y.example"]},
        {"sender": SENDER, "starttls": False, "username": "u", "password": "p"},
    ],
)
def test_smtp_config_is_checked(kwargs: dict[str, Any]) -> None:
    with pytest.raises(AlertConfigError):
        SmtpEmailChannel("smtp.contoso.example", **kwargs)


# --- Microsoft Graph sendMail ------------------------------------------------------------------
GraphClient = tuple[Any, Callable[[], Coroutine[Any, Any, None]]]
"""A GraphServiceClient, and the coroutine function that releases its connections."""


@pytest.fixture
def graph_client(
    http_receiver: HttpReceiver, async_token_credential: StaticAsyncTokenCredential
) -> GraphClient:
    """A GraphServiceClient on the receiver, and the coroutine function that releases it."""
    from driftkeeper.alerts import graph_mail_client

    return graph_mail_client(async_token_credential, endpoint=http_receiver.url + "/v1.0")


def test_graph_send_mail_reaches_the_stand_in(
    http_receiver: HttpReceiver,
    graph_client: GraphClient,
    bearer_token: str,
) -> None:
    client, aclose = graph_client
    with GraphMailChannel(client, sender=SENDER, to=[ONCALL], aclose=aclose) as channel:
        channel.send(make_alert())
        channel.send(make_alert(severity="critical"))  # the same client, a second call

    first, second = http_receiver.requests
    assert first.method == "POST"
    assert unquote(first.path) == f"/v1.0/users/{SENDER}/sendMail"
    assert first.headers["authorization"] == f"Bearer {bearer_token}"
    # msgraph-sdk writes this action's parameters in PascalCase ("Message", "SaveToSentItems");
    # Graph reads action parameter names case-insensitively.
    body = {k.lower(): v for k, v in first.json().items()}
    assert body["savetosentitems"] is False
    message = body["message"]
    assert message["subject"] == "[driftkeeper] HIGH drift: nsg nsg-web-prod"
    assert message["body"]["contentType"].lower() == "html"
    assert "<table>" in message["body"]["content"]
    assert [r["emailAddress"]["address"] for r in message["toRecipients"]] == [
        ONCALL,
        "netops@contoso.example",
    ]
    assert second.json()["Message"]["subject"].startswith("[driftkeeper] CRITICAL")


def test_graph_throttling_is_retried_by_the_notifier(
    http_receiver: HttpReceiver,
    graph_client: GraphClient,
) -> None:
    http_receiver.fail(429, times=1, retry_after=5)
    client, aclose = graph_client
    sleeps = Sleeps()
    with GraphMailChannel(client, sender=SENDER, to=[ONCALL], aclose=aclose) as channel:
        (delivery,) = Notifier([channel], EMAIL_ONLY, sleep=sleeps).notify(make_alert())

    assert (delivery.ok, delivery.attempts) == (True, 2)
    assert [r.status for r in http_receiver.requests] == [429, 202]  # kiota did not retry
    assert sleeps == [5.0]


def test_graph_forbidden_is_permanent(
    http_receiver: HttpReceiver,
    graph_client: GraphClient,
) -> None:
    http_receiver.fail(403, times=1)
    client, aclose = graph_client
    with (
        GraphMailChannel(client, sender=SENDER, to=[ONCALL], aclose=aclose) as channel,
        pytest.raises(DeliveryError, match="403 Forbidden") as info,
    ):
        channel.send(make_alert())
    assert not info.value.transient


def test_graph_sender_is_checked() -> None:
    with pytest.raises(AlertConfigError, match="sender"):
        GraphMailChannel(object(), sender="../../me/sendMail")
