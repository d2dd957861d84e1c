"""URLs, hosts and addresses from events or APIs are never clickable in an alert.

Teams and mail clients link bare ``https://…`` text, ``www.`` hosts, bare domains and email
addresses. Every value an alert shows is defanged (``hxxps://evil[.]example``) in one place,
:func:`driftkeeper.alerts._text.shown`; only driftkeeper's own links stay links.
"""

from __future__ import annotations

import dataclasses
import re
from html.parser import HTMLParser
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from driftkeeper._model import Change
from driftkeeper.alerts import Alert, Link, email_html, email_subject, email_text, teams_message
from driftkeeper.alerts._text import clean, shown
from driftkeeper.signals import Actor

from ._alerts import NSG_ID, PORTAL_URL, facts, make_alert

APPROVE_URL = "https://dk.contoso.example/api/approvals/abc"
OWN_URLS = {PORTAL_URL, APPROVE_URL}

# What a linkifier would turn into a link, written independently of the implementation:
# a link scheme, "//host" not right after a scheme, "user@host", a dot followed by a label with
# a letter (a domain), a "www." host.
_LINKABLE = re.compile(
    r"(?<![a-z0-9+.\-])(?:https?|ftps?|javascript|vbscript|data|file|mailto)\s*:(?!\s|$)"
    r"|(?<![:])//\w"
    r"|[\w.+\-]@[\w\-]"
    r"|[\w\-][.\u3002\uff0e\uff61][\w\-]*[^\W\d_]"
    r"|\bwww[.\u3002\uff0e\uff61]\w",
    re.IGNORECASE,
)


def linkable(text: str) -> list[str]:
    """The pieces of ``text`` a client could link."""
    return [m.group(0) for m in _LINKABLE.finditer(text)]


HOSTILE = [
    "https://evil.example/x",
    "http://evil.example",
    "HtTpS://EVIL.Example/Login?next=/",
    "ftp://files.evil.example/a.exe",
    "hxxp://evil.example/already",
    "https://xn--80ak6aa92e.com/",
    "https://пример.рф/путь",
    "http://203.0.113.9:8080/x",
    "https://[2001:db8::1]/x",
    "javascript:alert(document.cookie)",
    "JaVaScRiPt:alert(1)",
    "data:text/html;base64,PHNjcmlwdD4=",
    "mailto:victim@evil.example",
    "//evil.example/path",
    "www.evil.example",
    "WWW.Evil.Example/x",
    "evil.example",
    "login.microsoftonline.com.evil.example",
    "attacker@evil.example",
    "[click](https://evil.example)",
    "![img](https://evil.example/p.png)",
    "<https://evil.example>",
    "ht\u200btps://evil\u200b.example/x",
    "https://evil\u2060.exa\u200dmple/x",
    "\u202ehttps://evil.example\u202c",
    "https://evil\u3002example/x",
    "\\\\evil.example\\share",
    "see https://evil.example/a and www.other.example, mail bob@evil.example",
]


_INVISIBLE = re.compile(r"[\u200b-\u200f\u202a-\u202e\u2060-\u2069]")


@pytest.mark.parametrize("value", HOSTILE)
def test_every_hostile_value_is_linkable_as_a_client_may_read_it(value: str) -> None:
    # Clients may drop zero-width and bidi characters; the check below must see these links.
    assert linkable(_INVISIBLE.sub("", value))


def hostile_alert(value: str) -> Alert:
    """``value`` in every field an alert shows (and a link of driftkeeper's own)."""
    return make_alert(
        kind=value,
        rule=value,
        message=value,
        operation=value,
        correlation_id=value,
        signal_id=value,
        event_time=value,
        actor=Actor(upn=value, app_id=value, object_id=value, ip=value),
        owners=(value,),
        changes=(Change(value, value, {"description": value, value: [value]}),),
        links=(Link("Approve rollback", APPROVE_URL),),
    )


def resource_alert(value: str) -> Alert:
    """``value`` as the resource (then there is no portal link)."""
    return dataclasses.replace(hostile_alert(value), resource=value)


