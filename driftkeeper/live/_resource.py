"""Read the current state of the one setting an event touches (the pipeline's *read* stage).

:meth:`ResourceReader.read` answers ``(kind, scope)`` with a *partial*
:class:`~driftkeeper.snapshot.Snapshot` that holds only the section(s) the kind judges, and in
them only that setting, so the kind's own ``index()`` / ``actual()`` work on it unchanged:

- ``nsg``, an NSG id: ``arm.networkSecurityGroups`` = [the NSG] (one ARM GET);
- ``role-assignments``, an ARM scope (``/``, a management group, subscription, resource group
  or resource): ``arm.roleAssignments`` = every assignment at or below the scope. A
  subscription is listed with ``list_for_subscription``, a management group with
  ``list_for_scope(..., filter="atScope()")``, anything narrower with ``list_for_scope``; ``/``
  reads each subscription the reader was given. Role definitions are not read: role names
  fall back to the built-in names and the baseline's labels;
- ``conditional-access-policy``, ``/identity/conditionalAccess/policies/<id>``:
  ``graph.conditionalAccessPolicies`` = [the policy] (one Graph GET);
- ``directory-role``, ``/roleManagement/directory/roleDefinitions/<id>``:
  ``graph.directoryRoleAssignments`` (``$filter=roleDefinitionId eq '<id>'``,
  ``$expand=principal``) and ``graph.directoryRoleEligibilitySchedules`` (same filter);
- ``security-defaults`` / ``authentication-methods``: the one Graph policy object.

Ids are validated (GUIDs, ARM name characters) before they become part of a URL or a filter;
a scope that is not one of the above raises :class:`~driftkeeper.InputError` before any call.

Failures are judged as :func:`~driftkeeper.live.read_snapshot` judges them: transient (408,
429, 5xx, no answer, after the SDK's retries) raises :class:`~driftkeeper.TransientReadError`;
permanent (400, 401, 403 ...) returns a snapshot whose ``read_errors`` names the section, so
the engine reports an error finding, never "compliant". Answers that mean "it is gone" are
state, not errors:

- a 404 for the NSG, the CA policy, or the resource group / resource whose role assignments
  are read gives an empty section (the engine then reports the NSG or policy as deleted).
  ``SubscriptionNotFound`` is not "gone" (the reader may simply not see the subscription) and
  stays an error;
- a 400 or 403 for PIM eligibility (no Entra ID P2, or no permission) leaves that section out:
  *not captured*, so only active members are compared and a notice says so.

:class:`CoalescingReader` puts single-flight and a short cache in front of any reader, and
:func:`snapshot_reader` reads from a snapshot already in hand (``driftkeeper replay --state``).
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

from .._errors import InputError
from ..snapshot import Snapshot
from ._arm import arm_client_options, call_arm, rest_json
from ._clients import ClientCache
from ._failures import Refused, SectionReads
from ._graph import _getter, _lister
from ._graph_client import GraphSession, GraphSettings, call_graph

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
    from azure.core.credentials_async import AsyncTokenCredential

    from ..pipeline import StateReader

__all__ = ["CoalescingReader", "ResourceReader", "snapshot_reader"]

_log = logging.getLogger(__name__)

# --- scopes ----------------------------------------------------------------------------------
_GUID = r"[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}"
_SUB = rf"/subscriptions/(?P<sub>{_GUID})"
_RG = r"/resourceGroups/(?P<rg>[\w().-]{0,89}[\w()-])"  # 1-90 characters, no final "."
_NAME = r"(?!\.+(?:/|$))[\w().-]{1,260}"  # ARM name characters; never "." or ".."
_NAMESPACE = r"[a-z][a-z0-9]*(?:\.[a-z0-9]+)+"
_TYPE = r"[a-z][a-z0-9]*"
_NSG_ID = re.compile(
    rf"{_SUB}{_RG}/providers/Microsoft\.Network/networkSecurityGroups/"
    r"(?P<name>[a-z0-9](?:[\w.-]{0,78}\w)?)",
    re.IGNORECASE | re.ASCII,
)
_MG_SCOPE = re.compile(
    r"/providers/Microsoft\.Management/managementGroups/[\w().-]{1,90}", re.IGNORECASE
)
_SUB_SCOPE = re.compile(_SUB, re.IGNORECASE)
_RG_SCOPE = re.compile(_SUB + _RG, re.IGNORECASE)
_RESOURCE_SCOPE = re.compile(
    rf"{_SUB}(?:{_RG})?/providers/(?P<ns>{_NAMESPACE})(?:/{_TYPE}/{_NAME})+", re.IGNORECASE
)
CA_POLICIES = "/identity/conditionalAccess/policies"
"""The collection scope: ``read("conditional-access-policy", CA_POLICIES)`` reads them all."""
_NO_PIM = frozenset({"aadpremiumlicenserequired"})
"""Graph error codes that mean the tenant has no PIM (no Entra ID P2 license)."""
_CA_POLICY = re.compile(rf"/identity/conditionalAccess/policies/(?P<id>{_GUID})", re.IGNORECASE)
_DIRECTORY_ROLE = re.compile(
    rf"/roleManagement/directory/roleDefinitions/(?P<id>{_GUID})", re.IGNORECASE
)
_ACTIVE = "graph.directoryRoleAssignments"
_ELIGIBLE = "graph.directoryRoleEligibilitySchedules"
_SECURITY_DEFAULTS = "/policies/identitySecurityDefaultsEnforcementPolicy"
_AUTHENTICATION_METHODS = "/policies/authenticationMethodsPolicy"
# Scope-level role-assignment listings use no subscription, but the client wants one.
_NO_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"

_ScopeLevel = Literal["root", "managementGroup", "subscription", "resourceGroup", "resource"]


@dataclass(frozen=True)
class _ArmScope:
    text: str
    """The scope as given, without a trailing ``/`` (``/`` for the root)."""
    level: _ScopeLevel
    subscription: str = ""

    def covers(self, scope: str) -> bool:
        """Whether ``scope`` is this scope or below it (case-insensitive)."""
        mine, theirs = self.text.casefold(), scope.rstrip("/").casefold() or "/"
        return mine == "/" or theirs == mine or theirs.startswith(mine + "/")

    def quoted(self) -> str:
        """The scope with each segment percent-encoded (the SDK puts it into the URL as is)."""
        return "/".join(quote(part, safe="()") for part in self.text.split("/"))


def _arm_scope(scope: str) -> _ArmScope:
    """Parse an ARM scope for role assignments; raise :class:`InputError` for anything else."""
    text = scope.strip()
    if text.rstrip("/") == "":
        return _ArmScope("/", "root")
    text = text.rstrip("/")
    if _MG_SCOPE.fullmatch(text):
        return _ArmScope(text, "managementGroup")
    levels: tuple[tuple[re.Pattern[str], _ScopeLevel], ...] = (
        (_SUB_SCOPE, "subscription"),
        (_RG_SCOPE, "resourceGroup"),
        (_RESOURCE_SCOPE, "resource"),
    )
    for pattern, level in levels:
        match = pattern.fullmatch(text)
        if match is None:
            continue
        if level == "resource" and match["ns"].casefold() == "microsoft.authorization":
            break  # a role assignment or definition id: not a scope assignments are made at
        return _ArmScope(text, level, match["sub"].casefold())
    raise InputError(f"not an ARM scope for role assignments: {scope!r}")


def _match(pattern: re.Pattern[str], scope: str, what: str) -> re.Match[str]:
    match = pattern.fullmatch(scope.strip())
    if match is None:
        raise InputError(f"not {what}: {scope!r}")
    return match


def _canonical_guid(text: str) -> str:
    return str(uuid.UUID(text))


# --- failures --------------------------------------------------------------------------------
def _rest_items(list_all: Callable[[], Iterable[Any]]) -> list[dict[str, Any]]:
    """Every object a pager lists (following every ``nextLink``), as ARM REST JSON."""
    return [rest_json(model) for model in list_all()]


def _refused(reads: SectionReads, section: str, scope: str, refusal: Refused) -> None:
    _log.warning(
        "cannot read %s for %s: %s",
        section,
        scope,
        refusal.text,
        extra={"section": section, "resource_id": scope},
    )
    reads.fail(section, refusal.text)


def _gone(reads: SectionReads, section: str, scope: str, refusal: Refused) -> None:
    _log.info(
        "%s: %s is gone (%s)",
        section,
        scope,
        refusal.text,
        extra={"section": section, "resource_id": scope},
    )
    reads.sections[section] = []


# --- the reader ------------------------------------------------------------------------------


class ResourceReader:
    """Reads one setting at a time from ARM and Microsoft Graph (see the module notes).

    The options are :func:`~driftkeeper.live.read_snapshot`'s; ``subscriptions`` is only
    needed to read role assignments at ``/``. The SDK clients are built on first use and
    reused: one ``NetworkManagementClient`` and one ``AuthorizationManagementClient`` per
    subscription, one ``GraphServiceClient`` on an event loop thread of its own, so
    :meth:`read` may be called from any thread, and from several at once. :meth:`close`
    releases them all (the credentials are the caller's and stay open).
    """

    def __init__(
        self,
        credential: TokenCredential,
        *,
        async_credential: AsyncTokenCredential | None = None,
        subscriptions: Sequence[str] = (),
        tenant_id: str = "",
        arm_endpoint: str = "https://management.azure.com",
        graph_endpoint: str = "https://graph.microsoft.com/v1.0",
        connection_verify: str | bool = True,
        max_retries: int | None = None,
        retry_delay: float | None = None,
    ) -> None:
        from . import _check_subscription_ids

        _check_subscription_ids(subscriptions)
        self._credential = credential
        self._subscriptions = tuple(dict.fromkeys(s.casefold() for s in subscriptions))
        self._tenant_id = tenant_id
        self._arm_options = arm_client_options(
            arm_endpoint,
            connection_verify=connection_verify,
            max_retries=max_retries,
            retry_delay=retry_delay,
        )
        self._graph_settings = GraphSettings.for_endpoint(
            graph_endpoint,
            async_credential or credential,
            connection_verify=connection_verify,
            max_retries=max_retries,
            retry_delay=retry_delay,
        )
        self._clients = ClientCache("ResourceReader")
        self._kinds: dict[str, Callable[[str, SectionReads], None]] = {
            "nsg": self._read_nsg,
            "role-assignments": self._read_role_assignments,
            "conditional-access-policy": self._read_ca_policy,
            "directory-role": self._read_directory_role,
            "security-defaults": self._read_security_defaults,
            "authentication-methods": self._read_authentication_methods,
        }

    # -- public --
    def read(self, kind: str, scope: str, *, newer_than: datetime | None = None) -> Snapshot:
        """The current state of ``scope`` of ``kind`` as a partial snapshot (always a fresh
        read, so ``newer_than`` holds by construction).

        Raises :class:`InputError` for an unknown kind or a scope that is not one of the
        kind's (before any call), :class:`TransientReadError` when a retry later may help,
        :class:`ReadError` when no token can be had.
        """
        read = self._kinds.get(kind)
        if read is None:
            raise InputError(f"no live reader for kind {kind!r}; known: {', '.join(self._kinds)}")
        captured_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        reads = SectionReads()
        read(scope.strip(), reads)
        _log.info(
            "read %s %s: %d section(s) captured, %d failed",
            kind,
            scope,
            len(reads.sections),
            len(reads.errors),
            extra={"kind": kind, "resource_id": scope},
        )
        return Snapshot(self._tenant_id, captured_at, reads.sections, reads.errors, "live")

    def close(self) -> None:
        """Close every client built so far; reading afterwards raises ``RuntimeError``."""
        self._clients.close()

    def __enter__(self) -> ResourceReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- clients --
    def _network_client(self, subscription: str) -> Any:
        from azure.mgmt.network import NetworkManagementClient

        return self._arm_client(NetworkManagementClient, subscription)

    def _authorization_client(self, subscription: str) -> Any:
        from azure.mgmt.authorization import AuthorizationManagementClient

        return self._arm_client(AuthorizationManagementClient, subscription)

    def _arm_client(self, client_type: type[Any], subscription: str) -> Any:
        """The ``client_type`` client for ``subscription``, built on first use."""
        return self._clients.get(
            (client_type, subscription),
            lambda: client_type(self._credential, subscription, **self._arm_options),
        )

    def _graph_session(self) -> GraphSession:
        return self._clients.get(
            "graph", lambda: GraphSession(self._graph_settings, prepare=_prepare_graph)
        )

    # -- ARM --
    def _read_nsg(self, scope: str, reads: SectionReads) -> None:
        match = _match(_NSG_ID, scope, "an NSG resource id")
        section = "arm.networkSecurityGroups"
        network = self._network_client(match["sub"].casefold())
        nsg = call_arm(
            f"{section} {scope}",
            lambda: network.network_security_groups.get(match["rg"], match["name"]),
        )
        if isinstance(nsg, Refused):
            (_gone if nsg.gone else _refused)(reads, section, scope, nsg)
        else:
            reads.sections[section] = [rest_json(nsg)]

    def _read_role_assignments(self, scope: str, reads: SectionReads) -> None:
        target = _arm_scope(scope)
        section = "arm.roleAssignments"
        if target.level == "root" and not self._subscriptions:
            refusal = Refused(0, None, "reading the assignments below '/' needs subscriptions")
            _refused(reads, section, target.text, refusal)
            return
        found: dict[str, dict[str, Any]] = {}
        for subscription, list_all in self._assignment_listings(target):
            where = f"{section} {target.text}"
            items = call_arm(where, partial(_rest_items, list_all))
            if isinstance(items, Refused):
                if items.gone and target.level not in ("root", "subscription"):
                    _gone(reads, section, target.text, items)
                elif target.level == "root":
                    text = f"subscription {subscription}: {items.text}"
                    _refused(reads, section, target.text, Refused(items.status, items.code, text))
                else:
                    _refused(reads, section, target.text, items)
                return
            for item in items:
                scope_of_item = str((item.get("properties") or {}).get("scope") or "/")
                if target.covers(scope_of_item):
                    found.setdefault(str(item.get("id") or len(found)).casefold(), item)
        reads.sections[section] = list(found.values())

    def _assignment_listings(
        self, target: _ArmScope
    ) -> list[tuple[str, Callable[[], Iterable[Any]]]]:
        """(subscription, pager) pairs that together see every assignment below ``target``."""
        if target.level in ("root", "subscription"):
            subscriptions = self._subscriptions if target.level == "root" else [target.subscription]
            return [
                (sub, self._authorization_client(sub).role_assignments.list_for_subscription)
                for sub in subscriptions
            ]
        client = self._authorization_client(target.subscription or _NO_SUBSCRIPTION)
        # A management group's listing needs atScope(); nothing is scoped below one but itself.
        only_at = "atScope()" if target.level == "managementGroup" else None
        return [
            (
                target.subscription,
                partial(client.role_assignments.list_for_scope, target.quoted(), filter=only_at),
            )
        ]

    # -- Graph --
    def _read_graph(self, read: Callable[[Any], Coroutine[Any, Any, None]]) -> None:
        session = self._graph_session()
        session.run(read(session.client))

    def _read_ca_policy(self, scope: str, reads: SectionReads) -> None:
        section = "graph.conditionalAccessPolicies"
        if scope.rstrip("/").casefold() == CA_POLICIES.casefold():
            self._read_ca_policies(scope, reads)
            return
        policy_id = _canonical_guid(_match(_CA_POLICY, scope, "a Conditional Access policy")["id"])

        async def read(client: Any) -> None:
            builder = client.identity.conditional_access.policies.by_conditional_access_policy_id(
                policy_id
            )
            policy = await call_graph(f"{section} {scope}", _getter(builder))
            if isinstance(policy, Refused):
                (_gone if policy.gone else _refused)(reads, section, scope, policy)
            elif policy is None:
                reads.fail(section, "Microsoft Graph answered with an empty body")
            else:
                reads.sections[section] = [policy]

        self._read_graph(read)

    def _read_ca_policies(self, scope: str, reads: SectionReads) -> None:
        """Every policy, and security defaults: what the tenant-wide CA guards judge."""
        section = "graph.conditionalAccessPolicies"

        async def read(client: Any) -> None:
            builder = client.identity.conditional_access.policies
            endpoint = self._graph_settings.endpoint
            found = await call_graph(f"{section} {scope}", _lister(builder, endpoint))
            if isinstance(found, Refused):
                _refused(reads, section, scope, found)
            else:
                reads.sections[section] = found

        self._read_graph(read)
        self._read_security_defaults(_SECURITY_DEFAULTS, reads)

    def _read_directory_role(self, scope: str, reads: SectionReads) -> None:
        role_id = _canonical_guid(_match(_DIRECTORY_ROLE, scope, "a directory role")["id"])
        only_role = f"roleDefinitionId eq '{role_id}'"

        async def read(client: Any) -> None:
            from kiota_abstractions.base_request_configuration import RequestConfiguration

            active = client.role_management.directory.role_assignments
            eligible = client.role_management.directory.role_eligibility_schedules
            active_query = active.RoleAssignmentsRequestBuilderGetQueryParameters
            eligible_query = eligible.RoleEligibilitySchedulesRequestBuilderGetQueryParameters
            listings = (
                (_ACTIVE, active, active_query(filter=only_role, expand=["principal"])),
                (_ELIGIBLE, eligible, eligible_query(filter=only_role)),
            )
            for section, builder, query in listings:
                config = RequestConfiguration(query_parameters=query)
                found = await call_graph(
                    f"{section} {scope}", _lister(builder, self._graph_settings.endpoint, config)
                )
                if not isinstance(found, Refused):
                    reads.sections[section] = found
                elif section == _ELIGIBLE and (found.code or "").casefold() in _NO_PIM:
                    # no Entra ID P2 license: PIM does not exist here, so "not captured";
                    # any other refusal (a missing permission) is a failed read
                    _log.info(
                        "%s not captured for %s: %s",
                        section,
                        scope,
                        found.text,
                        extra={"section": section, "resource_id": scope},
                    )
                else:
                    _refused(reads, section, scope, found)

        self._read_graph(read)

    def _read_policy_object(
        self, scope: str, reads: SectionReads, expected: str, section: str, path: str
    ) -> None:
        if scope.rstrip("/").casefold() != expected.casefold():
            raise InputError(f"expected the scope {expected!r}, got {scope!r}")

        async def read(client: Any) -> None:
            builder = getattr(client.policies, path)
            policy = await call_graph(f"{section} {scope}", _getter(builder))
            if isinstance(policy, Refused):
                _refused(reads, section, scope, policy)
            elif policy is None:
                reads.fail(section, "Microsoft Graph answered with an empty body")
            else:
                reads.sections[section] = policy

        self._read_graph(read)

    def _read_security_defaults(self, scope: str, reads: SectionReads) -> None:
        self._read_policy_object(
            scope,
            reads,
            _SECURITY_DEFAULTS,
            "graph.securityDefaults",
            "identity_security_defaults_enforcement_policy",
        )

    def _read_authentication_methods(self, scope: str, reads: SectionReads) -> None:
        self._read_policy_object(
            scope,
            reads,
            _AUTHENTICATION_METHODS,
            "graph.authenticationMethodsPolicy",
            "authentication_methods_policy",
        )


def _prepare_graph(client: Any) -> None:
    """Navigate (so import) the request builders :class:`ResourceReader` reads with."""
    client.identity.conditional_access.policies.by_conditional_access_policy_id("-")
    client.role_management.directory.role_assignments  # noqa: B018
    client.role_management.directory.role_eligibility_schedules  # noqa: B018
    client.policies.identity_security_defaults_enforcement_policy  # noqa: B018
    client.policies.authentication_methods_policy  # noqa: B018


# --- readers over other readers --------------------------------------------------------------
@dataclass(frozen=True)
class _SnapshotReader:
    snapshot: Snapshot

    def read(self, kind: str, scope: str, *, newer_than: datetime | None = None) -> Snapshot:
        return self.snapshot


def snapshot_reader(snapshot: Snapshot) -> StateReader:
    """A reader that answers every ``read`` with ``snapshot`` (a full one, e.g. from a file)."""
    return _SnapshotReader(snapshot)


@dataclass(eq=False)
class _Flight:
    started: float
    began: datetime
    done: threading.Event = field(default_factory=threading.Event)
    result: Snapshot | None = None
    error: BaseException | None = None


class CoalescingReader:
    """Single-flight plus a short cache in front of another reader.

    Reads are keyed by (kind, the kind's scope key: casefolded). While one read of a key is
    in flight, other callers of that key wait for it and get its snapshot, or its exception.
    A snapshot is reused for ``window`` seconds counted from the moment its read *began*, so
    an answer is never older than ``window``; an exception is never reused. A caller that
    passes ``newer_than`` (the time of the change it was told about) only shares a read that
    began at or after that time, so a change is never judged on state read before it
    happened. ``reads`` counts the reads passed to ``inner``. Thread-safe.

    ``settle`` trades a little latency for far fewer reads while changes keep arriving (a
    deployment writing rules for ten seconds): the leader waits ``settle`` seconds before
    reading, and every change made before the read begins joins it.
    """

    def __init__(
        self,
        inner: StateReader,
        *,
        window: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        settle: float = 0.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if window < 0 or settle < 0:
            raise ValueError(f"window and settle must be >= 0 seconds, got {window}, {settle}")
        self.inner = inner
        self.window = window
        self.settle = settle
        self._sleep = sleep
        self.reads = 0
        self._clock = clock
        self._wall_clock = wall_clock
        self._lock = threading.Lock()
        self._flights: dict[tuple[str, str], _Flight] = {}

    def read(self, kind: str, scope: str, *, newer_than: datetime | None = None) -> Snapshot:
        key = (kind, _scope_key(kind, scope))
        with self._lock:
            now = self._clock()
            flight = self._flights.get(key)
            leader = (
                flight is None
                or (flight.done.is_set() and now - flight.started >= self.window)
                # done or still in flight, a read that began before the change cannot show it
                or (newer_than is not None and flight.began < newer_than)
            )
            if leader:
                self._forget_expired(now)
                # the read begins after the settle time: changes until then can join it
                began = self._wall_clock() + timedelta(seconds=self.settle)
                flight = self._flights[key] = _Flight(now, began)
                self.reads += 1
        assert flight is not None
        if leader:
            return self._lead(key, flight, kind, scope)
        flight.done.wait()
        if flight.error is not None:
            raise flight.error
        assert flight.result is not None
        return flight.result

    def _lead(self, key: tuple[str, str], flight: _Flight, kind: str, scope: str) -> Snapshot:
        try:
            if self.settle:
                self._sleep(self.settle)
            flight.result = self.inner.read(kind, scope)
        except BaseException as exc:
            flight.error = exc
            with self._lock:
                if self._flights.get(key) is flight:
                    del self._flights[key]
            raise
        finally:
            flight.done.set()
        return flight.result

    def _forget_expired(self, now: float) -> None:
        expired = [
            key
            for key, flight in self._flights.items()
            if flight.done.is_set() and now - flight.started >= self.window
        ]
        for key in expired:
            del self._flights[key]


def _scope_key(kind: str, scope: str) -> str:
    from ..kinds import get_kind

    try:
        return get_kind(kind).scope_key(scope)
    except KeyError:
        return scope.strip().casefold()
