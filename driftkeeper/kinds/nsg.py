"""NSG rules: the custom security rules of one network security group.

Truth: ARM ``Microsoft.Network/networkSecurityGroups`` (with ``securityRules``). Default
rules are fixed by Azure and not watched. Volatile fields (id, etag, provisioningState,
type) are dropped; a rule's ``description`` is documentation and is not compared.

A live rule that cannot be read (a value of the wrong shape, a rule that is not an object or
has no name, a name that appears twice) is kept as :func:`~driftkeeper.snapshot.unreadable`
state under its name (``rules[<name>]``, or ``rules[#<index>]`` without one); an NSG whose
``properties`` or ``securityRules`` has the wrong shape has an unreadable state as a whole.
Either differs from every baseline and is never written by ``baseline capture``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from .. import network as net
from .._model import Change
from ..rollback._plan import CannotPlan, Drift, Step, Write
from ..signals import Signal
from ..snapshot import Snapshot, is_unreadable, json_type, shown, unreadable, why_unreadable
from . import register
from ._base import (
    ARM_CHANGES,
    FieldError,
    Index,
    Kind,
    Setting,
    Signals,
    Touch,
    item_key,
    keyed,
    require_list,
    short_value,
)
from ._reads import ArmSection, az_wrap, segment

__all__ = ["DEFAULT_RULES", "NSGS", "NsgRules", "normalize_rule", "rule_body", "rule_words"]

log = logging.getLogger(__name__)


def _from_az(item: dict[str, Any]) -> dict[str, Any]:
    """``az network nsg list`` prints NSGs and their rules flat."""
    nsg = az_wrap(item)
    props = nsg["properties"]
    for rules in ("securityRules", "defaultSecurityRules"):
        if isinstance(props.get(rules), list):
            props[rules] = [
                r if not isinstance(r, dict) or "properties" in r else az_wrap(r)
                for r in props[rules]
            ]
    return nsg


NSGS = ArmSection(
    "arm.networkSecurityGroups",
    resource_type="Microsoft.Network/networkSecurityGroups",
    api_version="2024-05-01",
    list_path="/subscriptions/{subscription}/providers/Microsoft.Network/networkSecurityGroups",
    get_path="/subscriptions/{subscription}/resourceGroups/{resourceGroup}"
    "/providers/Microsoft.Network/networkSecurityGroups/{name}",
    from_az=_from_az,
)

_PAIRS = (
    ("sourceAddressPrefix", "sourceAddressPrefixes"),
    ("sourcePortRange", "sourcePortRanges"),
    ("destinationAddressPrefix", "destinationAddressPrefixes"),
    ("destinationPortRange", "destinationPortRanges"),
)
_ASGS = ("sourceApplicationSecurityGroups", "destinationApplicationSecurityGroups")

_RULE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "priority": {"type": "integer", "minimum": 100, "maximum": 4096},
        "direction": {"type": "string"},
        "access": {"type": "string"},
        "protocol": {"type": "string"},
        "description": {"type": "string"},
        **{name: {"type": ["string", "null"]} for name, _ in _PAIRS},
        **{
            plural: {"type": ["array", "null"], "items": {"type": "string"}} for _, plural in _PAIRS
        },
        **{
            asg: {"type": ["array", "null"], "items": {"type": ["string", "object"]}}
            for asg in _ASGS
        },
        "properties": {"type": "object"},
    },
}


def normalize_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    """The comparable form of one security rule, REST (properties-wrapped) or flat.

    Raises :class:`FieldError` naming the field for a value that cannot be a rule's.
    """
    if type(rule) is dict:  # the plain JSON shape: answered without the general checks
        props = rule.get("properties")
        if props is None or (type(props) is dict and not props):
            props = rule
        if type(props) is dict:
            plain = _plain_rule(props)
            if plain is not None:
                return plain
    return _general_rule(rule)


_ENUMS = (
    ("direction", lru_cache(maxsize=1024)(net.canonical_direction)),
    ("access", lru_cache(maxsize=1024)(net.canonical_access)),
    ("protocol", lru_cache(maxsize=1024)(net.canonical_protocol)),
)
"""The enum fields with their canonical forms, remembered (ValueError is never cached)."""
_PAIR_PORTS = tuple((single, plural, "Port" in single) for single, plural in _PAIRS)


def _plain_rule(props: dict[str, Any]) -> dict[str, Any] | None:
    """:func:`normalize_rule` of rule properties made only of exact ``int``, ``str``,
    ``list`` of ``str``, ``None`` and application security groups as ``{"id": str}`` or
    ids: 20,000 rules are normalized per scan of a large tenant. None for anything else (a
    subclass, a value the general code refuses): :func:`_general_rule` then answers, errors
    included."""
    priority = props.get("priority")
    if type(priority) is not int or not 100 <= priority <= 4096:
        return None
    out: dict[str, Any] = {"priority": priority}
    try:
        for field, canon in _ENUMS:
            value = props.get(field)
            if type(value) is not str:
                return None
            out[field] = canon(value)
        for single, plural, ports in _PAIR_PORTS:
            one, many = props.get(single), props.get(plural)
            if one is not None and type(one) is not str:
                return None
            if many is not None:
                if type(many) is not list:
                    return None
                for value in many:
                    if type(value) is not str:
                        return None
            out[plural] = net.plain_canonical_values(one, many, ports=ports)
    except ValueError:
        return None
    for asg in _ASGS:
        groups = props.get(asg)
        if groups is None:
            continue
        if type(groups) is not list:
            return None
        ids = []
        for group in groups:  # {"id": ...} as ARM sends them, or the id itself
            found = group.get("id", "") if type(group) is dict else group
            if type(found) is not str:
                return None
            ids.append(found.casefold())
        if ids:
            out[asg] = sorted(ids)
    return out


def _general_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`normalize_rule` of any shape (the code before the fast path)."""
    props: Any = rule.get("properties")
    if props is None or (isinstance(props, Mapping) and not props):
        props = rule  # the flat shape
    if not isinstance(props, Mapping):
        raise FieldError("properties", f"expected an object, got {json_type(props)}")
    priority = props.get("priority")
    if not isinstance(priority, int) or isinstance(priority, bool) or not 100 <= priority <= 4096:
        raise FieldError("priority", f"expected an integer 100-4096, got {shown(priority)}")
    out: dict[str, Any] = {"priority": priority}
    for field, canon in (
        ("direction", net.canonical_direction),
        ("access", net.canonical_access),
        ("protocol", net.canonical_protocol),
    ):
        if props.get(field) is None:
            raise FieldError(field, "is required")
        try:
            if not isinstance(props[field], str):
                raise ValueError(f"expected a string, got {json_type(props[field])}")
            out[field] = canon(props[field])
        except ValueError as exc:
            raise FieldError(field, f"{exc}, got {shown(props[field])}") from None
    for single, plural in _PAIRS:
        one, many = props.get(single), props.get(plural)
        if one is not None and not isinstance(one, str):
            raise FieldError(single, f"expected a string, got {shown(one)}")
        if many is not None and not (
            isinstance(many, list) and all(isinstance(v, str) for v in many)
        ):
            raise FieldError(plural, f"expected a list of strings, got {shown(many)}")
        try:
            out[plural] = net.canonical_values(one, many, ports="Port" in single)
        except ValueError as exc:
            raise FieldError(plural, str(exc)) from None
    for asg in _ASGS:
        groups = props.get(asg)
        groups = [] if groups is None else groups
        if not isinstance(groups, list):
            raise FieldError(asg, f"expected a list, got {json_type(groups)}")
        ids = [g.get("id", "") if isinstance(g, Mapping) else g for g in groups]
        if not all(isinstance(i, str) for i in ids):
            raise FieldError(asg, f"expected ids (strings), got {shown(groups)}")
        if ids:
            out[asg] = sorted(i.casefold() for i in ids)
    return out


