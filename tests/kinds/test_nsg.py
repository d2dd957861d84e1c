"""NSG rules: every normalization case that must not drift, and the changes that must."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from driftkeeper import Snapshot
from driftkeeper.engine import scan
from tests.builders import NSG_ID, baselines_of, document, nsg, rule


def drift_after(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> list[Any]:
    """Capture a baseline from ``before``, scan ``after``; the NSG baseline's changes."""
    baselines = baselines_of(document(networkSecurityGroups=[nsg(before)]))
    report = scan(
        Snapshot.from_dict(document(networkSecurityGroups=[nsg(after)])), baselines, guards="none"
    )
    return [c for f in report.findings for c in f.changes]


# Each case: (rule as captured, the same rule as Azure may return it later). None may drift.
SAME = {
    "protocol case": ({"protocol": "Tcp"}, {"protocol": "TCP"}),
    "access and direction case": (
        {"access": "Allow", "direction": "Inbound"},
        {"access": "allow", "direction": "inbound"},
    ),
    "protocol Any is *": ({"protocol": "*"}, {"protocol": "Any"}),
    "source * is Any": ({"sourceAddressPrefix": "*"}, {"sourceAddressPrefix": "Any"}),
    "service tag case": ({"sourceAddressPrefix": "Internet"}, {"sourceAddressPrefix": "internet"}),
    "unknown service tag case": (
        {"sourceAddressPrefix": "Storage.WestEurope"},
        {"sourceAddressPrefix": "storage.westeurope"},
    ),
    "singular vs plural port": (
        {"destinationPortRange": "443"},
        {"destinationPortRange": None, "destinationPortRanges": ["443"]},
    ),
    "singular vs plural prefix": (
        {"sourceAddressPrefix": "10.0.0.0/8"},
        {"sourceAddressPrefix": "", "sourceAddressPrefixes": ["10.0.0.0/8"]},
    ),
    "absent plural vs empty list": ({"sourcePortRanges": ...}, {"sourcePortRanges": []}),
    "port list order": (
        {"destinationPortRange": None, "destinationPortRanges": ["8086", "8080-8084"]},
        {"destinationPortRange": None, "destinationPortRanges": ["8080-8084", "8086"]},
    ),
    "adjacent ports vs range": (
        {"destinationPortRange": None, "destinationPortRanges": ["80", "81", "82-90"]},
        {"destinationPortRange": "80-90"},
    ),
    "overlapping ranges": (
        {"destinationPortRange": None, "destinationPortRanges": ["1000-1100", "1050-1200"]},
        {"destinationPortRange": "1000-1200"},
    ),
    "all ports * vs 0-65535": ({"destinationPortRange": "*"}, {"destinationPortRange": "0-65535"}),
    "single port as range": ({"destinationPortRange": "22"}, {"destinationPortRange": "22-22"}),
    "host /32 vs bare address": (
        {"sourceAddressPrefix": "203.0.113.7/32"},
        {"sourceAddressPrefix": "203.0.113.7"},
    ),
    "ipv6 spelling": (
        {"sourceAddressPrefix": "2001:DB8:0:0::/32"},
        {"sourceAddressPrefix": "2001:db8::/32"},
    ),
    "prefix list order": (
        {"sourceAddressPrefix": None, "sourceAddressPrefixes": ["10.0.0.0/8", "192.168.0.0/16"]},
        {"sourceAddressPrefix": None, "sourceAddressPrefixes": ["192.168.0.0/16", "10.0.0.0/8"]},
    ),
    "volatile fields": ({"provisioningState": "Succeeded"}, {"provisioningState": "Updating"}),
    "description is documentation": ({"description": "web"}, {"description": "web traffic"}),
    "null asg vs empty": (
        {"sourceApplicationSecurityGroups": None},
        {"sourceApplicationSecurityGroups": []},
    ),
}


@pytest.mark.parametrize(("captured", "later"), SAME.values(), ids=SAME.keys())
def test_equivalent_spellings_never_drift(captured: dict[str, Any], later: dict[str, Any]) -> None:
    before = [rule("r1", **captured)]
    after = [rule("r1", **{**captured, **later})]
    after[0]["etag"] = 'W/"changed"'
    assert drift_after(before, after) == []


def test_rule_order_and_rule_name_case_never_drift() -> None:
    rules = [rule("a", 100), rule("b", 110, destinationPortRange="80")]
    later = copy.deepcopy(list(reversed(rules)))
    later[0]["name"] = "B"
    assert drift_after(rules, later) == []


