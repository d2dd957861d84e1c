"""``GET /api/compliance`` through the registered ``compliance`` function, on Azurite: the
access check, the period's validation, and the report's shape and figures."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import azure.functions as func
import pytest
from azure.data.tables import TableServiceClient

from driftkeeper import runtime
from driftkeeper.runtime import Runtime

from .dashboard_app import EVE, HOSTILE, http, make_runtime, seed
from .dashboard_app import service as service

Call = Callable[[func.HttpRequest], func.HttpResponse]


@pytest.fixture
def call(functions: dict[str, Any]) -> Call:
    fn: Call = functions["compliance"].get_user_function()
    return fn


@pytest.fixture
def seeded(service: TableServiceClient, azurite: str) -> Runtime:
    rt = make_runtime(service, azurite)
    seed(rt, datetime.now(UTC))
    runtime.install(rt)
    return rt


def answer(response: func.HttpResponse) -> Any:
    assert response.mimetype == "application/json"
    return json.loads(response.get_body())


def test_the_route_is_registered_anonymous_for_get(functions: dict[str, Any]) -> None:
    binding = functions["compliance"].get_trigger()
    assert binding.route == "compliance"
    assert {str(m).upper().split(".")[-1] for m in binding.methods} == {"GET"}
    assert str(binding.auth_level).lower().endswith("anonymous")


@pytest.mark.parametrize(
    ("who", "changes", "status"),
    [
        (None, {}, 401),
        (EVE, {}, 403),
        (None, {"auth_enabled": False}, 503),
    ],
)
def test_the_access_check_refuses(
    service: TableServiceClient, azurite: str, call: Call, who: Any, changes: Any, status: int
) -> None:
    runtime.install(make_runtime(service, azurite, **changes))
    response = call(http("compliance", who=who))
    assert response.status_code == status
    assert answer(response)["error"]


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"from": "yesterday"}, "from"),
        ({"to": "2026-02-30"}, "to"),
        ({"from": "2026-11-02", "to": "2026-11-01"}, "to"),
        ({"from": "2020-01-01", "to": "2026-11-01"}, "from"),
        ({"to": "2026-11-01<script>"}, "to"),
        ({"to": "0001-01-01"}, "to"),
    ],
)
def test_a_bad_period_is_400_naming_the_parameter(
    seeded: Runtime, call: Call, params: dict[str, str], named: str
) -> None:
    response = call(http("compliance", params=params))
    assert response.status_code == 400
    body = answer(response)
    assert body["parameter"] == named
    assert body["error"].startswith(f"{named}:")


def test_the_report_per_control_kind_and_responsibility(seeded: Runtime, call: Call) -> None:
    today = datetime.now(UTC).date()
    response = call(http("compliance", params={"from": str(today - timedelta(days=6))}))
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    report = answer(response)
    assert report["from"] == str(today - timedelta(days=6))
    assert report["to"] == str(today)
    assert [d["day"] for d in report["days"]] == [str(today - timedelta(days=1)), str(today)]
    controls = {c["control"]: c for c in report["controls"]}
    assert controls[HOSTILE["rule"]]["status"] == "drift"
    assert controls[HOSTILE["rule"]]["openIncidents"]["critical"] == 1
    ca = controls["ca-mfa"]
    assert ca["rollbacks"] == {
        "approved": 2,
        "rejected": 1,
        "automatic": 0,
        "failed": 1,
        "accepted": 0,
    }
    assert ca["mttrRolledBackSeconds"] == 300
    assert ca["responsibility"] == "identity-and-access"
    assert controls["nsg-web"]["mttrByHandSeconds"] is not None
    assert controls["guard:global-admin-count"]["rollbacks"]["automatic"] == 1
    assert controls["guard:global-admin-count"]["responsibility"] == (
        "account-and-access-management"
    )
    kinds = {k["kind"]: k for k in report["kinds"]}
    assert kinds["nsg"]["layer"] == "network"
    assert kinds["security-defaults"]["status"] == "unknown"  # never judged
    groups = {g["responsibility"] for g in report["responsibilities"]}
    assert {"identity-and-access", "account-and-access-management", "network-controls"} <= groups
    summary = report["summary"]
    assert summary["openIncidents"]["critical"] >= 1
    assert summary["mttdSeconds"] is not None
    assert summary["rollbacks"]["rejected"] == 1


def test_stored_lone_surrogates_never_break_the_report(seeded: Runtime, call: Call) -> None:
    # given a drift row whose resource, rule and actor hold lone surrogates (seeded)
    response = call(http("compliance"))
    # then the report is served as strict ASCII JSON, the surrogate escaped
    assert response.status_code == 200
    assert response.get_body().isascii()
    assert "\\udfff" in response.get_body().decode()
