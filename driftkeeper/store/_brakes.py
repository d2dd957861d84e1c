"""The brakes' state, shared by every instance: the rollback budget and its breaker, each
setting's flapping record, and the claims that make each rollback run once.

Table ``brakes``:

=============  ============================  ==============================================
PartitionKey   RowKey                        holds
=============  ============================  ==============================================
``breaker``    ``auto``                      ``Spent`` (JSON), ``Tripped``, ``TrippedAt``,
                                             ``Reason``, ``ResetBy``, ``ResetAt``
``flap``       encoded setting               ``Rollbacks`` (JSON), ``Manual``, ``Since``
``run``        encoded rollback key          ``ClaimedAt``, ``Owner``, ``Outcome``,
                                             ``Result`` (JSON), ``FinishedAt``
=============  ============================  ==============================================

Every change is a conditional write (create if absent, replace if the ETag is unchanged),
re-decided on a lost race, so two instances never both spend the last unit of the budget,
and a rollback claimed by one instance is not run by another while its claim is fresh.
Service failures propagate, as in the other stores.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from ..rollback._brakes import Breaker, Flapping, note_rollback, spend
from ._conditional import TableRows
from ._keys import encode_key, short_hash

if TYPE_CHECKING:
    pass

__all__ = ["BRAKES_TABLE", "RUN_LEASE", "Brakes"]

BRAKES_TABLE = "brakes"
RUN_LEASE = timedelta(minutes=10)
"""How long a claimed rollback is left to its claimer before another instance may run it."""
MAX_ATTEMPTS = 20
_T = TypeVar("_T")


class Brakes(TableRows):
    """The ``brakes`` table, over an injected ``azure.data.tables.TableClient``."""

    # --- the budget and its breaker ----------------------------------------------------------
    def breaker(self) -> Breaker:
        entity = self._read("breaker", "auto")
        return _breaker(entity) if entity is not None else Breaker()

    def spend(self, key: str, *, budget: int) -> tuple[bool, Breaker]:
        """Take one automatic rollback (``key``: the rollback's own key) from the budget:
        whether it may run, and the breaker after (``tripped`` when this spend tripped it)."""

        def change(entity: Mapping[str, Any] | None) -> tuple[dict[str, Any] | None, bool]:
            before = _breaker(entity) if entity is not None else Breaker()
            after, allowed = spend(before, short_hash(key), now=self._clock(), budget=budget)
            return (None if after == before else _breaker_entity(after)), allowed

        allowed = self._change("breaker", "auto", change)
        return allowed, self.breaker()

    def resume(self, *, by: str) -> Breaker:
        """Reset the breaker (a person decided automatic rollback may go on)."""
        now = self._clock().isoformat()

        def change(entity: Mapping[str, Any] | None) -> tuple[dict[str, Any] | None, None]:
            return _breaker_entity(Breaker(reset_by=by, reset_at=now)), None

        self._change("breaker", "auto", change)
        return self.breaker()

    # --- flapping ------------------------------------------------------------------------------
    def flapping(self, setting: str) -> Flapping:
        entity = self._read("flap", encode_key(setting))
        return _flapping(entity) if entity is not None else Flapping()

    def note_rollback(self, setting: str) -> Flapping:
        """Count one more automatic rollback of ``setting``."""

        def change(entity: Mapping[str, Any] | None) -> tuple[dict[str, Any], Flapping]:
            after = note_rollback(
                _flapping(entity) if entity is not None else Flapping(), now=self._clock()
            )
            return _flapping_entity(setting, after), after

        return self._change("flap", encode_key(setting), change)

    def stop_auto(self, setting: str) -> bool:
        """Turn automatic rollback off for ``setting``; True for the one caller that did it
        (the one that pages), False when it was off already."""

        def change(entity: Mapping[str, Any] | None) -> tuple[dict[str, Any] | None, bool]:
            before = _flapping(entity) if entity is not None else Flapping()
            if before.manual:
                return None, False
            after = Flapping(before.rollbacks, True, self._clock().isoformat())
            return _flapping_entity(setting, after), True

        return self._change("flap", encode_key(setting), change)

    def resume_setting(self, setting: str) -> None:
        """Turn automatic rollback back on for ``setting``, its count cleared."""

        def change(entity: Mapping[str, Any] | None) -> tuple[dict[str, Any], None]:
            return _flapping_entity(setting, Flapping()), None

        self._change("flap", encode_key(setting), change)

    # --- run once ----------------------------------------------------------------------------
    def claim_run(self, key: str, *, owner: str) -> bool:
        """Claim the rollback ``key``: True for exactly one caller while the claim is fresh
        and unfinished; a claim older than :data:`RUN_LEASE` without a result (its runner
        died) may be taken over."""
        now = self._clock()

        def change(entity: Mapping[str, Any] | None) -> tuple[dict[str, Any] | None, bool]:
            if entity is not None:
                if entity.get("Outcome"):
                    return None, False  # ran already
                claimed = _time(str(entity.get("ClaimedAt", "")))
                if claimed is not None and now - claimed <= RUN_LEASE:
                    return None, False
            return {
                "PartitionKey": "run",
                "RowKey": encode_key(key),
                "Key": key,
                "ClaimedAt": now.isoformat(),
                "Owner": owner,
            }, True

        return self._change("run", encode_key(key), change)

    def finish_run(self, key: str, outcome: str, result: Mapping[str, Any]) -> None:
        """Record what the claimed rollback did (it is then never run again)."""
        now = self._clock().isoformat()

        def change(entity: Mapping[str, Any] | None) -> tuple[dict[str, Any], None]:
            base = dict(entity or {"PartitionKey": "run", "RowKey": encode_key(key), "Key": key})
            base.update(Outcome=outcome, Result=json.dumps(result)[:30_000], FinishedAt=now)
            return base, None

        self._change("run", encode_key(key), change)

    def run(self, key: str) -> Mapping[str, Any] | None:
        entity = self._read("run", encode_key(key))
        return None if entity is None else dict(entity)

    def _change(
        self,
        partition: str,
        row: str,
        change: Callable[[Mapping[str, Any] | None], tuple[dict[str, Any] | None, _T]],
    ) -> _T:
        """Read, decide, write conditionally; decide again on a lost race."""
        from azure.core import MatchConditions
        from azure.core.exceptions import (
            ResourceExistsError,
            ResourceModifiedError,
            ResourceNotFoundError,
        )
        from azure.data.tables import UpdateMode

        for _ in range(MAX_ATTEMPTS):
            entity = self._read(partition, row)
            new, answer = change(entity)
            if new is None:
                return answer
            new = {**new, "PartitionKey": partition, "RowKey": row}
            try:
                if entity is None:
                    self._table.create_entity(new)
                else:
                    self._table.update_entity(
                        new,
                        mode=UpdateMode.REPLACE,
                        etag=entity.metadata["etag"],
                        match_condition=MatchConditions.IfNotModified,
                    )
            except (ResourceExistsError, ResourceModifiedError, ResourceNotFoundError):
                continue
            return answer
        raise ResourceModifiedError(f"brakes row kept changing: {partition}/{row}")


def _time(text: str) -> datetime | None:
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        return None
    return at if at.tzinfo is not None else None


def _breaker(entity: Mapping[str, Any]) -> Breaker:
    spent = json.loads(str(entity.get("Spent") or "[]"))
    return Breaker(
        spent=tuple((str(k), str(t)) for k, t in spent),
        tripped=bool(entity.get("Tripped", False)),
        tripped_at=str(entity.get("TrippedAt", "")),
        reason=str(entity.get("Reason", "")),
        reset_by=str(entity.get("ResetBy", "")),
        reset_at=str(entity.get("ResetAt", "")),
    )


def _breaker_entity(breaker: Breaker) -> dict[str, Any]:
    return {
        "Spent": json.dumps([list(pair) for pair in breaker.spent]),
        "Tripped": breaker.tripped,
        "TrippedAt": breaker.tripped_at,
        "Reason": breaker.reason,
        "ResetBy": breaker.reset_by,
        "ResetAt": breaker.reset_at,
    }


def _flapping(entity: Mapping[str, Any]) -> Flapping:
    return Flapping(
        rollbacks=tuple(str(t) for t in json.loads(str(entity.get("Rollbacks") or "[]"))),
        manual=bool(entity.get("Manual", False)),
        since=str(entity.get("Since", "")),
    )


def _flapping_entity(setting: str, flapping: Flapping) -> dict[str, Any]:
    return {
        "Setting": setting,
        "Rollbacks": json.dumps(list(flapping.rollbacks)),
        "Manual": flapping.manual,
        "Since": flapping.since,
    }
