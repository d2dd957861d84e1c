"""The internet-exposure guard through every spelling of source, port and protocol."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftkeeper import Snapshot
from driftkeeper.baseline import BaselineSet, GuardSettings
from driftkeeper.engine import scan
from tests.builders import document, nsg, rule

GUARD = "guard:nsg-internet-management-ports"


def guard_findings(rules: list[dict[str, Any]], params: dict[str, Any] | None = None) -> list[Any]:
    settings = {}
    if params is not None:
        settings = {
            "nsg-internet-management-ports": GuardSettings(
                "nsg-internet-management-ports", "g.yaml", params=params
            )
        }
    report = scan(
        Snapshot.from_dict(document(networkSecurityGroups=[nsg(rules)])), BaselineSet((), settings)
    )
    return [f for f in report.findings if f.rule == GUARD]


EXPOSED = {
    "ssh from *": {"sourceAddressPrefix": "*", "destinationPortRange": "22"},
    "rdp from Internet": {"sourceAddressPrefix": "Internet", "destinationPortRange": "3389"},
    "rdp from internet lower case": {
        "sourceAddressPrefix": "internet",
        "destinationPortRange": "3389",
    },
    "from Any": {"sourceAddressPrefix": "Any", "destinationPortRange": "22"},
    "from 0.0.0.0/0": {"sourceAddressPrefix": "0.0.0.0/0", "destinationPortRange": "22"},
    "from ::/0": {"sourceAddressPrefix": "::/0", "destinationPortRange": "22"},
    "range covering 3389": {"sourceAddressPrefix": "*", "destinationPortRange": "3000-4000"},
    "list with sql": {
        "sourceAddressPrefix": "*",
        "destinationPortRange": None,
        "destinationPortRanges": ["80", "1433"],
    },
    "all ports": {"sourceAddressPrefix": "*", "destinationPortRange": "*"},
    "protocol TCP upper": {
        "sourceAddressPrefix": "*",
        "destinationPortRange": "22",
        "protocol": "TCP",
    },
    "protocol Any": {"sourceAddressPrefix": "*", "destinationPortRange": "22", "protocol": "Any"},
    "udp rdp": {"sourceAddressPrefix": "*", "destinationPortRange": "3389", "protocol": "Udp"},
    "plural sources": {
        "sourceAddressPrefix": None,
        "sourceAddressPrefixes": ["10.0.0.0/8", "0.0.0.0/0"],
        "destinationPortRange": "22",
    },
    "deny has lower priority": {
        "sourceAddressPrefix": "*",
        "destinationPortRange": "22",
        "priority": 300,
    },
}


@pytest.mark.parametrize("props", EXPOSED.values(), ids=EXPOSED.keys())
def test_exposure_is_found(props: dict[str, Any]) -> None:
    later_deny = rule(
        "deny-later",
        400,
        access="Deny",
        sourceAddressPrefix="*",
        destinationPortRange="*",
        protocol="*",
    )
    [finding] = guard_findings([rule("open", **{"priority": 100, **props}), later_deny])
    assert finding.status == "drift"
    assert finding.severity == "critical"
    assert "rule 'open' opens" in finding.message


SAFE = {
    "private source": {"sourceAddressPrefix": "10.0.0.0/8", "destinationPortRange": "22"},
    "vnet tag": {"sourceAddressPrefix": "VirtualNetwork", "destinationPortRange": "3389"},
    "https only": {"sourceAddressPrefix": "*", "destinationPortRange": "443"},
    "deny rule": {"sourceAddressPrefix": "*", "destinationPortRange": "22", "access": "Deny"},
    "outbound": {"sourceAddressPrefix": "*", "destinationPortRange": "22", "direction": "Outbound"},
    "icmp": {"sourceAddressPrefix": "*", "destinationPortRange": "*", "protocol": "Icmp"},
}


@pytest.mark.parametrize("props", SAFE.values(), ids=SAFE.keys())
def test_no_exposure_no_finding(props: dict[str, Any]) -> None:
    assert guard_findings([rule("r", **props)]) == []


def test_higher_priority_deny_covers_the_allow() -> None:
    rules = [
        rule(
            "deny-mgmt",
            100,
            access="Deny",
            sourceAddressPrefix="Internet",
            destinationPortRange=None,
            destinationPortRanges=["22", "3389"],
            protocol="*",
        ),
        rule("allow-all", 200, sourceAddressPrefix="*", destinationPortRange="*", protocol="Tcp"),
    ]
    findings = guard_findings(rules, {"ports": [22, 3389]})
    assert findings == []


def test_partial_deny_leaves_the_rest_exposed() -> None:
    rules = [
        rule("deny-ssh", 100, access="Deny", sourceAddressPrefix="*", destinationPortRange="22"),
        rule(
            "allow-mgmt", 200, sourceAddressPrefix="*", destinationPortRange="20-3389", protocol="*"
        ),
    ]
    [finding] = guard_findings(rules, {"ports": [22, 3389]})
    # Tcp deny doesn't cover Udp 22, so both ports are still exposed over some protocol
    assert "opens 22, 3389" in finding.message
    rules[0]["properties"]["protocol"] = "*"
    [finding] = guard_findings(rules, {"ports": [22, 3389]})
    assert "opens 3389 to the internet" in finding.message


def test_corpus_open_ports_nsg_respects_the_recorded_deny() -> None:
    from tests.builders import corpus

    # Cloud Custodian's recording: test2 allows 8080-8084 and 8086 from *, test3 (priority 290)
    # denies 8086 from * first, and c7n's own rule opens 1000-1100.
    after = corpus("arm/recorded_nsg_list_after_open_ports.json")["value"]
    settings = {
        "nsg-internet-management-ports": GuardSettings(
            "nsg-internet-management-ports", "g.yaml", params={"ports": [1050, 8080, 8086]}
        )
    }
    report = scan(
        Snapshot.from_dict(document(networkSecurityGroups=after)), BaselineSet((), settings)
    )
    [finding] = [f for f in report.findings if f.rule == GUARD]
    assert {c.path for c in finding.changes} == {
        "rules[c7n-policy-baea42b8-85e7-11eb-b168-00155d1e47af]",
        "rules[test2]",
    }
    assert "rule 'test2' opens 8080 to the internet" in finding.message  # 8086 is denied first
    before = corpus("arm/recorded_nsg_list_before_open_ports.json")["value"]
    report = scan(
        Snapshot.from_dict(document(networkSecurityGroups=before)), BaselineSet((), settings)
    )
    assert [f for f in report.findings if f.rule == GUARD] == []


@given(
    port=st.sampled_from([22, 3389, 1433, 5432]),
    lo=st.integers(0, 3000),
    span=st.integers(0, 65535),
)
def test_any_range_containing_a_watched_port_is_found(port: int, lo: int, span: int) -> None:
    hi = min(lo + span, 65535)
    rules = [rule("r", sourceAddressPrefix="Internet", destinationPortRange=f"{lo}-{hi}")]
    found = guard_findings(rules, {"ports": [port]})
    assert bool(found) == (lo <= port <= hi)


def test_a_deny_covers_only_the_ip_version_it_names() -> None:
    # ::/0 denied first: IPv4 stays open through Internet
    v6_deny = rule(
        "deny-v6", 100, access="Deny", sourceAddressPrefix="::/0", destinationPortRange="22"
    )
    allow = rule("allow-ssh", 200, sourceAddressPrefix="Internet", destinationPortRange="22")
    assert guard_findings([v6_deny, allow], {"ports": [22]})
    # and both versions denied: closed
    both = rule("deny-both", 100, access="Deny", sourceAddressPrefix=None,
                sourceAddressPrefixes=["0.0.0.0/0", "::/0"], destinationPortRange="22")  # fmt: skip
    assert guard_findings([both, allow], {"ports": [22]}) == []


def test_halves_of_the_address_space_are_the_internet() -> None:
    halves = ["0.0.0.0/1", "128.0.0.0/1"]
    halves = rule(
        "halves", 100, sourceAddressPrefix=None, sourceAddressPrefixes=halves,
        destinationPortRange="3389",
    )  # fmt: skip
    assert guard_findings([halves], {"ports": [3389]})


def test_application_security_groups_are_not_the_internet() -> None:
    asg = {"id": "/subscriptions/x/providers/Microsoft.Network/applicationSecurityGroups/jump"}
    # an Allow from an ASG is not exposure
    from_asg = rule(
        "from-jump", 100, sourceAddressPrefix=None, sourceApplicationSecurityGroups=[asg],
        destinationPortRange="22",
    )  # fmt: skip
    assert guard_findings([from_asg], {"ports": [22]}) == []
    # a Deny to an ASG does not cover an Allow to every destination
    deny_to_asg = rule("deny-db", 100, access="Deny", sourceAddressPrefix="Internet",
                       destinationAddressPrefix=None, destinationApplicationSecurityGroups=[asg],
                       destinationPortRange="22")  # fmt: skip
    allow_all = rule("allow-all", 200, sourceAddressPrefix="Internet", destinationPortRange="22")
    assert guard_findings([deny_to_asg, allow_all], {"ports": [22]})


# --- fail closed: a rule the NSG kind could not read is never "no exposed ports" ------------
UNREADABLE = {
    "priority as a string": ({"priority": "100"}, "priority: expected an integer"),
    "priority missing": ({"priority": ...}, "priority: expected an integer"),
    "port out of range": (
        {"destinationPortRange": "0-99999999"},
        "destinationPortRanges: expected ports within 0-65535",
    ),
    "port not a port": ({"destinationPortRange": "ssh"}, "destinationPortRanges: expected a port"),
    "unknown protocol": ({"protocol": "Gre"}, "protocol: expected a protocol"),
    "direction missing": ({"direction": ...}, "direction: is required"),
    "prefix with a space": ({"sourceAddressPrefix": "10.0.0.0 /8"}, "sourceAddressPrefixes: "),
}


@pytest.mark.parametrize(("props", "why"), UNREADABLE.values(), ids=UNREADABLE.keys())
def test_an_unreadable_rule_fails_the_guard_naming_the_rule(
    props: dict[str, Any], why: str
) -> None:
    # an Allow * from * Inbound, if only it could be read
    wide_open = {"sourceAddressPrefix": "*", "destinationPortRange": "*", "protocol": "*"}
    rules = [rule("allow-https"), rule("odd", **{"priority": 300, **wide_open, **props})]

    [finding] = guard_findings(rules)

    assert finding.status == "drift"
    assert f"rule 'odd' cannot be judged ({why}" in finding.message
    [change] = finding.changes
    assert change.path == "rules[odd]"
    assert str(change.actual).startswith(f"unreadable: {why}")


def test_an_unreadable_rule_does_not_hide_an_exposure_beside_it() -> None:
    odd = rule("odd", 100)
    odd["properties"]["priority"] = "100"
    rules = [odd, rule("open-ssh", 200, sourceAddressPrefix="*", destinationPortRange="22")]

    [finding] = guard_findings(rules)

    assert {c.path for c in finding.changes} == {"rules[odd]", "rules[open-ssh]"}
    assert "rule 'open-ssh' opens 22 to the internet" in finding.message
