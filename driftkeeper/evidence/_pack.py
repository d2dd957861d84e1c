"""The evidence pack: ``report.html``, ``report.pdf``, ``events.csv``, ``incidents.csv`` and
``manifest.json`` (SHA-256 and size of each file, the period, the seal verification)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._collect import ChangeEntry, IncidentEntry, changes_of, incidents_of, utc
from ._controls import control_of
from ._csv import csv_bytes
from ._pdf import print_pdf
from ._records import Unreadable, read_records
from ._render import ReportInfo, render_report
from ._sealing import Verification, verify
from ._seals import Seals

if TYPE_CHECKING:
    from azure.data.tables import TableClient

    from .._model import EventRecord

__all__ = ["Pack", "write_pack"]

EVENT_HEADER = (
    "Day",
    "RowKey",
    "Time",
    "RecordedAt",
    "MttdSeconds",
    "Control",
    "Kind",
    "Outcome",
    "Severity",
    "Resource",
    "Setting",
    "Rule",
    "ActorUpn",
    "ActorAppId",
    "ActorObjectId",
    "ActorIp",
    "Source",
    "EventType",
    "Operation",
    "CorrelationId",
    "SignalId",
    "Message",
    "Changes",
    "Unreadable",
)
INCIDENT_HEADER = (
    "Control",
    "Kind",
    "Resource",
    "Rule",
    "Track",
    "Severity",
    "Status",
    "OpenedAt",
    "ResolvedAt",
    "MttrSeconds",
    "Generation",
    "Count",
    "LastSignalId",
    "LastMessage",
    "Deliveries",
)


@dataclass(frozen=True)
class Pack:
    """What :func:`write_pack` wrote."""

    directory: Path
    files: tuple[str, ...]
    verification: Verification
    pdf_skipped: str
    """Why ``report.pdf`` was not written (empty: it was)."""
    manifest: dict[str, Any]
    unreadable: tuple[Unreadable, ...] = ()
    """Rows of the period that are not readable records (in events.csv as raw columns)."""

    @property
    def exit_code(self) -> int:
        """0: the seals verify; 1: tampering was found or a row is unreadable (the pack says
        what)."""
        return 1 if self.verification.tampered or self.unreadable else 0


def write_file(path: Path, data: bytes) -> None:
    """Write ``path`` whole, through a new file in its directory replacing it: a symlink at
    ``path`` is replaced itself, its target is never written."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_pack(
    *,
    events: TableClient,
    incidents: TableClient,
    approvals: TableClient,
    seals: Seals,
    first: date,
    last: date,
    out: Path,
    chromium: str | None,
    version: str,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Pack:
    """Verify the seals of ``first`` .. ``last`` (whole UTC days) and write the pack."""
    from ..store import Approvals
    from ..store._incidents import row_from_entity

    if last < first:
        raise ValueError("--to is before --from")
    now = clock()
    start = datetime.combine(first, time(), UTC)
    end = datetime.combine(last + timedelta(days=1), time(), UTC)
    verification = verify(events, seals, first=first, last=last, today=now.date())
    read, unreadable = read_records(events, start, end)
    records = [r for _, r in read]
    keys = [k for k, _ in read]
    rows = [row_from_entity(e) for e in incidents.list_entities()]
    drift_tracks = {
        (row.resource.casefold(), row.rule): row.drift for row in rows if row.drift is not None
    }
    changes = changes_of(
        records, verification.timestamps, keys, drift_tracks, Approvals(approvals).list()
    )
    incident_entries = incidents_of(rows, start, end)

    out.mkdir(parents=True, exist_ok=True)
    info = ReportInfo(first.isoformat(), last.isoformat(), utc(now), version)
    html_file = out / "report.html"
    html = render_report(info, verification, changes, incident_entries, unreadable)
    write_file(html_file, html.encode("utf-8", "backslashreplace"))
    _events_csv(out / "events.csv", records, keys, verification, changes, unreadable)
    _incidents_csv(out / "incidents.csv", incident_entries)
    pdf_file = out / "report.pdf"
    if chromium is None:
        skipped = "Chromium was not found"
        pdf_file.unlink(missing_ok=True)
    else:
        skipped = print_pdf(chromium, html_file, pdf_file)
    names = ["report.html", "events.csv", "incidents.csv"]
    if not skipped:
        names.insert(1, "report.pdf")
    manifest: dict[str, Any] = {
        "period": {"from": first.isoformat(), "to": last.isoformat()},
        "generatedAt": utc(now),
        "driftkeeperVersion": version,
        "files": [
            {"name": n, "sha256": _sha256(out / n), "size": (out / n).stat().st_size} for n in names
        ],
        "pdf": "written" if not skipped else f"skipped: {skipped}",
        "seals": verification.summary(),
        "unreadableRows": [u.to_dict() for u in unreadable],
    }
    text = json.dumps(manifest, indent=2, ensure_ascii=True) + "\n"
    write_file(out / "manifest.json", text.encode("ascii"))
    return Pack(out, (*names, "manifest.json"), verification, skipped, manifest, tuple(unreadable))


def _events_csv(
    path: Path,
    records: list[EventRecord],
    keys: list[tuple[str, str]],
    verification: Verification,
    changes: list[ChangeEntry],
    unreadable: list[Unreadable],
) -> None:
    mttd = {(c.record.signal_id, c.record.setting, c.record.rule): c.mttd_seconds for c in changes}

    def row(record: EventRecord, key: tuple[str, str]) -> list[str | int | float | None]:
        control = control_of(record.kind)
        recorded = verification.timestamps.get(key)
        return [
            key[0],
            key[1],
            record.time,
            utc(recorded) if recorded else None,
            mttd.get((record.signal_id, record.setting, record.rule)),
            control.name if control else None,
            record.kind,
            record.outcome,
            record.severity,
            record.resource,
            record.setting,
            record.rule,
            record.actor_upn,
            record.actor_app_id,
            record.actor_object_id,
            record.actor_ip,
            record.source,
            record.event_type,
            record.operation,
            record.correlation_id,
            record.signal_id,
            record.message,
            json.dumps([c.to_dict() for c in record.changes], ensure_ascii=False),
            None,
        ]

    def raw(bad: Unreadable) -> list[str | int | float | None]:
        recorded = verification.timestamps.get(bad.key)
        cells: list[str | int | float | None] = [
            bad.key[0],
            bad.key[1],
            bad.raw.get("Time"),
            utc(recorded) if recorded else None,
            None,
            None,
        ]
        cells += [bad.raw.get(column) for column in EVENT_HEADER[6:-1]]
        return [*cells, bad.reason]

    lines = [row(r, k) for r, k in zip(records, keys, strict=True)]
    lines += [raw(u) for u in unreadable]
    lines.sort(key=lambda cells: (str(cells[0]), str(cells[1])))
    write_file(path, csv_bytes(EVENT_HEADER, lines))


def _incidents_csv(path: Path, entries: list[IncidentEntry]) -> None:
    data = csv_bytes(
        INCIDENT_HEADER,
        (
            [
                e.control.name if e.control else None,
                e.incident.kind,
                e.incident.resource,
                e.incident.rule,
                e.track,
                e.incident.severity,
                e.incident.status,
                e.incident.opened_at,
                e.incident.resolved_at or None,
                e.mttr_seconds,
                e.incident.generation,
                e.incident.count,
                e.incident.last_signal_id,
                e.incident.last_message,
                len(e.incident.deliveries),
            ]
            for e in entries
        ),
    )
    write_file(path, data)
