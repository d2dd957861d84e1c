"""Keys, time forms and property splitting: pure functions, no service."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftkeeper._model import Change
from driftkeeper.store import encode_key, record_entities, record_keys
from driftkeeper.store._keys import (
    ENTITY_BUDGET,
    MAX_TEXT_UNITS,
    entity_base_size,
    event_time,
    join_text,
    property_size,
    split_columns,
    split_text,
    time_key,
    utf16_units,
)

from .records import event

FORBIDDEN = re.compile(r"[/\\#?\x00-\x1f\x7f-\x9f]")
ANY_TEXT = st.text(st.characters(codec=None), max_size=600)


@given(ANY_TEXT)
def test_encoded_keys_are_valid_table_keys(value: str) -> None:
    key = encode_key(value)
    assert not FORBIDDEN.search(key)
    assert utf16_units(key) <= 512  # 1 KiB of UTF-16: the service limit
    assert encode_key(value) == key


@given(ANY_TEXT, ANY_TEXT)
def test_distinct_values_give_distinct_keys(a: str, b: str) -> None:
    assert (encode_key(a) == encode_key(b)) == (a == b)


@pytest.mark.parametrize(
    ("value", "key"),
    [
        ("nsg-web-prod", "nsg-web-prod"),
        ("/subscriptions/x/rg", "~2Fsubscriptions~2Fx~2Frg"),
        ("a~b#c?d\\e%f", "a~7Eb~23c~3Fd~5Ce~25f"),
        ("tab\there", "tab~09here"),
        ("ünï €", "ünï €"),
    ],
)
def test_escaping_keeps_keys_readable(value: str, key: str) -> None:
    assert encode_key(value) == key


def test_long_keys_keep_a_prefix_and_a_hash() -> None:
    long_a, long_b = "/x" * 300 + "a", "/x" * 300 + "b"
    assert encode_key(long_a) != encode_key(long_b)
    assert encode_key(long_a).startswith("~2Fx~2Fx")
    assert "~~" in encode_key(long_a)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-07-01T12:00:00Z", "2026-07-01T12:00:00.000000Z"),
        ("2026-07-01T12:00:00.9584103Z", "2026-07-01T12:00:00.958410Z"),
        ("2026-07-01T14:00:00+02:00", "2026-07-01T12:00:00.000000Z"),
        ("2026-07-01T12:00:00", "2026-07-01T12:00:00.000000Z"),
    ],
)
def test_event_times_normalize_to_sortable_utc(text: str, expected: str) -> None:
    assert time_key(event_time(text)) == expected


@pytest.mark.parametrize("text", ["", "yesterday", "2026-13-01T00:00:00Z", "1500-01-01T00:00Z"])
def test_bad_event_times_are_rejected(text: str) -> None:
    with pytest.raises(ValueError, match="event time"):
        event_time(text)


@given(  # any year: a query bound may lie before the table's earliest time
    st.datetimes(min_value=datetime(1, 1, 2), timezones=st.just(UTC)),
    st.datetimes(min_value=datetime(1, 1, 2), timezones=st.just(UTC)),
)
def test_time_keys_sort_as_times_do(a: datetime, b: datetime) -> None:
    assert (time_key(a) < time_key(b)) == (a < b)


@given(st.text(st.characters(codec="utf-8"), max_size=300), st.integers(2, 50))
def test_split_text_joins_back_and_respects_the_limit(text: str, limit: int) -> None:
    pieces = split_text(text, limit)
    assert "".join(pieces) == text
    assert all(utf16_units(p) <= limit for p in pieces)


@given(st.text(st.characters(codec="utf-8"), max_size=300), st.integers(2, 50))
def test_join_text_reads_split_columns_back(text: str, limit: int) -> None:
    entity = {"Other": "x", "Note2x": "not a piece"}
    for index, piece in enumerate(split_text(text, limit)):
        entity[f"Note{index or ''}"] = piece
    assert join_text(entity, "Note") == text
    assert join_text({**split_columns("Note", text), "Other": "x"}, "Note") == text
    assert join_text({}, "Note") == join_text({"Note": None}, "Note") == ""


def test_record_keys_depend_on_signal_setting_and_rule_only() -> None:
    a = event(message="first")
    assert record_keys(a) == record_keys(
        event(signal_id=a.signal_id, message="second", actor_ip="198.51.100.1")
    )
    assert record_keys(a) != record_keys(event(signal_id=a.signal_id, rule="other"))
    partition, row = record_keys(a)
    assert partition == "20260701"
    assert re.fullmatch(r"2026-07-01T12:00:00\.000000Z\|[0-9a-f]{16}", row)


def test_huge_records_fit_the_entity_limits() -> None:
    big = tuple(Change(f"rules[{i}]", None, "😀x" * 20_000) for i in range(40))
    entities = record_entities(event(changes=big, message="m" * 70_000))
    main = entities[-1]
    assert main["Parts"] == len(entities) - 1 > 0
    for entity in entities:
        size = entity_base_size(entity["PartitionKey"], entity["RowKey"])
        keys = {"PartitionKey", "RowKey"}
        size += sum(property_size(k, v) for k, v in entity.items() if k not in keys)
        assert size <= ENTITY_BUDGET
        assert len(json.dumps(entity, default=str)) <= ENTITY_BUDGET  # as sent (Azurite)
        assert all(utf16_units(v) <= MAX_TEXT_UNITS for v in entity.values() if isinstance(v, str))


def test_unknown_outcomes_are_not_recorded() -> None:
    with pytest.raises(ValueError, match="outcome"):
        record_entities(event(outcome="maybe"))


def test_importing_the_store_does_not_import_the_azure_sdk() -> None:
    code = "import sys, driftkeeper.store; print(sorted(m for m in sys.modules if 'azure' in m))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
