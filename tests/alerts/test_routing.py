from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field

import pytest

from driftkeeper.alerts import (
    DEFAULT_ROUTES,
    Alert,
    AlertConfigError,
    DeliveryError,
    Notifier,
    Routes,
)

from ._alerts import Sleeps, make_alert

ROUTES = {
    "critical": ["teams", "email"],
    "high": ["teams", "email"],
    "medium": ["teams"],
    "low": [],
}


@dataclass
class FakeChannel:
    """A channel scripted with the errors its next sends raise."""

    name: str
    errors: list[Exception] = field(default_factory=list)
    sent: list[Alert] = field(default_factory=list)

    def send(self, alert: Alert) -> None:
        if self.errors:
            raise self.errors.pop(0)
        self.sent.append(alert)


# --- Routes.parse (the values of DRIFTKEEPER_ALERT_ROUTES / _EMAIL_TO) -----------------------
def test_defaults_when_unset() -> None:
    routes = Routes.parse()
    assert dict(routes.by_severity) == dict(DEFAULT_ROUTES)
    assert routes.email_to == ()
    assert not routes.explicit


def test_routes_and_recipients() -> None:
    routes = Routes.parse(
        json.dumps(ROUTES),
        " soc@contoso.example; oncall@contoso.example,,SOC@contoso.example ",
    )
    assert routes.explicit
    assert routes.channels_for("critical") == ("teams", "email")
    assert routes.channels_for("medium") == ("teams",)
    assert routes.channels_for("low") == ()
    assert routes.email_to == ("soc@contoso.example", "oncall@contoso.example")


def test_a_severity_left_out_gets_no_channel() -> None:
    routes = Routes.parse('{"critical": ["email"]}')
    assert routes.channels_for("high") == ()


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("{critical: teams}", "is not JSON"),
        ('["teams"]', "must be a JSON object"),
        ('{"urgent": ["teams"]}', "unknown severity 'urgent'"),
        ('{"high": "teams"}', "'high' must map to a list"),
        ('{"high": ["temas"]}', "unknown channel 'temas' for 'high'"),
    ],
)
def test_bad_routes_name_the_variable_and_the_value(value: str, problem: str) -> None:
    with pytest.raises(AlertConfigError) as info:
        Routes.parse(value)
    assert info.value.variable == "DRIFTKEEPER_ALERT_ROUTES"
    assert info.value.value == value
    assert problem in str(info.value)
    assert str(info.value).startswith(f"DRIFTKEEPER_ALERT_ROUTES={value!r}: ")


def test_bad_recipient_names_the_variable() -> None:
    with pytest.raises(AlertConfigError, match=r"DRIFTKEEPER_ALERT_EMAIL_TO=.*'not-an-address'"):
        Routes.parse(email_to="soc@contoso.example, not-an-address")


# --- routing in the Notifier -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("severity", "expected"),
    [
        ("critical", ["teams", "email"]),
        ("high", ["teams", "email"]),
        ("medium", ["teams"]),
        ("low", []),
    ],
)
def test_notifier_follows_severity(severity: str, expected: list[str]) -> None:
    channels = [FakeChannel("teams"), FakeChannel("email"), FakeChannel("eventgrid")]
    routes = Routes.parse(json.dumps(ROUTES))

    deliveries = Notifier(channels, routes).notify(make_alert(severity=severity))

    assert [d.channel for d in deliveries] == expected
    assert all(d.ok and d.attempts == 1 for d in deliveries)
    assert [c.name for c in channels if c.sent] == expected


def test_default_routes_use_only_the_configured_channels() -> None:
    email = FakeChannel("email")
    notifier = Notifier([email], Routes.parse())

    assert [d.channel for d in notifier.notify(make_alert(severity="critical"))] == ["email"]
    assert notifier.notify(make_alert(severity="low")) == []


def test_explicit_route_to_an_unconfigured_channel_is_refused() -> None:
    routes = Routes.parse('{"high": ["teams", "email"]}')
    with pytest.raises(AlertConfigError, match="routes to teams, which is not configured"):
        Notifier([FakeChannel("email")], routes)


def test_without_leaves_the_named_channels_out() -> None:
    routes = Routes.parse('{"high": ["teams", "eventgrid"], "low": ["eventgrid"]}', "a@b.example")

    left = routes.without(["eventgrid"])

    assert (left.channels_for("high"), left.channels_for("low")) == (("teams",), ())
    assert (left.email_to, left.explicit) == (("a@b.example",), True)


def test_two_channels_with_one_name_are_refused() -> None:
    with pytest.raises(ValueError, match="'email'"):
        Notifier([FakeChannel("email"), FakeChannel("email")], Routes())


# --- retries ---------------------------------------------------------------------------------
ALL_TO_X = Routes({"high": ("x",)}, explicit=True)


def test_backoff_doubles_up_to_the_cap() -> None:
    channel = FakeChannel("x", [DeliveryError("down", transient=True)] * 4)
    sleeps = Sleeps()
    notifier = Notifier([channel], ALL_TO_X, attempts=5, backoff=1, max_backoff=3, sleep=sleeps)

    (delivery,) = notifier.notify(make_alert())

    assert (delivery.ok, delivery.attempts) == (True, 5)
    assert sleeps == [1.0, 2.0, 3.0, 3.0]


def test_persistent_transient_failure_gives_up_with_the_last_error() -> None:
    errors: list[Exception] = [
        DeliveryError("first", transient=True),
        DeliveryError("second", transient=True),
        DeliveryError("third", transient=True),
    ]
    sleeps = Sleeps()

    (delivery,) = Notifier([FakeChannel("x", errors)], ALL_TO_X, sleep=sleeps).notify(make_alert())

    assert (delivery.ok, delivery.attempts, delivery.error) == (False, 3, "third")
    assert len(sleeps) == 2
    assert delivery.to_dict() == {"channel": "x", "ok": False, "attempts": 3, "error": "third"}


def test_a_channel_bug_is_recorded_and_the_other_channels_still_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broken = FakeChannel("teams", [KeyError("boom")])
    email = FakeChannel("email")
    routes = Routes({"high": ("teams", "email")}, explicit=True)
    caplog.set_level(logging.WARNING)

    deliveries = Notifier([broken, email], routes, sleep=Sleeps()).notify(make_alert())

    assert [(d.channel, d.ok, d.attempts) for d in deliveries] == [
        ("teams", False, 1),
        ("email", True, 1),
    ]
    assert deliveries[0].error == "unexpected KeyError: 'boom'"
    assert "unexpected KeyError" in caplog.text


def test_attempts_must_be_positive() -> None:
    with pytest.raises(ValueError, match="attempts"):
        Notifier([], Routes(), attempts=0)
