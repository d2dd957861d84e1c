"""One Conditional Access policy.

Truth: Graph ``/identity/conditionalAccess/policies``. Everything the policy says is
watched (state, conditions, grant and session controls, displayName); a setting present
live but absent from the baseline is drift. Volatile fields (id, created/modified times,
templateId, ``@odata.*``) are dropped; null / [] / false / absent fold together; lists
compare as sets; enum and id values compare case-insensitively (displayName exactly).
A live policy without a ``state``, or whose ``displayName``, ``state``, ``conditions``,
``grantControls`` or ``sessionControls`` has the wrong shape, holds unreadable state there
(:func:`~driftkeeper.snapshot.unreadable`): it differs from every baseline and is not captured.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .._diff import fold
from .._model import Change
from ..rollback._plan import CannotPlan, Drift, Step, Write
from ..signals import Signal
from ..snapshot import Snapshot, is_unreadable, json_type, shown, unreadable, why_unreadable
from . import register
from ._base import Index, Kind, Setting, Signals, Touch, list_delta, short_value, slugify
from ._reads import GraphSection

__all__ = [
    "POLICIES",
    "ConditionalAccessPolicy",
    "normalize_policy",
    "patch_value",
    "policy_body",
]

log = logging.getLogger(__name__)

PREFIX = "/identity/conditionalAccess/policies/"
POLICIES = GraphSection(
    "graph.conditionalAccessPolicies",
    "/identity/conditionalAccess/policies",
    get_path=PREFIX + "{id}",
)
_VOLATILE = frozenset({"id", "templateId"})
_TIMESTAMPS = frozenset({"createdDateTime", "modifiedDateTime", "deletedDateTime"})
"""Dropped at any depth (an authentication strength carries its own)."""
_REPORT_ONLY = "enabledForReportingButNotEnforced"
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


_SHAPES: Mapping[str, type] = {
    "displayName": str,
    "state": str,
    "conditions": dict,
    "grantControls": dict,
    "sessionControls": dict,
}
"""The top-level fields a baseline holds, and their JSON type."""


def _read_policy(policy: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`normalize_policy`, with a field of the wrong shape (or no state) unreadable."""
    state = normalize_policy(policy)
    for name, shape in _SHAPES.items():
        if name in state and not isinstance(state[name], shape):
            expected = "a string" if shape is str else "an object"
            got = f"{json_type(policy[name])} {shown(policy[name])}"
            state[name] = unreadable(name, f"expected {expected}, got {got}")
    if "state" not in state:
        state["state"] = unreadable("state", "missing")
    return state


def _case_insensitive(key: str) -> bool:
    return key != "displayName"


def policy_body(policy: Mapping[str, Any]) -> dict[str, Any]:
    """The policy as written in a baseline: volatile fields dropped, empties folded."""
    body = fold(dict(policy), drop=_VOLATILE, drop_anywhere=_TIMESTAMPS)
    assert isinstance(body, dict)
    return body


def normalize_policy(policy: Mapping[str, Any]) -> dict[str, Any]:
    """The comparable form of a policy (also case-folded)."""
    body = fold(dict(policy), drop=_VOLATILE, drop_anywhere=_TIMESTAMPS, casefold=_case_insensitive)
    assert isinstance(body, dict)
    return body


_WRITE = "Policy.ReadWrite.ConditionalAccess"
CREATE_POLICY = Write(
    "graph", "POST", POLICIES.path, _WRITE, "recreate a deleted policy (under a new id)"
)
PATCH_POLICY = Write(
    "graph", "PATCH", POLICIES.get_path, _WRITE, "put a changed policy back as the baseline has it"
)


def patch_value(expected: Any, live: Any) -> Any:
    """``expected`` as a PATCH carries it whole: every key the live object has and the
    baseline lacks is cleared explicitly (``[]`` for a list, else null), at any depth, so
    the result is the baseline whether Graph merges nested objects or replaces them."""
    if not isinstance(expected, Mapping):
        return expected
    out = dict(expected)
    for key, value in live.items() if isinstance(live, Mapping) else ():
        if key in _VOLATILE or key in _TIMESTAMPS or "@odata." in key:
            continue
        if key not in out:
            out[key] = [] if isinstance(value, list) else None
        else:
            out[key] = patch_value(out[key], value)
    return out