def rule_body(rule: Mapping[str, Any], description: str = "") -> dict[str, Any]:
    """A normalized rule as ARM's ``securityRules`` PUT takes it (``{"properties": {...}}``).

    A single value goes in the singular field (ARM refuses ``*`` and service tags in the
    plural ones), several in the plural field; application security groups by id.
    """
    props: dict[str, Any] = {
        field: rule[field] for field in ("priority", "direction", "access", "protocol")
    }
    if description:
        props["description"] = description
    for single, plural in _PAIRS:
        values = list(rule.get(plural) or [])
        if len(values) == 1:
            props[single] = values[0]
        elif values:
            props[plural] = values
    for asg in _ASGS:
        if rule.get(asg):
            props[asg] = [{"id": i} for i in rule[asg]]
    return {"properties": props}


DEFAULT_RULES = frozenset(
    name.casefold()
    for name in (
        "AllowVnetInBound",
        "AllowAzureLoadBalancerInBound",
        "DenyAllInBound",
        "AllowVnetOutBound",
        "AllowInternetOutBound",
        "DenyAllOutBound",
    )
)
"""The names of Azure's default rules (casefolded): a plan never writes or deletes one."""
_RULE_PATH = "{networkSecurityGroup id}/securityRules/{name}"
WRITE_RULE = Write(
    "arm",
    "PUT",
    _RULE_PATH,
    "Microsoft.Network/networkSecurityGroups/securityRules/write",
    "recreate a removed rule, or put a changed rule back as the baseline has it",
)
DELETE_RULE = Write(
    "arm",
    "DELETE",
    _RULE_PATH,
    "Microsoft.Network/networkSecurityGroups/securityRules/delete",
    "remove a rule the baseline does not have",
)


