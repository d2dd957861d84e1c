"""Fast paths (issue 10) give the results of the plain code they replace.

Each reference below is the code as it was before it was made fast, kept here verbatim (or
built from the unchanged primitives); hypothesis compares old and new on generated inputs,
errors included.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from driftkeeper import network as net
from driftkeeper.guards import nsg_internet_ports as guard
from driftkeeper.kinds import get_kind
from driftkeeper.kinds import role_assignments as ra_kind
from driftkeeper.kinds._base import FieldError, Setting
from driftkeeper.kinds.nsg import _PAIRS, normalize_rule
from driftkeeper.snapshot import Snapshot, is_unreadable

# --- values NSG rules hold -------------------------------------------------------------------
_PREFIXES = st.sampled_from(
    [
        "*",
        "Any",
        "any",
        "Internet",
        "internet",
        "VirtualNetwork",
        "Storage.WestUS",
        "storage.westus",
        "0.0.0.0/0",
        "0.0.0.0/1",
        "128.0.0.0/1",
        "::/0",
        "::/1",
        "8000::/1",
        "10.0.0.1",
        "10.0.0.1/32",
        "10.0.0.0/8",
        "10.1.2.3/8",
        "2001:db8::1",
        "2001:DB8::1/128",
        "2001:db8::/32",
        " 10.0.0.0/24 ",
        "",
        "not a prefix",
        "bad tag",
        "300.1.1.1",
        "1.2.3.4/33",
        "AzureLoadBalancer",
        "a,b",
        "10.0.0.0/24,Internet",
    ]
)
_PORTS = st.one_of(
    st.sampled_from(
        [
            "*",
            "Any",
            "22",
            "80-80",
            "0-65535",
            "8080-8084",
            "8085",
            "3389",
            " 22 ",
            "",
            "x",
            "70000",
            "5-3",
            "1-2-3",
            "22,3389",
            "-1",
        ]
    ),
    st.integers(0, 65535).map(str),
    st.tuples(st.integers(0, 65535), st.integers(0, 65535)).map(lambda t: f"{min(t)}-{max(t)}"),
)


def _pair(values: st.SearchStrategy[str]) -> st.SearchStrategy[tuple[Any, Any]]:
    single = st.one_of(st.none(), values)
    plural = st.one_of(st.none(), st.lists(values, max_size=4))
    return st.tuples(single, plural)


# --- references: the code before issue 10 ----------------------------------------------------
def _reference_pair(single: Any, plural: Any, *, ports: bool) -> list[str]:
    values = net.merged_values(single, plural)
    if ports:
        return net.format_ports(net.parse_ports(values))
    found = {net.canonical_prefix(v) for v in values}
    return ["*"] if "*" in found else sorted(found)


def _outcome(call: Any) -> tuple[str, Any]:
    try:
        return ("ok", call())
    except ValueError as exc:
        return (type(exc).__name__, str(exc))
    except FieldError as exc:
        return ("FieldError", (exc.path, exc.problem))


_WHOLE = {4: ipaddress.ip_network("0.0.0.0/0"), 6: ipaddress.ip_network("::/0")}


def _reference_families(prefixes: Iterable[str]) -> frozenset[int]:
    networks: dict[int, list[Any]] = {4: [], 6: []}
    for prefix in prefixes:
        if prefix in ("*", "Internet"):
            return frozenset(_WHOLE)
        try:
            network = ipaddress.ip_network(prefix, strict=False)
        except ValueError:
            continue
        networks[network.version].append(network)
    return frozenset(
        version
        for version, found in networks.items()
        if found and list(ipaddress.collapse_addresses(found)) == [_WHOLE[version]]
    )


def _reference_ports(rule: Mapping[str, Any]) -> net.PortSet:
    try:
        return net.parse_ports(rule.get("destinationPortRanges") or ["*"])
    except ValueError:
        return net.ALL_PORTS


def _covered(port: int, spans: net.PortSet) -> bool:
    return any(lo <= port <= hi for lo, hi in spans)


def _reference_exposed(
    rules: Mapping[str, Any] | str, watched: Iterable[int]
) -> list[tuple[str, Mapping[str, Any], list[int]]]:
    if not isinstance(rules, Mapping):
        return []
    inbound = sorted(
        (
            (key, rule)
            for key, rule in rules.items()
            if not is_unreadable(rule) and rule.get("direction") == "Inbound"
        ),
        key=lambda kv: kv[1]["priority"],
    )
    watched = sorted(set(watched))
    found = []
    for i, (key, rule) in enumerate(inbound):
        if rule["access"] != "Allow" or rule["protocol"] not in ("*", "Tcp", "Udp"):
            continue
        families = _reference_families(rule.get("sourceAddressPrefixes") or [])
        spans = _reference_ports(rule)
        exposed: set[int] = set()
        for family in families:
            ports = [p for p in watched if _covered(p, spans)]
            for _, deny in inbound[:i]:
                if not ports:
                    break
                if (
                    deny["access"] == "Deny"
                    and deny["priority"] < rule["priority"]
                    and deny["protocol"] in ("*", rule["protocol"])
                    and family in _reference_families(deny.get("sourceAddressPrefixes") or [])
                    and guard._same_destination(deny, rule)
                ):
                    deny_spans = _reference_ports(deny)
                    ports = [p for p in ports if not _covered(p, deny_spans)]
            exposed.update(ports)
        if exposed:
            found.append((key, rule, sorted(exposed)))
    return found


# --- the comparisons -------------------------------------------------------------------------
@given(_pair(_PREFIXES), _pair(_PORTS))
def test_canonical_values_are_the_plain_ones(prefixes: Any, ports: Any) -> None:
    for (one, many), is_ports in ((prefixes, False), (ports, True)):
        old = _outcome(lambda o=one, m=many, p=is_ports: _reference_pair(o, m, ports=p))
        for _ in range(2):  # the second call is answered from the cache
            assert (
                _outcome(lambda o=one, m=many, p=is_ports: net.canonical_values(o, m, ports=p))
                == old
            )


def test_canonical_values_returns_a_fresh_list() -> None:
    first = net.canonical_values("22", None, ports=True)
    first.append("mutated")
    assert net.canonical_values("22", None, ports=True) == ["22"]


_RULES = st.fixed_dictionaries(
    {
        "priority": st.integers(100, 4096),
        "direction": st.sampled_from(["Inbound", "inbound", "Outbound"]),
        "access": st.sampled_from(["Allow", "allow", "Deny"]),
        "protocol": st.sampled_from(["Tcp", "udp", "*", "Any", "Icmp", "bogus"]),
        **{
            single: st.one_of(st.none(), _PORTS if "Port" in single else _PREFIXES)
            for single, _ in _PAIRS
        },
        **{
            plural: st.one_of(
                st.none(), st.lists(_PORTS if "Port" in plural else _PREFIXES, max_size=3)
            )
            for _, plural in _PAIRS
        },
    }
)


def _reference_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    """normalize_rule with its pairs computed the plain way."""
    out = normalize_rule(
        {**rule, **{single: None for single, _ in _PAIRS}, **{plural: None for _, plural in _PAIRS}}
    )
    for single, plural in _PAIRS:
        try:
            out[plural] = _reference_pair(
                rule.get(single), rule.get(plural), ports="Port" in single
            )
        except ValueError as exc:
            raise FieldError(plural, str(exc)) from None
    return out


@given(_RULES)
def test_normalize_rule_is_the_plain_one(rule: dict[str, Any]) -> None:
    assert _outcome(lambda: normalize_rule(rule)) == _outcome(lambda: _reference_rule(rule))


@given(st.lists(_PREFIXES, max_size=5))
def test_internet_families_are_the_plain_ones(prefixes: list[str]) -> None:
    assert guard.internet_families(prefixes) == _reference_families(prefixes)
    assert guard.internet_families(iter(prefixes)) == _reference_families(prefixes)


_PORT_LISTS = st.lists(st.integers(0, 65535), max_size=6) | st.just(list(guard.DEFAULT_PORTS))


@given(st.lists(_RULES, max_size=8), _PORT_LISTS)
def test_exposed_ports_are_the_plain_ones(rules: list[dict[str, Any]], watched: list[int]) -> None:
    state: dict[str, Any] = {}
    for i, rule in enumerate(rules):
        try:
            state[f"rules[r{i}]"] = normalize_rule(rule)
        except FieldError as exc:
            state[f"rules[r{i}]"] = f"unreadable: {exc.path}: {exc.problem}"
    assert guard.exposed_ports(state, watched) == _reference_exposed(state, watched)


# --- address prefixes without ipaddress ------------------------------------------------------
def _reference_prefix(value: str) -> str:
    text = value.strip()
    folded = text.casefold()
    if folded in ("*", "any"):
        return "*"
    if folded in net._KNOWN_TAGS:
        return net._KNOWN_TAGS[folded]
    try:
        if "/" in text:
            iface = ipaddress.ip_interface(text)
            if iface.network.prefixlen == iface.max_prefixlen:
                return str(iface.ip)
            return iface.with_prefixlen
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    if not text or any(c.isspace() for c in text):
        raise ValueError(f"expected an address prefix, service tag or '*', got {value!r}")
    return folded


_OCTETS = st.one_of(
    st.integers(0, 255).map(str),
    st.sampled_from(["00", "01", "010", "256", "999", "-1", "", "1 ", "٣"]),
)
_LENGTHS = st.one_of(
    st.integers(0, 33).map(str),
    st.sampled_from(["", "00", "08", "032", "255.0.0.0", "0.0.0.255", "x", " 8", "٣"]),
)
_V4_TEXT = st.builds(
    lambda octets, slash, length, pad: f"{pad}{'.'.join(octets)}{slash}{length}{pad}",
    st.lists(_OCTETS, min_size=3, max_size=5),
    st.sampled_from(["", "/", "//"]),
    _LENGTHS,
    st.sampled_from(["", " ", "\t"]),
)
_CIDRS = st.one_of(
    _V4_TEXT,
    _PREFIXES,
    st.builds(lambda a, n: f"{a}/{n}", st.ip_addresses(v=4), st.integers(0, 32)),
    st.builds(lambda a, n: f"{a}/{n}", st.ip_addresses(v=6), st.integers(0, 128)),
    st.ip_addresses().map(str),
)


@given(_CIDRS)
def test_canonical_prefix_is_the_plain_one(value: str) -> None:
    assert _outcome(lambda: net.canonical_prefix(value)) == _outcome(
        lambda: _reference_prefix(value)
    )


_SOURCES = st.one_of(
    st.builds(lambda n: f"0.0.0.0/{n}", st.integers(0, 2)),
    st.builds(lambda n: f"128.0.0.0/{n}", st.integers(0, 2)),
    st.builds(lambda n: f"::/{n}", st.integers(0, 2)),
    st.builds(lambda n: f"8000::/{n}", st.integers(0, 2)),
    st.sampled_from(["0.0.0.0/0.0.0.0", "0.0.0.0/128.0.0.0", "128.0.0.0/128.0.0.0", "::/00"]),
    _CIDRS,
)


@given(st.lists(_SOURCES, max_size=5))
def test_internet_families_of_any_prefixes_are_the_plain_ones(prefixes: list[str]) -> None:
    assert guard.internet_families(prefixes) == _reference_families(prefixes)


# --- role assignments indexed inline ---------------------------------------------------------
def _reference_index(snapshot: Snapshot) -> dict[str, Setting]:
    """RoleAssignments.index before issue 10: every assignment through _assignment()."""
    role_names = dict(ra_kind.BUILTIN_ROLES)
    for rd in snapshot.items("arm.roleDefinitions"):
        name = (rd.get("properties") or {}).get("roleName")
        if name:
            role_names[ra_kind.role_guid(str(rd.get("name") or rd.get("id") or ""))] = str(name)
    by_scope: dict[str, dict[str, Any]] = {}
    spelled: dict[str, str] = {}
    labels: dict[str, str] = {f"role:{k}": v for k, v in role_names.items()}
    for ra in snapshot.items("arm.roleAssignments"):
        props = ra.get("properties")
        broken = ra_kind._unreadable_assignment(props)
        if broken is not None:
            where = str(ra.get("id") or "").casefold().partition(ra_kind._ASSIGNMENTS)[0] or "/"
            name = f"assignments[unreadable {ra.get('id')}]"
            by_scope.setdefault(where, {})[name] = broken
            spelled.setdefault(where, where)
            continue
        assert isinstance(props, Mapping)
        key, item = ra_kind._assignment(props, "/")
        scope = item["scope"]
        by_scope.setdefault(scope, {})[key] = item
        spelled.setdefault(scope, str(props.get("scope") or "/"))
        ptype = props.get("principalType")
        if ptype:
            labels[f"principal:{item['principalId']}"] = str(ptype)
    return {
        scope: Setting(scope, spelled[scope], spelled[scope], state, labels)
        for scope, state in by_scope.items()
    }


_SCOPES = st.sampled_from(
    [
        "/subscriptions/S1", "/subscriptions/s1/", "/subscriptions/S1/resourceGroups/RG",
        "/subscriptions/s1/resourcegroups/rg/", "/", "", None, 7, "/providers/Microsoft.Management"
        "/managementGroups/mg",
    ]
)  # fmt: skip
_IDS = st.sampled_from(["P1", "p1", "p2", "", None, 3, ["x"]])
_ROLE_IDS = st.sampled_from(
    [
        "/subscriptions/S1/providers/Microsoft.Authorization/roleDefinitions/ABC",
        "/providers/Microsoft.Authorization/roleDefinitions/abc/", "abc", "DEF", "", None, 1.5,
    ]
)  # fmt: skip
_PROPS: st.SearchStrategy[Any] = st.one_of(
    st.fixed_dictionaries(
        {"principalId": _IDS, "roleDefinitionId": _ROLE_IDS},
        optional={
            "scope": _SCOPES,
            "condition": st.sampled_from(["", None, "a  b\n c", "x"]),
            "principalType": st.sampled_from(["User", "", None, "Group"]),
        },
    ),
    st.sampled_from([None, "text", [], {}]),
)
_ASSIGNMENT_ITEMS = st.builds(
    lambda i, props: {
        "id": f"/subscriptions/s1/providers/Microsoft.Authorization/roleAssignments/{i}",
        "properties": props,
    },
    st.integers(0, 5),
    _PROPS,
)


@given(st.lists(_ASSIGNMENT_ITEMS, max_size=12))
def test_role_assignment_index_is_the_plain_one(items: list[dict[str, Any]]) -> None:
    snapshot = Snapshot("t", "", {"arm.roleAssignments": items, "arm.roleDefinitions": []})
    new = get_kind("role-assignments").index(snapshot)
    old = _reference_index(snapshot)
    assert list(new) == list(old)
    for key, setting in old.items():
        assert new[key] == setting
        assert list(new[key].state.items()) == list(setting.state.items())
        assert list(new[key].labels.items()) == list(setting.labels.items())