@register
class ConditionalAccessPolicy(Kind):
    name = "conditional-access-policy"
    title = "Conditional Access policy"
    responsibility = "identity-and-access"
    layer = "identity"
    reads = (POLICIES,)
    writes = (CREATE_POLICY, PATCH_POLICY)
    signals = Signals(audit_categories=("Policy",), audit_activities=("conditional access",))
    default_severity = "high"
    expected_schema = {
        "type": "object",
        "required": ["state"],
        "properties": {
            "displayName": {"type": "string"},
            "state": {"type": "string"},
            "conditions": {"type": "object"},
            "grantControls": {"type": ["object", "null"]},
            "sessionControls": {"type": ["object", "null"]},
        },
    }
    scope_schema = {"type": "string", "pattern": "^/identity/conditionalAccess/policies/[^/]+$"}

    def index(self, snapshot: Snapshot) -> Index:
        out = {}
        for policy in snapshot.items("graph.conditionalAccessPolicies"):
            scope = PREFIX + str(policy.get("id", ""))
            key = self.scope_key(scope)
            out[key] = Setting(
                key=key,
                scope=scope,
                title=str(policy.get("displayName") or policy.get("id")),
                state=_read_policy(policy),
                raw=policy,
            )
        return out

    def route(self, signal: Signal, baselines: Mapping[str, Any]) -> list[Touch]:
        if not self.signals.may_touch(signal):
            return []
        return [
            Touch(self.name, PREFIX + pid, self.scope_key(PREFIX + pid))
            for pid in signal.targets_of("policy", "object")
            if GUID.match(pid)
        ]

    def expected_state(self, expected: Mapping[str, Any], scope_key: str) -> Any:
        return normalize_policy(expected)

    def capture_keys(self, index: Index) -> Iterable[str]:
        for key, setting in index.items():
            problems = [why_unreadable(v) for v in setting.state.values() if is_unreadable(v)]
            if problems:
                # not written: the file must load; without it the policy is unbaselined
                log.warning("%s not captured: %s", setting.scope, "; ".join(problems))
                continue
            yield key

    def to_expected(self, setting: Setting) -> dict[str, Any]:
        return policy_body(setting.raw)

    def slug(self, setting: Setting) -> str:
        return f"{slugify(setting.title)[:60]}-{setting.scope.rsplit('/', 1)[-1][:8]}"

    def describe(self, change: Change, labels: Mapping[str, str]) -> str:
        if is_unreadable(change.actual):
            return f"{change.path} cannot be read ({why_unreadable(change.actual)})"
        if change.path == "state":
            words = {_REPORT_ONLY.casefold(): "report-only (not enforced)"}
            was = words.get(str(change.expected), change.expected)
            now = words.get(str(change.actual), change.actual)
            return f"policy state changed from {was} to {now}"
        if isinstance(change.expected, list) and isinstance(change.actual, list):
            return f"{change.path}: {list_delta(change.expected, change.actual)}"
        if change.expected is None:
            return f"{change.path} set to {short_value(change.actual)} (not in the baseline)"
        if change.actual is None:
            return f"{change.path} removed (baseline: {short_value(change.expected)})"
        return super().describe(change, labels)

    def missing_message(self, scope: str) -> str:
        return f"Conditional Access policy {scope} was deleted"

    def plan(self, drift: Drift) -> Sequence[Step] | CannotPlan:
        """One PATCH of the policy with each drifted top-level property whole, from the
        baseline (:func:`patch_value`); a deleted policy is made anew with one POST."""
        body = policy_body(drift.baseline.expected)
        live = drift.live
        if live is None:
            url = drift.endpoints.graph_url(POLICIES.path)
            note = (
                f"{drift.baseline.scope} is recreated under a new id: point the baseline's "
                "scope at the new policy"
            )
            return [CREATE_POLICY.step(url, body, note)]
        template = POLICIES.get_template
        found = template.match(live.scope) if template else None
        if template is None or found is None:
            return CannotPlan(f"not a Conditional Access policy: {live.scope}")
        expected, actual = drift.baseline.state, live.state
        raw = live.raw if isinstance(live.raw, Mapping) else {}
        drifted = sorted(
            k for k in expected.keys() | actual.keys() if expected.get(k) != actual.get(k)
        )
        patch = {k: patch_value(body.get(k), raw.get(k)) for k in drifted}
        url = drift.endpoints.graph_url(template.fill(**found))
        return [PATCH_POLICY.step(url, patch)]