def rule_words(rule: Mapping[str, Any]) -> str:
    """``Allow Tcp 3389 from Internet (inbound, priority 100)``."""
    ports = ", ".join(rule.get("destinationPortRanges") or ["*"])
    sources = ", ".join(rule.get("sourceAddressPrefixes") or ["*"])
    direction = str(rule.get("direction", "")).lower()
    return (
        f"{rule.get('access')} {rule.get('protocol')} {ports} from {sources} "
        f"({direction}, priority {rule.get('priority')})"
    )


def _rules_state(nsg: Mapping[str, Any]) -> tuple[dict[str, Any] | str, dict[str, str]]:
    """The normalized rules of one NSG by key (or :func:`unreadable`, when its rules are not
    a list), and each readable rule's name as spelled."""
    props = nsg.get("properties", {})
    if not isinstance(props, Mapping):
        return unreadable("properties", f"expected an object, got {shown(props)}"), {}
    rules = props.get("securityRules")
    rules = [] if rules is None else rules
    if not isinstance(rules, list):
        return unreadable("properties.securityRules", f"expected a list, got {shown(rules)}"), {}
    state: dict[str, Any] = {}
    names: dict[str, str] = {}
    for i, rule in enumerate(rules):
        # type() first: isinstance() of an ABC is slow, and a JSON object is a dict
        if type(rule) is not dict and not isinstance(rule, Mapping):
            problem = f"expected an object, got {shown(rule)}"
            state[keyed("rules", f"#{i}")] = unreadable(f"securityRules[{i}]", problem)
            continue
        name = rule.get("name")
        if not isinstance(name, str) or not name:
            problem = f"expected a name, got {shown(name)}"
            state[keyed("rules", f"#{i}")] = unreadable(f"securityRules[{i}].name", problem)
            continue
        key = keyed("rules", name.casefold())
        if key in state:
            problem = f"rule {name!r} appears twice"
            state[key] = unreadable(f"securityRules[{i}].name", problem)
            names.pop(key, None)
            continue
        try:
            state[key] = normalize_rule(rule)
            names[key] = name
        except FieldError as exc:
            # Live data we cannot read precisely is kept as unreadable: it still differs.
            state[key] = unreadable(exc.path, exc.problem)
    return state, names


def _by_name(item: tuple[str, Any]) -> str:
    """Order of a capture: by the (casefolded) name inside ``rules[...]`` / ``methods[...]``."""
    return item[0].partition("[")[2][:-1]


