"""Settings: every variable read in one place, checked, named in errors, secrets never shown."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftkeeper import AlertConfigError, InputError, SettingsError
from driftkeeper.alerts import DEFAULT_ROUTES
from driftkeeper.config import AlertSettings, Settings
from driftkeeper.kinds.nsg import NSGS
from driftkeeper.signals import Actor
from handlers.event_hub import HOST_SETTINGS

ROOT = Path(__file__).resolve().parents[1]
SECRET = "s3cr3t-do-not-show"
SUB = "6f1c2a3b-4d5e-4f60-8a91-b2c3d4e5f607"
APP = "D1F7C0DE-0000-4000-8000-00000000D12F"
SMTP_FROM = {"DRIFTKEEPER_SMTP_FROM": "dk@contoso.com"}
SMTP = {"DRIFTKEEPER_SMTP_HOST": "smtp.contoso.example", **SMTP_FROM}


class Recording(dict[str, str]):
    """An environment that remembers which variables were asked for."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.asked: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.asked.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> str:
        self.asked.add(key)
        return super().__getitem__(key)


def test_nothing_set_gives_the_documented_defaults() -> None:
    settings = Settings.from_env({})
    assert settings == Settings()
    assert (settings.baselines_dir, settings.guards) == ("baselines", "default")
    assert (settings.events_table, settings.incidents_table, settings.cursors_table) == (
        "driftevents",
        "incidents",
        "cursors",
    )
    assert (settings.coalesce_seconds, settings.settle_seconds) == (5.0, 1.0)
    assert settings.audit_overlap_minutes == 10.0
    assert settings.arm_endpoint == "https://management.azure.com"
    assert settings.graph_endpoint == "https://graph.microsoft.com/v1.0"
    assert settings.connection_verify is True
    assert settings.alerts == AlertSettings()
    assert settings.alerts.channels == ()
    assert (settings.alerts.smtp_port, settings.alerts.smtp_starttls) == (587, True)
    assert dict(settings.alerts.routes.by_severity) == dict(DEFAULT_ROUTES)


@pytest.mark.parametrize(
    ("env", "attribute", "expected"),
    [
        ({"DRIFTKEEPER_BASELINES_DIR": " conf/baselines "}, "baselines_dir", "conf/baselines"),
        ({"DRIFTKEEPER_SELF_IDS": f"{APP}, ,{SUB}"}, "self_ids", {APP.casefold(), SUB}),
        ({"DRIFTKEEPER_GUARDS": "none"}, "guards", "none"),
        ({"DRIFTKEEPER_STORAGE_CONNECTION": "UseDevelopmentStorage=true"}, "storage_connection",
         "UseDevelopmentStorage=true"),
        ({"DRIFTKEEPER_TABLE_ENDPOINT": "https://st.table.core.windows.net/"}, "table_endpoint",
         "https://st.table.core.windows.net/"),
        ({"DRIFTKEEPER_EVENTS_TABLE": "ev2"}, "events_table", "ev2"),
        ({"DRIFTKEEPER_INCIDENTS_TABLE": "inc2"}, "incidents_table", "inc2"),
        ({"DRIFTKEEPER_CURSORS_TABLE": "cur2"}, "cursors_table", "cur2"),
        ({"DRIFTKEEPER_COALESCE_SECONDS": "0.5"}, "coalesce_seconds", 0.5),
        ({"DRIFTKEEPER_SETTLE_SECONDS": "0"}, "settle_seconds", 0.0),
        ({"DRIFTKEEPER_AUDIT_OVERLAP_MINUTES": "30"}, "audit_overlap_minutes", 30.0),
        ({}, "resource_graph_min_subscriptions", 10),
        ({"DRIFTKEEPER_RESOURCE_GRAPH_MIN_SUBSCRIPTIONS": "0"}, "resource_graph_min_subscriptions",
         0),
        ({"DRIFTKEEPER_RESOURCE_GRAPH_MIN_SUBSCRIPTIONS": "250"},
         "resource_graph_min_subscriptions", 250),
        ({"DRIFTKEEPER_ARM_ENDPOINT": "https://management.usgovcloudapi.net"}, "arm_endpoint",
         "https://management.usgovcloudapi.net"),
        ({"DRIFTKEEPER_GRAPH_ENDPOINT": "http://127.0.0.1:8443/v1.0"}, "graph_endpoint",
         "http://127.0.0.1:8443/v1.0"),
        ({"DRIFTKEEPER_CA_BUNDLE": __file__}, "connection_verify", __file__),
        ({"AZURE_SUBSCRIPTION_ID": f"{SUB}, {SUB.upper()}"}, "subscriptions", (SUB,)),
        ({"AZURE_TENANT_ID": "contoso.onmicrosoft.com"}, "tenant_id", "contoso.onmicrosoft.com"),
        ({"DRIFTKEEPER_TEAMS_WEBHOOK_URL": "https://x.example/w"}, "alerts.channels", ("teams",)),
        (SMTP, "alerts.channels", ("email",)),
        ({**SMTP, "DRIFTKEEPER_SMTP_PORT": "25", "DRIFTKEEPER_SMTP_STARTTLS": "False"},
         "alerts.smtp_port", 25),
        ({**SMTP, "DRIFTKEEPER_SMTP_STARTTLS": "no"}, "alerts.smtp_starttls", False),
        ({**SMTP, "DRIFTKEEPER_SMTP_USER": "dk", "DRIFTKEEPER_SMTP_PASSWORD": " p w "},
         "alerts.smtp_password", " p w "),
        ({"DRIFTKEEPER_GRAPH_MAIL_SENDER": APP}, "alerts.channels", ("email",)),
        ({"DRIFTKEEPER_EVENTGRID_TOPIC_ENDPOINT": "https://t.example/api/events"},
         "alerts.channels", ("eventgrid",)),
        ({"DRIFTKEEPER_ALERT_ROUTES": '{"high": []}'}, "alerts.routes.explicit", True),
        ({"DRIFTKEEPER_ALERT_EMAIL_TO": "a@contoso.com; b@contoso.com"}, "alerts.routes.email_to",
         ("a@contoso.com", "b@contoso.com")),
    ],
)  # fmt: skip
def test_each_variable_is_read(env: dict[str, str], attribute: str, expected: Any) -> None:
    value: Any = Settings.from_env(env)
    for part in attribute.split("."):
        value = getattr(value, part)
    assert value == expected


