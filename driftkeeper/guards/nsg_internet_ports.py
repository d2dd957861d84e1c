"""No inbound Allow from the internet to management and database ports.

Sources: CIS Microsoft Azure Foundations Benchmark v2.x, section 6 (Networking): "Ensure
that RDP access from the Internet is evaluated and restricted" (6.1), "... SSH access ..."
(6.2); Azure Policy built-ins "Management ports should be closed
on your virtual machines" and "All network ports should be restricted on network security
groups associated to your virtual machine".

A rule exposes a port when it is an inbound Allow whose source admits the internet (``*``,
``Any``, ``Internet``, ``0.0.0.0/0``, ``::/0``) for Tcp, Udp or ``*``, and no Deny rule with
a higher priority (lower number) from the internet to the same destination and protocol
covers that port first.

Fail closed: a rule the NSG kind could not read (a priority that is not an integer, a port
range out of bounds ...) cannot be judged, so its NSG is not compliant; the verdict names the
rule and why.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from .. import network as net
from .._model import Change
from .._state import StateView
from ..kinds._base import item_key
from ..kinds.nsg import NSGS, NsgRules, rule_words
from ..snapshot import is_unreadable, unreadable, why_unreadable
from . import Guard, Verdict, register

__all__ = ["DEFAULT_PORTS", "InternetManagementPorts", "exposed_ports", "unreadable_rules"]

DEFAULT_PORTS = (
    20, 21, 22, 23, 135, 139, 445, 1433, 1434, 1521, 2375, 2376, 3306, 3389, 5432, 5900,
    5985, 5986, 6379, 9200, 11211, 27017,
)  # fmt: skip
_PROTOCOLS = ("*", "Tcp", "Udp")


_WHOLE = {4: ipaddress.ip_network("0.0.0.0/0"), 6: ipaddress.ip_network("::/0")}


def internet_families(prefixes: Iterable[str]) -> frozenset[int]:
    """The IP versions (4, 6) whose whole internet a rule's source prefixes admit.

    ``*`` and ``Internet`` admit both; CIDRs admit a version when together they cover its
    whole address space (``0.0.0.0/1`` + ``128.0.0.0/1`` is ``0.0.0.0/0``). No prefix at all
    means the rule matches application security groups: not the internet. Each distinct
    list of prefixes is judged once (a tenant repeats the same few).
    """
    return _families(tuple(prefixes))


@lru_cache(maxsize=65536)
def _families(prefixes: tuple[str, ...]) -> frozenset[int]:
    if not _may_cover(prefixes):
        return frozenset()
    networks: dict[int, list[Any]] = {4: [], 6: []}
    for prefix in prefixes:
        if prefix in ("*", "Internet"):
            return frozenset(_WHOLE)
        try:
            network = ipaddress.ip_network(prefix, strict=False)
        except ValueError:
            continue  # another service tag: a part of Azure, not the internet
        networks[network.version].append(network)
    return frozenset(
        version
        for version, found in networks.items()
        if found and list(ipaddress.collapse_addresses(found)) == [_WHOLE[version]]
    )


def _may_cover(prefixes: tuple[str, ...]) -> bool:
    """False when the prefixes cannot admit a whole IP version, judged without ``ipaddress``:
    ``*`` / ``Internet`` absent, and the sizes of the CIDRs of each version (a prefix of
    another spelling, such as a netmask, counted as the whole space) add up to less than it.
    """
    room = {4: 0, 6: 0}
    for prefix in prefixes:
        if prefix in ("*", "Internet"):
            return True
        version, bits = (6, 128) if ":" in prefix else (4, 32)
        _, slash, length = prefix.partition("/")
        if not slash:
            size = 1  # an address: ip_network() makes it a /32 or /128
        elif length.isascii() and length.isdigit() and int(length) <= bits:
            size = 2 ** (bits - int(length))
        else:
            size = 2**bits
        room[version] += size
    return room[4] >= 2**32 or room[6] >= 2**128


def _ports(rule: Mapping[str, Any]) -> net.PortSet:
    try:
        return net.cached_ports(tuple(rule.get("destinationPortRanges") or ("*",)))
    except ValueError:
        return net.ALL_PORTS  # unreadable ports: assume the worst


def _same_destination(deny: Mapping[str, Any], allow: Mapping[str, Any]) -> bool:
    """Whether the Deny's destination contains the Allow's (prefixes, or the same ASGs)."""
    deny_dest = set(deny.get("destinationAddressPrefixes") or [])
    allow_dest = set(allow.get("destinationAddressPrefixes") or [])
    if deny_dest:
        return "*" in deny_dest or (bool(allow_dest) and allow_dest <= deny_dest)
    deny_asgs = set(deny.get("destinationApplicationSecurityGroups") or [])
    allow_asgs = set(allow.get("destinationApplicationSecurityGroups") or [])
    return not allow_dest and bool(allow_asgs) and allow_asgs <= deny_asgs


def _covered(port: int, spans: net.PortSet) -> bool:
    return any(lo <= port <= hi for lo, hi in spans)


@lru_cache(maxsize=65536)
def _covered_ports(ports: tuple[int, ...], spans: net.PortSet) -> tuple[int, ...]:
    """The ``ports`` (sorted) that ``spans`` cover, each distinct pair computed once."""
    return tuple(p for p in ports if _covered(p, spans))


@lru_cache(maxsize=65536)
def _uncovered_ports(ports: tuple[int, ...], spans: net.PortSet) -> tuple[int, ...]:
    return tuple(p for p in ports if not _covered(p, spans))


def exposed_ports(
    rules: Mapping[str, Any] | str, watched: Iterable[int]
) -> list[tuple[str, Mapping[str, Any], list[int]]]:
    """(rule key, rule, ports) for every readable rule that opens a watched port to the
    internet (see :func:`unreadable_rules` for the others).

    Each IP version is judged on its own: a Deny from ``::/0`` leaves IPv4 open.
    """
    if not isinstance(rules, Mapping):
        return []  # unreadable as a whole
    inbound = sorted(
        (
            (key, rule)
            for key, rule in rules.items()
            if not is_unreadable(rule) and rule.get("direction") == "Inbound"
        ),
        key=lambda kv: kv[1]["priority"],
    )
    watching = tuple(sorted(set(watched)))
    found = []
    for i, (key, rule) in enumerate(inbound):
        if rule["access"] != "Allow" or rule["protocol"] not in _PROTOCOLS:
            continue
        families = internet_families(rule.get("sourceAddressPrefixes") or [])
        spans = _ports(rule)
        exposed: set[int] = set()
        for family in families:
            ports = _covered_ports(watching, spans)
            for _, deny in inbound[:i]:
                if not ports:
                    break
                if (
                    deny["access"] == "Deny"
                    and deny["priority"] < rule["priority"]
                    and deny["protocol"] in ("*", rule["protocol"])
                    and family in internet_families(deny.get("sourceAddressPrefixes") or [])
                    and _same_destination(deny, rule)
                ):
                    deny_spans = _ports(deny)
                    ports = _uncovered_ports(ports, deny_spans)
            exposed.update(ports)
        if exposed:
            found.append((key, rule, sorted(exposed)))
    return found


def unreadable_rules(rules: Mapping[str, Any] | str) -> list[tuple[str, str]]:
    """(rule key, why) for every rule the NSG kind could not read (``""``: its rules as a
    whole): they cannot be judged."""
    if not isinstance(rules, Mapping):
        return [("", why_unreadable(rules))]
    return [(key, why_unreadable(rule)) for key, rule in rules.items() if is_unreadable(rule)]


@register
class InternetManagementPorts(Guard):
    name = "nsg-internet-management-ports"
    kind = NsgRules.name
    title = "Inbound Allow from the internet to management or database ports"
    responsibility = "network-controls"
    layer = "perimeter"
    source = "CIS Microsoft Azure Foundations Benchmark 6.1-6.2; Azure Policy built-ins"
    default_severity = "critical"
    sections = (NSGS.name,)
    params_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "ports": {
                "type": "array",
                "items": {"type": "integer", "minimum": 0, "maximum": 65535},
                "minItems": 1,
            }
        },
    }
    defaults = {"ports": list(DEFAULT_PORTS)}

    def check(self, view: StateView, params: Mapping[str, Any]) -> Iterable[Verdict]:
        for setting in view.index(self.kind).values():
            exposures = exposed_ports(setting.state, params["ports"])
            unread = unreadable_rules(setting.state)
            if not exposures and not unread:
                yield Verdict(setting.scope, True, f"NSG {setting.title}: no exposed ports")
                continue
            changes = []
            words = []
            for key, why in unread:
                _, name = item_key(key)
                what = f"rule '{name}'" if key else "its rules"
                words.append(f"{what} cannot be judged ({why})")
                changes.append(Change(key, "readable rules", unreadable("", why)))
            for key, rule, ports in exposures:
                _, name = item_key(key)
                listed = ", ".join(str(p) for p in ports)
                words.append(f"rule '{name}' opens {listed} to the internet")
                changes.append(
                    Change(
                        f"{key}",
                        f"no inbound Allow from the internet to {listed}",
                        rule_words(rule),
                    )
                )
            yield Verdict(
                setting.scope, False, f"NSG {setting.title}: " + "; ".join(words), tuple(changes)
            )
