"""Approval requests on Table Storage (table ``approvals``), over an injected TableClient.

Rows (see ``docs/event-table.md``):

- a **request**: PartitionKey ``request|`` + the incident's partition key (the encoded,
  lower-cased resource), RowKey the incident's row key (the encoded rule) + ``|`` + the
  generation in 10 digits: one request per incident generation, replaced in place when the
  drift changes (the old token then finds nothing);
- a **token**: PartitionKey ``token``, RowKey the token's SHA-256, pointing at its request
  (the token itself is never stored);
- the **form key**: PartitionKey ``key``, RowKey ``form``, 32 random bytes created once
  (create-if-absent, so every instance shares it) unless ``DRIFTKEEPER_APPROVAL_KEY`` is set.

Every change of a request is a conditional write on its ETag; a writer that loses the race
re-reads and decides again, so of two racing approvals exactly one is told to execute.
Service failures propagate as azure-core exceptions, as in the other stores.
"""

from __future__ import annotations

import base64
import builtins
import hmac
import json
import secrets
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..rollback._approval import (
    STATUSES,
    ApprovalRequest,
    ApprovalStatus,
    Decided,
    Decision,
    Refused,
    decide,
    is_token_shaped,
    new_token,
    token_hash,
)
from ..rollback._principal import Principal
from ._conditional import TableRows
from ._incidents import incident_keys
from ._keys import join_text, split_columns

if TYPE_CHECKING:
    pass

__all__ = ["APPROVAL_TABLE", "Approvals", "request_keys"]

APPROVAL_TABLE = "approvals"
MAX_ATTEMPTS = 20
_TOKEN_PARTITION = "token"  # noqa: S105 - a partition name, not a secret
_KEY_PARTITION = "key"
_REPLACEABLE: frozenset[str] = frozenset({"pending", "void"})
_TERMINAL: frozenset[str] = frozenset(
    {"rejected", "accepted", "rolled-back", "rollback-failed", "rollback-skipped"}
)


def request_keys(resource: str, rule: str, generation: int) -> tuple[str, str]:
    """(PartitionKey, RowKey) of the request of one incident generation."""
    if generation < 1:
        raise ValueError("an incident generation starts at 1")
    partition, row = incident_keys(resource, rule)
    return f"request|{partition}", f"{row}|{generation:010d}"


