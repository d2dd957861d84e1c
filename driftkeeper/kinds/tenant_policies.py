"""Tenant-wide policies: security defaults and authentication-method states.

Truth: Graph ``/policies/identitySecurityDefaultsEnforcementPolicy`` (``isEnabled``) and
``/policies/authenticationMethodsPolicy`` (the ``state`` of each method configuration,
compared case-insensitively; targets and method-specific options are not compared).

Only a JSON ``true`` is "on": a live ``isEnabled`` that is not a boolean (``"false"``, absent)
is unreadable state, which differs from every baseline; a baseline's must be a boolean. So is
a method configuration without an id or with a state other than enabled / disabled, and
``authenticationMethodConfigurations`` when it is not a list (see :mod:`driftkeeper.snapshot`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .._model import Change
from ..rollback._plan import CannotPlan, Drift, Step, Write
from ..signals import Signal
from ..snapshot import Snapshot, is_unreadable, shown, unreadable, why_unreadable
from . import register
from ._base import FieldError, Index, Kind, Setting, Signals, Touch, item_key, keyed
from ._reads import GraphSection, segment

__all__ = ["AuthenticationMethods", "SecurityDefaults", "is_enabled"]

log = logging.getLogger(__name__)

_SECURITY_DEFAULTS_ID = "00000000-0000-0000-0000-000000000005"
SECURITY_DEFAULTS = GraphSection(
    "graph.securityDefaults", "/policies/identitySecurityDefaultsEnforcementPolicy", shape="object"
)
AUTHENTICATION_METHODS = GraphSection(
    "graph.authenticationMethodsPolicy", "/policies/authenticationMethodsPolicy", shape="object"
)
PATCH_SECURITY_DEFAULTS = Write(
    "graph",
    "PATCH",
    SECURITY_DEFAULTS.path,
    "Policy.ReadWrite.SecurityDefaults",
    "turn security defaults back on (or off) as the baseline has it",
)
PATCH_METHOD = Write(
    "graph",
    "PATCH",
    AUTHENTICATION_METHODS.path + "/authenticationMethodConfigurations/{id}",
    "Policy.ReadWrite.AuthenticationMethod",
    "put an authentication method's state back as the baseline has it",
)


def _by_name(item: tuple[str, Any]) -> str:
    """Order of a capture: by the (casefolded) name inside ``rules[...]`` / ``methods[...]``."""
    return item[0].partition("[")[2][:-1]


@register
class SecurityDefaults(Kind):
    name = "security-defaults"
    title = "Security defaults"
    responsibility = "account-and-access-management"
    layer = "identity"
    reads = (SECURITY_DEFAULTS,)
    writes = (PATCH_SECURITY_DEFAULTS,)
    signals = Signals(audit_categories=("Policy",))
    default_severity = "high"
    SCOPE = SECURITY_DEFAULTS.path
    expected_schema = {
        "type": "object",
        "required": ["isEnabled"],
        "additionalProperties": False,
        "properties": {"isEnabled": {"type": "boolean"}},
    }
    scope_schema = {"const": SCOPE}

    def index(self, snapshot: Snapshot) -> Index:
        policy = snapshot.object("graph.securityDefaults")
        if policy is None:
            return {}
        state = {"isEnabled": is_enabled(policy)}
        return {
            self.SCOPE.casefold(): Setting(self.SCOPE.casefold(), self.SCOPE, self.title, state)
        }

    def route(self, signal: Signal, baselines: Mapping[str, Any]) -> list[Touch]:
        if not self.signals.may_touch(signal):
            return []
        if _SECURITY_DEFAULTS_ID in signal.targets_of("policy", "object") or (
            "security defaults" in signal.operation.casefold()
        ):
            return [Touch(self.name, self.SCOPE, self.SCOPE.casefold())]
        return []

    def expected_state(self, expected: Mapping[str, Any], scope_key: str) -> Any:
        value = expected.get("isEnabled")
        if not isinstance(value, bool):
            raise FieldError("isEnabled", f"expected true or false, got {shown(value)}")
        return {"isEnabled": value}

    def capture_keys(self, index: Index) -> Iterable[str]:
        for key, setting in index.items():
            if is_unreadable(setting.state["isEnabled"]):
                # not written: the file must load; without it the setting is unbaselined
                log.warning("%s not captured: %s", setting.scope,
                            why_unreadable(setting.state["isEnabled"]))  # fmt: skip
                continue
            yield key

    def to_expected(self, setting: Setting) -> dict[str, Any]:
        return dict(setting.state)

    def slug(self, setting: Setting) -> str:
        return "security-defaults"

    def plan(self, drift: Drift) -> Sequence[Step] | CannotPlan:
        """One PATCH of the policy's ``isEnabled``."""
        url = drift.endpoints.graph_url(SECURITY_DEFAULTS.path)
        body = {"isEnabled": drift.baseline.state["isEnabled"]}
        return [PATCH_SECURITY_DEFAULTS.step(url, body)]

    def describe(self, change: Change, labels: Mapping[str, str]) -> str:
        if is_unreadable(change.actual):
            return f"security defaults cannot be read ({why_unreadable(change.actual)})"
        return "security defaults were " + ("enabled" if change.actual is True else "disabled")


