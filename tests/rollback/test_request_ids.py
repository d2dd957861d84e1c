"""Our client request ids are recognised by their signature alone."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from driftkeeper.rollback._request_ids import is_own_request_id, own_request_id

KEY = b"k" * 32


def test_a_signed_id_is_a_uuid_and_is_recognised() -> None:
    made = own_request_id(KEY)
    assert uuid.UUID(made).version == 8
    assert is_own_request_id(KEY, made)
    assert is_own_request_id(KEY, made.upper())


def test_another_key_does_not_recognise_it() -> None:
    assert not is_own_request_id(b"x" * 32, own_request_id(KEY))
    assert not is_own_request_id(b"", own_request_id(KEY))


@given(st.uuids())
def test_random_uuids_are_not_ours(value: uuid.UUID) -> None:
    assert not is_own_request_id(KEY, str(value))


@given(st.integers(0, 35), st.sampled_from("0123456789abcdef"))
def test_one_changed_digit_breaks_it(position: int, digit: str) -> None:
    made = own_request_id(KEY)
    if made[position] in "-" or made[position] == digit:
        return
    changed = made[:position] + digit + made[position + 1 :]
    assert not is_own_request_id(KEY, changed)


@given(st.text(max_size=80))
def test_any_text_is_refused_without_an_error(text: str) -> None:
    assert not is_own_request_id(KEY, text)
