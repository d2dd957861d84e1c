"""The approvals route without the Functions types: forms, origins and the order of checks."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftkeeper.config import Settings
from driftkeeper.rollback._page import Page
from driftkeeper.rollback._web import MAX_FORM_BYTES, WebRequest, _form, _same_origin, respond
from driftkeeper.runtime import Runtime

FORM = "application/x-www-form-urlencoded"


def post(body: bytes, content_type: str = FORM, **headers: str) -> WebRequest:
    return WebRequest(
        method="POST",
        url="https://dk.example.net/api/approvals/x",
        token="x",
        headers={"content-type": content_type, **headers},
        body=body,
    )


@given(st.binary(max_size=MAX_FORM_BYTES + 64))
def test_any_body_is_a_form_or_a_refusal_and_never_raises(body: bytes) -> None:
    parsed = _form(post(body))
    if isinstance(parsed, Page):
        assert parsed.status_code in (400, 413)
    else:
        assert set(parsed) <= {"decision", "comment", "form"}
        assert all(isinstance(v, str) for v in parsed.values())


@given(
    st.dictionaries(
        st.sampled_from(["decision", "comment", "form"]), st.text(max_size=200), max_size=3
    )
)
def test_a_well_formed_form_is_read_as_sent(fields: dict[str, str]) -> None:
    from urllib.parse import urlencode

    body = urlencode(fields).encode()
    assert _form(post(body)) == fields


@pytest.mark.parametrize(
    ("headers", "same"),
    [
        ({}, True),
        ({"origin": "null"}, True),
        ({"origin": "https://dk.example.net"}, True),
        ({"origin": "https://DK.example.net"}, True),
        ({"origin": "https://dk.example.net.evil.example"}, False),
        ({"origin": "https://dk.example.net:8443"}, False),
        ({"referer": "https://evil.example/x"}, False),
        ({"referer": "https://dk.example.net/api/approvals/x"}, True),
        ({"origin": "https://[::1"}, False),
    ],
)
def test_the_origin_must_be_this_host_when_named(headers: dict[str, str], same: bool) -> None:
    assert _same_origin(post(b"", **headers)) is same


class Untouchable:
    """A runtime part that fails the test when used."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"{name} was used")


@pytest.mark.parametrize(
    ("settings", "token", "status"),
    [
        (Settings(), "A" * 43, 503),
        (Settings(auth_enabled=True), "A" * 42, 404),
        (Settings(auth_enabled=True), "A" * 43, 401),
    ],
)
def test_refusals_before_the_store_is_touched(settings: Settings, token: str, status: int) -> None:
    # given a runtime whose table service fails the test when reached
    rt = Runtime(settings, table_service=Untouchable())
    request = WebRequest("GET", "https://dk.example.net/api/approvals/" + token, token, {})
    # then the answer comes before any table lookup
    assert respond(rt, request).status_code == status
