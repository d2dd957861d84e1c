"""Red team of the engine fast paths (issue 10): hostile inputs the hypothesis strategies of
tests/test_fast_paths_engine.py do not generate, compared with the code before (kept there
as references), errors included; and the deep-stack fallback of ``_check_depth``."""

from __future__ import annotations

import sys
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import pytest

from driftkeeper import engine
from driftkeeper import network as net
from driftkeeper import snapshot as snap_mod
from driftkeeper._errors import SnapshotError
from driftkeeper.kinds import nsg as nsg_kind
from driftkeeper.kinds import role_assignments as ra_kind
from driftkeeper.kinds._base import FieldError, Setting
from driftkeeper.snapshot import MAX_DEPTH
from tests.test_fast_paths_engine import (
    _outcome,
    _reference_actual,
    _reference_check_depth,
    _reference_normalize_rule,
    _reference_rules_state,
)


class _Str(str):
    pass


class _Dict(dict):  # type: ignore[type-arg]
    pass


def _rule(**changes: Any) -> dict[str, Any]:
    props: dict[str, Any] = {
        "priority": 100,
        "direction": "Inbound",
        "access": "Allow",
        "protocol": "Tcp",
        "sourceAddressPrefix": "*",
        "destinationPortRange": "3389",
    }
    props.update(changes)
    return {k: v for k, v in props.items() if v is not _MISSING}


_MISSING = object()

HOSTILE_PROPS = [
    _rule(priority=True),
    _rule(priority=False),
    _rule(priority=100.0),
    _rule(priority=2**200),
    _rule(priority=-(2**200)),
    _rule(priority=4096),
    _rule(priority=4097),
    _rule(priority=_MISSING),
    _rule(priority=None),
    _rule(direction=_Str("Inbound")),
    _rule(direction=None),
    _rule(direction=_MISSING),
    _rule(direction=" inbound\u00a0"),
    _rule(direction="İnbound"),
    _rule(protocol="ANY"),
    _rule(protocol="\u212aey"),
    _rule(destinationPortRange=_Str("3389")),
    _rule(destinationPortRange="\u0663\u0663\u0668\u0669"),  # Arabic-Indic 3389
    _rule(destinationPortRange="\uff13\uff13\uff18\uff19"),  # fullwidth 3389
    _rule(destinationPortRange="33_89"),
    _rule(destinationPortRange="+3389"),
    _rule(destinationPortRange="3389-22"),
    _rule(destinationPortRange="22 - 3389"),
    _rule(destinationPortRange=" 3389 "),
    _rule(destinationPortRange="\u20033389\u2003"),
    _rule(destinationPortRange="9" * 5000),
    _rule(destinationPortRange="0-65535"),
    _rule(destinationPortRange="65536"),
    _rule(destinationPortRange="", destinationPortRanges=[]),
    _rule(destinationPortRange=",", destinationPortRanges=None),
    _rule(destinationPortRange="22,", destinationPortRanges=["22"]),
    _rule(destinationPortRanges=["22", _Str("23")]),
    _rule(destinationPortRanges=("22",)),
    _rule(sourceAddressPrefix="0.0.0.0/0"),
    _rule(sourceAddressPrefix="0.0.0.0/00"),
    _rule(sourceAddressPrefix="000.0.0.0/0"),
    _rule(sourceAddressPrefix="0/0"),
    _rule(sourceAddressPrefix="::/0"),
    _rule(sourceAddressPrefix="fe80::1%eth0"),
    _rule(sourceAddressPrefix="FE80::1%ETH0/128"),
    _rule(sourceAddressPrefix="10.0.0.1/32\n"),
    _rule(sourceAddressPrefix="INTERNET"),
    _rule(sourceAddressPrefix="inter net"),
    _rule(sourceAddressPrefix="\u212aey"),
    _rule(sourceAddressPrefixes=["10.0.0.1", "10.0.0.1/32"]),
    _rule(sourceAddressPrefixes=["*", "any", "Internet"]),
    _rule(sourceApplicationSecurityGroups=[{"id": "/X/ASG"}, _Dict(id="y")]),
    _rule(sourceApplicationSecurityGroups=[OrderedDict(id="/X/ASG")]),
    _rule(sourceApplicationSecurityGroups=[{"id": None}]),
    _rule(sourceApplicationSecurityGroups=[{}]),
    _rule(sourceApplicationSecurityGroups=[]),
    _rule(sourceApplicationSecurityGroups=[_Str("A")]),
    _rule(sourceApplicationSecurityGroups=({"id": "x"},)),
]