@pytest.mark.parametrize(
    ("variable", "value", "others"),
    [
        ("DRIFTKEEPER_SELF_IDS", f"{APP},not-an-id", {}),
        ("DRIFTKEEPER_GUARDS", "all", {}),
        ("DRIFTKEEPER_STORAGE_CONNECTION", "just-a-key", {}),
        ("DRIFTKEEPER_TABLE_ENDPOINT", "st.table.core.windows.net", {}),
        ("DRIFTKEEPER_EVENTS_TABLE", "event-table", {}),
        ("DRIFTKEEPER_INCIDENTS_TABLE", "in", {}),
        ("DRIFTKEEPER_CURSORS_TABLE", "9cursors", {}),
        ("DRIFTKEEPER_COALESCE_SECONDS", "five", {}),
        ("DRIFTKEEPER_SETTLE_SECONDS", "31", {}),
        ("DRIFTKEEPER_AUDIT_OVERLAP_MINUTES", "nan", {}),
        ("DRIFTKEEPER_RESOURCE_GRAPH_MIN_SUBSCRIPTIONS", "-1", {}),
        ("DRIFTKEEPER_RESOURCE_GRAPH_MIN_SUBSCRIPTIONS", "many", {}),
        ("DRIFTKEEPER_ARM_ENDPOINT", "http://management.azure.com", {}),
        ("DRIFTKEEPER_GRAPH_ENDPOINT", "graph.microsoft.com", {}),
        ("DRIFTKEEPER_CA_BUNDLE", "/no/such/bundle.pem", {}),
        ("AZURE_SUBSCRIPTION_ID", f"{SUB},prod", {}),
        ("DRIFTKEEPER_TEAMS_WEBHOOK_URL", "http://hooks.example/w", {}),
        ("DRIFTKEEPER_SMTP_HOST", "smtp server", {"DRIFTKEEPER_SMTP_FROM": "dk@contoso.com"}),
        ("DRIFTKEEPER_SMTP_PORT", "70000", {}),
        ("DRIFTKEEPER_SMTP_FROM", "driftkeeper", {"DRIFTKEEPER_SMTP_HOST": "smtp"}),
        ("DRIFTKEEPER_SMTP_FROM", "", {"DRIFTKEEPER_SMTP_HOST": "smtp"}),
        ("DRIFTKEEPER_SMTP_USER", "dk", {**SMTP, "DRIFTKEEPER_SMTP_STARTTLS": "false"}),
        ("DRIFTKEEPER_SMTP_PASSWORD", "pw", SMTP),
        ("DRIFTKEEPER_SMTP_STARTTLS", "flase", {}),
        ("DRIFTKEEPER_GRAPH_MAIL_SENDER", "driftkeeper", {}),
        ("DRIFTKEEPER_GRAPH_MAIL_SENDER", "dk@contoso.com", SMTP),
        ("DRIFTKEEPER_EVENTGRID_TOPIC_ENDPOINT", "topic.example", {}),
        ("DRIFTKEEPER_EVENTGRID_TOPIC_KEY", "key", {}),
        ("DRIFTKEEPER_ALERT_ROUTES", '{"high": ["pager"]}', {}),
        ("DRIFTKEEPER_ALERT_ROUTES", '{"high": ["teams"]}', SMTP),  # teams not configured
        ("DRIFTKEEPER_ALERT_EMAIL_TO", "soc", {}),
    ],
)
def test_a_bad_value_is_an_input_error_naming_the_variable(
    variable: str, value: str, others: dict[str, str]
) -> None:
    with pytest.raises(InputError) as info:
        Settings.from_env({**others, variable: value})
    assert isinstance(info.value, SettingsError)
    assert info.value.variable == variable
    assert str(info.value).startswith(variable)


