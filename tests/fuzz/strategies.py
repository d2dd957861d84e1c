"""Hypothesis strategies for hostile inputs, shared by the fuzz tests.

Every strategy draws from values that break something somewhere: wrong JSON types in every
field, huge (up to 1 MB) and deeply nested values, control characters, lone UTF-16
surrogates, bidi overrides, bogus times, ``data`` that is a string but not JSON, URL-ish and
``../`` resource ids. Documents mix hostile fields into otherwise plausible ones, so most of
them get past the first check and reach the deeper stages (routing, reads, records).

``FUZZ_ITEMS`` (``DRIFTKEEPER_FUZZ_ITEMS``, default 400) is the number of items each fuzz
test pushes through its path; ``make fuzz`` raises it to 10,000.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

import yaml
from hypothesis import strategies as st

__all__ = [
    "FUZZ_ITEMS",
    "MB",
    "audit_records",
    "broken_baselines",
    "broken_snapshots",
    "cloud_events",
    "dumps",
    "event_documents",
    "grid_events",
    "hostile_text",
    "hostile_values",
    "resource_ids",
    "times",
]

FUZZ_ITEMS = int(os.environ.get("DRIFTKEEPER_FUZZ_ITEMS", "320"))
"""Items per fuzz path (``make test``: a few hundred; ``make fuzz``: 10,000)."""
MB = 1024 * 1024

SUB = "6f1c2a3b-4d5e-4f60-8a91-b2c3d4e5f607"
RG = f"/subscriptions/{SUB}/resourceGroups/rg-web-prod"
NSG = f"{RG}/providers/Microsoft.Network/networkSecurityGroups/nsg-web-prod"
ROLE_SCOPE = f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleAssignments/0001"
WRITE = "Microsoft.Resources.ResourceWriteSuccess"
EVENT_TYPES = (
    WRITE,
    "Microsoft.Resources.ResourceDeleteSuccess",
    "Microsoft.Resources.ResourceActionSuccess",
    "Microsoft.Resources.ResourceWriteFailure",
    "Microsoft.Graph.UserUpdated",
    "Microsoft.Graph.GroupDeleted",
    "Microsoft.Graph.",
    "microsoft.resources.resourcewritesuccess",
)

# characters that break parsers, terminals, tables and URLs
NASTY_CHARS = (
    "\x00", "\x07", "\x1b[31m", "\r\n", "\t", "\x7f", "\x85", "\u2028", "\ufeff",
    "\ud800", "\udfff", "\udbff\udc00", "\u202e", "\u2066", "\u200f", "\u0301" * 50,
    "/", "\\", "#", "?", "%", "%2F", "%2e%2e", "..", "'", '"', "<script>", "{", "}",
    "&", "=", "@", "*", "|", "~", "😀", "\U0010ffff", "İ", "ß", "ǅ",
)  # fmt: skip


def dumps(value: Any) -> str:
    """JSON text of ``value``; ``"[]"`` for one nested deeper than Python's encoder goes."""
    try:
        return json.dumps(value)
    except RecursionError:
        return "[]"


def _big(unit: str, n: int) -> str:
    return (unit * (n // max(len(unit), 1) + 1))[:n]


def _nested(depth: int, leaf: Any, as_list: bool) -> Any:
    value = leaf
    for _ in range(depth):
        value = [value] if as_list else {"a": value}
    return value


nasty_chars = st.sampled_from(NASTY_CHARS)
huge_text = st.builds(
    _big,
    st.sampled_from(["a", "\ud800", "\u202e/", "../", "\x00", "é", "😀", "{"]),
    st.sampled_from([5_000, 33_000, 70_000, 300_000, MB]),
)
hostile_text: st.SearchStrategy[str] = st.one_of(
    st.text(max_size=40),
    st.lists(st.one_of(nasty_chars, st.text(max_size=6)), max_size=12).map("".join),
    st.sampled_from(["", " ", "null", "None", "0", "-1", "NaN", "{}", "[]", "{not json"]),
    huge_text,
)
deep_values = st.builds(
    _nested,
    st.sampled_from([20, 150]),  # deeper: tests/test_intake.py (hypothesis cannot print it)
    st.sampled_from(["x", "\ud800", 1]),
    st.booleans(),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    hostile_text,
)
hostile_values: st.SearchStrategy[Any] = st.one_of(
    scalars,
    deep_values,
    st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3), st.dictionaries(hostile_text, inner, max_size=3)
        ),
        max_leaves=6,
    ),
)

