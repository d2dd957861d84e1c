"""Properties over generated tenants: no false drift, and no missed drift."""

from __future__ import annotations

import copy
import random
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from driftkeeper import Snapshot
from driftkeeper.engine import scan
from tests.builders import (
    OWNER,
    READER,
    RG,
    SUB,
    assignment,
    baselines_of,
    document,
    member,
    mfa_policy,
    nsg,
    rule,
)

PREFIXES = [
    "*",
    "Internet",
    "VirtualNetwork",
    "10.0.0.0/8",
    "192.168.1.0/24",
    "203.0.113.7",
    "2001:db8::/32",
]
PORTS = ["*", "22", "80", "443", "1000-1100", "3389", "8080-8084", "8086"]
SCOPES = [SUB, RG, f"{SUB}/resourceGroups/rg-data"]
ROLES = [
    OWNER,
    READER,
    "/providers/Microsoft.Authorization/roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c",
]


def respell(value: str, rnd: random.Random) -> str:
    return rnd.choice([value, value.upper(), value.lower()]) if not value[0].isdigit() else value


@st.composite
def rules(draw: st.DrawFn) -> list[dict[str, Any]]:
    count = draw(st.integers(0, 6))
    priorities = draw(st.lists(st.integers(100, 4096), min_size=count, max_size=count, unique=True))
    out = []
    for i, priority in enumerate(priorities):
        sources = draw(st.lists(st.sampled_from(PREFIXES), min_size=1, max_size=3, unique=True))
        ports = draw(st.lists(st.sampled_from(PORTS), min_size=1, max_size=3, unique=True))
        out.append(
            rule(
                f"rule-{i}",
                priority,
                access=draw(st.sampled_from(["Allow", "Deny"])),
                direction=draw(st.sampled_from(["Inbound", "Outbound"])),
                protocol=draw(st.sampled_from(["Tcp", "Udp", "*", "Icmp"])),
                sourceAddressPrefix=sources[0] if len(sources) == 1 else None,
                sourceAddressPrefixes=sources if len(sources) > 1 else [],
                destinationPortRange=ports[0] if len(ports) == 1 else None,
                destinationPortRanges=ports if len(ports) > 1 else [],
            )
        )
    return out


@st.composite
def tenants(draw: st.DrawFn) -> dict[str, Any]:
    pairs = draw(
        st.lists(
            st.tuples(st.sampled_from("abcdefgh"), st.sampled_from(ROLES), st.sampled_from(SCOPES)),
            unique=True,
            max_size=8,
        )
    )
    policy = mfa_policy(
        state=draw(st.sampled_from(["enabled", "disabled", "enabledForReportingButNotEnforced"]))
    )
    policy["conditions"]["users"]["excludeUsers"] = draw(
        st.lists(st.sampled_from(["u1", "u2", "u3"]), unique=True)
    )
    members = draw(st.lists(st.sampled_from(["m1", "m2", "m3", "m4"]), unique=True))
    return document(
        networkSecurityGroups=[nsg(draw(rules()))],
        # every subscription has an Owner, so capture writes a baseline covering it
        roleAssignments=[assignment("owner", OWNER, SUB)]
        + [assignment(p, r, s) for p, r, s in pairs],
        conditionalAccessPolicies=[policy],
        directoryRoleAssignments=[member(m) for m in members],
        securityDefaults={"isEnabled": draw(st.booleans())},
    )


def drift(baseline_doc: dict[str, Any], live_doc: dict[str, Any]) -> int:
    return scan(Snapshot.from_dict(live_doc), baselines_of(baseline_doc), guards="none").drift


@given(tenants())
def test_a_snapshot_never_drifts_from_its_own_capture(doc: dict[str, Any]) -> None:
    assert drift(doc, copy.deepcopy(doc)) == 0


@given(tenants(), st.randoms(use_true_random=False))
def test_reordering_and_respelling_never_drifts(doc: dict[str, Any], rnd: random.Random) -> None:
    live = copy.deepcopy(doc)
    for group in ("arm", "graph"):
        for section in live[group].values():
            if isinstance(section, list):
                rnd.shuffle(section)
    for r in live["arm"]["networkSecurityGroups"][0]["properties"]["securityRules"]:
        props = r["properties"]
        for field in ("protocol", "access", "direction"):
            props[field] = respell(props[field], rnd)
        for single, plural in (
            ("sourceAddressPrefix", "sourceAddressPrefixes"),
            ("destinationPortRange", "destinationPortRanges"),
        ):
            values = [props[single]] if props.get(single) else list(props.get(plural) or [])
            rnd.shuffle(values)
            if len(values) == 1 and rnd.random() < 0.5:
                props[single], props[plural] = None, values
            elif len(values) == 1:
                props[single], props[plural] = values[0], []
            else:
                props[single], props[plural] = "", values
    users = live["graph"]["conditionalAccessPolicies"][0]["conditions"]["users"]
    for key in ("includeRoles", "excludeUsers"):
        rnd.shuffle(users[key])
    assert drift(doc, live) == 0


def _mutations(doc: dict[str, Any]) -> list[Any]:
    nsg_rules = doc["arm"]["networkSecurityGroups"][0]["properties"]["securityRules"]
    policy = doc["graph"]["conditionalAccessPolicies"][0]
    out: list[Any] = [
        lambda d: d["arm"]["networkSecurityGroups"][0]["properties"]["securityRules"].append(
            rule("new-rule", 4095)
        ),
        lambda d: d["arm"]["roleAssignments"].append(assignment("intruder", OWNER, RG)),
        lambda d: d["graph"]["conditionalAccessPolicies"][0].update(
            state="disabled" if policy["state"] != "disabled" else "enabled"
        ),
        lambda d: d["graph"]["conditionalAccessPolicies"][0]["conditions"]["users"][
            "excludeUsers"
        ].append("attacker"),
        lambda d: d["graph"]["directoryRoleAssignments"].append(member("intruder")),
        lambda d: d["graph"]["securityDefaults"].update(
            isEnabled=not d["graph"]["securityDefaults"]["isEnabled"]
        ),
    ]
    if nsg_rules:

        def flip_access(d: dict[str, Any]) -> None:
            props = d["arm"]["networkSecurityGroups"][0]["properties"]["securityRules"][0][
                "properties"
            ]
            props["access"] = "Deny" if props["access"] == "Allow" else "Allow"

        def open_port(d: dict[str, Any]) -> None:
            props = d["arm"]["networkSecurityGroups"][0]["properties"]["securityRules"][0][
                "properties"
            ]
            ports = props.get("destinationPortRanges") or [props["destinationPortRange"]]
            props["destinationPortRange"], props["destinationPortRanges"] = (
                None,
                [*ports, "*" if "*" not in ports else "1"],
            )
            if "*" in ports:  # already all ports: narrow instead
                props["destinationPortRanges"] = ["1"]

        out += [
            flip_access,
            open_port,
            lambda d: d["arm"]["networkSecurityGroups"][0]["properties"]["securityRules"].pop(),
        ]
    if doc["arm"]["roleAssignments"]:
        out.append(lambda d: d["arm"]["roleAssignments"].pop(0))
    if doc["graph"]["directoryRoleAssignments"]:
        out.append(lambda d: d["graph"]["directoryRoleAssignments"].pop(0))
    return out


@given(tenants(), st.data())
def test_changing_one_watched_field_always_drifts(doc: dict[str, Any], data: st.DataObject) -> None:
    mutations = _mutations(doc)
    mutate = data.draw(st.sampled_from(range(len(mutations))))
    live = copy.deepcopy(doc)
    mutations[mutate](live)
    assert drift(doc, live) == 1