# Each case: a change of a watched field, and the path that must be reported.
DIFFERENT = {
    "port opened": (
        {"destinationPortRange": "443"},
        {"destinationPortRange": "443-444"},
        "rules[r1].destinationPortRanges",
    ),
    "source widened": (
        {"sourceAddressPrefix": "10.0.0.0/8"},
        {"sourceAddressPrefix": "*"},
        "rules[r1].sourceAddressPrefixes",
    ),
    "* is not Internet": (
        {"sourceAddressPrefix": "*"},
        {"sourceAddressPrefix": "Internet"},
        "rules[r1].sourceAddressPrefixes",
    ),
    "* is not 0.0.0.0/0": (
        {"sourceAddressPrefix": "*"},
        {"sourceAddressPrefix": "0.0.0.0/0"},
        "rules[r1].sourceAddressPrefixes",
    ),
    "deny became allow": ({"access": "Deny"}, {"access": "Allow"}, "rules[r1].access"),
    "protocol": ({"protocol": "Tcp"}, {"protocol": "Udp"}, "rules[r1].protocol"),
    "priority": ({}, {"priority": 4000}, "rules[r1].priority"),
    "direction": ({}, {"direction": "Outbound"}, "rules[r1].direction"),
    "asg added": (
        {},
        {"sourceApplicationSecurityGroups": [{"id": "/x/asg1"}]},
        "rules[r1].sourceApplicationSecurityGroups",
    ),
}


@pytest.mark.parametrize(("captured", "later", "path"), DIFFERENT.values(), ids=DIFFERENT.keys())
def test_watched_field_changes_drift(
    captured: dict[str, Any], later: dict[str, Any], path: str
) -> None:
    changes = drift_after([rule("r1", **captured)], [rule("r1", **{**captured, **later})])
    assert [c.path for c in changes] == [path]


def test_extra_rule_and_missing_rule_are_drift_with_words() -> None:
    # given a baseline with rules a and b
    baselines = baselines_of(document(networkSecurityGroups=[nsg([rule("a"), rule("b", 110)])]))
    # when b is deleted and an RDP rule from the internet appears
    live = [
        rule("a"),
        rule("open-rdp", 120, sourceAddressPrefix="Internet", destinationPortRange="3389"),
    ]
    report = scan(
        Snapshot.from_dict(document(networkSecurityGroups=[nsg(live)])), baselines, guards="none"
    )
    # then one finding lists both, in words
    [finding] = report.findings
    assert finding.resource == NSG_ID
    assert {(c.path, c.expected is None, c.actual is None) for c in finding.changes} == {
        ("rules[open-rdp]", True, False),
        ("rules[b]", False, True),
    }
    assert (
        "rule 'open-rdp' added: Allow Tcp 3389 from Internet (inbound, priority 120)"
        in finding.message
    )
    assert "rule 'b' removed" in finding.message


def test_deleted_nsg_is_drift() -> None:
    baselines = baselines_of(document(networkSecurityGroups=[nsg([rule("a")])]))
    report = scan(Snapshot.from_dict(document(networkSecurityGroups=[])), baselines, guards="none")
    [finding] = report.findings
    assert finding.status == "drift"
    assert "no longer exists" in finding.message


def test_az_cli_flattened_nsg_matches_rest_shape() -> None:
    # given a baseline captured from the REST shape
    rest = nsg([rule("a", sourceAddressPrefix="Internet")])
    baselines = baselines_of(document(networkSecurityGroups=[rest]))
    # when the same NSG comes from `az network nsg list -o json` (flattened)
    flat_rule = {
        **rest["properties"]["securityRules"][0]["properties"],
        "name": "a",
        "resourceGroup": "rg-web",
    }
    flat = {
        "id": NSG_ID,
        "name": "web-nsg",
        "provisioningState": "Succeeded",
        "resourceGroup": "rg-web",
        "securityRules": [flat_rule],
        "defaultSecurityRules": [],
    }
    report = scan(
        Snapshot.from_dict(document(networkSecurityGroups=[flat])), baselines, guards="none"
    )
    # then nothing drifts
    assert report.findings == ()
    assert report.compliant == 1


def test_an_unreadable_live_rule_is_not_captured_and_shows_as_drift(tmp_path: Any) -> None:
    from driftkeeper.baseline import load_baselines
    from driftkeeper.capture import capture_baselines

    doc = document(networkSecurityGroups=[nsg([rule("ok"), rule("odd", protocol="Gre")])])
    capture_baselines(Snapshot.from_dict(doc), tmp_path)
    loaded = load_baselines(tmp_path)  # the written file loads
    [finding] = scan(Snapshot.from_dict(doc), loaded, guards="none").findings
    assert [c.path for c in finding.changes] == ["rules[odd]"]
