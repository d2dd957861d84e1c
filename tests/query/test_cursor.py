"""The next token: opaque, signed, bound to its query; anything altered is refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftkeeper.query import Cursor, EventQuery, ParameterError, read_token, write_token
from driftkeeper.query._cursor import derive_key

KEY = derive_key(b"k" * 32)
T0 = datetime(2026, 7, 1, tzinfo=UTC)
QUERY = EventQuery(T0, T0 + timedelta(days=3), kind="nsg", resource="' or 1 eq 1")
CURSOR = Cursor(QUERY, "20260702", "2026-07-02T10:00:00.000000Z|3f2a9c0d51e4b7a8")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "cursor",
    [
        CURSOR,
        Cursor(QUERY, "20260702", None),
        Cursor(QUERY, "1!12!MjAyNjA3MDI-", "1!64!MjAyNi0wNy0wMlQxMDowMDowMC4wMDAwMDBafDNmMmE-"),
        Cursor(QUERY, "20260702", "2026-07-02T10:00:00.000000Z|3f2a9c0d51e4b7a8~001"),
    ],
)
def test_a_token_round_trips(cursor: Cursor) -> None:
    token = write_token(KEY, cursor)
    assert read_token(KEY, token) == cursor
    assert "nsg" not in token  # opaque, URL-safe
    assert token.replace(".", "").replace("-", "").replace("_", "").isalnum()


def test_a_token_signed_with_another_key_is_refused() -> None:
    with pytest.raises(ParameterError, match=r"^next: "):
        read_token(derive_key(b"other" * 8), write_token(KEY, CURSOR))


def test_a_token_with_a_changed_query_and_the_old_signature_is_refused() -> None:
    head, _, signature = write_token(KEY, CURSOR).partition(".")
    data = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    data["q"].pop("kind")
    data["rk"] = "x' or 1 eq 1"
    forged = f"{_b64(json.dumps(data).encode())}.{signature}"
    with pytest.raises(ParameterError):
        read_token(KEY, forged)


@pytest.mark.parametrize(
    "data",
    [
        {"q": QUERY.to_json(), "pk": "2026 07", "rk": None},
        {"q": QUERY.to_json(), "pk": "20260702", "rk": "a'b"},
        {"q": QUERY.to_json(), "pk": 5, "rk": None},
        {"q": {**QUERY.to_json(), "kind": "a b"}, "pk": "20260702", "rk": None},
        {"q": {**QUERY.to_json(), "extra": "x"}, "pk": "20260702", "rk": None},
        {"q": {"from": "2026-07-01"}, "pk": "20260702", "rk": None},
        {"q": QUERY.to_json(), "pk": "20260702"},
        [1, 2],
    ],
)
def test_even_a_correctly_signed_token_must_hold_what_this_api_writes(data: object) -> None:
    body = json.dumps(data).encode()
    token = f"{_b64(body)}.{_b64(hmac.new(KEY, body, hashlib.sha256).digest())}"
    with pytest.raises(ParameterError):
        read_token(KEY, token)


def test_every_single_character_change_is_refused() -> None:
    token = write_token(KEY, CURSOR)
    for index in range(0, len(token), 3):
        swapped = "A" if token[index] != "A" else "B"
        altered = token[:index] + swapped + token[index + 1 :]
        with pytest.raises(ParameterError):
            read_token(KEY, altered)


@given(st.text(max_size=300))
def test_arbitrary_text_is_refused(text: str) -> None:
    with pytest.raises(ParameterError) as raised:
        read_token(KEY, text)
    assert raised.value.parameter == "next"