def card_strings(node: Any) -> list[str]:
    """Every text of the card a person sees (TextBlock texts, fact titles and values, action
    titles) as Teams shows it, Markdown escapes removed."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("text", "title", "value") and isinstance(value, str):
                found.append(re.sub(r"\\(.)", r"\1", value))
            else:
                found += card_strings(value)
    elif isinstance(node, list):
        for item in node:
            found += card_strings(item)
    return found


def card_urls(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [node["url"]] if "url" in node else [u for v in node.values() for u in card_urls(v)]
    if isinstance(node, list):
        return [u for item in node for u in card_urls(item)]
    return []


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.hrefs += [v or "" for k, v in attrs if k == "href"]

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def page_of(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    return page


def assert_card_is_safe(alert: Alert, *, strict: bool = True) -> None:
    card = teams_message(alert)["attachments"][0]["content"]
    for text in card_strings(card):
        assert not linkable(text), text
        assert not (strict and "http" in text.lower()), text
    assert set(card_urls(card)) <= OWN_URLS


def assert_mail_is_safe(alert: Alert, *, strict: bool = True) -> None:
    html = email_html(alert)
    page = page_of(html)
    own = [url for url in (alert.portal_url, *(link.url for link in alert.links)) if url]
    assert page.hrefs == own
    assert html.count("<a") == len(own)
    for text in page.text:
        assert not linkable(text), text
        assert not (strict and "http" in text.lower()), text
    for line in email_text(alert).splitlines():
        if any(line.endswith(": " + url) for url in own):
            continue  # driftkeeper's own link lines
        assert not linkable(line), line
        assert not (strict and "http" in line.lower()), line
    assert not linkable(email_subject(alert))


@pytest.mark.parametrize("value", HOSTILE)
def test_no_hostile_url_is_clickable_in_a_teams_card(value: str) -> None:
    assert_card_is_safe(hostile_alert(value))
    assert_card_is_safe(resource_alert(value))


@pytest.mark.parametrize("value", HOSTILE)
def test_no_hostile_url_is_clickable_in_a_mail(value: str) -> None:
    assert_mail_is_safe(hostile_alert(value))
    assert_mail_is_safe(resource_alert(value))


def test_driftkeepers_own_links_stay_links() -> None:
    alert = hostile_alert("https://evil.example/x")

    card = teams_message(alert)["attachments"][0]["content"]
    html = email_html(alert)

    assert card["actions"] == [
        {"type": "Action.OpenUrl", "title": "Open in Azure portal", "url": PORTAL_URL},
        {"type": "Action.OpenUrl", "title": "Approve rollback", "url": APPROVE_URL},
    ]
    assert f'<a href="{PORTAL_URL}">Open in Azure portal</a>' in html
    assert f'<a href="{APPROVE_URL}">Approve rollback</a>' in html
    assert f"Open in Azure portal: {PORTAL_URL}" in email_text(alert)


@pytest.mark.parametrize(
    ("value", "defanged"),
    [
        ("https://evil.example/x", "hxxps://evil[.]example/x"),
        ("HTTP://Evil.Example", "hxxp://Evil[.]Example"),
        ("ftp://1.2.3.4/a", "fxp://1[.]2[.]3[.]4/a"),
        ("hxxps://evil.example", "hxxps://evil[.]example"),
        ("www.evil.example", "www[.]evil[.]example"),
        ("https://xn--80ak6aa92e.com", "hxxps://xn--80ak6aa92e[.]com"),
        ("https://пример.рф/x", "hxxps://пример[.]рф/x"),
        ("javascript:alert(1)", "javascript[:]alert(1)"),
        ("ssh://host/x", "ssh[:][//]host/x"),
        ("//evil.example/x", "[//]evil[.]example/x"),
        ("//localhost/x", "[//]localhost/x"),
        ("bob@evil.example", "bob[@]evil[.]example"),
        ("[x](https://evil.example)", "[x](hxxps://evil[.]example)"),
        ("ht\u200btps://evil.example", "ht tps[:][//]evil[.]example"),
        ("evil\uff0eexample", "evil[.]example"),
        # what is not a link stays readable
        ("10.0.0.0/8 to 192.168.1.1", "10.0.0.0/8 to 192.168.1.1"),
        ("version 1.2.3", "version 1.2.3"),
        ("rules[allow-https].sourceAddressPrefix", "rules[allow-https].sourceAddressPrefix"),
        ("Allow Tcp 3389 from Internet: ok", "Allow Tcp 3389 from Internet: ok"),
    ],
)
def test_shown_defangs_what_a_client_would_link(value: str, defanged: str) -> None:
    assert shown(value) == defanged


def test_the_resource_id_is_shown_defanged_and_linked_through_the_portal() -> None:
    alert = make_alert()
    card = teams_message(alert)["attachments"][0]["content"]
    values = facts(card)

    assert values["Resource"] == NSG_ID.replace(".", "\\[.\\]")
    assert card["actions"][0]["url"] == PORTAL_URL


@given(st.text(max_size=300))
def test_shown_text_is_never_linkable(value: str) -> None:
    assert not linkable(shown(value, 300))


@given(st.text(alphabet=st.sampled_from(list("htpsfw:/.@[]x-_1 \u200b\u3002")), max_size=60))
def test_shown_text_of_url_fragments_is_never_linkable(value: str) -> None:
    assert not linkable(shown(value))


@given(st.text(max_size=120))
@example("0.²")  # a dot before a non-decimal digit: some linkifier may read a label
def test_cards_and_mails_never_link_arbitrary_text(value: str) -> None:
    # "http" may be a word of the value; no scheme ("http:") of it may survive.
    assert_card_is_safe(hostile_alert(value), strict=False)
    assert_mail_is_safe(hostile_alert(value), strict=False)


@given(st.text(max_size=200))
def test_text_without_anything_url_like_is_shown_as_it_is(value: str) -> None:
    if not linkable(value) and not re.search(r"//|\\\\|[.\u3002\uff0e\uff61]\w|:", value):
        assert shown(value) == clean(value)
