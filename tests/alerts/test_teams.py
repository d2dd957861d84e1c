from __future__ import annotations

import json
import logging
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftkeeper._model import Change
from driftkeeper.alerts import (
    AlertConfigError,
    DeliveryError,
    Link,
    Notifier,
    Routes,
    TeamsChannel,
    escape_markdown,
    teams_message,
)
from driftkeeper.signals import Actor
from tests.fakes.receivers import HttpReceiver

from ._alerts import NSG_ID, PORTAL_URL, Sleeps, facts, make_alert

WEBHOOK_PATH = "/workflows/abc123/triggers/manual/paths/invoke"
SIGNATURE = "sig=Sup3rSecretSignature"
TEAMS_ONLY = Routes({"critical": ("teams",), "high": ("teams",)}, explicit=True)


def webhook_url(receiver: HttpReceiver) -> str:
    return f"{receiver.url}{WEBHOOK_PATH}?api-version=1&sp=%2Ftriggers%2Fmanual%2Frun&{SIGNATURE}"


def card_of(payload: dict[str, Any]) -> dict[str, Any]:
    assert payload["type"] == "message"
    (attachment,) = payload["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card: dict[str, Any] = attachment["content"]
    assert (card["type"], card["version"]) == ("AdaptiveCard", "1.4")
    return card


def texts(node: Any) -> list[str]:
    """Every string Teams renders as Markdown: TextBlock texts, fact titles and values."""
    found: list[str] = []
    if isinstance(node, dict):
        if node.get("type") == "TextBlock":
            found.append(node["text"])
        if node.get("type") == "FactSet":
            for fact in node["facts"]:
                found += [fact["title"], fact["value"]]
        for value in node.values():
            found += texts(value)
    elif isinstance(node, list):
        for item in node:
            found += texts(item)
    return found


def unescaped(text: str, char: str) -> bool:
    """Whether ``char`` occurs in ``text`` without a backslash escaping it."""
    return re.search(rf"(?<!\\)(?:\\\\)*{re.escape(char)}", text) is not None


def test_card_posted_to_the_webhook_has_the_facts(http_receiver: HttpReceiver) -> None:
    channel = TeamsChannel(webhook_url(http_receiver))

    channel.send(make_alert())

    (request,) = http_receiver.requests_to(WEBHOOK_PATH)
    assert request.method == "POST"
    assert request.headers["content-type"] == "application/json; charset=utf-8"
    assert request.query["sig"] == ["Sup3rSecretSignature"]
    card = card_of(request.json())
    shown = facts(card)
    assert shown["Kind"] == "nsg"
    assert shown["Resource"] == NSG_ID.replace("Microsoft.Network", "Microsoft\\[.\\]Network")
    assert shown["Baseline"] == "6f1c2a3b-rg-web-prod-nsg-web-prod"
    assert shown["Severity"] == "high"
    assert shown["Who"].startswith("mallory\\[@\\]contoso\\[.\\]example")
    assert "203.0.113.7" in shown["Who"]
    assert shown["When"] == "2026-03-02T10:15:00+00:00"
    assert shown["Operation"] == (
        "Microsoft\\[.\\]Network/networkSecurityGroups/securityRules/write"
    )
    header = card["body"][0]
    assert (header["style"], header["items"][0]["color"]) == ("warning", "Warning")
    assert header["items"][0]["text"] == "HIGH drift: nsg nsg-web-prod"
    rendered = "\n".join(texts(card))
    assert "rules\\[allow-rdp-temp\\]: absent → \\{" in rendered
    assert "10.0.0.0/8 → \\*" in rendered
    assert card["actions"] == [
        {"type": "Action.OpenUrl", "title": "Open in Azure portal", "url": PORTAL_URL}
    ]


@pytest.mark.parametrize(
    ("severity", "style"),
    [("critical", "attention"), ("high", "warning"), ("medium", "accent"), ("low", "default")],
)
def test_colour_follows_severity(severity: str, style: str) -> None:
    card = card_of(teams_message(make_alert(severity=severity)))
    assert card["body"][0]["style"] == style


def test_resolved_incident_is_green() -> None:
    card = card_of(teams_message(make_alert(transition="resolved")))
    assert card["body"][0]["style"] == "good"
    assert card["body"][0]["items"][0]["text"].endswith("\\(resolved\\)")


def test_changes_are_capped_with_and_n_more() -> None:
    changes = tuple(Change(f"rules[r{i}]", None, {"priority": i}) for i in range(25))
    card = card_of(teams_message(make_alert(changes=changes), max_changes=10))
    rendered = texts(card)
    assert sum(1 for t in rendered if t.startswith("rules\\[r")) == 10
    assert "and 15 more" in rendered


def test_extra_links_become_actions() -> None:
    link = Link("Approve rollback", "https://dk.contoso.example/api/approvals/abc")
    card = card_of(teams_message(make_alert(links=(link,))))
    assert card["actions"][1] == {
        "type": "Action.OpenUrl",
        "title": "Approve rollback",
        "url": "https://dk.contoso.example/api/approvals/abc",
    }


def test_no_portal_action_for_a_graph_object() -> None:
    alert = make_alert(resource="/identity/conditionalAccess/policies/c0ffee00")
    assert "actions" not in card_of(teams_message(alert))


HOSTILE = [
    "[click me](javascript:alert(1))",
    "x](javascript:alert(1))",
    "![img](https://evil.example/p.png)",
    "<img src=x onerror=alert(1)>",
    "**bold** _it_ ~~s~~ `code` # h > q | t",
    "line1\r\nline2\n- item\n1. item",
    "\\[escaped?](http://evil.example)",
    "&lt;script&gt;",
    "a\u202eevil\u2066b",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_untrusted_values_are_neutralised(value: str) -> None:
    alert = make_alert(
        message=value,
        rule=value,
        operation=value,
        actor=Actor(upn=value, ip=value),
        changes=(Change(value, value, {"k": value}),),
        owners=(value,),
    )
    card = card_of(teams_message(alert))
    for text in texts(card):
        assert "\n" not in text
        assert "\r" not in text
        assert "\u202e" not in text
        assert "\u2066" not in text
        for char in "[]()<>*_`#|~&":
            assert not unescaped(text, char), (char, text)
    assert card.get("actions", []) == [] or all(
        a["url"].startswith("https://portal.azure.com/") for a in card["actions"]
    )


@given(st.text(max_size=300))
def test_rendered_text_never_contains_an_unescaped_markdown_link(value: str) -> None:
    alert = make_alert(
        message=value,
        kind=value,
        resource=value,
        actor=Actor(upn=value),
        changes=(Change(value, value, value),),
    )
    for text in texts(card_of(teams_message(alert))):
        assert not re.search(r"(?<!\\)(?:\\\\)*\[[^\]]*(?<!\\)(?:\\\\)*\]\s*\(", text)
        assert not unescaped(text, "[")
        assert not unescaped(text, "<")
        assert "\n" not in text
        assert "\r" not in text


@given(st.text(max_size=200))
def test_escape_markdown_only_adds_backslashes(value: str) -> None:
    escaped = escape_markdown(value)
    assert re.sub(r"\\(.)", r"\1", escaped, flags=re.DOTALL) == value


def test_values_are_capped() -> None:
    card = card_of(teams_message(make_alert(message="m" * 5000, operation="o" * 5000)))
    assert max(len(t) for t in texts(card)) <= 1000
    assert facts(card)["Operation"].endswith("…")


def test_retry_after_500_then_success_records_two_attempts(http_receiver: HttpReceiver) -> None:
    http_receiver.fail(500, times=1)
    sleeps = Sleeps()
    notifier = Notifier([TeamsChannel(webhook_url(http_receiver))], TEAMS_ONLY, sleep=sleeps)

    (delivery,) = notifier.notify(make_alert())

    assert (delivery.channel, delivery.ok, delivery.attempts, delivery.error) == (
        "teams",
        True,
        2,
        "",
    )
    assert [r.status for r in http_receiver.requests_to(WEBHOOK_PATH)] == [500, 202]
    assert sleeps == [2.0]


def test_429_retry_after_is_honoured_up_to_the_cap(http_receiver: HttpReceiver) -> None:
    http_receiver.fail(429, times=1, retry_after=7)
    http_receiver.fail(429, times=1, retry_after=3600)
    sleeps = Sleeps()
    notifier = Notifier(
        [TeamsChannel(webhook_url(http_receiver))], TEAMS_ONLY, sleep=sleeps, retry_after_cap=30
    )

    (delivery,) = notifier.notify(make_alert())

    assert (delivery.ok, delivery.attempts) == (True, 3)
    assert sleeps == [7.0, 30.0]


def test_persistent_failure_is_recorded_not_raised(
    http_receiver: HttpReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    http_receiver.fail(503, times=10)
    caplog.set_level(logging.DEBUG)
    notifier = Notifier([TeamsChannel(webhook_url(http_receiver))], TEAMS_ONLY, sleep=Sleeps())

    (delivery,) = notifier.notify(make_alert())

    assert (delivery.ok, delivery.attempts) == (False, 3)
    assert delivery.error == "Teams webhook on 127.0.0.1 answered 503 Service Unavailable"
    assert len(http_receiver.requests) == 3
    assert "Sup3rSecretSignature" not in caplog.text
    assert WEBHOOK_PATH not in caplog.text
    assert "127.0.0.1" in caplog.text


def test_client_error_is_not_retried(http_receiver: HttpReceiver) -> None:
    http_receiver.fail(400, times=5)
    notifier = Notifier([TeamsChannel(webhook_url(http_receiver))], TEAMS_ONLY, sleep=Sleeps())

    (delivery,) = notifier.notify(make_alert())

    assert (delivery.ok, delivery.attempts) == (False, 1)
    assert "400 Bad Request" in delivery.error


def test_redirects_are_not_followed(http_receiver: HttpReceiver) -> None:
    http_receiver.fail(307, times=1)
    with pytest.raises(DeliveryError, match="307") as info:
        TeamsChannel(webhook_url(http_receiver)).send(make_alert())
    assert not info.value.transient
    assert len(http_receiver.requests) == 1


def test_no_answer_is_transient_and_names_only_the_host() -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    channel = TeamsChannel(f"http://127.0.0.1:{port}{WEBHOOK_PATH}?{SIGNATURE}", timeout=2)
    with pytest.raises(DeliveryError) as info:
        channel.send(make_alert())
    assert info.value.transient
    assert "127.0.0.1" in str(info.value)
    assert SIGNATURE not in str(info.value)
    assert WEBHOOK_PATH not in str(info.value)
    assert SIGNATURE not in repr(channel)


@pytest.mark.parametrize(
    "url",
    [
        f"http://prod-12.westeurope.logic.azure.com{WEBHOOK_PATH}?{SIGNATURE}",
        f"ftp://127.0.0.1{WEBHOOK_PATH}?{SIGNATURE}",
        f"https://x.example{WEBHOOK_PATH}?{SIGNATURE}\r\nX-Injected: 1",
        "not a url",
        f"https://[::1{WEBHOOK_PATH}?{SIGNATURE}",
        f"https://x.example:99999{WEBHOOK_PATH}?{SIGNATURE}",
    ],
)
def test_bad_webhook_url_is_a_config_error_without_the_url(url: str) -> None:
    with pytest.raises(AlertConfigError) as info:
        TeamsChannel(url)
    assert SIGNATURE not in str(info.value)


def test_card_is_json_serialisable_with_odd_change_values() -> None:
    alert = make_alert(changes=(Change("p", {"set": [1, 2]}, 3.5), Change("q", True, None)))
    card = json.loads(json.dumps(teams_message(alert)))
    texts = [str(node["text"]) for node in _nodes(card) if "text" in node]
    assert "q: true \u2192 absent" in texts  # a bool and a removal, as the card shows them
    [p_line] = [t for t in texts if t.startswith("p: ")]
    assert "set" in p_line
    assert p_line.endswith("\u2192 3.5")


def _nodes(value: Any) -> list[dict[str, Any]]:
    """Every JSON object inside ``value``."""
    if isinstance(value, dict):
        return [value] + [n for v in value.values() for n in _nodes(v)]
    if isinstance(value, list):
        return [n for v in value for n in _nodes(v)]
    return []