@register
class NsgRules(Kind):
    name = "nsg"
    title = "NSG"
    responsibility = "network-controls"
    layer = "network"
    reads = (NSGS,)
    writes = (WRITE_RULE, DELETE_RULE)
    signals = Signals(
        event_types=ARM_CHANGES,
        resource_types=(NSGS.resource_type, f"{NSGS.resource_type}/securityRules"),
    )
    default_severity = "high"
    expected_schema = {
        "type": "object",
        "required": ["rules"],
        "additionalProperties": False,
        "properties": {"rules": {"type": "array", "items": _RULE_SCHEMA}},
    }

    def index(self, snapshot: Snapshot) -> Index:
        out: dict[str, Setting] = {}
        for nsg in snapshot.items("arm.networkSecurityGroups"):
            scope = str(nsg.get("id", ""))
            state, names = _rules_state(nsg)
            name = nsg.get("name")
            out[self.scope_key(scope)] = Setting(
                key=self.scope_key(scope),
                scope=scope,
                title=name if isinstance(name, str) and name else scope.rsplit("/", 1)[-1],
                state=state,
                raw=names,
            )
        return out

    def route(self, signal: Signal, baselines: Mapping[str, Any]) -> list[Touch]:
        if not self.signals.may_touch(signal):
            return []
        nsg_id = re.split(r"/securityRules/", signal.resource, maxsplit=1, flags=re.IGNORECASE)[0]
        if NSGS.get_request(nsg_id) is None:
            return []
        return [Touch(self.name, nsg_id, self.scope_key(nsg_id))]

    def expected_state(self, expected: Mapping[str, Any], scope_key: str) -> Any:
        state: dict[str, Any] = {}
        for i, rule in enumerate(require_list(expected.get("rules"), "rules")):
            name = str(rule.get("name", ""))
            key = keyed("rules", name.casefold())
            if key in state:
                raise FieldError(f"rules[{i}].name", f"rule {name!r} appears twice")
            try:
                state[key] = normalize_rule(rule)
            except FieldError as exc:
                raise FieldError(f"rules[{i}].{exc.path}", exc.problem) from None
        return state

    def to_expected(self, setting: Setting) -> dict[str, Any]:
        rules = []
        for key, value in sorted(setting.state.items(), key=_by_name):
            if is_unreadable(value):
                # not written: the file must load; the scan then shows the rule as drift
                log.warning("%s: %s not captured: %s", setting.scope, key, why_unreadable(value))
                continue
            rules.append({"name": setting.raw[key], **value})
        return {"rules": rules}

    def plan(self, drift: Drift) -> Sequence[Step] | CannotPlan:
        """Rule by rule, never the whole NSG: DELETE each rule the baseline lacks, then PUT
        each changed or missing rule as the baseline has it, ordered so that no PUT takes a
        priority another rule still holds (see :func:`plan_rules`)."""
        live = drift.live
        if live is None:
            return CannotPlan("the NSG no longer exists: a rollback restores rules, never an NSG")
        if is_unreadable(live.state):
            return CannotPlan(f"the NSG's rules cannot be read ({why_unreadable(live.state)})")
        template = NSGS.get_template
        found = template.match(live.scope) if template else None
        if template is None or found is None:
            return CannotPlan(f"not an NSG id: {live.scope}")
        base = template.fill(**found) + "/securityRules/"
        spelled: dict[str, str] = {}
        described: dict[str, str] = {}
        for raw in require_list(drift.baseline.expected.get("rules"), "rules"):
            key = keyed("rules", str(raw.get("name", "")).casefold())
            spelled[key] = str(raw.get("name", ""))
            props = raw.get("properties") if isinstance(raw.get("properties"), Mapping) else raw
            described[key] = str(props.get("description") or "")
        names = {**{k: item_key(k)[1] for k in live.state}, **live.raw, **spelled}
        ordered = plan_rules(drift.baseline.state, live.state, names)
        if isinstance(ordered, CannotPlan):
            return ordered
        deletes, puts = ordered
        steps: list[Step] = []
        endpoints = drift.endpoints
        for key in deletes:
            url = endpoints.arm_url(base + segment("name", names[key]), NSGS.api_version)
            steps.append(DELETE_RULE.step(url, None))
        for key in puts:
            url = endpoints.arm_url(base + segment("name", names[key]), NSGS.api_version)
            body = rule_body(drift.baseline.state[key], described.get(key, ""))
            steps.append(WRITE_RULE.step(url, body))
        return steps

    def slug(self, setting: Setting) -> str:
        parts = setting.scope.split("/")
        group = parts[4] if len(parts) > 4 else ""
        sub = parts[2][:8] if len(parts) > 2 else ""
        return "-".join(p for p in (sub, group, setting.title) if p).casefold()

    def describe(self, change: Change, labels: Mapping[str, str]) -> str:
        _, name = item_key(change.path)
        if is_unreadable(change.actual):
            what = f"rule '{name}'" if change.path else "the rules"
            return f"{what} cannot be read ({why_unreadable(change.actual)})"
        if "]." not in change.path:
            if change.expected is None:
                return f"rule '{name}' added: {rule_words(change.actual)}"
            if change.actual is None:
                return f"rule '{name}' removed (was {rule_words(change.expected)})"
        field = change.path.split("].", 1)[-1]
        return (
            f"rule '{name}' {field} changed from {short_value(change.expected)} "
            f"to {short_value(change.actual)}"
        )


