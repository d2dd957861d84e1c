"""The fast paths give what the reference path gives, for generated baseline documents.

- validation: the compiled validator (fastjsonschema) never accepts a document jsonschema
  refuses (when it refuses, jsonschema decides and explains, so errors are the same);
- loading: a compiled bundle gives the same BaselineSet as reading every file's YAML, and
  compiling fails with the same error as loading.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from driftkeeper import BaselineError
from driftkeeper.baseline import _fast_valid, _schema_validator, compile_bundle, load_baselines
from driftkeeper.guards import all_guards

from .test_baseline import GOOD_RULE, NSG

JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 5000),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.text(max_size=8),
    st.lists(st.text(max_size=4), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)
PRIORITY = st.one_of(st.integers(90, 4100), st.just(True), st.just(100.0), st.text(max_size=3))
RULE = st.fixed_dictionaries(
    {"name": st.one_of(st.sampled_from(["a", "B", "web"]), st.text(max_size=3), JUNK)},
    optional={
        "priority": PRIORITY,
        "direction": st.one_of(st.sampled_from(["Inbound", "outbound", "up"]), JUNK),
        "access": st.one_of(st.sampled_from(["Allow", "Deny"]), JUNK),
        "protocol": st.one_of(st.sampled_from(["Tcp", "*", "udp", "Icmp"]), JUNK),
        "destinationPortRanges": st.one_of(
            st.lists(st.sampled_from(["443", "80-90", "*", "x"]), max_size=3), JUNK
        ),
        "sourceAddressPrefix": st.one_of(st.sampled_from(["*", "10.0.0.0/8", "Internet"]), JUNK),
    },
)
ROLE_ROW = st.fixed_dictionaries(
    {
        "principalId": st.sampled_from(["p1", "P1", "p2"]),
        "roleDefinitionId": st.sampled_from(["r1", "/x/roleDefinitions/r2"]),
    },
    optional={"role": st.text(max_size=5), "principalType": st.sampled_from(["User", "Group"])},
)
COMMON = {
    "name": st.one_of(st.text(max_size=6), JUNK),
    "response": st.one_of(st.sampled_from(["alert", "approve", "auto", "rollback"]), JUNK),
    "severity": st.one_of(st.sampled_from(["low", "high", "critical", "urgent"]), JUNK),
    "approvals": st.one_of(st.sampled_from([1, 2, 3, True, 1.0, "1"]), JUNK),
    "owners": st.one_of(st.lists(st.text(max_size=4), max_size=2), JUNK),
    "expectedActors": st.one_of(st.lists(st.text(max_size=4), max_size=2), JUNK),
    "description": st.one_of(st.text(max_size=6), JUNK),
    "respnse": JUNK,
}
NSG_DOC = st.fixed_dictionaries(
    {
        "kind": st.just("nsg"),
        "scope": st.sampled_from([NSG, NSG + "2", "relative", "/a/../b"]),
        "expected": st.one_of(
            st.fixed_dictionaries({"rules": st.lists(st.one_of(st.just(GOOD_RULE), RULE))}),
            JUNK,
        ),
    },
    optional=COMMON,
)
RA_DOC = st.fixed_dictionaries(
    {
        "kind": st.just("role-assignments"),
        "scope": st.sampled_from(["/subscriptions/s", "/", "/subscriptions/s/resourceGroups/g"]),
        "expected": st.one_of(
            st.fixed_dictionaries({"assignments": st.lists(ROLE_ROW, max_size=4)}), JUNK
        ),
    },
    optional=COMMON,
)
GUARD_DOC = st.fixed_dictionaries(
    {"kind": st.just("guard"), "guard": st.one_of(st.sampled_from(sorted(all_guards())), JUNK)},
    optional={
        "enabled": st.one_of(st.booleans(), JUNK),
        "params": st.one_of(
            st.dictionaries(st.sampled_from(["ports", "max", "min", "x"]), JUNK, max_size=2), JUNK
        ),
        **COMMON,
    },
)
DOC: Any = st.one_of(
    NSG_DOC,
    RA_DOC,
    GUARD_DOC,
    st.dictionaries(st.sampled_from(["kind", "scope", "expected", "guard"]), JUNK),
)


@settings(max_examples=400, deadline=None)
@given(DOC)
def test_the_compiled_validator_never_accepts_what_jsonschema_refuses(doc: Any) -> None:
    if _fast_valid(doc):
        assert _schema_validator().is_valid(doc), doc


def _outcome(action: Any) -> Any:
    try:
        return action()
    except BaselineError as exc:
        return str(exc)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(DOC, min_size=1, max_size=4))
def test_a_compiled_bundle_loads_what_the_yaml_gives(docs: list[Any]) -> None:
    with tempfile.TemporaryDirectory() as name:
        root = Path(name)
        for i, doc in enumerate(docs):
            (root / f"b{i}.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
        reference = _outcome(lambda: load_baselines(root, use_bundle=False))
        compiled = _outcome(lambda: compile_bundle(root))
        if isinstance(reference, str):
            assert compiled == reference
        else:
            assert not isinstance(compiled, str), compiled
            assert load_baselines(root) == reference
