"""NSG rules: the custom security rules of one network security group.

Truth: ARM ``Microsoft.Network/networkSecurityGroups`` (with ``securityRules``). Default
rules are fixed by Azure and not watched. Volatile fields (id, etag, provisioningState,
type) are dropped; a rule's ``description`` is documentation and is not compared.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from .. import network as net
from .._model import Change
from ..signals import Signal
from ..snapshot import Snapshot
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
from ._reads import ArmSection, az_wrap

__all__ = ["NSGS", "NsgRules", "normalize_rule", "rule_words"]

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
    props: Mapping[str, Any] = rule.get("properties") or rule
    priority = props.get("priority")
    if not isinstance(priority, int) or isinstance(priority, bool):
        raise FieldError("priority", f"expected an integer 100-4096, got {priority!r}")
    out: dict[str, Any] = {"priority": priority}
    for field, canon in (
        ("direction", net.canonical_direction),
        ("access", net.canonical_access),
        ("protocol", net.canonical_protocol),
    ):
        if props.get(field) is None:
            raise FieldError(field, "is required")
        try:
            out[field] = canon(props[field])
        except ValueError as exc:
            raise FieldError(field, f"{exc}, got {props[field]!r}") from None
    for single, plural in _PAIRS:
        values = net.merged_values(props.get(single), props.get(plural))
        try:
            if "Port" in single:
                out[plural] = net.canonical_ports(values)
            else:
                out[plural] = net.canonical_prefixes(values)
        except ValueError as exc:
            raise FieldError(plural, str(exc)) from None
    for asg in _ASGS:
        ids = sorted(
            str(g.get("id", "") if isinstance(g, Mapping) else g).casefold()
            for g in (props.get(asg) or [])
        )
        if ids:
            out[asg] = ids
    return out


def rule_words(rule: Mapping[str, Any]) -> str:
    """``Allow Tcp 3389 from Internet (inbound, priority 100)``."""
    ports = ", ".join(rule.get("destinationPortRanges") or ["*"])
    sources = ", ".join(rule.get("sourceAddressPrefixes") or ["*"])
    direction = str(rule.get("direction", "")).lower()
    return (
        f"{rule.get('access')} {rule.get('protocol')} {ports} from {sources} "
        f"({direction}, priority {rule.get('priority')})"
    )


@register
class NsgRules(Kind):
    name = "nsg"
    title = "NSG"
    reads = (NSGS,)
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
            rules = (nsg.get("properties") or {}).get("securityRules") or []
            state = {}
            for rule in rules:
                name = str(rule.get("name", ""))
                try:
                    state[keyed("rules", name.casefold())] = normalize_rule(rule)
                except FieldError as exc:
                    # Live data we cannot read precisely is kept verbatim: it still differs.
                    state[keyed("rules", name.casefold())] = {"unreadable": str(exc)}
            out[self.scope_key(scope)] = Setting(
                key=self.scope_key(scope),
                scope=scope,
                title=str(nsg.get("name", scope.rsplit("/", 1)[-1])),
                state=state,
                raw=rules,
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
        for rule in sorted(setting.raw, key=lambda r: str(r.get("name", "")).casefold()):
            key = keyed("rules", str(rule.get("name", "")).casefold())
            if "unreadable" in setting.state[key]:
                # not written: the file must load; the scan then shows the rule as drift
                log.warning("%s: rule %r not captured: %s", setting.scope, rule.get("name"),
                            setting.state[key]["unreadable"])  # fmt: skip
                continue
            rules.append({"name": rule.get("name"), **setting.state[key]})
        return {"rules": rules}

    def slug(self, setting: Setting) -> str:
        parts = setting.scope.split("/")
        group = parts[4] if len(parts) > 4 else ""
        sub = parts[2][:8] if len(parts) > 2 else ""
        return "-".join(p for p in (sub, group, setting.title) if p).casefold()

    def describe(self, change: Change, labels: Mapping[str, str]) -> str:
        _, name = item_key(change.path)
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