# --- GUIDs: any form people paste, kept canonical -------------------------------------------
def _forms(guid: uuid.UUID) -> list[str]:
    text = str(guid)
    return [
        text,
        text.upper(),
        "{" + text + "}",
        "{" + text.upper() + "}",
        guid.hex,
        guid.hex.upper(),
        f"urn:uuid:{text}",
        f"URN:UUID:{text.upper()}",
    ]


@pytest.mark.parametrize("form", _forms(uuid.UUID(SUB)))
def test_a_subscription_in_any_guid_form_is_read_canonical_and_readable(form: str) -> None:
    settings = Settings.from_env({"AZURE_SUBSCRIPTION_ID": f"{form}, {SUB}"})

    assert settings.subscriptions == (SUB,)  # one subscription, however spelled
    # the ARM listing accepts it (a path only takes the 8-4-4-4-12 form)
    [request] = NSGS.tenant_requests(settings.subscriptions)
    assert request.path.startswith(f"/subscriptions/{SUB}/providers/")


@pytest.mark.parametrize("form", _forms(uuid.UUID(APP)))
def test_a_self_id_in_any_guid_form_matches_the_actor(form: str) -> None:
    settings = Settings.from_env({"DRIFTKEEPER_SELF_IDS": form})

    assert settings.self_ids == {APP.casefold()}
    assert Actor(app_id=APP.casefold()).ids() & settings.self_ids


@given(st.uuids(), st.data())
def test_every_accepted_guid_form_is_the_canonical_guid(
    guid: uuid.UUID, data: st.DataObject
) -> None:
    form = data.draw(st.sampled_from(_forms(guid)))
    env = {"AZURE_SUBSCRIPTION_ID": form, "DRIFTKEEPER_SELF_IDS": form}

    settings = Settings.from_env(env)

    assert settings.subscriptions == (str(guid),)
    assert settings.self_ids == {str(guid)}


@pytest.mark.parametrize("variable", ["AZURE_SUBSCRIPTION_ID", "DRIFTKEEPER_SELF_IDS"])
@pytest.mark.parametrize(
    "value",
    [
        "prod",
        "{" + SUB,  # uuid.UUID strips braces one-sided too
        SUB + "}",
        "+" + SUB.replace("-", "")[1:],  # int(..., 16) takes a sign
        SUB.replace("-", "")[:16] + "_" + SUB.replace("-", "")[17:],  # and an underscore
        SUB.replace("-", "")[:8] + "-" + SUB.replace("-", "")[8:],  # dashes out of place
        "urn:" + SUB,
        SUB[:-1],
    ],
)
def test_what_is_not_a_guid_is_refused_naming_the_variable(variable: str, value: str) -> None:
    with pytest.raises(SettingsError) as info:
        Settings.from_env({variable: f"{SUB},{value}"})
    assert info.value.variable == variable
    assert str(info.value) == f"{variable}: not a GUID: {value!r}"


def test_alert_variables_are_left_unread_when_asked() -> None:
    env = Recording({"DRIFTKEEPER_TEAMS_WEBHOOK_URL": "not a URL"})
    with pytest.raises(AlertConfigError):
        Settings.from_env(env)
    env.asked.clear()

    settings = Settings.from_env(env, alerts=False)

    assert settings.alerts == AlertSettings()
    assert not any("TEAMS" in name or "SMTP" in name for name in env.asked)


def test_a_table_location_is_required_where_one_is_used() -> None:
    with pytest.raises(SettingsError) as info:
        Settings().require_table_storage()
    assert info.value.variable == "DRIFTKEEPER_TABLE_ENDPOINT"
    Settings(storage_connection="UseDevelopmentStorage=true").require_table_storage()
    Settings(table_endpoint="https://st.table.core.windows.net").require_table_storage()


# --- secrets ---------------------------------------------------------------------------------
SECRETS = {
    "DRIFTKEEPER_TEAMS_WEBHOOK_URL": f"https://x.example/workflows?sig={SECRET}",
    "DRIFTKEEPER_SMTP_PASSWORD": SECRET,
    "DRIFTKEEPER_EVENTGRID_TOPIC_KEY": SECRET,
    "DRIFTKEEPER_STORAGE_CONNECTION": f"AccountName=st;AccountKey={SECRET}",
}