def is_enabled(policy: Mapping[str, Any]) -> bool | str:
    """``isEnabled`` of the security defaults policy: a boolean, or :func:`unreadable`."""
    value = policy.get("isEnabled")
    if isinstance(value, bool):
        return value
    if "isEnabled" not in policy:
        return unreadable("isEnabled", "missing")
    return unreadable("isEnabled", f"expected true or false, got {shown(value)}")


@register
class AuthenticationMethods(Kind):
    name = "authentication-methods"
    title = "Authentication methods policy"
    responsibility = "account-and-access-management"
    layer = "identity"
    reads = (AUTHENTICATION_METHODS,)
    writes = (PATCH_METHOD,)
    signals = Signals(audit_categories=("Policy",), audit_activities=("authentication method",))
    default_severity = "medium"
    SCOPE = AUTHENTICATION_METHODS.path
    expected_schema = {
        "type": "object",
        "required": ["methods"],
        "additionalProperties": False,
        "properties": {
            "methods": {
                "type": "object",
                "additionalProperties": {"type": "string", "enum": ["enabled", "disabled"]},
            }
        },
    }
    scope_schema = {"const": SCOPE}

    def index(self, snapshot: Snapshot) -> Index:
        policy = snapshot.object("graph.authenticationMethodsPolicy")
        if policy is None:
            return {}
        state, ids = _method_states(policy)
        key = self.SCOPE.casefold()
        return {key: Setting(key, self.SCOPE, self.title, state, raw=ids)}

    @staticmethod
    def _state(methods: Mapping[str, Any]) -> dict[str, Any]:
        return {keyed("methods", k.casefold()): str(v).casefold() for k, v in methods.items()}

    def route(self, signal: Signal, baselines: Mapping[str, Any]) -> list[Touch]:
        if not self.signals.may_touch(signal):
            return []
        return [Touch(self.name, self.SCOPE, self.SCOPE.casefold())]

    def expected_state(self, expected: Mapping[str, Any], scope_key: str) -> Any:
        methods = expected.get("methods")
        if not isinstance(methods, Mapping):
            raise FieldError("methods", "expected a mapping of method id: enabled|disabled")
        return self._state(methods)

    def to_expected(self, setting: Setting) -> dict[str, Any]:
        methods = {}
        for key, value in sorted(setting.state.items(), key=_by_name):
            if is_unreadable(value):
                # not written: the file must load; the scan then shows the method as drift
                log.warning("%s: %s not captured: %s", setting.scope, key, why_unreadable(value))
                continue
            methods[setting.raw[key]] = value
        return {"methods": methods}

    def slug(self, setting: Setting) -> str:
        return "authentication-methods"

    def plan(self, drift: Drift) -> Sequence[Step] | CannotPlan:
        """One PATCH per drifted method configuration: its ``@odata.type`` (as live, else
        derived from its id) and the baseline's ``state``. A method the baseline does not
        name has no target state: the plan cannot proceed."""
        live = drift.live
        actual = live.state if live is not None else {}
        if is_unreadable(actual):
            return CannotPlan(f"the methods cannot be read ({why_unreadable(actual)})")
        expected = drift.baseline.state
        extra = sorted(k for k in actual if k not in expected)
        if extra:
            names = live.raw if live is not None and isinstance(live.raw, Mapping) else {}
            return CannotPlan(
                f"authentication method {names.get(extra[0]) or item_key(extra[0])[1]} "
                "is not in the baseline: "
                "it says nothing to restore it to"
            )
        spelled = {
            keyed("methods", str(k).casefold()): str(k)
            for k in drift.baseline.expected.get("methods") or {}
        }
        if live is not None and isinstance(live.raw, Mapping):
            spelled.update(live.raw)
        types = _odata_types(drift.snapshot.object(AUTHENTICATION_METHODS.name) or {})
        steps = []
        for key in sorted(expected):
            if actual.get(key) == expected[key]:
                continue
            method = spelled[key]
            path = f"{self.SCOPE}/authenticationMethodConfigurations/{segment('key', method)}"
            odata = types.get(key) or _odata_type(method)
            body = {"@odata.type": odata, "state": expected[key]}
            url = drift.endpoints.graph_url(path)
            steps.append(PATCH_METHOD.step(url, body))
        return steps

    def describe(self, change: Change, labels: Mapping[str, str]) -> str:
        _, method = item_key(change.path)
        if is_unreadable(change.actual):
            what = f"authentication method {method}" if change.path else "the methods"
            return f"{what} cannot be read ({why_unreadable(change.actual)})"
        if change.expected is None:
            return f"authentication method {method} appeared ({change.actual})"
        if change.actual is None:
            return f"authentication method {method} is gone (was {change.expected})"
        return f"authentication method {method} changed from {change.expected} to {change.actual}"


