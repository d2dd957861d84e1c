"""The Function App is called through its registered functions, as the host would."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import azure.functions as func
import pytest


def call_health(functions: dict[str, Any]) -> func.HttpResponse:
    user_code = functions["health"].get_user_function()
    request = func.HttpRequest(method="GET", url="/api/health", body=b"")
    return user_code(request)


def test_the_app_lists_its_functions(functions: dict[str, Any]) -> None:
    assert "health" in functions
    trigger = functions["health"].get_trigger()
    assert trigger.get_binding_name() == "httpTrigger"


def test_health_counts_the_bundled_baselines(
    functions: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DRIFTKEEPER_BASELINES_DIR", str(Path(__file__).parents[2] / "baselines"))
    response = call_health(functions)
    body = json.loads(response.get_body())
    assert response.status_code == 200
    assert body["status"] == "ok"
    assert body["baselines"] > 0


def test_health_reports_a_broken_baseline(
    functions: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "bad.yaml").write_text("kind: nsg\n")
    monkeypatch.setenv("DRIFTKEEPER_BASELINES_DIR", str(tmp_path))
    response = call_health(functions)
    assert response.status_code == 503
    assert "bad.yaml" in json.loads(response.get_body())["error"]


@pytest.mark.parametrize(
    ("env", "channels", "publishes"),
    [
        ({}, None, False),
        (
            {"DRIFTKEEPER_TEAMS_WEBHOOK_URL": "https://example.invalid/workflows/x"},
            ["teams"],
            False,
        ),
        (
            {
                "DRIFTKEEPER_SMTP_HOST": "smtp.example.invalid",
                "DRIFTKEEPER_SMTP_FROM": "dk@contoso.com",
            },
            ["email"],
            False,
        ),
        ({"DRIFTKEEPER_GRAPH_MAIL_SENDER": "dk@contoso.com"}, ["email"], False),
        (
            {
                "DRIFTKEEPER_EVENTGRID_TOPIC_ENDPOINT": "https://topic.example.invalid/api/events",
                "DRIFTKEEPER_EVENTGRID_TOPIC_KEY": "not-a-real-key",
            },
            [],
            True,
        ),
    ],
)
def test_alert_channels_come_from_settings(
    env: dict[str, str], channels: list[str] | None, publishes: bool
) -> None:
    from driftkeeper.respond import Responder
    from driftkeeper.runtime import build_alerts

    sink = build_alerts(env)
    if channels is None:
        assert sink is None
        return
    assert isinstance(sink, Responder)
    assert [c.name for c in sink.notifier.channels] == channels
    assert (sink.publisher is not None) == publishes


def test_smtp_and_graph_mail_together_is_a_configuration_error() -> None:
    from driftkeeper import InputError
    from driftkeeper.runtime import build_alerts

    with pytest.raises(InputError, match="not both"):
        build_alerts(
            {"DRIFTKEEPER_SMTP_HOST": "smtp", "DRIFTKEEPER_GRAPH_MAIL_SENDER": "dk@contoso.com"}
        )