def plan_rules(
    expected: Mapping[str, Any], actual: Mapping[str, Any], names: Mapping[str, str]
) -> tuple[list[str], list[str]] | CannotPlan:
    """Which rules (state keys) to DELETE and which to PUT, in order, or why it cannot be done.

    Priorities are unique per direction, and a PUT taking a priority that another rule holds
    fails. So: every DELETE first; a PUT after the PUT that moves the rule holding its
    priority away; a priority held by a rule the plan leaves alone, two baseline rules on one
    priority, or rules that would swap priorities (a cycle) cannot proceed.
    """
    deletes = sorted(k for k in actual if k not in expected)
    puts = sorted(k for k in expected if actual.get(k) != expected[k])
    for key in deletes + puts:
        name = names.get(key, key)
        if key.startswith("rules[#"):
            return CannotPlan(f"a live rule has no name a request could address ({key})")
        if name.casefold() in DEFAULT_RULES:
            return CannotPlan(f"rule '{name}' has the name of a default rule: never written")

    def slot(rule: Any) -> tuple[str, int] | None:
        if not isinstance(rule, Mapping):
            return None
        return (str(rule["direction"]), int(rule["priority"]))

    holders = {slot(actual[k]): k for k in actual if k not in deletes}
    after: dict[str, str] = {}
    for key in puts:
        place = slot(expected[key])
        holder = holders.get(place)
        if holder is None or holder == key:
            continue
        if holder not in puts:
            assert place is not None
            return CannotPlan(
                f"rule '{names.get(key, key)}' needs priority {place[1]} ({place[0].lower()}), "
                f"which rule '{names.get(holder, holder)}' holds and this plan does not change"
            )
        after[key] = holder  # PUT the holder (moving it away) first
    final: dict[tuple[str, int] | None, str] = {}
    for key in expected:
        place = slot(expected[key])
        if place in final:
            return CannotPlan(
                f"the baseline gives rules '{names.get(final[place], final[place])}' and "
                f"'{names.get(key, key)}' the same priority {place[1] if place else ''}"
            )
        final[place] = key
    ordered: list[str] = []
    done: set[str] = set()
    for key in puts:
        chain: list[str] = []
        while key not in done:
            if key in chain:
                cycle = "', '".join(names.get(k, k) for k in chain[chain.index(key) :])
                return CannotPlan(
                    f"rules '{cycle}' would swap priorities: restore them by hand "
                    "(an intermediate priority is needed)"
                )
            chain.append(key)
            if key not in after or after[key] in done:
                break
            key = after[key]
        for item in reversed(chain):
            if item not in done:
                done.add(item)
                ordered.append(item)
    return deletes, ordered
