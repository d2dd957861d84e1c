"""The outbox: which event rows still have to reach Log Analytics, kept in Table Storage.

One marker row per recording batch (PartitionKey ``pending``, RowKey
``<UTC time>|<random hex>``) lists the batch's event keys (``PartitionKey/RowKey``, JSON, over
``Keys``, ``Keys1`` ... as the values grow). It is written *before* the event table write and
the upload, and removed after the upload, so a process that dies in between leaves the
marker, and the reconcile timer sends those rows again (a marked row the table never got is
dropped then: see :mod:`driftkeeper.loganalytics._sink`): never lost. A failed call leaves
only its own rows in the marker, so the retry sends exactly the missing rows; only a death
between a successful call and the marker's update can send a row twice (the dedupe key is
documented in ``docs/dashboards.md``).

Table failures propagate as azure-core exceptions, as in :mod:`driftkeeper.store`.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..store._conditional import TableRows
from ..store._keys import join_text, split_columns

if TYPE_CHECKING:
    pass

__all__ = ["OUTBOX_TABLE_SUFFIX", "Marker", "Outbox", "outbox_table_name"]

log = logging.getLogger(__name__)

OUTBOX_TABLE_SUFFIX = "outbox"
_PENDING = "pending"
_KEYS_PER_MARKER = 2_000
"""Event keys per marker row (about 100 KB of JSON, well under the 1 MiB entity limit)."""

EventKey = tuple[str, str]


def outbox_table_name(events_table: str) -> str:
    """The outbox table of an event table: its name + ``outbox`` (``drifteventsoutbox``)."""
    return events_table[: 63 - len(OUTBOX_TABLE_SUFFIX)] + OUTBOX_TABLE_SUFFIX


@dataclass(frozen=True)
class Marker:
    """Event rows of one batch not yet known to be in Log Analytics."""

    id: str
    keys: tuple[EventKey, ...]
    attempts: int
    etag: str = ""


def _encode(keys: Sequence[EventKey]) -> dict[str, str]:
    text = json.dumps([list(k) for k in keys], separators=(",", ":"))
    return split_columns("Keys", text)


def _decode(entity: dict[str, Any]) -> tuple[EventKey, ...]:
    try:
        raw = json.loads(join_text(entity, "Keys") or "[]")
    except ValueError:
        return ()  # an unreadable marker holds nothing we could send
    keys = []
    for item in raw if isinstance(raw, list) else ():
        if isinstance(item, list) and len(item) == 2 and all(isinstance(k, str) for k in item):
            keys.append((item[0], item[1]))
    return tuple(keys)


class Outbox(TableRows):
    """Markers of event rows still owed to Log Analytics, over an injected TableClient."""

    def add(self, keys: Sequence[EventKey]) -> list[Marker]:
        """Write markers for ``keys`` (one per :data:`_KEYS_PER_MARKER`) before they are sent."""
        from azure.data.tables import UpdateMode

        markers = []
        stamp = self._clock().strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        for start in range(0, len(keys), _KEYS_PER_MARKER):
            chunk = tuple(keys[start : start + _KEYS_PER_MARKER])
            marker_id = f"{stamp}|{secrets.token_hex(8)}"
            entity = {"PartitionKey": _PENDING, "RowKey": marker_id, "Attempts": 0}
            entity.update(_encode(chunk))
            meta = self._table.upsert_entity(entity, mode=UpdateMode.REPLACE)
            markers.append(Marker(marker_id, chunk, 0, str((meta or {}).get("etag", ""))))
        return markers

    def settle(self, marker: Marker, missing: Sequence[EventKey], error: str = "") -> None:
        """After an attempt: remove the marker when nothing is ``missing``, else keep only the
        missing keys (one more attempt, the last error kept, 300 characters). Conditional on
        the marker's ETag: a marker another worker settled meanwhile is left as it is."""
        etag = marker.etag or "*"  # no ETag known: the marker as it is now
        if not missing:
            settled = self._delete(_PENDING, marker.id, etag)
        else:
            entity: dict[str, Any] = {
                "PartitionKey": _PENDING,
                "RowKey": marker.id,
                "Attempts": marker.attempts + 1,
                "LastError": error[:300],
            }
            entity.update(_encode(missing))
            settled = self._replace(entity, etag) is not None
        if not settled:
            log.info("outbox marker %s was settled by another worker", marker.id)

    def pending(self, *, older_than: datetime | None = None, limit: int = 50) -> list[Marker]:
        """The oldest markers (at most ``limit``) written before ``older_than``: a younger one
        may belong to a recording still sending its rows."""
        found: list[Marker] = []
        clause, params = "PartitionKey eq @pk", {"pk": _PENDING}
        if older_than is not None:
            clause += " and RowKey lt @before"
            params["before"] = older_than.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        rows = self._table.query_entities(clause, parameters=params, results_per_page=limit)
        for entity in rows:
            attempts = entity.get("Attempts", 0)
            found.append(
                Marker(
                    str(entity["RowKey"]),
                    _decode(dict(entity)),
                    attempts if isinstance(attempts, int) and attempts >= 0 else 0,
                    str(entity.metadata.get("etag", "")),
                )
            )
            if len(found) >= limit:
                break
        return found