times = st.one_of(
    st.just("2026-11-22T03:01:12.5512345Z"),
    st.sampled_from(
        [
            "2026-11-22T03:01:12.5512345Z",
            "2026-11-22T03:01:12Z",
            "2026-11-22T03:01:12+14:00",
            "2026-11-22",
            "2026-13-45T99:99:99Z",
            "0001-01-01T00:00:00Z",
            "1600-01-01T00:00:00Z",
            "9999-12-31T23:59:59.9999999Z",
            "2126-01-01T00:00:00Z",
            "2026-11-22T03:01:12",
            "yesterday",
            "1732244472",
            "2026-11-22T03:01:12.5512345Z\x00",
            "\uff12\uff10\uff12\uff16-11-22T03:01:12Z",  # full-width digits
        ]
    ),
    hostile_text,
)

_SEGMENT = st.sampled_from(
    ["nsg-web-prod", "..", ".", "", "%2e%2e", "a/b", "a?b=c", "x#frag", "\ud800", "\u202e", "~"]
)
resource_ids = st.one_of(
    st.sampled_from([NSG, f"{NSG}/securityRules/allow-rdp-temp", ROLE_SCOPE, "/"]),
    st.builds(lambda s: f"{NSG}/securityRules/{s}", _SEGMENT),
    st.builds(
        lambda s: (
            f"/subscriptions/{SUB}/resourceGroups/{s}/providers/"
            f"Microsoft.Network/networkSecurityGroups/{s}"
        ),
        _SEGMENT,
    ),
    st.builds(lambda s: NSG.upper() + s, _SEGMENT),
    st.builds(lambda s: f"{NSG}/../../../{s}", _SEGMENT),
    st.sampled_from(
        [
            f"https://management.azure.com{NSG}",
            f"//evil.example{NSG}",
            f"{NSG}?api-version=1&$filter=x",
            f"{NSG}#x",
            f"/subscriptions/{SUB}/resourceGroups/../providers/Microsoft.Network/networkSecurityGroups/x",
            f"/subscriptions/{SUB}%2F..%2F/providers/Microsoft.Authorization/roleAssignments/x",
            f"/SUBSCRIPTIONS/{SUB.upper()}/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.NETWORK/NETWORKSECURITYGROUPS/N",
            "file:///etc/passwd",
            "../../../../etc/passwd",
        ]
    ),
    st.builds(lambda s: NSG + "/" + s, huge_text),
    hostile_values,
)