class Approvals(TableRows):
    """The approvals table. ``clock`` gives the time expiry is judged against."""

    # -- issuing --------------------------------------------------------------------------

    def issue(
        self, request: ApprovalRequest, *, new_link: bool = False
    ) -> tuple[ApprovalRequest, str | None]:
        """Store ``request`` (its ``token_hash`` is ignored) and mint its token.

        The token is returned once and never stored; None means no new link was minted:
        a request for this incident generation with the same plan is pending and unexpired
        (unless ``new_link``), in flight (approved, executing) or closed. A pending or void
        request with another plan, or an expired one, is replaced: its old link goes dead.
        """
        keys = request_keys(request.resource, request.rule, request.generation)
        for _ in range(MAX_ATTEMPTS):
            entity = self._read(*keys)
            current = None if entity is None else _from_entity(entity)
            if current is not None and not self._replaceable(current, request, new_link):
                return current, None
            token = new_token()
            fresh = replace(request, token_hash=token_hash(token), status="pending", decisions=())
            self._write_token(fresh)
            if current is None:
                etag = self._create(_to_entity(fresh))
            else:
                etag = self._replace(_to_entity(fresh), current.version)
            if etag is not None:
                return replace(fresh, version=etag), token
        raise _kept_changing(keys)

    def _replaceable(
        self, current: ApprovalRequest, request: ApprovalRequest, new_link: bool
    ) -> bool:
        same_plan = hmac.compare_digest(current.plan_hash, request.plan_hash)
        if current.status in _TERMINAL:
            return not same_plan
        if current.status not in _REPLACEABLE:
            return False  # approved or executing: the rollback is under way
        expired = self._clock() >= current.expires_at
        return current.status == "void" or not same_plan or expired or new_link

    def _write_token(self, request: ApprovalRequest) -> None:
        from azure.data.tables import UpdateMode

        partition, row = request_keys(request.resource, request.rule, request.generation)
        self._table.upsert_entity(
            {
                "PartitionKey": _TOKEN_PARTITION,
                "RowKey": request.token_hash,
                "RequestPartition": partition,
                "RequestRow": row,
                "ExpiresAt": request.expires_at,
            },
            mode=UpdateMode.REPLACE,
        )

    # -- reading ----------------------------------------------------------------------------

    def by_token(self, token: str) -> ApprovalRequest | None:
        """The request ``token`` was minted for, or None (malformed, unknown, or replaced
        since: a token whose request now holds another token's hash finds nothing)."""
        if not isinstance(token, str) or not is_token_shaped(token):
            return None
        digest = token_hash(token)
        pointer = self._read(_TOKEN_PARTITION, digest)
        if pointer is None:
            return None
        entity = self._read(pointer["RequestPartition"], pointer["RequestRow"])
        if entity is None:
            return None
        request = _from_entity(entity)
        return request if hmac.compare_digest(request.token_hash, digest) else None

    def get(self, resource: str, rule: str, generation: int) -> ApprovalRequest | None:
        entity = self._read(*request_keys(resource, rule, generation))
        return None if entity is None else _from_entity(entity)

    def pending_for(self, resource: str, rule: str) -> ApprovalRequest | None:
        """The pending request of the incident of ``resource`` and ``rule`` (the latest
        generation), or None."""
        partition, row = incident_keys(resource, rule)
        found = [
            r
            for r in self._query(
                "PartitionKey eq @p and RowKey ge @lo and RowKey lt @hi",
                {"p": f"request|{partition}", "lo": f"{row}|", "hi": f"{row}}}"},
            )
            if r.status == "pending"
        ]
        return max(found, key=lambda r: r.generation) if found else None

    def list(self, *, open_only: bool = False) -> builtins.list[ApprovalRequest]:
        """Every request (``open_only``: pending, approved or executing), newest first."""
        found = builtins.list(
            self._query(
                "PartitionKey ge @lo and PartitionKey lt @hi", {"lo": "request|", "hi": "request}"}
            )
        )
        if open_only:
            found = [r for r in found if r.status in ("pending", "approved", "executing")]
        return sorted(found, key=_created, reverse=True)

    def _query(self, query: str, parameters: dict[str, Any]) -> Iterator[ApprovalRequest]:
        for entity in self._table.query_entities(query, parameters=parameters):
            yield _from_entity(entity)

    # -- deciding ---------------------------------------------------------------------------

    def decide(
        self,
        request: ApprovalRequest,
        decision: str,
        principal: Principal,
        *,
        current_plan_hash: str,
        approvers: Iterable[str],
        address: str = "",
        comment: str = "",
        now: datetime | None = None,
    ) -> Decided | Refused:
        """Apply a decision to ``request`` (as read) and store it conditionally.

        When someone else wrote the request since it was read, it is read again and the
        decision taken on what is there: of racing approvals, one reaches ``required`` and
        is told to execute, the others are refused (409, no longer pending) or counted.
        """
        keys = request_keys(request.resource, request.rule, request.generation)
        current: ApprovalRequest | None = request
        for _ in range(MAX_ATTEMPTS):
            if current is None or not current.version:
                entity = self._read(*keys)
                if entity is None:
                    return Refused(404, "no such approval request")
                current = _from_entity(entity)
                if not hmac.compare_digest(current.token_hash, request.token_hash):
                    return Refused(409, "this link was replaced by a newer one")
            outcome = decide(
                current,
                decision,
                principal,
                now=now or self._clock(),
                current_plan_hash=current_plan_hash,
                approvers=approvers,
                address=address,
                comment=comment,
            )
            after = outcome.request
            if after is None:
                return outcome
            etag = self._replace(_to_entity(after), current.version)
            if etag is not None:
                stored = replace(after, version=etag)
                return replace(outcome, request=stored)
            current = None
        raise _kept_changing(keys)

    def finish(
        self, request: ApprovalRequest, status: ApprovalStatus, result: Mapping[str, Any]
    ) -> ApprovalRequest:
        """Record what became of an approved request (``executing``, ``rolled-back``,
        ``rollback-failed``, ``rollback-skipped``) and the execution's ``result``.

        Not conditional on the ETag: only the caller told to execute finishes a request, and
        its record of what happened must not be lost to a concurrent page view. But a
        request replaced since (another token: the drift changed and a fresh link went out)
        is left as it is, and returned as stored."""
        from azure.data.tables import UpdateMode

        if status not in STATUSES:
            raise ValueError(f"unknown approval status {status!r}")
        keys = request_keys(request.resource, request.rule, request.generation)
        entity = self._read(*keys)
        if entity is not None:
            stored = _from_entity(entity)
            if not hmac.compare_digest(stored.token_hash, request.token_hash):
                return stored
        after = replace(request, status=status, result=dict(result))
        metadata = self._table.update_entity(_to_entity(after), mode=UpdateMode.REPLACE)
        return replace(after, version=str(metadata.get("etag") or ""))

    # -- the anti-forgery key ---------------------------------------------------------------

    def form_key(self) -> bytes:
        """The shared anti-forgery key: created once (create-if-absent), then read."""
        entity = self._read(_KEY_PARTITION, "form")
        if entity is None:
            created = base64.b64encode(secrets.token_bytes(32)).decode("ascii")
            self._create({"PartitionKey": _KEY_PARTITION, "RowKey": "form", "Value": created})
            entity = self._read(_KEY_PARTITION, "form")
        if entity is None:  # pragma: no cover - deleted between create and read
            raise LookupError("the approval form key vanished")
        return base64.b64decode(entity["Value"])


