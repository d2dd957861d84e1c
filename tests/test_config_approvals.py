"""The approval settings: approvers, link lifetime, form key, public URL, authentication."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftkeeper import SettingsError
from driftkeeper.config import Settings

OID = "6f1c2a3b-1111-4c55-9a51-0000000000a1"


def test_the_defaults_refuse_to_serve_approval_pages() -> None:
    settings = Settings.from_env({})
    assert (settings.approvers, settings.approval_ttl_seconds) == ((), 3600.0)
    assert (settings.approval_key, settings.public_url, settings.local_auth) == ("", "", "")
    assert settings.approvals_table == "approvals"
    assert settings.auth_enabled is False
    assert "WEBSITE_AUTH_ENABLED" in (settings.approval_pages_problem or "")


@pytest.mark.parametrize(
    ("env", "attribute", "expected"),
    [
        (
            {"DRIFTKEEPER_APPROVERS": f"{{{OID.upper()}}}, Alice@Contoso.example"},
            "approvers",
            (OID, "alice@contoso.example"),
        ),
        ({"DRIFTKEEPER_APPROVERS": f"{OID},{OID.upper()}"}, "approvers", (OID,)),
        ({"DRIFTKEEPER_APPROVAL_TTL": "PT1H"}, "approval_ttl_seconds", 3600.0),
        ({"DRIFTKEEPER_APPROVAL_TTL": "pt30m"}, "approval_ttl_seconds", 1800.0),
        ({"DRIFTKEEPER_APPROVAL_TTL": "P1DT12H"}, "approval_ttl_seconds", 129600.0),
        ({"DRIFTKEEPER_APPROVAL_TTL": "900"}, "approval_ttl_seconds", 900.0),
        ({"DRIFTKEEPER_APPROVAL_TTL": "P7D"}, "approval_ttl_seconds", 604800.0),
        (
            {"DRIFTKEEPER_PUBLIC_URL": "https://dk.example.net/"},
            "public_url",
            "https://dk.example.net",
        ),
        ({"WEBSITE_AUTH_ENABLED": "True"}, "auth_enabled", True),
        ({"WEBSITE_AUTH_ENABLED": "false"}, "auth_enabled", False),
        ({"DRIFTKEEPER_LOCAL_AUTH": "trust-header"}, "local_auth", "trust-header"),
        ({"DRIFTKEEPER_APPROVALS_TABLE": "approvals2"}, "approvals_table", "approvals2"),
    ],
)
def test_each_approval_variable_is_read(env: dict[str, str], attribute: str, expected: Any) -> None:
    assert getattr(Settings.from_env(env), attribute) == expected


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DRIFTKEEPER_APPROVERS", "alice"),
        ("DRIFTKEEPER_APPROVERS", "alice@contoso.example bob@contoso.example"),
        ("DRIFTKEEPER_APPROVERS", "<script>@x"),
        ("DRIFTKEEPER_APPROVAL_TTL", "PT4M"),
        ("DRIFTKEEPER_APPROVAL_TTL", "P8D"),
        ("DRIFTKEEPER_APPROVAL_TTL", "PT"),
        ("DRIFTKEEPER_APPROVAL_TTL", "P1DT"),
        ("DRIFTKEEPER_APPROVAL_TTL", "an hour"),
        ("DRIFTKEEPER_APPROVAL_TTL", "nan"),
        ("DRIFTKEEPER_PUBLIC_URL", "http://dk.example.net"),
        ("DRIFTKEEPER_PUBLIC_URL", "https://dk.example.net/?code=1"),
        ("DRIFTKEEPER_PUBLIC_URL", "https://user:pw@dk.example.net"),
        ("WEBSITE_AUTH_ENABLED", "maybe"),
        ("DRIFTKEEPER_LOCAL_AUTH", "true"),
    ],
)
def test_a_bad_approval_value_names_its_variable(variable: str, value: str) -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({variable: value})
    assert raised.value.variable == variable


def test_the_approval_key_is_a_secret() -> None:
    secret = "s3cr3t-" * 6
    settings = Settings.from_env({"DRIFTKEEPER_APPROVAL_KEY": secret})
    assert secret not in repr(settings)
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({"DRIFTKEEPER_APPROVAL_KEY": "short-s3cr3t"})
    assert "short-s3cr3t" not in str(raised.value)


@pytest.mark.parametrize(
    ("env", "served"),
    [
        ({"WEBSITE_AUTH_ENABLED": "true"}, True),
        ({"DRIFTKEEPER_LOCAL_AUTH": "trust-header"}, True),
        ({"WEBSITE_AUTH_ENABLED": "false"}, False),
        ({}, False),
    ],
)
def test_approval_pages_are_served_only_behind_authentication(
    env: dict[str, str], served: bool
) -> None:
    assert (Settings.from_env(env).approval_pages_problem is None) is served


@given(st.text(max_size=40))
def test_any_ttl_is_read_within_bounds_or_refused(text: str) -> None:
    try:
        ttl = Settings.from_env({"DRIFTKEEPER_APPROVAL_TTL": text}).approval_ttl_seconds
    except SettingsError as exc:
        variable = exc.variable
        ttl = 3600.0
    else:
        variable = "DRIFTKEEPER_APPROVAL_TTL"
    assert variable == "DRIFTKEEPER_APPROVAL_TTL"
    assert ttl == 3600.0 or 300.0 <= ttl <= 604800.0
