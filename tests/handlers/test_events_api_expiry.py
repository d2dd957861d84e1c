"""``GET /api/events``: a ``next`` token older than an hour is a 400 that says it expired."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from driftkeeper.query import Cursor, write_token
from driftkeeper.query._cursor import derive_key
from driftkeeper.query._params import parse_request

from .test_events_api import KEY, RANGE, Call, call, make_call, seeded

__all__ = ["call", "make_call", "seeded"]  # the fixtures, shared with the route's tests


def _token(issued: datetime) -> str:
    parsed = parse_request([*RANGE.items(), ("pageSize", "10")])
    cursor = Cursor(parsed.query, "20260701", None)
    return write_token(derive_key(KEY.encode()), cursor, now=issued)


def test_an_expired_next_is_a_clear_400(call: Call) -> None:
    stale = _token(datetime.now(UTC) - timedelta(hours=2))
    response = call({**RANGE, "pageSize": "10", "next": stale})
    assert response.status_code == 400
    answer = json.loads(response.get_body())
    assert answer["parameter"] == "next"
    assert "expired" in answer["error"]


def test_a_fresh_next_is_followed(call: Call) -> None:
    fresh = _token(datetime.now(UTC) - timedelta(minutes=50))
    response = call({**RANGE, "pageSize": "10", "next": fresh})
    assert response.status_code == 200, response.get_body()[:300]
