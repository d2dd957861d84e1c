"""The approval pages: escaped, self-contained, and as Chromium renders them.

The hostile request below puts script, markup, attribute breakers, bidi overrides and URLs in
every value an event or a live read can fill; Chromium loads the page, and its DOM must hold
them as text only: no element, attribute or link comes from them. The screenshot is kept in
``build/test-artifacts/approval-page.png``.
"""

from __future__ import annotations

import html
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest

from driftkeeper.rollback._approval import Decision, plan_hash
from driftkeeper.rollback._page import CSP, confirmation_page, message_page, security_headers
from tests.fakes.browser import chromium_or_skip, open_page

from .builders import NSG, request

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "build" / "test-artifacts"
SCRIPT = "<script>document.title='pwned'</script>"
HOSTILE = {
    "resource": NSG + "/<script>alert(1)</script>",
    "rule": 'web"><img src=x onerror=alert(2)>',
    "kind": "nsg<iframe src=https://evil.example/>",
    "baseline": "baselines/</textarea><form action=https://evil.example>.yaml",
    "drift_actor": "\u202eetadpu.exe\u202c mallory<a href=https://evil.example>@contoso</a>",
    "drift_time": "2026-11-30T11:58:00Z" + SCRIPT,
}
STEP_URL = "javascript:alert(3)//https://management.azure.com" + NSG
PLAN = {
    "kind": "nsg",
    "resource": NSG,
    "baseline": "baselines/nsg/web.yaml",
    "steps": [
        {
            "method": "PUT<b>",
            "url": "https://evil.example/phish?next=" + SCRIPT,
            "body": {"properties": {"description": "</pre>" + SCRIPT, "access": "Deny"}},
            "before": {
                "properties": {"description": "<style>*{display:none}</style>", "access": "Allow"}
            },
        },
        {"method": "DELETE", "url": STEP_URL, "body": None},
    ],
    "permissions": ["Microsoft.Network/<svg onload=alert(4)>/write"],
    "changes": [
        {"path": "rules[<i>rdp</i>]", "expected": None, "actual": {"access": "Allow" + SCRIPT}},
        {"path": "rules[ssh].access", "expected": "Deny", "actual": "Allow"},
    ],
}
ALLOWED_TAGS = {
    "html",
    "head",
    "meta",
    "title",
    "style",
    "body",
    "main",
    "h1",
    "h2",
    "p",
    "small",
    "div",
    "dl",
    "dt",
    "dd",
    "code",
    "bdi",
    "i",
    "b",
    "span",
    "pre",
    "ul",
    "li",
    "form",
    "input",
    "label",
    "textarea",
    "button",
}


def hostile_request():  # type: ignore[no-untyped-def]
    now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    approved = Decision(
        "approve",
        "b0b00000-0000-4000-8000-000000000002",
        '"><script>alert(5)</script>@contoso.example',
        "2026-11-30T12:01:00Z",
    )
    return replace(
        request(plan=PLAN, plan_hash=plan_hash(PLAN), required=2, decisions=(approved,)),
        expires_at=now + timedelta(hours=1),
        **HOSTILE,
    )


class Elements(HTMLParser):
    """Every element and attribute of a document."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parsed(markup: str) -> Elements:
    elements = Elements()
    elements.feed(markup)
    elements.close()
    return elements


def assert_nothing_injected(markup: str) -> None:
    doc = parsed(markup)
    tags = [tag for tag, _ in doc.tags]
    assert set(tags) <= ALLOWED_TAGS, set(tags) - ALLOWED_TAGS
    assert tags.count("form") == 1
    assert tags.count("style") == 1
    for tag, attrs in doc.tags:
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        assert not {"href", "src", "action", "formaction", "srcset"} & set(attrs), (tag, attrs)
    text = "".join(doc.text)
    for value in [*HOSTILE.values(), PLAN["steps"][0]["url"], STEP_URL]:  # type: ignore[index]
        shown = value.replace("\u202e", "[U+202E]").replace("\u202c", "[U+202C]")
        assert shown in text, shown


def test_every_hostile_value_is_text_in_the_markup() -> None:
    page = confirmation_page(hostile_request(), form_value="ab" * 32, viewer="<b>alice</b>")
    assert_nothing_injected(page.body)
    assert "\u202e" not in page.body
    assert 'value="' + "ab" * 32 + '"' in page.body


def test_pages_carry_the_security_headers() -> None:
    for page in (
        confirmation_page(hostile_request(), form_value="0" * 64, viewer="alice"),
        message_page(403, "<x>", "<y>"),
    ):
        assert page.headers == security_headers()
        assert page.headers["Content-Security-Policy"] == CSP
    assert "<x>" not in message_page(403, "<x>", "<y>").body
    assert "&lt;y&gt;" in message_page(403, "<x>", "<y>").body


def test_the_plan_is_shown_as_a_diff_of_before_and_after() -> None:
    page = confirmation_page(hostile_request(), form_value="0" * 64, viewer="alice")
    doc = parsed(page.body)
    deleted = [a for t, a in doc.tags if t == "span" and a.get("class") == "del"]
    added = [a for t, a in doc.tags if t == "span" and a.get("class") == "add"]
    assert deleted
    assert added
    assert html.escape('"access": "Allow"') in page.body
    assert html.escape('"access": "Deny"') in page.body


def test_chromium_renders_the_hostile_page_without_running_or_linking_anything(
    tmp_path: Path,
) -> None:
    # given the confirmation page of a request full of hostile values, saved as a file
    chromium = chromium_or_skip()
    page = confirmation_page(
        hostile_request(), form_value="ab" * 32, viewer="alice@contoso.example"
    )
    target = tmp_path / "approval.html"
    target.write_text(page.body, encoding="utf-8")
    shot = ARTIFACTS / "approval-page.png"
    # when Chromium loads it
    loaded = open_page(chromium, target, screenshot=shot, window_size=(1280, 1600))
    # then nothing was injected (the DOM as the browser built it), no script ran,
    # the inline style was allowed by its hash, and the screenshot is kept
    assert_nothing_injected(loaded.dom)
    assert "<title>driftkeeper: roll back?</title>" in loaded.dom  # no script set it
    assert not [m for m in loaded.console if "Content Security Policy" in m], loaded.console
    assert shot.is_file()
    assert shot.stat().st_size > 10_000


@pytest.mark.parametrize("status", [401, 403, 404, 409, 410, 503])
def test_message_pages_escape_their_text(status: int) -> None:
    page = message_page(status, SCRIPT, SCRIPT)
    assert page.status_code == status
    assert [t for t, _ in parsed(page.body).tags].count("script") == 0


def test_a_lone_surrogate_never_breaks_a_page() -> None:
    # a value legal in JSON but not encodable in UTF-8 (the shared escaping replaces it)
    page = message_page(409, "Already decided", "by lone\ud800 surrogate")
    assert "by lone\ufffd surrogate" in page.body.encode("utf-8").decode("utf-8")
