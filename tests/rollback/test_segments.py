"""kinds._reads.segment(): a value from outside becomes one path segment, or is refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftkeeper._errors import InputError
from driftkeeper.kinds._reads import segment


@pytest.mark.parametrize(
    ("placeholder", "value", "expected"),
    [
        ("name", "allow-rdp_temp.1", "allow-rdp_temp.1"),
        ("name", "rule(1)", "rule(1)"),
        ("key", "lAPpYvVpN0KRkAEhdxReEMmO4KwRqtpKkUWt3wOYIz4-1", None),
        ("key", "MicrosoftAuthenticator", None),
        ("id", "C0FFEE00-1111-4222-8333-444455556666", None),
    ],
)
def test_valid_segments_pass_unchanged(placeholder: str, value: str, expected: str | None) -> None:
    assert segment(placeholder, value) == (expected or value)


@pytest.mark.parametrize(
    ("placeholder", "value"),
    [
        ("name", ".."),
        ("name", "a/b"),
        ("name", "a?b=1"),
        ("name", "a#b"),
        ("name", "a%2Fb"),
        ("name", ""),
        ("key", "../x"),
        ("key", "a.b"),
        ("key", "x" * 257),
        ("id", "not-a-guid"),
    ],
)
def test_anything_else_is_refused(placeholder: str, value: str) -> None:
    with pytest.raises(InputError, match=f"not a valid {placeholder}"):
        segment(placeholder, value)


@given(st.text(max_size=40))
def test_a_segment_never_carries_a_path_or_query_character(value: str) -> None:
    for placeholder in ("name", "key"):
        try:
            out = segment(placeholder, value)
        except InputError:
            continue
        assert not set(out) & set("/?#%\\ ")
        assert out not in (".", "..")