def _shapes(props: dict[str, Any]) -> list[Any]:
    return [
        {"name": "r", "properties": props},
        {"name": "r", **props},
        {"name": "r", **props, "properties": {}},
        {"name": "r", **props, "properties": None},
        {"name": "r", **props, "properties": OrderedDict()},
        {"name": "r", "properties": OrderedDict(props)},
        {"name": "r", "properties": _Dict(props)},
        _Dict({"name": "r", "properties": props}),
        OrderedDict({"name": "r", **props}),
    ]


@pytest.mark.parametrize("props", HOSTILE_PROPS, ids=range(len(HOSTILE_PROPS)))
def test_hostile_rules_normalize_as_before(props: dict[str, Any]) -> None:
    for rule in _shapes(props):
        new = _outcome(lambda r=rule: nsg_kind.normalize_rule(r))
        old = _outcome(lambda r=rule: _reference_normalize_rule(r))
        assert new == old, rule
        # twice: a cache (lru_cache of the enums, of the pairs) answers the same
        assert _outcome(lambda r=rule: nsg_kind.normalize_rule(r)) == old


def test_a_str_subclass_never_poisons_the_pair_cache() -> None:
    """The pair cache keys on equality: a str subclass that spells itself otherwise must not
    leave its answer under the plain string's key."""

    class Liar(str):
        def __str__(self) -> str:
            return "22"

        def strip(self, chars: str | None = None) -> str:
            return "22"

    net._canonical_pair.cache_clear()
    liar = Liar("40123")
    net.canonical_values(liar, None, ports=True)
    assert net.canonical_values("40123", None, ports=True) == ["40123"]


@pytest.mark.parametrize(
    "port",
    ["\u0663\u0663\u0668\u0669", "\uff13\uff13\uff18\uff19", "33_89", "+3389", "\u00b3"],
)
def test_a_port_is_ascii_digits(port: str) -> None:
    """ARM refuses these; read as 3389 they would match a baseline port they are not."""
    with pytest.raises(FieldError):
        nsg_kind.normalize_rule(_rule(destinationPortRange=port))
    with pytest.raises(FieldError):
        nsg_kind.normalize_rule(_rule(destinationPortRange=f"22-{port}"))


def test_hostile_nsgs_rules_state_as_before() -> None:
    rules: list[Any] = [
        {"name": "Allow-RDP", "properties": _rule()},
        {"name": "allow-rdp", "properties": _rule(priority=101)},
        {"name": "ALLOW-RDP", "properties": _rule(priority=True)},
        {"name": "K", "properties": _rule(priority=102)},
        {"name": "\u212a", "properties": _rule(priority=103)},  # Kelvin sign: casefolds to k
        {"name": _Str("s"), "properties": _rule(priority=104)},
        {"name": " ", "properties": _rule(priority=105)},
        _Dict(name="d", properties=_rule(priority=106)),
        OrderedDict(name="o", properties=_rule(priority=107)),
        {"properties": _rule()},
        {"name": None, "properties": _rule()},
        "text",
        None,
    ]
    nsg = {"properties": {"securityRules": rules}}
    assert nsg_kind._rules_state(nsg) == _reference_rules_state(nsg)


# --- role assignments at odd scopes ------------------------------------------------------------
_SCOPES = [
    "/",
    "/subscriptions/a",
    "/subscriptions/ab",
    "/subscriptions/a/resourcegroups/rg",
    "/subscriptions/a/resourcegroups/rg/",
    "/subscriptions/a//x",
    "/providers/microsoft.management/managementgroups/mg",
    "/providers/microsoft.management/managementgroups/mg2",
    "",
    "//",
    "/subscriptions/A",
]


