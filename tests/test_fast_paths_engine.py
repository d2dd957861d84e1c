"""Fast paths of the engine's stages (issue 10) give the results of the plain code.

Each reference below is the code as it was before it was made fast, kept verbatim (only
renamed, with the module's names qualified); hypothesis compares old and new on generated
inputs, errors included.
"""

from __future__ import annotations

import sys
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftkeeper import engine
from driftkeeper import network as net
from driftkeeper import snapshot as snap_mod
from driftkeeper._diff import diff_states
from driftkeeper._errors import SnapshotError
from driftkeeper._model import Change, Finding
from driftkeeper._state import StateView
from driftkeeper.baseline import Baseline
from driftkeeper.guards import role_counts
from driftkeeper.guards._base import Verdict
from driftkeeper.kinds import get_kind
from driftkeeper.kinds import nsg as nsg_kind
from driftkeeper.kinds import role_assignments as ra_kind
from driftkeeper.kinds._base import FieldError, Setting, keyed
from driftkeeper.snapshot import (
    GROUPS,
    MAX_DEPTH,
    Snapshot,
    is_unreadable,
    json_type,
    shown,
    unreadable,
    why_unreadable,
)

_PAIRS = nsg_kind._PAIRS
_ASGS = nsg_kind._ASGS


# --- references: the code before the fast paths ----------------------------------------------
def _reference_normalize_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
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


def _reference_rules_state(nsg: Mapping[str, Any]) -> tuple[dict[str, Any] | str, dict[str, str]]:
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
        where = f"securityRules[{i}]"
        if not isinstance(rule, Mapping):
            problem = f"expected an object, got {shown(rule)}"
            state[keyed("rules", f"#{i}")] = unreadable(where, problem)
            continue
        name = rule.get("name")
        if not isinstance(name, str) or not name:
            problem = f"expected a name, got {shown(name)}"
            state[keyed("rules", f"#{i}")] = unreadable(f"{where}.name", problem)
            continue
        key = keyed("rules", name.casefold())
        if key in state:
            state[key] = unreadable(f"{where}.name", f"rule {name!r} appears twice")
            names.pop(key, None)
            continue
        try:
            state[key] = _reference_normalize_rule(rule)
            names[key] = name
        except FieldError as exc:
            state[key] = unreadable(exc.path, exc.problem)
    return state, names


def _reference_actual(index: Mapping[str, Setting], key: str) -> Setting | None:
    below = [s for k, s in index.items() if ra_kind._covers(key, k)]
    if not below:  # no assignments left here: an empty state, not a missing resource
        return Setting(key, key, key, {}, ra_kind._BUILTIN_LABELS)
    state: dict[str, Any] = {}
    for setting in below:
        state.update(setting.state)
    spelled = next((s.scope for s in below if s.key == key), None)
    if spelled is None:
        spelled = below[0].scope[: len(key)] if key != "/" else "/"
    return Setting(key, spelled, spelled, state, below[0].labels)


def _reference_evaluate(
    kind: Any, baseline: Baseline, index: Mapping[str, Setting], snapshot: Snapshot
) -> Finding:
    actual = kind.actual(index, baseline.key)
    if actual is None:
        return engine._finding(
            baseline, "drift", kind.missing_message(baseline.scope), (Change("", "exists", None),)
        )
    changes = diff_states(
        kind.comparable(baseline.state, snapshot), kind.comparable(actual.state, snapshot)
    )
    if not changes:
        return engine._finding(
            baseline, "compliant", f"{kind.title} {actual.title} matches its baseline"
        )
    labels = {**baseline.labels, **actual.labels}
    words = [kind.describe(c, labels) for c in changes[: engine.MAX_WORDS]]
    more = len(changes) - engine.MAX_WORDS
    if more > 0:
        words.append(f"and {more} more change{'s' if more > 1 else ''}")
    return engine._finding(
        baseline, "drift", f"{kind.title} {actual.title}: " + "; ".join(words), changes
    )


