"""NSG rules: every normalization case that must not drift, and the changes that must."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from driftkeeper import Snapshot
from driftkeeper.engine import judge_all, scan
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


# --- hostile shapes: unreadable state, never a crash, never dropped ---------------------------
def _odd_rule(**changes: Any) -> Any:
    odd = rule("odd", 300)
    odd.update(changes)
    return odd


def _with_props(**props: Any) -> Any:
    odd = rule("odd", 300)
    odd["properties"].update(props)
    return odd


HOSTILE_RULES = {
    "not an object": ("abc", "rules[#1]", "securityRules[1]: expected an object"),
    "a list": ([rule("odd")], "rules[#1]", "securityRules[1]: expected an object"),
    "name a number": (_odd_rule(name=12), "rules[#1]", "securityRules[1].name: expected a name"),
    "no name": (_odd_rule(name=None), "rules[#1]", "securityRules[1].name: expected a name"),
    "properties a string": (_odd_rule(properties="abc"), "rules[odd]", "properties: expected"),
    "properties a list": (_odd_rule(properties=[1]), "rules[odd]", "properties: expected"),
    "priority a string": (_with_props(priority="300"), "rules[odd]", "priority: expected"),
    "priority a boolean": (_with_props(priority=True), "rules[odd]", "priority: expected"),
    "access a list": (_with_props(access=["Allow"]), "rules[odd]", "access: expected a string"),
    "protocol a number": (_with_props(protocol=6), "rules[odd]", "protocol: expected a string"),
    "port a number": (_with_props(destinationPortRange=22), "rules[odd]", "destinationPortRange:"),
    "ports a string": (
        _with_props(destinationPortRanges="22"),
        "rules[odd]",
        "destinationPortRanges: expected a list of strings",
    ),
    "prefixes with a number": (
        _with_props(sourceAddressPrefixes=[10]),
        "rules[odd]",
        "sourceAddressPrefixes: expected a list of strings",
    ),
    "ASGs a string": (
        _with_props(sourceApplicationSecurityGroups="asg"),
        "rules[odd]",
        "sourceApplicationSecurityGroups: expected a list",
    ),
    "ASG id a number": (
        _with_props(destinationApplicationSecurityGroups=[{"id": 3}]),
        "rules[odd]",
        "destinationApplicationSecurityGroups: expected ids",
    ),
    "name twice": (
        rule("ALLOW-https", 300),
        "rules[allow-https]",
        "securityRules[1].name: rule 'ALLOW-https' appears twice",
    ),
}


@pytest.mark.parametrize(("odd", "key", "why"), HOSTILE_RULES.values(), ids=HOSTILE_RULES.keys())
def test_a_hostile_rule_is_unreadable_drift_and_fails_the_guard(
    odd: Any, key: str, why: str
) -> None:
    baselines = baselines_of(document(networkSecurityGroups=[nsg([rule("allow-https")])]))
    live = Snapshot.from_dict(document(networkSecurityGroups=[nsg([rule("allow-https"), odd])]))

    report = scan(live, baselines)

    [finding, guard] = sorted(report.findings, key=lambda f: f.rule.startswith("guard:"))
    change = next(c for c in finding.changes if c.path == key)
    assert str(change.actual).startswith(f"unreadable: {why}")
    assert "cannot be read" in finding.message
    assert guard.status == "drift"
    assert f"rule '{key[6:-1]}' cannot be judged ({why}" in guard.message


@pytest.mark.parametrize(
    ("properties", "why"),
    [
        ({"securityRules": "abc"}, 'properties.securityRules: expected a list, got "abc"'),
        ({"securityRules": {"a": 1}}, "properties.securityRules: expected a list"),
        ({"securityRules": 0}, "properties.securityRules: expected a list"),
        ({"securityRules": ""}, "properties.securityRules: expected a list"),
    ],
)
def test_rules_that_are_not_a_list_make_the_nsg_unreadable(
    properties: dict[str, Any], why: str
) -> None:
    baselines = baselines_of(document(networkSecurityGroups=[nsg([rule("allow-https")])]))
    live = nsg([])
    live["properties"] = properties

    report = scan(Snapshot.from_dict(document(networkSecurityGroups=[live])), baselines)

    [finding, guard] = sorted(report.findings, key=lambda f: f.rule.startswith("guard:"))
    assert finding.status == "drift"
    assert f"the rules cannot be read ({why}" in finding.message
    assert (guard.status, guard.resource) == ("drift", NSG_ID)
    assert f"its rules cannot be judged ({why}" in guard.message


@pytest.mark.parametrize(
    ("envelope", "status"),
    [
        ({"properties": "abc"}, "drift"),
        ({"properties": None}, "drift"),
        ({"id": 12}, "drift"),  # not the NSG of the baseline: that one is gone
        ({"name": ["x"]}, "compliant"),  # a label only
    ],
)
def test_a_live_read_of_the_wrong_shape_is_no_crash(envelope: dict[str, Any], status: str) -> None:
    # the live readers build snapshots without Snapshot.from_dict's checks
    item = {**nsg([rule("allow-https")]), **envelope}
    snapshot = Snapshot("t", "", {"arm.networkSecurityGroups": [item]})
    baselines = baselines_of(document(networkSecurityGroups=[nsg([rule("allow-https")])]))
    outcomes, _, _ = judge_all(snapshot, baselines, guards="none")

    [outcome] = outcomes

    assert outcome.status == status


def test_unreadable_rules_are_left_out_of_a_capture_which_loads(tmp_path: Any) -> None:
    from driftkeeper.baseline import load_baselines
    from driftkeeper.capture import capture_baselines

    doc = document(
        networkSecurityGroups=[
            nsg([rule("ok"), "abc", _odd_rule(name=1), rule("twice"), rule("TWICE", 200)]),
            nsg([], NSG_ID + "-2"),
        ]
    )
    doc["arm"]["networkSecurityGroups"][1]["properties"]["securityRules"] = "abc"
    capture_baselines(Snapshot.from_dict(doc), tmp_path)

    loaded = load_baselines(tmp_path)

    [baseline] = loaded.baselines
    assert baseline.state.keys() == {"rules[ok]"}
