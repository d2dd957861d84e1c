"""The query string of GET /api/events: every parameter validated, 400s name it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftkeeper.query import DEFAULT_PAGE_SIZE, ParameterError, parse_request
from driftkeeper.query._params import FILTERS, same_filters

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def parse(*pairs: tuple[str, str], accept: str = "") -> object:
    return parse_request(pairs, accept=accept, now=NOW)


def test_defaults_are_the_last_seven_days_as_json_200_a_page() -> None:
    request = parse_request([], now=NOW)
    assert (request.query.since, request.query.until) == (NOW - timedelta(days=7), NOW)
    assert (request.page_size, request.format, request.next) == (DEFAULT_PAGE_SIZE, "json", None)
    assert all(getattr(request.query, name) is None for name in FILTERS)


def test_every_parameter_is_read() -> None:
    request = parse_request(
        [
            ("from", "2026-07-01"),
            ("to", "2026-07-02T06:00:00+02:00"),
            ("kind", "directory-role"),
            ("outcome", "rolled-back"),
            ("severity", "critical"),
            ("resource", "/roles/Global Administrator's"),
            ("actor", "alice@contoso.example"),
            ("baseline", "ca-mfa-admins"),
            ("pageSize", "1000"),
            ("format", "csv"),
        ],
        now=NOW,
    )
    q = request.query
    assert q.since == datetime(2026, 7, 1, tzinfo=UTC)
    assert q.until == datetime(2026, 7, 2, 4, tzinfo=UTC)
    assert (q.kind, q.outcome, q.severity) == ("directory-role", "rolled-back", "critical")
    assert (q.resource, q.actor, q.baseline) == (
        "/roles/Global Administrator's",
        "alice@contoso.example",
        "ca-mfa-admins",
    )
    assert (request.page_size, request.format) == (1000, "csv")


@pytest.mark.parametrize(
    ("pairs", "parameter", "expected"),
    [
        ([("from", "yesterday")], "from", "ISO 8601"),
        ([("to", "2026-13-01")], "to", "ISO 8601"),
        ([("from", "1500-01-01"), ("to", "1500-02-01")], "from", "ISO 8601"),
        ([("from", "2026-07-02"), ("to", "2026-07-01")], "to", "later than from"),
        ([("from", "2026-07-01"), ("to", "2026-07-01")], "to", "later than from"),
        ([("from", "2025-01-01"), ("to", "2026-07-01")], "from", "at most 400 days"),
        ([("kind", "nsg' or 1 eq 1")], "kind", "kind name"),
        ([("kind", "x" * 65)], "kind", "kind name"),
        ([("outcome", "Drift")], "outcome", "one of compliant"),
        ([("severity", "urgent")], "severity", "one of low"),
        ([("resource", "a\x00b")], "resource", "control characters"),
        ([("actor", "x" * 2049)], "actor", "at most 2048"),
        ([("actor", "'" * 1000)], "actor", "bytes once quoted and URL-encoded"),
        ([("resource", "名" * 2048)], "resource", "bytes once quoted and URL-encoded"),
        ([("baseline", "\ud800")], "baseline", "control characters"),
        ([("pageSize", "0")], "pageSize", "1 to 1000"),
        ([("pageSize", "1001")], "pageSize", "1 to 1000"),
        ([("pageSize", "-5")], "pageSize", "1 to 1000"),
        ([("pageSize", "1e3")], "pageSize", "1 to 1000"),
        ([("format", "xml")], "format", "json or csv"),
        ([("kind", "")], "kind", "a value"),
        ([("kind", "nsg"), ("kind", "nsg")], "kind", "given once"),
        ([("$filter", "Kind eq 'nsg'")], "$filter", "a known parameter"),
        ([("pagesize", "5")], "pagesize", "a known parameter"),
        ([("next", "x" * 20_000)], "next", "token"),
    ],
)
def test_a_bad_parameter_is_named_with_what_was_expected(
    pairs: list[tuple[str, str]], parameter: str, expected: str
) -> None:
    with pytest.raises(ParameterError) as raised:
        parse_request(pairs, now=NOW)
    assert raised.value.parameter == parameter
    assert expected in raised.value.expected
    assert str(raised.value).startswith(f"{parameter}: ")


def test_only_from_ends_now_and_only_to_starts_seven_days_before() -> None:
    since = parse_request([("from", "2026-11-01T00:00:00Z")], now=NOW).query
    assert (since.since, since.until) == (datetime(2026, 11, 1, tzinfo=UTC), NOW)
    until = parse_request([("to", "2026-10-01T00:00:00Z")], now=NOW).query
    assert until.since == datetime(2026, 9, 24, tzinfo=UTC)


@pytest.mark.parametrize(
    ("accept", "fmt"),
    [
        ("", "json"),
        ("text/csv", "csv"),
        ("text/csv;q=0.9, application/json", "json"),
        ("application/json;q=0.5, text/csv", "csv"),
        ("text/csv;q=0", "json"),
        ("text/csv;q=abc", "json"),
        ("*/*", "json"),
    ],
)
def test_accept_text_csv_chooses_csv(accept: str, fmt: str) -> None:
    assert parse_request([], accept=accept, now=NOW).format == fmt


def test_format_wins_over_accept() -> None:
    assert parse_request([("format", "json")], accept="text/csv", now=NOW).format == "json"


def test_parameters_given_with_next_must_agree_with_its_query() -> None:
    first = parse_request([("kind", "nsg"), ("from", "2026-11-01")], now=NOW)
    again = parse_request([("kind", "nsg"), ("next", "t")], now=NOW)
    other = parse_request([("kind", "directory-role"), ("next", "t")], now=NOW)
    assert same_filters(again, first.query)
    assert not same_filters(other, first.query)


@given(name=st.sampled_from(["resource", "actor", "baseline"]), value=st.text(max_size=80))
def test_text_filters_are_refused_or_kept_exactly(name: str, value: str) -> None:
    try:
        request = parse_request([(name, value)], now=NOW)
    except ParameterError as exc:
        refused = exc.parameter
    else:
        refused = None
        assert getattr(request.query, name) == value
    assert refused in (None, name)


@given(value=st.text(max_size=80))
def test_kinds_outcomes_and_severities_are_refused_or_known(value: str) -> None:
    for name in ("kind", "outcome", "severity"):
        try:
            request = parse_request([(name, value)], now=NOW)
        except ParameterError as exc:
            refused = exc.parameter
        else:
            refused = None
            assert getattr(request.query, name) == value
            assert " " not in value
            assert "'" not in value
        assert refused in (None, name)
