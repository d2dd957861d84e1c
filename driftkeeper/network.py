"""Canonical forms of NSG rule values: ports, address prefixes, protocols and enums.

Two rules that Azure treats alike get the same canonical form here, so comparing them never
reports false drift:

- ports: ``"80"``, ``["80"]``, ``"80-80"``; ``["8080-8084", "8085"]`` and ``["8080-8085"]``;
  ``"*"`` and ``"0-65535"``; singular ``...PortRange`` and plural ``...PortRanges`` merged;
- prefixes: ``"*"`` and ``"Any"``; service tags in any case (``internet`` / ``Internet``);
  ``10.0.0.1/32`` and ``10.0.0.1``; IPv6 in any spelling;
- enums (protocol, access, direction) in any case; protocol ``Any`` is ``*``.

``Internet``, ``*`` and ``0.0.0.0/0`` stay distinct values (they are different rules); the
internet-exposure guard treats each of them as the internet.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence
from functools import lru_cache

__all__ = [
    "ALL_PORTS",
    "PortSet",
    "cached_ports",
    "canonical_access",
    "canonical_direction",
    "canonical_prefix",
    "canonical_prefixes",
    "canonical_protocol",
    "canonical_values",
    "merged_values",
    "plain_canonical_values",
]

MAX_PORT = 65535
PortSet = tuple[tuple[int, int], ...]
ALL_PORTS: PortSet = ((0, MAX_PORT),)

_PROTOCOLS = {p.casefold(): p for p in ("Tcp", "Udp", "Icmp", "Esp", "Ah", "*")}
_PROTOCOLS["any"] = "*"
_ACCESS = {"allow": "Allow", "deny": "Deny"}
_DIRECTION = {"inbound": "Inbound", "outbound": "Outbound"}
_ANY = frozenset({"*", "any"})
_KNOWN_TAGS = {
    t.casefold(): t
    for t in (
        "Internet",
        "VirtualNetwork",
        "AzureLoadBalancer",
        "AzureCloud",
        "AzureTrafficManager",
        "Storage",
        "Sql",
        "AzureActiveDirectory",
        "AzureMonitor",
        "AzureFrontDoor.Backend",
        "GatewayManager",
        "ApiManagement",
    )
}


def _enum(value: object, table: dict[str, str], what: str) -> str:
    text = str(value).strip()
    try:
        return table[text.casefold()]
    except KeyError:
        raise ValueError(f"expected a {what} ({', '.join(sorted(set(table.values())))})") from None


def canonical_protocol(value: object) -> str:
    """``tcp``/``TCP``/``Tcp`` -> ``Tcp``; ``Any``/``*`` -> ``*``."""
    return _enum(value, _PROTOCOLS, "protocol")


def canonical_access(value: object) -> str:
    return _enum(value, _ACCESS, "access")


def canonical_direction(value: object) -> str:
    return _enum(value, _DIRECTION, "direction")


def merged_values(single: object, plural: object) -> list[str]:
    """The values of a singular/plural pair (``destinationPortRange(s)``) as one list.

    ``None``, ``""`` and ``[]`` contribute nothing; a comma-separated singular value is split.
    """
    values: list[str] = []
    for part in (single, plural):
        if part is None or part == "":
            continue
        items: Iterable[object] = part if isinstance(part, list | tuple) else (part,)
        for item in items:
            if item is None:
                continue
            values.extend(v.strip() for v in str(item).split(",") if v.strip())
    return values


def parse_ports(values: Sequence[str]) -> PortSet:
    """Merge port strings into sorted, non-overlapping, non-adjacent intervals.

    Raises :class:`ValueError` for anything that is not ``*``, a port or a ``lo-hi`` range.
    """
    spans: list[tuple[int, int]] = []
    for value in values:
        text = value.strip()
        if text.casefold() in _ANY:
            return ALL_PORTS
        lo_text, sep, hi_text = text.partition("-")
        try:
            lo = _port(lo_text)
            hi = _port(hi_text) if sep else lo
        except ValueError:
            raise ValueError(f"expected a port, a range lo-hi or '*', got {value!r}") from None
        if not (0 <= lo <= hi <= MAX_PORT):
            raise ValueError(f"expected ports within 0-{MAX_PORT} with lo <= hi, got {value!r}")
        spans.append((lo, hi))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for lo, hi in spans:
        if merged and lo <= merged[-1][1] + 1:
            if hi > merged[-1][1]:
                merged[-1] = (merged[-1][0], hi)
        else:
            merged.append((lo, hi))
    return tuple(merged)


def _port(text: str) -> int:
    """A port of ASCII digits (``int()`` alone also takes ``+22``, ``2_2`` and other
    scripts' digits, which ARM refuses)."""
    digits = text.strip()
    if not (digits.isascii() and digits.isdigit()):
        raise ValueError(text)
    return int(digits)


def format_ports(ports: PortSet) -> list[str]:
    """Intervals back to the strings ARM uses: ``["*"]`` or ``["22", "8080-8085"]``."""
    if ports == ALL_PORTS:
        return ["*"]
    return [str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in ports]


def canonical_ports(values: Sequence[str]) -> list[str]:
    return format_ports(parse_ports(values))


@lru_cache(maxsize=65536)
def cached_ports(values: tuple[str, ...]) -> PortSet:
    """:func:`parse_ports` of a tuple, remembered (ValueError is raised, never cached)."""
    return parse_ports(values)


_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_PLAIN_V4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}(/(?:3[0-2]|[12]?[0-9]))?")
"""An IPv4 address or CIDR already spelled as ``ipaddress`` spells it (no leading zeros)."""