@pytest.mark.parametrize("key", [*_SCOPES, "/subscriptions/a/", "/SUBSCRIPTIONS/a", "/sub"])
def test_actual_at_odd_scopes_as_before(key: str) -> None:
    kind = ra_kind.RoleAssignments()
    index = {
        k: Setting(k, k.upper() or "?", k, {f"item:{k}": {"principalId": "p"}}, {"l": k})
        for k in _SCOPES
    }
    new, old = kind.actual(index, key), _reference_actual(index, key)
    assert new == old


# --- labels ------------------------------------------------------------------------------------
def test_labels_view_is_the_merged_dict() -> None:
    live = {"a": "live-a", "both": "live", "": "empty"}
    base = {"b": "base-b", "both": "base", "\u212a": "kelvin"}
    merged = {**base, **live}
    view = engine._Labels(live, base)
    assert dict(view) == merged
    assert list(view) == list(merged)
    assert len(view) == len(merged)
    assert view == merged
    assert sorted(view.items()) == sorted(merged.items())
    for key in [*merged, "k", "missing", ""]:
        assert (key in view) == (key in merged)
        assert view.get(key) == merged.get(key)
        assert view.get(key, "d") == merged.get(key, "d")
    with pytest.raises(KeyError):
        view["missing"]
    with pytest.raises(TypeError):
        view.get([])  # type: ignore[call-overload]
    assert {**view} == merged


# --- snapshot depth ------------------------------------------------------------------------------
def _nested(levels: int, mixed: bool = True) -> Any:
    value: Any = "leaf"
    for n in range(levels):
        value = [value] if mixed and n % 2 else {"k": value}
    return value


def _docs() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for levels in (MAX_DEPTH - 2, MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1, MAX_DEPTH + 2):
        for mixed in (True, False):
            docs.append({"top": _nested(levels, mixed)})
            docs.append({"arm": {"sec": _nested(levels, mixed)}})
            docs.append({"arm": {"ok": [], "sec": [{"a": 1}, _nested(levels, mixed)]}})
    docs.append({"arm": "not a group"})
    docs.append({"arm": {}, "graph": {"x": _nested(MAX_DEPTH - 1)}})
    return docs


@pytest.mark.parametrize("doc", _docs(), ids=range(len(_docs())))
def test_depth_right_at_the_limit_as_before(doc: dict[str, Any]) -> None:
    new = _outcome(lambda: snap_mod._check_depth("s", doc))
    old = _outcome(lambda: _reference_check_depth("s", doc))
    assert new == old


def _at_margin(margin: int, call: Callable[[], None]) -> tuple[str, Any]:
    """``call`` run with only ``margin`` frames left below the recursion limit."""
    limit = sys.getrecursionlimit()

    def dive(n: int) -> tuple[str, Any]:
        if n > 0:
            return dive(n - 1)
        try:
            return _outcome(call)
        except RecursionError:
            return ("RecursionError", None)

    depth = len(_frames())
    try:
        sys.setrecursionlimit(depth + 40 + margin)
        return dive(40 - 5)
    except RecursionError:  # the harness itself ran out: neither code was reached
        return ("RecursionError", None)
    finally:
        sys.setrecursionlimit(limit)


def _frames() -> list[Any]:
    frame, out = sys._getframe(), []
    while frame is not None:
        out.append(frame)
        frame = frame.f_back  # type: ignore[assignment]
    return out


@pytest.mark.parametrize("margin", range(12))
def test_depth_from_a_deep_stack_as_before(margin: int) -> None:
    """Called near the recursion limit the new walk falls back to the level walk: wherever
    the old code answered, the new one answers the same."""
    for doc in ({"arm": {"sec": _nested(MAX_DEPTH)}}, {"arm": {"sec": _nested(MAX_DEPTH + 1)}}):
        old = _at_margin(margin, lambda d=doc: _reference_check_depth("s", d))  # type: ignore[misc]
        new = _at_margin(margin, lambda d=doc: snap_mod._check_depth("s", d))  # type: ignore[misc]
        if old[0] != "RecursionError":
            assert new == old, (margin, old, new)


def test_snapshot_error_type() -> None:
    with pytest.raises(SnapshotError):
        snap_mod._check_depth("s", {"x": _nested(MAX_DEPTH + 1)})
