"""The Function App is called through its registered functions, as the host would."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import azure.functions as func
import pytest

from driftkeeper.config import Settings

BASELINES = Path(__file__).parents[2] / "baselines"
SECRET = "s3cr3t-do-not-show"


def call_health(functions: dict[str, Any]) -> func.HttpResponse:
    user_code = functions["health"].get_user_function()
    request = func.HttpRequest(method="GET", url="/api/health", body=b"")
    return user_code(request)


@pytest.fixture
def app_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """A Function App's environment: the bundled baselines and a table, nothing else."""
    for name in list(os.environ):
        if name.startswith("DRIFTKEEPER_") or name in ("AZURE_SUBSCRIPTION_ID", "AZURE_TENANT_ID"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("DRIFTKEEPER_BASELINES_DIR", str(BASELINES))
    monkeypatch.setenv("DRIFTKEEPER_STORAGE_CONNECTION", "UseDevelopmentStorage=true")
    return monkeypatch


class _Spy:
    def __init__(self, name: str, built: list[str]) -> None:
        self.name, self.built = name, built

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.built.append(self.name)
        raise AssertionError(f"{self.name} was built")

    def __getattr__(self, attribute: str) -> _Spy:
        return _Spy(f"{self.name}.{attribute}", self.built)


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every client, credential or alert channel constructed from now on (by name)."""
    import azure.data.tables
    import azure.eventgrid
    import azure.identity
    import azure.identity.aio

    import driftkeeper.alerts
    from driftkeeper import runtime

    names: list[str] = []
    for module, attribute in [
        (azure.data.tables, "TableServiceClient"),
        (azure.data.tables, "TableClient"),
        (azure.identity, "DefaultAzureCredential"),
        (azure.identity.aio, "DefaultAzureCredential"),
        (azure.eventgrid, "EventGridPublisherClient"),
        (driftkeeper.alerts, "TeamsChannel"),
        (driftkeeper.alerts, "SmtpEmailChannel"),
        (driftkeeper.alerts, "GraphMailChannel"),
        (driftkeeper.alerts, "graph_mail_client"),
        (driftkeeper.alerts, "EventGridChannel"),
        (runtime, "current"),
        (runtime, "build_alerts"),
    ]:
        monkeypatch.setattr(module, attribute, _Spy(f"{module.__name__}.{attribute}", names))
    return names


def test_the_app_lists_its_functions(functions: dict[str, Any]) -> None:
    assert "health" in functions
    trigger = functions["health"].get_trigger()
    assert trigger.get_binding_name() == "httpTrigger"


def test_health_counts_the_bundled_baselines(
    functions: dict[str, Any], app_env: pytest.MonkeyPatch, built: list[str]
) -> None:
    response = call_health(functions)
    body = json.loads(response.get_body())
    assert response.status_code == 200
    assert body["status"] == "ok"
    assert body["baselines"] > 0
    assert body["warnings"] == []
    assert built == []


def test_health_reports_a_broken_baseline(
    functions: dict[str, Any], app_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "bad.yaml").write_text("kind: nsg\n")
    app_env.setenv("DRIFTKEEPER_BASELINES_DIR", str(tmp_path))
    response = call_health(functions)
    assert response.status_code == 503
    assert "bad.yaml" in json.loads(response.get_body())["error"]


ALL_CHANNELS = {
    "DRIFTKEEPER_TEAMS_WEBHOOK_URL": f"https://example.invalid/workflows/x?sig={SECRET}",
    "DRIFTKEEPER_SMTP_HOST": "smtp.example.invalid",
    "DRIFTKEEPER_SMTP_FROM": "dk@contoso.com",
    "DRIFTKEEPER_SMTP_USER": "dk@contoso.com",
    "DRIFTKEEPER_SMTP_PASSWORD": SECRET,
    "DRIFTKEEPER_EVENTGRID_TOPIC_ENDPOINT": "https://topic.example.invalid/api/events",
    "DRIFTKEEPER_EVENTGRID_TOPIC_KEY": SECRET,
    "DRIFTKEEPER_ALERT_ROUTES": '{"critical": ["teams", "email", "eventgrid"]}',
}


def test_health_checks_every_channel_setting_and_builds_none(
    functions: dict[str, Any], app_env: pytest.MonkeyPatch, built: list[str]
) -> None:
    for name, value in ALL_CHANNELS.items():
        app_env.setenv(name, value)
    response = call_health(functions)
    assert (response.status_code, built) == (200, [])
    assert SECRET not in response.get_body().decode()


@pytest.mark.parametrize(
    ("variable", "value", "extra"),
    [
        ("DRIFTKEEPER_COALESCE_SECONDS", "soon", {}),
        ("DRIFTKEEPER_GUARDS", "all", {}),
        ("DRIFTKEEPER_STORAGE_CONNECTION", f"{SECRET}-not-key-value", {}),
        ("DRIFTKEEPER_TEAMS_WEBHOOK_URL", f"http://hooks.example/{SECRET}", {}),
        ("DRIFTKEEPER_SMTP_PORT", "smtp", {}),
        ("DRIFTKEEPER_SMTP_PASSWORD", SECRET, {}),
        ("DRIFTKEEPER_ALERT_ROUTES", '{"high": ["email"]}', {}),
        ("DRIFTKEEPER_GRAPH_MAIL_SENDER", "dk@contoso.com", {"DRIFTKEEPER_SMTP_HOST": "smtp"}),
        ("AZURE_SUBSCRIPTION_ID", "not-a-guid", {}),
        ("DRIFTKEEPER_TABLE_ENDPOINT", f"https://u:{SECRET}@st.example", {}),
        ("DRIFTKEEPER_ARM_ENDPOINT", f"http://u:{SECRET}@arm.example/?x", {}),
        ("DRIFTKEEPER_EVENTGRID_TOPIC_ENDPOINT", f"https://u:{SECRET}@t.example/api/events", {}),
        ("DRIFTKEEPER_SMTP_HOST", f"u:{SECRET}@smtp.example", {"DRIFTKEEPER_SMTP_FROM": "a@b.co"}),
    ],
)
def test_health_names_a_bad_setting_and_builds_nothing(
    functions: dict[str, Any],
    app_env: pytest.MonkeyPatch,
    built: list[str],
    variable: str,
    value: str,
    extra: dict[str, str],
) -> None:
    for name, other in {variable: value, **extra}.items():
        app_env.setenv(name, other)
    response = call_health(functions)
    body = json.loads(response.get_body())
    assert response.status_code == 503
    assert (body["status"], body["variable"]) == ("error", variable)
    assert variable in body["error"]
    assert SECRET not in response.get_body().decode()
    assert built == []


def test_health_needs_a_table(functions: dict[str, Any], app_env: pytest.MonkeyPatch) -> None:
    app_env.delenv("DRIFTKEEPER_STORAGE_CONNECTION")
    response = call_health(functions)
    assert response.status_code == 503
    assert json.loads(response.get_body())["variable"] == "DRIFTKEEPER_TABLE_ENDPOINT"


def test_health_warns_what_the_kill_switch_holds_back(
    functions: dict[str, Any], app_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    shutil.copytree(BASELINES, tmp_path / "baselines")
    asking = sorted((tmp_path / "baselines").rglob("*.yaml"))[:2]
    for path in asking:
        path.write_text(path.read_text().replace("response: alert", "response: auto"))
    app_env.setenv("DRIFTKEEPER_BASELINES_DIR", str(tmp_path / "baselines"))

    body = json.loads(call_health(functions).get_body())

    assert body["status"] == "ok"
    warning, no_link, no_pages, no_approver = body["warnings"]
    assert no_pages.startswith("the approval pages answer 503")
    assert warning.startswith("rollback is approve-only (DRIFTKEEPER_ROLLBACK): 2 baseline(s)")
    assert no_link.startswith("DRIFTKEEPER_PUBLIC_URL is not set")
    assert no_approver.startswith("DRIFTKEEPER_APPROVERS is empty")
    assert all(str(path) in warning for path in asking)


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
        (  # routes may name Event Grid: the publisher gets every finding
            {
                "DRIFTKEEPER_TEAMS_WEBHOOK_URL": "https://example.invalid/workflows/x",
                "DRIFTKEEPER_EVENTGRID_TOPIC_ENDPOINT": "https://topic.example.invalid/api/events",
                "DRIFTKEEPER_EVENTGRID_TOPIC_KEY": "not-a-real-key",
                "DRIFTKEEPER_ALERT_ROUTES": '{"high": ["teams", "eventgrid"]}',
            },
            ["teams"],
            True,
        ),
    ],
)
def test_alert_channels_come_from_settings(
    env: dict[str, str], channels: list[str] | None, publishes: bool
) -> None:
    from driftkeeper.respond import Responder
    from driftkeeper.runtime import build_alerts

    sink = build_alerts(Settings.from_env(env))
    if channels is None:
        assert sink is None
        return
    assert isinstance(sink, Responder)
    assert [c.name for c in sink.notifier.channels] == channels
    assert (sink.publisher is not None) == publishes


def test_smtp_and_graph_mail_together_is_a_configuration_error() -> None:
    from driftkeeper import InputError

    with pytest.raises(InputError, match="not both"):
        Settings.from_env(
            {"DRIFTKEEPER_SMTP_HOST": "smtp", "DRIFTKEEPER_GRAPH_MAIL_SENDER": "dk@contoso.com"}
        )