def _created(request: ApprovalRequest) -> datetime:
    return request.created_at


def _kept_changing(keys: tuple[str, str]) -> Exception:
    from azure.core.exceptions import ResourceModifiedError

    return ResourceModifiedError(f"approval request kept changing: {keys[0]}/{keys[1]}")


# --- the request as an entity ----------------------------------------------------------------


def _to_entity(request: ApprovalRequest) -> dict[str, Any]:
    partition, row = request_keys(request.resource, request.rule, request.generation)
    entity: dict[str, Any] = {
        "PartitionKey": partition,
        "RowKey": row,
        "Resource": request.resource,
        "Rule": request.rule,
        "Generation": request.generation,
        "Kind": request.kind,
        "Baseline": request.baseline,
        "PlanHash": request.plan_hash,
        "TokenHash": request.token_hash,
        "CreatedAt": request.created_at,
        "ExpiresAt": request.expires_at,
        "Required": request.required,
        "DriftActorIds": json.dumps(list(request.drift_actor_ids)),
        "DriftActor": request.drift_actor,
        "DriftTime": request.drift_time,
        "Status": request.status,
    }
    entity.update(split_columns("Plan", json.dumps(request.plan, sort_keys=True)))
    decisions = json.dumps([d.to_dict() for d in request.decisions])
    entity.update(split_columns("Decisions", decisions))
    result = json.dumps(dict(request.result), sort_keys=True, default=str)
    entity.update(split_columns("Result", result))
    return entity


def _from_entity(entity: Any) -> ApprovalRequest:
    return ApprovalRequest(
        resource=entity["Resource"],
        rule=entity["Rule"],
        generation=int(entity["Generation"]),
        kind=entity.get("Kind", ""),
        baseline=entity.get("Baseline", ""),
        plan=json.loads(join_text(entity, "Plan") or "{}"),
        plan_hash=entity["PlanHash"],
        token_hash=entity["TokenHash"],
        created_at=_aware(entity["CreatedAt"]),
        expires_at=_aware(entity["ExpiresAt"]),
        required=int(entity.get("Required", 1)),
        drift_actor_ids=tuple(json.loads(entity.get("DriftActorIds") or "[]")),
        drift_actor=entity.get("DriftActor", ""),
        drift_time=entity.get("DriftTime", ""),
        status=entity["Status"],
        decisions=tuple(
            Decision.from_dict(d) for d in json.loads(join_text(entity, "Decisions") or "[]")
        ),
        result=json.loads(join_text(entity, "Result") or "{}"),
        version=str(getattr(entity, "metadata", {}).get("etag") or ""),
    )


def _aware(moment: datetime) -> datetime:
    """The SDK's TablesEntityDatetime as a plain aware datetime."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return datetime(
        aware.year,
        aware.month,
        aware.day,
        aware.hour,
        aware.minute,
        aware.second,
        aware.microsecond,
        tzinfo=UTC,
    )
