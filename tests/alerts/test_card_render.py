"""The Teams card as a person sees it.

The cards driftkeeper posts (captured at a local Teams webhook) are rendered by Microsoft's
Adaptive Cards renderer (npm ``adaptivecards``) with markdown-it linking bare URLs, as Teams
does, in headless Chromium (``tests/alerts/card_harness``). No value from an event or an API
may become a link, a heading, emphasis or other markup; the renderer must report no parse or
validation warning; and the untrusted text must still be there to read, defanged. The
screenshot of all the cards is kept in ``build/test-artifacts/``.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from driftkeeper._model import Change
from driftkeeper.alerts import Alert, Link, TeamsChannel
from driftkeeper.alerts._text import message_text
from driftkeeper.signals import Actor
from tests.fakes.browser import (
    REQUIRE_BROWSER,
    BrowserError,
    Page,
    chromium_or_skip,
    element_text,
    open_page,
)
from tests.fakes.receivers import HttpReceiver

from ._alerts import NSG_ID, make_alert
from .test_defang import linkable
from .test_teams import WEBHOOK_PATH, card_of, webhook_url

ROOT = Path(__file__).resolve().parents[2]
HARNESS = Path(__file__).with_name("card_harness") / "index.html"
ARTIFACTS = ROOT / "build" / "test-artifacts"
SCREENSHOT = ARTIFACTS / "teams-cards.png"
NODE_SCRIPTS = (
    ROOT / "node_modules/adaptivecards/dist/adaptivecards.min.js",
    ROOT / "node_modules/markdown-it/dist/browser/markdown-it.umd.min.js",
)
WINDOW = (1760, 4400)

APPROVE_URL = "https://dk.contoso.example/api/approvals/7f3e"
NSG_PREFIX = NSG_ID.rsplit("/", 1)[0] + "/"

# Values from events and APIs, as an attacker (or an unlucky admin) may write them.
HOSTILE: dict[str, list[str]] = {
    "markdown": [
        "**bold**",
        "# heading",
        "[t](https://evil.example)",
        "_it_ *it*",
        "`code`",
        "```fence```",
        "~~strike~~",
        "> quote",
        "- item",
        "1. item",
        "| a | b |",
        "![img](https://evil.example/p.png)",
        "***",
        "\\*escaped\\*",
        "<https://evil.example>",
        "[ref]: https://evil.example",
        "Setext\n===",
        "    indented code",
    ],
    "urls": [
        "https://evil.example/a",
        "www.evil.example",
        "www.evil.com",
        "http://evil.com/login?next=/",
        "evil.com",
        "bob@evil.com",
        "mailto:bob@evil.com",
        "javascript:alert(document.cookie)",
        "ftp://evil.com/x",
        "//evil.com/x",
        "https://пример.рф/путь",
        "xn--80ak6aa92e.com",
        "login.microsoftonline.com.evil.io",
        "see https://evil.example/a and www.other.example, mail eve@evil.org",
    ],
    "markup": [
        "<b>bold</b>",
        "<script>alert(1)</script>",
        "&lt;b&gt; &amp; &#x3C;i&#x3E;",
        "<img src=x onerror=alert(1)>",
        "${secret}",
        "${if(true, 'a', 'b')}",
        "{{DATE(2026-03-02T10:15:00Z, SHORT)}}",
        "{{TIME(2026-03-02T10:15:00Z)}}",
        "{{input.value}}",
        "==mark==",
        "\u202eevil\u202c gnp.exe",
        "a\u2066b\u2069c\u200bd",
        "line1\r\nline2\n- item",
        "\\",
    ],
    "long": [
        "A" * 3000 + " https://evil.example/" + "x" * 3000,
        "word **bold** " * 400,
        "[" * 500 + "link" + "](https://evil.example)" * 50,
    ],
}


def hostile_alert(values: list[str], *, name_in_resource: bool) -> Alert:
    """An alert with ``values`` spread over every field that comes from an event or an API."""
    value = itertools.cycle(values)
    alert = make_alert(
        kind=next(value),
        rule=next(value),
        message=" ".join(values),
        operation=next(value),
        correlation_id=next(value),
        signal_id=next(value),
        event_time=next(value),
        actor=Actor(upn=next(value), app_id=next(value), object_id=next(value), ip=next(value)),
        owners=(next(value), next(value)),
        changes=tuple(
            Change(next(value), next(value), {"description": next(value), next(value): [1]})
            for _ in range(3)
        ),
        links=(Link("Approve rollback", APPROVE_URL),),
    )
    if name_in_resource:  # a hostile resource name: not an ARM id, so no portal link
        alert = dataclasses.replace(alert, resource=NSG_PREFIX + next(value))
    return alert


def alerts() -> dict[str, Alert]:
    cases = {
        "ordinary drift, with an approval link": make_alert(
            links=(Link("Approve rollback", APPROVE_URL),)
        )
    }
    for group, values in HOSTILE.items():
        cases[f"hostile {group}"] = hostile_alert(values, name_in_resource=False)
        cases[f"hostile {group} in the resource name"] = dataclasses.replace(
            hostile_alert(values[::-1], name_in_resource=True),
            severity="critical",
            transition="resolved" if group == "markup" else "opened",
        )
    return cases


def unescaped(text: str) -> str:
    """What Teams shows of a Markdown text driftkeeper escaped: the backslashes gone."""
    return re.sub(r"\\(.)", r"\1", text)


def card_texts(node: Any) -> list[str]:
    """TextBlock texts, fact titles and values, in the order the card shows them."""
    found: list[str] = []
    if isinstance(node, dict):
        if node.get("type") == "TextBlock":
            found.append(node["text"])
        if node.get("type") == "FactSet":
            for fact in node["facts"]:
                found += [fact["title"], fact["value"]]
        for value in node.values():
            found += card_texts(value)
    elif isinstance(node, list):
        for item in node:
            found += card_texts(item)
    return found


def harness_page(cards: list[dict[str, Any]], directory: Path) -> Path:
    """The harness page with ``cards`` filled in, written to ``directory``."""
    html = HARNESS.read_text(encoding="utf-8")
    base = f'<base href="{HARNESS.parent.as_uri()}/">'
    data = json.dumps(cards, ensure_ascii=False).replace("<", "\\u003c")
    empty = '<script id="cards" type="application/json">[]</script>'
    assert empty in html
    html = html.replace("<head>", f"<head>\n{base}", 1)
    html = html.replace(empty, f'<script id="cards" type="application/json">{data}</script>')
    page = directory / "teams-cards.html"
    page.write_text(html, encoding="utf-8")
    return page


# Not from driftkeeper: the same kind of values unescaped, to show the renderer and markdown-it
# do make links, headings and emphasis of them (so finding none in driftkeeper's cards means
# something).
CONTROL = "control: unescaped Markdown (not a driftkeeper card)"
CONTROL_CARD: dict[str, Any] = {
    "type": "AdaptiveCard",
    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
    "version": "1.4",
    "body": [
        {"type": "TextBlock", "text": "# heading", "wrap": True},
        {
            "type": "TextBlock",
            "text": "**bold** _it_ [t](https://evil.example) www.evil.com evil.example"
            " bob@evil.com",
            "wrap": True,
        },
    ],
}


@dataclass(frozen=True)
class Rendered:
    alerts: dict[str, Alert]
    cards: dict[str, dict[str, Any]]
    """The card of each alert as posted to the webhook."""
    result: dict[str, Any]
    """What the harness reported (see card_harness/harness.js)."""
    page: Page


def render_cards() -> Rendered:
    """Every alert sent through the Teams channel, and all the cards rendered in one page."""
    chromium = chromium_or_skip()
    missing = [str(p.relative_to(ROOT)) for p in NODE_SCRIPTS if not p.is_file()]
    if missing:
        pytest.fail(f"{', '.join(missing)} missing: run `npm ci`", pytrace=False)
    cases = alerts()
    with HttpReceiver() as receiver:
        channel = TeamsChannel(webhook_url(receiver))
        for alert in cases.values():
            channel.send(alert)
        posted = [card_of(r.json()) for r in receiver.requests_to(WEBHOOK_PATH)]
    cards = dict(zip(cases, posted, strict=True))
    entries = [{"name": n, "card": c} for n, c in cards.items()]
    entries.append({"name": CONTROL, "card": CONTROL_CARD})
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page_file = harness_page(entries, ARTIFACTS)
    page = open_page(chromium, page_file, screenshot=SCREENSHOT, window_size=WINDOW)
    result = json.loads(element_text(page.dom, "result"))
    print(f"{len(entries)} Teams cards rendered: {SCREENSHOT} (page {page_file})")
    for card in result["cards"]:  # legible, not a failure: long unbroken values overflow
        if card["clipped"]:
            print(f"  {card['name']}: {len(card['clipped'])} texts cut at the card's edge")
    return Rendered(cases, cards, result, page)


def test_teams_cards_as_a_person_sees_them() -> None:
    # One Chromium run for every card; the checks below each read the same rendering.
    rendered = render_cards()
    check_the_renderer_ran_cleanly(rendered)
    check_the_control_card_shows_what_markdown_does(rendered)
    driftkeepers = [c for c in rendered.result["cards"] if c["name"] != CONTROL]
    assert [c["name"] for c in driftkeepers] == list(rendered.alerts)
    check_no_parse_or_validation_warnings(driftkeepers)
    check_no_value_becomes_a_link_heading_emphasis_or_markup(driftkeepers)
    check_only_driftkeepers_own_links_are_actions(rendered, driftkeepers)
    check_untrusted_text_is_shown_as_text_defanged(rendered, driftkeepers)


def check_the_renderer_ran_cleanly(rendered: Rendered) -> None:
    result = rendered.result
    assert result["errors"] == []
    assert result["console"] == []
    assert [m for m in rendered.page.console if "teams-cards" in m or "harness" in m] == []
    assert result["renderer"] >= "1.4"
    # the screenshot shows every card whole
    assert not result["overflow"], f"page is {result['size']}, window {WINDOW}"
    assert SCREENSHOT.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def check_the_control_card_shows_what_markdown_does(rendered: Rendered) -> None:
    (control,) = [c for c in rendered.result["cards"] if c["name"] == CONTROL]
    assert control["warnings"] == []
    assert control["headings"] == ["heading"]
    assert control["emphasis"] == ["bold", "it"]
    assert [link["href"] for link in control["links"]] == [
        "https://evil.example",
        "http://www.evil.com",
        "http://evil.example",
        "mailto:bob@evil.com",
    ]


def check_no_parse_or_validation_warnings(cards: list[dict[str, Any]]) -> None:
    assert {c["name"]: c["warnings"] for c in cards if c["warnings"]} == {}


def check_no_value_becomes_a_link_heading_emphasis_or_markup(cards: list[dict[str, Any]]) -> None:
    for card in cards:
        assert card["links"] == [], card["name"]
        assert card["headings"] == [], card["name"]
        assert card["emphasis"] == [], card["name"]
        # inside a TextBlock: only the paragraph markdown-it wraps the text in
        assert card["markup"] == [], (card["name"], card["html"])
        assert all(html.count("<p>") <= 1 for html in card["html"]), card["name"]
        assert set(card["tags"]) <= {"div", "p", "table", "tbody", "tr", "td", "button"}, card[
            "name"
        ]


def check_only_driftkeepers_own_links_are_actions(
    rendered: Rendered, cards: list[dict[str, Any]]
) -> None:
    for card in cards:
        alert = rendered.alerts[card["name"]]
        own = [("Open in Azure portal", alert.portal_url)] if alert.portal_url else []
        own.append(("Approve rollback", APPROVE_URL))
        assert [(a["title"], a["url"]) for a in card["actions"]] == own, card["name"]
        assert {a["type"] for a in card["actions"]} == {"Action.OpenUrl"}
        assert card["buttons"] == [title for title, _ in own], card["name"]
    with_portal = [n for n, a in rendered.alerts.items() if a.portal_url is not None]
    assert len(with_portal) == len(HOSTILE) + 1


def check_untrusted_text_is_shown_as_text_defanged(
    rendered: Rendered, cards: list[dict[str, Any]]
) -> None:
    for card in cards:
        name = card["name"]
        # what the person reads is exactly what driftkeeper wrote, escapes taken away
        # (markdown-it ends each paragraph with a line break, which HTML does not show)
        texts = [t.removesuffix("\n") for t in card["texts"]]
        assert texts == [unescaped(t) for t in card_texts(rendered.cards[name])], name
        assert message_text(rendered.alerts[name]) in texts, name
        for text in texts:
            assert not linkable(text), (name, text)
            assert not re.search(r"[\u200b-\u200f\u202a-\u202e\u2060-\u2069\r\n]", text)
    shown = "\n".join(t for c in cards for t in c["texts"])
    for visible in (
        "**bold**",
        "# heading",
        "[t](hxxps://evil[.]example)",
        "<script>alert(1)</script>",
        "&lt;b&gt;",
        "${secret}",
        "{{DATE(2026-03-02T10:15:00Z, SHORT)}}",
        "hxxps://evil[.]example/a",
        "www[.]evil[.]com",
        "bob[@]evil[.]com",
        "javascript[:]alert(document[.]cookie)",
    ):
        assert visible in shown, visible


# -- the browser helper (tests/fakes/browser.py) ---------------------------------------------


def test_a_missing_browser_skips_or_fails_under_require_browser(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DRIFTKEEPER_CHROMIUM", "/nonexistent/chromium")
    monkeypatch.delenv(REQUIRE_BROWSER, raising=False)
    with pytest.raises(pytest.skip.Exception, match="chromium"):
        chromium_or_skip()
    monkeypatch.setenv(REQUIRE_BROWSER, "1")
    with pytest.raises(pytest.fail.Exception, match=REQUIRE_BROWSER):
        chromium_or_skip()


def test_element_text_reads_one_element_of_a_dumped_dom() -> None:
    dom = '<html><body><p id="x">no</p><pre id="result">{"a": "&lt;b&gt;"<br>}</pre></body></html>'
    assert element_text(dom, "result") == '{"a": "<b>"}'
    with pytest.raises(KeyError):
        element_text(dom, "missing")


def test_a_page_that_never_loads_is_killed_at_the_timeout(tmp_path: Path) -> None:
    chromium = chromium_or_skip()
    page = tmp_path / "hang.html"
    page.write_text("<!doctype html><script>for (;;) {}</script>", encoding="utf-8")
    started = time.monotonic()
    with pytest.raises(BrowserError, match="within 3 s"):
        open_page(chromium, page, timeout=3)
    assert time.monotonic() - started < 30
    leftovers = [
        pid for pid in os.listdir("/proc") if pid.isdigit() and str(tmp_path) in _cmdline(pid)
    ]
    assert leftovers == []


def _cmdline(pid: str) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode("utf-8", "replace")
    except OSError:
        return ""