_METHOD_STATES = ("enabled", "disabled")


def _odata_type(method: str) -> str:
    """``Fido2`` -> ``#microsoft.graph.fido2AuthenticationMethodConfiguration``."""
    return f"#microsoft.graph.{method[:1].lower()}{method[1:]}AuthenticationMethodConfiguration"


def _odata_types(policy: Mapping[str, Any]) -> dict[str, str]:
    """The ``@odata.type`` of each live method configuration, by state key."""
    out: dict[str, str] = {}
    configs = policy.get("authenticationMethodConfigurations")
    for config in configs if isinstance(configs, list) else []:
        if isinstance(config, Mapping) and isinstance(config.get("id"), str):
            odata = config.get("@odata.type")
            if isinstance(odata, str) and odata:
                out[keyed("methods", config["id"].casefold())] = odata
    return out


def _method_states(policy: Mapping[str, Any]) -> tuple[dict[str, Any] | str, dict[str, str]]:
    """The state of each method configuration by key (``methods[sms]``: ``enabled``), or
    :func:`unreadable` when there is no list of them; and each method's id as spelled."""
    where = "authenticationMethodConfigurations"
    configs = policy.get(where)
    configs = [] if configs is None else configs
    if not isinstance(configs, list):
        return unreadable(where, f"expected a list, got {shown(configs)}"), {}
    state: dict[str, Any] = {}
    ids: dict[str, str] = {}
    for i, config in enumerate(configs):
        at = f"{where}[{i}]"
        if not isinstance(config, Mapping):
            state[keyed("methods", f"#{i}")] = unreadable(
                at, f"expected an object, got {shown(config)}"
            )
            continue
        method = config.get("id")
        if not isinstance(method, str) or not method:
            state[keyed("methods", f"#{i}")] = unreadable(
                f"{at}.id", f"expected an id, got {shown(method)}"
            )
            continue
        key = keyed("methods", method.casefold())
        value = config.get("state")
        if key in state:
            state[key] = unreadable(f"{at}.id", f"method {method!r} appears twice")
            ids.pop(key, None)
        elif isinstance(value, str) and value.casefold() in _METHOD_STATES:
            state[key] = value.casefold()
            ids[key] = method
        else:
            state[key] = unreadable(
                f"{at}.state", f"expected enabled or disabled, got {shown(value)}"
            )
    return state, ids