def _maybe(value: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly a plausible value, sometimes anything at all."""
    return st.one_of(value, value, value, hostile_values)


_ids = st.one_of(st.uuids().map(str), st.uuids().map(str), hostile_text)
_texts = st.one_of(st.just("mallory@contoso.example"), hostile_text)


def _claims() -> st.SearchStrategy[Any]:
    return _maybe(
        st.fixed_dictionaries(
            {
                "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn": _texts,
                "appid": _maybe(st.just("04b07795-8ddb-461a-bbee-02f9e1bf7b46")),
            },
            optional={"oid": hostile_values, "ipaddr": _maybe(st.just("203.0.113.45"))},
        )
    )


_resource_body = st.fixed_dictionaries(
    {
        "resourceUri": resource_ids,
        "operationName": _maybe(st.just("Microsoft.Network/networkSecurityGroups/write")),
        "claims": st.one_of(_claims(), _claims().map(dumps)),
    },
    optional={
        "authorization": _maybe(
            st.fixed_dictionaries({"action": _texts, "evidence": hostile_values})
        ),
        "httpRequest": st.one_of(hostile_values, st.just('{"clientIpAddress": 1}')),
        "correlationId": _maybe(_ids),
        "resource": resource_ids,
        "resourceData": st.one_of(hostile_values, st.fixed_dictionaries({"id": _maybe(_ids)})),
        "changeType": _maybe(st.just("updated")),
    },
)
_data = st.one_of(
    _resource_body,
    _resource_body,
    _resource_body,
    _resource_body.map(dumps),  # data as a JSON string
    st.sampled_from(["not json", "{not json", "{", "[1,2]", '{"a": NaN}', ""]),
    hostile_values,
)


@st.composite
def _document(
    draw: Any, fields: dict[str, st.SearchStrategy[Any]], extra: dict[str, st.SearchStrategy[Any]]
) -> dict[str, Any]:
    """Every field of ``fields`` (plausible), then up to three of them dropped or replaced
    by a hostile value of any type, and some ``extra`` fields."""
    doc = {name: draw(strategy) for name, strategy in fields.items()}
    for name in draw(st.lists(st.sampled_from(sorted(fields)), max_size=3, unique=True)):
        if draw(st.booleans()):
            del doc[name]
        else:
            doc[name] = draw(hostile_values)
    for name in draw(st.lists(st.sampled_from(sorted(extra)), max_size=1, unique=True)):
        doc[name] = draw(extra[name])
    return doc


grid_events = _document(
    {
        "id": _ids,
        "eventType": st.sampled_from(EVENT_TYPES),
        "subject": resource_ids,
        "eventTime": times,
        "data": _data,
    },
    {"topic": hostile_values, "dataVersion": hostile_values},
)

cloud_events = _document(
    {
        "id": _ids,
        "type": st.sampled_from(EVENT_TYPES),
        "source": resource_ids,
        "subject": resource_ids,
        "time": times,
        "data": _data,
    },
    {"data_base64": hostile_values, "Bad-Extension": hostile_values, "ext": hostile_values},
).map(lambda d: {"specversion": "1.0", **d})

_targets = st.lists(
    st.fixed_dictionaries(
        {"id": _maybe(_ids), "type": _maybe(st.sampled_from(["User", "Policy", "Role"]))},
        optional={
            "modifiedProperties": st.one_of(
                hostile_values,
                st.lists(
                    st.fixed_dictionaries(
                        {"displayName": st.just("Role.TemplateId"), "newValue": _maybe(_texts)}
                    ),
                    max_size=2,
                ),
            ),
        },
    ),
    max_size=3,
)
audit_records = _document(
    {
        "id": _ids,
        "activityDateTime": times,
        "activityDisplayName": st.sampled_from(
            ["Add member to role", "Update conditional access policy", "\u202eelor"]
        ),
        "category": st.sampled_from(["RoleManagement", "Policy"]),
        "result": _maybe(st.sampled_from(["success", "failure", "timeout"])),
        "initiatedBy": _maybe(
            st.fixed_dictionaries({"user": st.fixed_dictionaries({"userPrincipalName": _texts})})
        ),
        "targetResources": _maybe(_targets),
        "correlationId": _maybe(_ids),
        "loggedByService": _maybe(st.just("Core Directory")),
    },
    {"targetResource": _targets},
)

event_documents: st.SearchStrategy[Any] = st.one_of(
    grid_events, grid_events, cloud_events, audit_records, hostile_values
)
"""Anything an events file (``replay``) may hold as one item."""


# --- baselines and snapshots ---------------------------------------------------------------
# Each strategy breaks one field of a good document, so the field the error must name is known.

_KNOWN_KINDS = ("nsg", "role-assignments", "directory-role", "conditional-access-policy",
                "security-defaults", "authentication-methods", "guard")  # fmt: skip
_DUMPER: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # the pure one takes seconds


def _yaml(doc: Any) -> str:
    """YAML text of ``doc`` (libyaml's emitter; the pure one for what libyaml cannot encode)."""
    try:
        text: str = yaml.dump(doc, Dumper=_DUMPER, width=1 << 30)
    except UnicodeEncodeError:  # a lone surrogate: the pure emitter escapes it
        text = yaml.safe_dump(doc, width=1 << 30)
    return text


_PLAIN_PATH = re.compile(r"/[A-Za-z0-9/_.()~@:+-]*")
_not_a_list = hostile_values.filter(lambda v: not isinstance(v, list))
_not_text = hostile_values.filter(lambda v: not isinstance(v, str))


def _bad_scope(value: Any) -> bool:
    if value == "/":  # the root scope: valid (tenant-wide role assignments)
        return False
    if not isinstance(value, str) or not _PLAIN_PATH.fullmatch(value):
        return True
    return any(seg in ("", ".", "..") for seg in value.split("/")[1:])


BASELINE_BREAKS: dict[str, st.SearchStrategy[Any]] = {
    "kind": hostile_values.filter(lambda v: v not in _KNOWN_KINDS),
    "severity": hostile_values.filter(lambda v: v not in ("low", "medium", "high", "critical")),
    "response": hostile_values.filter(lambda v: v not in ("alert", "approve", "auto")),
    "scope": st.one_of(resource_ids, hostile_values).filter(_bad_scope),
    "expected": hostile_values.filter(lambda v: not isinstance(v, dict)),
    "expected.rules": _not_a_list,
    "owners": st.one_of(_not_a_list, st.lists(_not_text, min_size=1, max_size=2)),
    "expectedActors": st.one_of(_not_a_list, st.lists(_not_text, min_size=1, max_size=2)),
}
"""Field -> values it never accepts."""


@st.composite
def broken_baselines(draw: Any, good: dict[str, Any]) -> tuple[str, str]:
    """(YAML text, field the error must name): ``good`` with one field broken, removed, an
    unknown field added, or YAML that does not parse appended."""
    doc = json.loads(json.dumps(good))
    how = draw(st.sampled_from(["value", "value", "value", "missing", "unknown", "syntax"]))
    if how == "missing":
        field = draw(st.sampled_from(["scope", "expected"]))
        del doc[field]
    elif how == "unknown":
        field = "(document)"
        doc[draw(hostile_text.filter(lambda k: k not in good and len(k) < 200))] = 1
    elif how == "syntax":
        junk = draw(st.sampled_from(["\x00", "key: [unclosed", "\t- x", "a: b: c", "{", "@x"]))
        return _yaml(doc) + junk + "\n", ""
    else:
        field = draw(st.sampled_from(sorted(BASELINE_BREAKS)))
        value = draw(BASELINE_BREAKS[field])
        if field == "expected.rules":
            doc["expected"]["rules"] = value
        else:
            doc[field] = value
    return _yaml(doc), field


SNAPSHOT_BREAKS: dict[str, st.SearchStrategy[Any]] = {
    "schema": hostile_values.filter(lambda v: v != "driftkeeper.snapshot/1"),
    "tenantId": _not_text.filter(lambda v: v is not None),
    "arm": hostile_values.filter(lambda v: not isinstance(v, dict) and v is not None),
    "graph": hostile_values.filter(lambda v: not isinstance(v, dict) and v is not None),
}


@st.composite
def broken_snapshots(draw: Any, good: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """(snapshot document, field the error must name): ``good`` with one field broken."""
    doc = json.loads(json.dumps(good))
    if draw(st.booleans()):
        field = draw(st.sampled_from(sorted(SNAPSHOT_BREAKS)))
        doc[field] = draw(SNAPSHOT_BREAKS[field])
        return doc, field
    group = draw(st.sampled_from(["arm", "graph"]))
    lists = sorted(k for k, v in good[group].items() if isinstance(v, list))
    section = draw(st.sampled_from(lists))
    if draw(st.booleans()):
        doc[group][section] = draw(_not_a_list.filter(lambda v: v is not None))
        return doc, f"{group}.{section}"
    items = doc[group][section]
    at = draw(st.integers(0, len(items)))
    items.insert(at, draw(hostile_values.filter(lambda v: not isinstance(v, dict))))
    return doc, f"{group}.{section}[{at}]"