def _reference_owner_count(view: StateView, params: Mapping[str, Any]) -> Iterator[Verdict]:
    """SubscriptionOwnerCount.check before issue 10."""
    owners: dict[str, set[str]] = {}
    spelled: dict[str, str] = {}
    root: set[str] = set()
    uncounted: dict[str, str] = {}
    for key, setting in view.index("role-assignments").items():
        parts = key.split("/")
        sub = "/".join(parts[:3]) if key.startswith("/subscriptions/") else "/"
        if sub != "/":
            owners.setdefault(sub, set())
            spelled.setdefault(sub, setting.scope[: len(sub)])
        for item in setting.state.values():
            if is_unreadable(item):
                uncounted.setdefault(sub, why_unreadable(item))
        found = {
            i["principalId"]
            for i in setting.state.values()
            if not is_unreadable(i) and i["roleDefinitionId"] == ra_kind.OWNER_ROLE_ID
        }
        if key == "/":
            root |= found
        elif len(parts) == 3 and key.startswith("/subscriptions/"):
            owners[key] |= found
    for sub in sorted(owners):
        why = uncounted.get(sub) or uncounted.get("/")
        if why:
            message = f"subscription Owners cannot be counted: an assignment is unreadable ({why})"
            yield Verdict(spelled[sub], False, message)
            continue
        yield role_counts._verdict(
            spelled[sub], "subscription Owners", len(owners[sub] | root), params
        )


_CONTAINERS = (dict, list)


def _reference_check_depth(source: str, doc: dict[str, Any]) -> None:
    parts: list[tuple[str, Any, int]] = []
    for key, value in doc.items():
        if key in GROUPS and isinstance(value, dict):
            parts += [(f"{key}.{name}", section, 2) for name, section in value.items()]
        else:
            parts.append((str(key), value, 1))
    for where, value, depth in parts:
        level = [value] if isinstance(value, _CONTAINERS) else []
        while level:
            if depth > MAX_DEPTH:
                problem = f"nested too deeply (more than {MAX_DEPTH} levels)"
                raise SnapshotError(source, where, problem)
            below: list[Any] = []
            for node in level:
                children = node.values() if isinstance(node, dict) else node
                below += [c for c in children if isinstance(c, _CONTAINERS)]
            level = below
            depth += 1


def _outcome(call: Any) -> tuple[str, Any]:
    try:
        return ("ok", call())
    except FieldError as exc:
        return ("FieldError", (exc.path, exc.problem))
    except SnapshotError as exc:
        return ("SnapshotError", (exc.source, exc.field, exc.problem, str(exc)))
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        return (type(exc).__name__, str(exc))


def _reference_pair(single: Any, plural: Any, *, ports: bool) -> list[str]:
    """network.canonical_values before it was cached and given its one-value fast paths."""
    values = net.merged_values(single, plural)
    if ports:
        return net.format_ports(net.parse_ports(values))
    found = {net.canonical_prefix(v) for v in values}
    return ["*"] if "*" in found else sorted(found)


# --- NSG rules: any shape --------------------------------------------------------------------
_SPELLED = st.text(alphabet=" ,\t*-10./:8aAnyItS", max_size=12)


@given(
    st.one_of(st.none(), _SPELLED),
    st.one_of(st.none(), st.lists(_SPELLED, max_size=2), st.just(())),
    st.booleans(),
)
def test_canonical_values_of_any_text_are_the_plain_ones(
    single: Any, plural: Any, ports: bool
) -> None:
    old = _outcome(lambda: _reference_pair(single, plural, ports=ports))
    for _ in range(2):  # the second call is answered from the cache
        assert _outcome(lambda: net.canonical_values(single, plural, ports=ports)) == old


@given(st.lists(_SPELLED, max_size=3))
def test_canonical_prefixes_are_the_plain_ones(values: list[str]) -> None:
    def old() -> list[str]:
        found = {net.canonical_prefix(v) for v in values}
        return ["*"] if "*" in found else sorted(found)

    assert _outcome(lambda: net.canonical_prefixes(values)) == _outcome(old)


