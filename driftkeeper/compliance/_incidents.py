"""The open incidents, read from the incidents table (one row per (resource, rule), so
bounded by the number of watched settings, never by the number of events)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from azure.data.tables import TableClient

__all__ = ["OpenIncident", "open_incidents"]

_COLUMNS = [
    "Resource",
    "Rule",
    "Kind",
    "Severity",
    "Status",
    "OpenedAt",
    "ReadErrorStatus",
    "ReadErrorKind",
    "ReadErrorSeverity",
    "ReadErrorOpenedAt",
]


@dataclass(frozen=True)
class OpenIncident:
    resource: str
    rule: str
    kind: str
    severity: str
    track: str
    """``drift`` or ``read-error``."""
    opened_at: str


def open_incidents(incidents: TableClient) -> list[OpenIncident]:
    """Every open drift and read-error incident."""
    out: list[OpenIncident] = []
    for entity in incidents.query_entities(
        "Status eq @open or ReadErrorStatus eq @open",
        parameters={"open": "open"},
        select=_COLUMNS,
    ):
        resource, rule = str(entity.get("Resource") or ""), str(entity.get("Rule") or "")
        for track, prefix in (("drift", ""), ("read-error", "ReadError")):
            if entity.get(f"{prefix}Status") == "open":
                out.append(
                    OpenIncident(
                        resource,
                        rule,
                        str(entity.get(f"{prefix}Kind") or ""),
                        str(entity.get(f"{prefix}Severity") or ""),
                        track,
                        str(entity.get(f"{prefix}OpenedAt") or ""),
                    )
                )
    return out
