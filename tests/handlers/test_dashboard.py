"""``GET /api/dashboard`` through the registered ``dashboard`` function, on Azurite: the
access check, the headers, and the page as Chromium renders it with hostile values in every
text an event can fill (nothing injected, nothing linked, the style allowed by its hash).
Screenshots: ``build/test-artifacts/dashboard.png`` (laptop) and ``dashboard-wall.png``."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import azure.functions as func
import pytest
from azure.data.tables import TableServiceClient

from driftkeeper import runtime
from driftkeeper._model import EventRecord
from driftkeeper.compliance import CSP
from driftkeeper.runtime import Runtime
from tests.fakes.browser import chromium_or_skip, open_page

from .dashboard_app import EVE, HOSTILE_TEXTS, http, make_runtime, seed
from .dashboard_app import service as service

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "build" / "test-artifacts"
Call = Callable[[func.HttpRequest], func.HttpResponse]
ALLOWED_TAGS = {
    "html", "head", "meta", "title", "style", "body", "main", "header", "h1", "h2", "h3",
    "h4", "p", "span", "small", "b", "i", "div", "section", "dl", "dt", "dd", "code", "bdi",
    "ul", "li", "table", "colgroup", "col", "thead", "tbody", "tr", "th", "td", "br", "svg",
    "line", "rect", "text",
}  # fmt: skip
LINKING = {"href", "src", "action", "formaction", "srcset", "xlink:href", "style"}


@pytest.fixture
def call(functions: dict[str, Any]) -> Call:
    fn: Call = functions["dashboard"].get_user_function()
    return fn


@pytest.fixture
def recorded(service: TableServiceClient, azurite: str) -> list[EventRecord]:
    rt = make_runtime(service, azurite)
    records = seed(rt, datetime.now(UTC))
    runtime.install(rt)
    return records


@pytest.fixture
def seeded(recorded: list[EventRecord]) -> Runtime:
    return runtime.current()


class Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def assert_nothing_injected(markup: str) -> None:
    doc = Elements()
    doc.feed(markup)
    doc.close()
    tags = [tag for tag, _ in doc.tags]
    assert set(tags) <= ALLOWED_TAGS, set(tags) - ALLOWED_TAGS
    assert tags.count("style") == 1
    for tag, attrs in doc.tags:
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        assert not LINKING & set(attrs), (tag, attrs)
    text = "".join(doc.text)
    for value in HOSTILE_TEXTS:
        assert value in text, value
    assert "\u202e" not in markup


def test_the_route_is_registered_anonymous_for_get(functions: dict[str, Any]) -> None:
    binding = functions["dashboard"].get_trigger()
    assert binding.route == "dashboard"
    assert {str(m).upper().split(".")[-1] for m in binding.methods} == {"GET"}


@pytest.mark.parametrize(
    ("who", "changes", "status"),
    [(None, {}, 401), (EVE, {}, 403), (None, {"auth_enabled": False}, 503)],
)
def test_the_access_check_refuses_with_a_page(
    service: TableServiceClient, azurite: str, call: Call, who: Any, changes: Any, status: int
) -> None:
    runtime.install(make_runtime(service, azurite, **changes))
    response = call(http("dashboard", who=who))
    assert response.status_code == status
    assert response.mimetype == "text/html"
    assert response.headers["Content-Security-Policy"] == CSP
    assert "driftkeeper compliance" not in response.get_body().decode()


def test_a_bad_period_is_400_naming_the_parameter(seeded: Runtime, call: Call) -> None:
    response = call(http("dashboard", params={"from": "<b>soon</b>"}))
    assert response.status_code == 400
    body = response.get_body().decode()
    assert "from: expected a date" in body
    assert "<b>soon" not in body


def test_the_page_carries_the_security_headers(seeded: Runtime, call: Call) -> None:
    response = call(http("dashboard"))
    assert response.status_code == 200
    headers = response.headers
    assert headers["Content-Security-Policy"] == CSP
    assert "default-src 'none'" in CSP
    assert "script-src" not in CSP  # default-src 'none': no script at all
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["Cache-Control"] == "no-store"
    body = response.get_body().decode()
    assert '<meta http-equiv="refresh" content="60">' in body
    assert_nothing_injected(body)


def test_the_page_shows_what_was_recorded(recorded: list[EventRecord], call: Call) -> None:
    body = call(http("dashboard")).get_body().decode()
    for heading in (
        "Compliance over time",
        "Open incidents by severity",
        "Rollback outcomes",
        "Detect and restore",
        "Shared responsibility",
        "Recent drift",
    ):
        assert f"<h2>{heading}</h2>" in body
    assert "network-controls" in body
    assert "account-and-access-management" in body
    assert len(re.findall(r"<rect class=\"day ", body)) == 2  # one bar per day judged
    drifts = [r for r in recorded if r.outcome == "drift"]  # all within the last week
    assert body.count("<tr><td><code>") == len(drifts)


@pytest.mark.parametrize(
    ("size", "name"), [((1366, 900), "dashboard.png"), ((2560, 1440), "dashboard-wall.png")]
)
def test_chromium_renders_the_hostile_dashboard_without_running_or_linking_anything(
    seeded: Runtime, call: Call, tmp_path: Path, size: tuple[int, int], name: str
) -> None:
    chromium = chromium_or_skip()
    response = call(http("dashboard"))
    target = tmp_path / "dashboard.html"
    target.write_bytes(response.get_body())
    shot = ARTIFACTS / name
    loaded = open_page(chromium, target, screenshot=shot, window_size=size)
    assert_nothing_injected(loaded.dom)
    assert "<title>driftkeeper compliance</title>" in loaded.dom
    assert not [m for m in loaded.console if "Content Security Policy" in m], loaded.console
    assert shot.is_file()
    assert shot.stat().st_size > 10_000


def test_stored_lone_surrogates_and_odd_severities_are_shown_safely(
    seeded: Runtime, call: Call
) -> None:
    # given a drift row with lone surrogates and the severity "low tile wide" (seeded)
    response = call(http("dashboard"))
    page = response.get_body().decode("utf-8")
    # then the page is served, the surrogates shown as U+FFFD, and no stored value picks
    # the badge's class
    assert response.status_code == 200
    assert "lone\ufffd" in page
    assert 'class="badge s-unknown">low tile wide<' in page
    assert "s-low tile" not in page