_TEXT = st.sampled_from(
    ["*", "Any", "22", "3389", "80-80", "8080-8084", "0-65535", "x", "70000", "", " 22 ",
     "Internet", "internet", "10.0.0.0/8", "10.0.0.1/32", "::/0", "bad tag", "a,b", "22,3389",
     "VirtualNetwork", "Storage.WestUS"]
)  # fmt: skip
_ODD = st.sampled_from([0, 1, 1.5, True, False, {}, {"a": 1}, (), ("22",), b"22"])
_VALUE = st.one_of(st.none(), _TEXT, _ODD, st.lists(st.one_of(_TEXT, _ODD), max_size=3))
_ENUM = st.one_of(
    st.sampled_from(["Inbound", "inbound", " Outbound ", "Allow", "deny", "Tcp", "udp", "*"]),
    st.sampled_from(["Any", "ICMP", "Esp", "ah", "bogus", "", "tcp\n"]),
    _VALUE,
)
_PRIORITY = st.one_of(
    st.integers(90, 4100), st.sampled_from([100, 4096, True, 100.0, "100", None, 2**70])
)
_GROUP = st.one_of(
    st.sampled_from(["/subs/X/asg-1", "ASG-2", "", 3, None, {"id": "/Subs/x/ASG-3"}, {"id": 4}]),
    st.sampled_from([{}, {"name": "no id"}, MappingProxyType({"id": "Mapped"}), ["x"]]),
)
_GROUPS = st.one_of(st.none(), st.lists(_GROUP, max_size=3), _ODD, _TEXT)
_PROPS = st.fixed_dictionaries(
    {},
    optional={
        "priority": _PRIORITY,
        "direction": _ENUM,
        "access": _ENUM,
        "protocol": _ENUM,
        **{single: st.one_of(_VALUE, _TEXT) for single, _ in _PAIRS},
        **{plural: st.one_of(_VALUE, st.lists(_TEXT, max_size=3)) for _, plural in _PAIRS},
        **dict.fromkeys(_ASGS, _GROUPS),
        "description": _TEXT,
    },
)
_PLAIN_PROPS = st.fixed_dictionaries(
    {
        "priority": st.integers(100, 4096),
        "direction": st.sampled_from(["Inbound", "outbound"]),
        "access": st.sampled_from(["Allow", "Deny"]),
        "protocol": st.sampled_from(["Tcp", "*", "Udp"]),
    },
    optional={
        **{single: st.one_of(st.none(), _TEXT) for single, _ in _PAIRS},
        **{plural: st.one_of(st.none(), st.lists(_TEXT, max_size=3)) for _, plural in _PAIRS},
        **{asg: st.one_of(st.none(), st.lists(_GROUP, max_size=2)) for asg in _ASGS},
    },
)