def canonical_prefix(value: str) -> str:
    """The canonical spelling of one address prefix, service tag or ``*``."""
    text = value.strip()
    plain = _PLAIN_V4.fullmatch(text)
    if plain is not None:  # what ipaddress answers, without its cost
        return text[: plain.start(1)] if plain[1] == "/32" else text
    folded = text.casefold()
    if folded in _ANY:
        return "*"
    if folded in _KNOWN_TAGS:
        return _KNOWN_TAGS[folded]
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
    return folded  # another service tag (Storage.WestUS ...): tags are case-insensitive


def canonical_prefixes(values: Sequence[str]) -> list[str]:
    if len(values) == 1:  # most rules name one prefix: nothing to merge or sort
        return [_cached_prefix(values[0])]
    found = {_cached_prefix(v) for v in values}
    return ["*"] if "*" in found else sorted(found)


_cached_prefix = lru_cache(maxsize=65536)(canonical_prefix)
""":func:`canonical_prefix`, remembered: a tenant repeats the same few prefixes."""


@lru_cache(maxsize=65536)
def _canonical_pair(
    single: str | None, plural: tuple[str, ...] | None, ports: bool
) -> tuple[str, ...]:
    if not plural and type(single) is str and "," not in single:
        text = single.strip()  # merged_values() of one value, without its general loop
        values = [text] if text else []
    else:
        values = merged_values(single, plural)
    return tuple(canonical_ports(values) if ports else canonical_prefixes(values))


def canonical_values(single: str | None, plural: Sequence[str] | None, *, ports: bool) -> list[str]:
    """The canonical list of a singular/plural pair of port ranges (``ports``) or address
    prefixes: ``canonical_ports`` / ``canonical_prefixes`` of :func:`merged_values`, each
    distinct pair computed once (a tenant repeats the same few). Raises :class:`ValueError`
    as they do."""
    many = None if plural is None else tuple(plural)
    if (single is None or type(single) is str) and (
        many is None or all(type(v) is str for v in many)
    ):
        return list(_canonical_pair(single, many, ports))
    # a str subclass is never a key of the cache: it equals the plain string, and could
    # leave its own reading (its str(), its strip()) as the plain string's answer
    return list(_canonical_pair.__wrapped__(single, many, ports))


def plain_canonical_values(
    single: str | None, plural: list[str] | None, *, ports: bool
) -> list[str]:
    """:func:`canonical_values` of values the caller has checked are ``None`` or exact
    ``str`` (a list of them): the cache without the type checks."""
    return list(_canonical_pair(single, None if plural is None else tuple(plural), ports))
