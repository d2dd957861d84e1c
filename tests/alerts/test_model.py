from __future__ import annotations

import dataclasses

import pytest

from driftkeeper.alerts import Alert, Link, arm_portal_url, is_safe_link

from ._alerts import FINDING, NSG_ID, PORTAL_URL, SIGNAL, SIGNAL_ID, make_alert

SUB = "/subscriptions/6f1c2a3b-4d5e-4f60-8a91-b2c3d4e5f607"
ASSIGNMENT = "0b1c2d3e-0000-4000-8000-000000000001"


def test_from_finding_takes_the_signal_context() -> None:
    alert = Alert.from_finding(
        FINDING, SIGNAL, owners=["netops@contoso.example"], transition="updated"
    )

    assert (alert.kind, alert.resource, alert.rule, alert.severity) == (
        "nsg",
        NSG_ID,
        FINDING.rule,
        "high",
    )
    assert alert.changes == FINDING.changes
    assert (alert.status, alert.outcome) == ("drift", "drift")
    assert alert.signal_id == SIGNAL_ID
    assert alert.event_time == SIGNAL.time
    assert alert.actor.upn == "mallory@contoso.example"
    assert alert.operation == SIGNAL.operation
    assert alert.correlation_id == SIGNAL.correlation_id
    assert alert.owners == ("netops@contoso.example",)
    assert (alert.response, alert.transition) == ("alert", "updated")
    assert alert.finding_dict() == FINDING.to_dict()


def test_from_finding_without_a_signal_leaves_the_context_empty() -> None:
    alert = Alert.from_finding(FINDING, outcome="self")

    assert (alert.signal_id, alert.event_time, alert.actor.display()) == ("", "", "unknown")
    assert (alert.status, alert.outcome) == ("drift", "self")


@pytest.mark.parametrize(
    ("field", "value"),
    [("severity", "urgent"), ("response", "page"), ("transition", "closed")],
)
def test_alert_rejects_unknown_literals(field: str, value: str) -> None:
    with pytest.raises(ValueError, match=field):
        make_alert(**{field: value})


@pytest.mark.parametrize(
    "resource",
    [
        NSG_ID,
        SUB,
        SUB + "/resourceGroups/rg-web-prod",
        NSG_ID + "/securityRules/allow-https",
        f"{SUB}/providers/Microsoft.Authorization/roleAssignments/{ASSIGNMENT}",
        "/providers/Microsoft.Management/managementGroups/mg-prod",
        "/providers/Microsoft.Management/managementGroups/mg-prod/providers/"
        f"Microsoft.Authorization/roleAssignments/{ASSIGNMENT}",
    ],
)
def test_portal_url_for_arm_ids(resource: str) -> None:
    assert arm_portal_url(resource) == "https://portal.azure.com/#@/resource" + resource


@pytest.mark.parametrize(
    "resource",
    [
        "",
        "/identity/conditionalAccess/policies/c0ffee00-1111-4222-8333-444455556666",
        "/subscriptions/not-a-guid",
        SUB + "/resourceGroups/rg/../../evil",
        SUB + "/resourceGroups/rg web",
        SUB + "/resourceGroups/rg?x=1",
        SUB + "/resourceGroups/rg#frag",
        SUB + '/resourceGroups/rg"><script>',
        SUB + "/resourceGroups/rg\r\nX: y",
        SUB + "/resourceGroups/rg%2F..",
        SUB + "/resourceGroups/rg/providers/Microsoft.Network",
        SUB + "/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups",
        SUB + "//resourceGroups/rg",
        "https://evil.example" + SUB,
        "javascript:alert(1)//" + SUB,
        SUB + "/resourceGroups/\uff52\uff47",  # fullwidth "rg"
    ],
)
def test_no_portal_url_for_anything_else(resource: str) -> None:
    assert arm_portal_url(resource) is None
    assert make_alert(resource=resource).portal_url is None


def test_alert_portal_url() -> None:
    assert make_alert().portal_url == PORTAL_URL


@pytest.mark.parametrize(
    ("url", "safe"),
    [
        ("https://driftkeeper.contoso.example/api/approve?incident=1&t=abc", True),
        ("http://driftkeeper.contoso.example/approve", False),
        ("javascript:alert(1)", False),
        ("https://user:pw@evil.example/", False),
        ('https://x.example/"onmouseover="x', False),
        ("https://x.example/a b", False),
        ("https://x.example/<script>", False),
        ("https:///nohost", False),
        ("https://x.example:99999/", False),
        ("//x.example/", False),
    ],
)
def test_is_safe_link(url: str, safe: bool) -> None:
    assert is_safe_link(url) is safe


def test_link_validates_its_url() -> None:
    with pytest.raises(ValueError, match="https"):
        Link("Approve", "javascript:alert(1)")


def test_alert_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        make_alert().severity = "low"  # type: ignore[misc]