def test_secrets_are_not_in_the_repr() -> None:
    env = {
        **SECRETS,
        **SMTP,
        "DRIFTKEEPER_SMTP_USER": "dk",
        "DRIFTKEEPER_EVENTGRID_TOPIC_ENDPOINT": "https://t.example/api/events",
    }
    settings = Settings.from_env(env)
    assert settings.alerts.smtp_password == SECRET  # read, only not shown
    for text in (repr(settings), str(settings), repr(settings.alerts)):
        assert SECRET not in text
        assert "'<secret>'" in text
    assert "smtp_host='smtp.contoso.example'" in repr(settings.alerts)


@pytest.mark.parametrize(
    "env",
    [
        {"DRIFTKEEPER_TEAMS_WEBHOOK_URL": f"http://x.example/workflows?sig={SECRET}"},
        {"DRIFTKEEPER_TEAMS_WEBHOOK_URL": f"https://x.example/a b?sig={SECRET}"},
        {"DRIFTKEEPER_TEAMS_WEBHOOK_URL": f"https://x.example:port/{SECRET}"},
        {"DRIFTKEEPER_SMTP_PASSWORD": SECRET},
        {"DRIFTKEEPER_EVENTGRID_TOPIC_KEY": SECRET},
        {"DRIFTKEEPER_STORAGE_CONNECTION": f"AccountName=st;{SECRET}"},
        {"DRIFTKEEPER_TABLE_ENDPOINT": f"ftp://st.example/?sig={SECRET}"},
        {"DRIFTKEEPER_TABLE_ENDPOINT": f"ftp://st.example/#{SECRET}"},
        {"DRIFTKEEPER_SMTP_HOST": f"dk:{SECRET}@smtp.example", **SMTP_FROM},
        {"DRIFTKEEPER_SMTP_HOST": f"smtp://dk:{SECRET}@smtp.example", **SMTP_FROM},
    ],
)
def test_secrets_are_not_in_errors(env: dict[str, str]) -> None:
    with pytest.raises(SettingsError) as info:
        Settings.from_env(env)
    assert info.value.variable in env
    assert SECRET not in str(info.value)
    assert SECRET not in repr(info.value)


ENDPOINTS = [
    "DRIFTKEEPER_TABLE_ENDPOINT",
    "DRIFTKEEPER_ARM_ENDPOINT",
    "DRIFTKEEPER_GRAPH_ENDPOINT",
    "DRIFTKEEPER_EVENTGRID_TOPIC_ENDPOINT",
]


@pytest.mark.parametrize("variable", ENDPOINTS)
@pytest.mark.parametrize(
    "url",
    [
        f"https://dk:{SECRET}@st.example",  # a usable URL, but with a password
        f"https://{SECRET}@st.example/path",
        f"http://dk:{SECRET}@127.0.0.1:10002/devstoreaccount1",
        f"http://dk:{SECRET}@st.example",  # not https either
        f"https://dk:pre/{SECRET}@st.example",  # the password goes on past a "/"
        f"https://dk:pre?{SECRET}@st.example",  # ... past a "?"
        f"https://dk:{SECRET}@st.example:port",  # and the URL is malformed
        f"st.example/x?y@{SECRET}#z",
        f"https://dk:{SECRET}@st.example/?sig={SECRET}",
    ],
)
def test_an_endpoint_with_user_info_is_refused_without_showing_it(variable: str, url: str) -> None:
    with pytest.raises(SettingsError) as info:
        Settings.from_env({variable: url})
    assert info.value.variable == variable
    assert str(info.value).startswith(variable)
    assert SECRET not in str(info.value)
    assert SECRET not in repr(info.value)


@pytest.mark.parametrize("variable", ENDPOINTS)
def test_an_endpoints_query_is_not_in_the_repr(variable: str) -> None:
    settings = Settings.from_env({variable: f"https://st.example/x?sig={SECRET}"})
    assert SECRET not in repr(settings)
    assert "https://st.example/x" in repr(settings)


# --- the README's table ----------------------------------------------------------------------
def _documented() -> set[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for line in table.splitlines():
        first = line.split("|")[1] if line.startswith("|") else ""
        for name in re.findall(r"`(_?[A-Z][A-Z_]+)`", first):
            names.add(name if not name.startswith("_") else "DRIFTKEEPER" + name)
    return names


def test_the_readme_documents_every_variable_read() -> None:
    env = Recording()
    Settings.from_env(env)
    documented = _documented() - {"AZURE_CLIENT_ID"}  # read by DefaultAzureCredential only
    documented -= set(HOST_SETTINGS)  # the Event Hub trigger's, read by the Functions host
    assert env.asked == documented
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert all(f"`{name}`" in readme for name in HOST_SETTINGS)