def _wrapped(props: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A rule as ARM sends it, flat as az prints it, or in another mapping or shape."""
    return st.one_of(
        st.builds(lambda p: {"name": "r", "properties": p}, props),
        props,
        st.builds(lambda p: {**p, "properties": None}, props),
        st.builds(lambda p: {**p, "properties": {}}, props),
        st.builds(lambda p: MappingProxyType({"properties": p}), props),
        st.builds(lambda p: {"properties": OrderedDict(p)}, props),
        st.builds(lambda p: OrderedDict(p), props),
        st.builds(lambda p: {"properties": [p]}, props),
        st.builds(lambda p: {"properties": "text"}, props),
    )


_ANY_RULE = _wrapped(st.one_of(_PROPS, _PLAIN_PROPS))


@given(_ANY_RULE)
def test_normalize_rule_is_the_plain_one_for_any_shape(rule: Any) -> None:
    new = _outcome(lambda: nsg_kind.normalize_rule(rule))
    old = _outcome(lambda: _reference_normalize_rule(rule))
    assert new == old
    if new[0] == "ok":  # the same fields in the same order (the report shows them in order)
        assert list(new[1].items()) == list(old[1].items())


@given(_wrapped(_PLAIN_PROPS))
def test_normalize_rule_gives_fresh_lists(rule: Any) -> None:
    try:
        first = nsg_kind.normalize_rule(rule)
    except FieldError:
        return
    for value in first.values():
        if isinstance(value, list):
            value.append("mutated")
    assert nsg_kind.normalize_rule(rule) == _reference_normalize_rule(rule)


_NAMES = st.sampled_from(["allow-rdp", "Allow-RDP", "deny", "", None, 3, "x"])
_LISTED_RULE = st.one_of(
    st.builds(lambda n, r: {"name": n, **r} if isinstance(r, dict) else r, _NAMES, _ANY_RULE),
    st.builds(lambda n, p: {"name": n, "properties": p}, _NAMES, _PLAIN_PROPS),
    st.builds(lambda n: MappingProxyType({"name": n, "properties": {}}), _NAMES),
    st.sampled_from(["text", 3, None, [], ["x"]]),
)
_NSG = st.one_of(
    st.builds(lambda rules: {"properties": {"securityRules": rules}}, st.lists(_LISTED_RULE)),
    st.sampled_from(
        [{}, {"properties": None}, {"properties": []}, {"properties": {"securityRules": "x"}}]
    ),
    st.builds(
        lambda rules: {"properties": MappingProxyType({"securityRules": rules})},
        st.lists(_LISTED_RULE, max_size=3),
    ),
)


@given(_NSG)
def test_nsg_rules_state_is_the_plain_one(nsg: Any) -> None:
    new = _outcome(lambda: nsg_kind._rules_state(nsg))
    old = _outcome(lambda: _reference_rules_state(nsg))
    assert new == old
    if new[0] == "ok" and isinstance(new[1][0], dict):
        assert list(new[1][0].items()) == list(old[1][0].items())
        assert list(new[1][1].items()) == list(old[1][1].items())


# --- role assignments: actual(), evaluation and the Owner count -------------------------------
_SUBS = ["/subscriptions/s1", "/subscriptions/s2", "/subscriptions/s10"]
_SCOPE_KEYS = st.sampled_from(
    ["/", "/providers/microsoft.management/managementgroups/mg", *_SUBS,
     "/subscriptions/s1/resourcegroups/rg", "/subscriptions/s1/resourcegroups/rg2",
     "/subscriptions/s1/resourcegroups/rg/providers/microsoft.compute/virtualmachines/vm",
     "/subscriptions/s2/resourcegroups/rg", "/subscriptions/s1x", "/subscriptions/s1/"]
)  # fmt: skip
_OWNER = ra_kind.OWNER_ROLE_ID
_ROLES = st.sampled_from([_OWNER, "acdd72a7-3385-48ef-bd42-f606fba81ae7", "abc"])
_PRINCIPALS = st.sampled_from(["p1", "p2", "p3", "P1"])


def _assignment_items(scope: str) -> st.SearchStrategy[dict[str, Any]]:
    item = st.builds(
        lambda role, who, condition: (
            f"assignments[{role}/{who}@{scope}]",
            {"principalId": who, "roleDefinitionId": role, "scope": scope}
            | ({"condition": condition} if condition else {}),
        ),
        _ROLES,
        _PRINCIPALS,
        st.sampled_from(["", "", "a == b"]),
    )
    broken = st.builds(
        lambda n: (f"assignments[unreadable {n}]", unreadable("properties", "not an object")),
        st.integers(0, 3),
    )
    return st.lists(st.one_of(item, item, broken), max_size=4).map(dict)


@st.composite
def _ra_index(draw: st.DrawFn) -> dict[str, Setting]:
    labels = draw(st.dictionaries(st.sampled_from([f"principal:{p}" for p in ("p1", "p2")]), _TEXT))
    index: dict[str, Setting] = {}
    for key in draw(st.lists(_SCOPE_KEYS, unique=True, max_size=6)):
        spelled = draw(st.sampled_from([key, key.upper()]))
        index[key] = Setting(key, spelled, spelled, draw(_assignment_items(key)), labels)
    return index


@given(_ra_index(), _SCOPE_KEYS)
def test_role_assignments_actual_is_the_plain_one(index: dict[str, Setting], key: str) -> None:
    new = get_kind("role-assignments").actual(index, key)
    old = _reference_actual(index, key)
    assert new == old
    assert new is not None
    assert old is not None
    assert list(new.state.items()) == list(old.state.items())
    assert new.labels is old.labels


def _baseline(key: str, state: dict[str, Any], labels: Mapping[str, str]) -> Baseline:
    return Baseline(
        kind="role-assignments",
        scope=key.upper(),
        key=key,
        name=f"ra{key}",
        file="ra.yaml",
        response="alert",
        severity="high",
        owners=(),
        expected_actors=(),
        expected={},
        state=state,
        labels=labels,
    )


@given(
    _ra_index(),
    _SCOPE_KEYS,
    st.data(),
    st.dictionaries(st.sampled_from(["principal:p1", "principal:p3", "role:abc"]), _TEXT),
)
def test_role_assignment_evaluation_is_the_plain_one(
    index: dict[str, Setting], key: str, data: st.DataObject, labels: dict[str, str]
) -> None:
    state = data.draw(_assignment_items(key))
    baseline = _baseline(key, state, labels)
    kind = get_kind("role-assignments")
    snapshot = Snapshot("t", "", {})
    assert engine.evaluate(kind, baseline, index, snapshot) == _reference_evaluate(
        kind, baseline, index, snapshot
    )


def _ra_snapshot(scopes: Iterable[tuple[str, str, str, bool]]) -> Snapshot:
    items = []
    for i, (scope, role, who, broken) in enumerate(scopes):
        rid = f"{scope.rstrip('/')}/providers/Microsoft.Authorization/roleAssignments/{i}"
        props: Any = "text" if broken else {"scope": scope, "roleDefinitionId": role}
        if not broken:
            props["principalId"] = who
        items.append({"id": rid, "properties": props})
    return Snapshot("t", "", {"arm.roleAssignments": items, "arm.roleDefinitions": []})


_ASSIGNED = st.tuples(
    _SCOPE_KEYS, _ROLES, _PRINCIPALS, st.sampled_from([False, False, False, True])
)


@given(st.lists(_ASSIGNED, max_size=12), st.integers(0, 3), st.integers(1, 4))
def test_subscription_owner_count_is_the_plain_one(
    assigned: list[tuple[str, str, str, bool]], low: int, high: int
) -> None:
    view = StateView(_ra_snapshot(assigned))
    params = {"min": low, "max": high}
    guard = role_counts.SubscriptionOwnerCount()
    assert list(guard.check(view, params)) == list(_reference_owner_count(view, params))


# --- the depth of a snapshot document ---------------------------------------------------------
def _nest(shape: list[str], leaf: Any) -> Any:
    """``leaf`` inside one container per letter of ``shape`` (d: dict, l: list, o:
    OrderedDict, t: a tuple, which is not counted as a container)."""
    value = leaf
    for letter in reversed(shape):
        value = {
            "d": lambda v: {"k": v, "s": "leaf"},
            "l": lambda v: [1, v, "x"],
            "o": lambda v: OrderedDict(k=v),
            "t": lambda v: (v,),
        }[letter](value)
    return value


_SHAPES = st.lists(
    st.sampled_from(["d", "l"]), min_size=MAX_DEPTH - 3, max_size=MAX_DEPTH + 1
).flatmap(
    lambda shape: st.lists(st.sampled_from(["d", "l", "o", "t"]), max_size=2).map(
        lambda extra: shape + extra
    )
)
_LEAVES = st.sampled_from([None, "x", 1, {}, [], [[]], {"a": {}}])
_NESTED = st.builds(_nest, _SHAPES, _LEAVES)
_SECTION = st.one_of(st.lists(st.one_of(_NESTED, st.just({"id": "a"})), max_size=3), _NESTED)


@st.composite
def _documents(draw: st.DrawFn) -> dict[str, Any]:
    doc: dict[str, Any] = {"schema": "driftkeeper.snapshot/1"}
    for group in draw(st.lists(st.sampled_from([*GROUPS, "other", "readErrors"]), unique=True)):
        if group in GROUPS and draw(st.booleans()):
            names = draw(st.lists(st.sampled_from(["a", "b", "c"]), unique=True, max_size=3))
            doc[group] = {name: draw(_SECTION) for name in names}
        else:
            doc[group] = draw(_SECTION)
    return doc


@given(_documents())
def test_check_depth_is_the_plain_one(doc: dict[str, Any]) -> None:
    old = _outcome(lambda: _reference_check_depth("src", doc))
    assert _outcome(lambda: snap_mod._check_depth("src", doc)) == old


@pytest.mark.parametrize("depth", [MAX_DEPTH - 2, MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1])
def test_check_depth_near_the_recursion_limit_walks_level_by_level(depth: int) -> None:
    doc = {"arm": {"a": _nest(["l"] * depth, "x")}, "tenantId": _nest(["d"] * depth, 1)}
    old = _outcome(lambda: _reference_check_depth("src", doc))

    def nested(frames: int) -> tuple[str, Any]:
        if frames:
            return nested(frames - 1)
        return _outcome(lambda: snap_mod._check_depth("src", doc))

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(200)
    try:  # leaves ~20 frames: the depth-first walk needs more, so it falls back
        here = len(_stack())
        assert nested(180 - here) == old
    finally:
        sys.setrecursionlimit(limit)
    assert _outcome(lambda: snap_mod._check_depth("src", doc)) == old


def _stack() -> list[Any]:
    import inspect

    return inspect.stack(0)


_LABELS = st.dictionaries(st.sampled_from(["role:a", "role:b", "principal:p", "x"]), _TEXT)


@given(_LABELS, _LABELS, st.sampled_from(["role:a", "role:b", "principal:p", "x", "y"]))
def test_evaluation_labels_are_the_merged_dict(
    live: dict[str, str], baseline: dict[str, str], key: str
) -> None:
    merged = {**baseline, **live}
    labels = engine._Labels(live, baseline)
    assert labels.get(key) == merged.get(key)
    assert (key in labels) == (key in merged)
    assert list(labels.items()) == list(merged.items())
    assert len(labels) == len(merged)
    assert labels == merged
