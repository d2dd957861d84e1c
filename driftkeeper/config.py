"""Configuration from ``DRIFTKEEPER_*`` environment variables (Function App settings).

Every variable is documented in the README. Values are validated here, once, with errors
that name the variable; secrets (webhook URLs, keys, passwords) are never logged or shown.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from ._errors import InputError

__all__ = ["Settings"]

_TABLE = re.compile(r"^[A-Za-z][A-Za-z0-9]{2,62}$")


def _ids(value: str) -> frozenset[str]:
    return frozenset(v.strip().casefold() for v in value.split(",") if v.strip())


def _number(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise InputError(f"{name}: expected a number, got {raw!r}") from None
    if not low <= value <= high:
        raise InputError(f"{name}: expected a number between {low} and {high}, got {raw!r}")
    return value


def _table(env: Mapping[str, str], name: str, default: str) -> str:
    value = env.get(name, "").strip() or default
    if not _TABLE.match(value):
        raise InputError(f"{name}: expected a table name (3-63 letters and digits), got {value!r}")
    return value


@dataclass(frozen=True)
class Settings:
    baselines_dir: str = "baselines"
    self_ids: frozenset[str] = frozenset()
    guards: Literal["default", "none"] = "default"
    storage_connection: str = ""
    """A connection string (Azurite, or a key) — or empty to use ``table_endpoint``."""
    table_endpoint: str = ""
    """``https://<account>.table.core.windows.net``, reached with the managed identity."""
    events_table: str = "driftevents"
    incidents_table: str = "incidents"
    cursors_table: str = "cursors"
    coalesce_seconds: float = 5.0
    settle_seconds: float = 1.0
    audit_overlap_minutes: float = 10.0
    arm_endpoint: str = "https://management.azure.com"
    graph_endpoint: str = "https://graph.microsoft.com/v1.0"
    ca_bundle: str = ""
    subscriptions: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        guards = env.get("DRIFTKEEPER_GUARDS", "default").strip() or "default"
        if guards not in ("default", "none"):
            raise InputError(f"DRIFTKEEPER_GUARDS: expected default or none, got {guards!r}")
        return cls(
            baselines_dir=env.get("DRIFTKEEPER_BASELINES_DIR", "").strip() or "baselines",
            self_ids=_ids(env.get("DRIFTKEEPER_SELF_IDS", "")),
            guards=guards,  # type: ignore[arg-type]
            storage_connection=env.get("DRIFTKEEPER_STORAGE_CONNECTION", "").strip(),
            table_endpoint=env.get("DRIFTKEEPER_TABLE_ENDPOINT", "").strip(),
            events_table=_table(env, "DRIFTKEEPER_EVENTS_TABLE", "driftevents"),
            incidents_table=_table(env, "DRIFTKEEPER_INCIDENTS_TABLE", "incidents"),
            cursors_table=_table(env, "DRIFTKEEPER_CURSORS_TABLE", "cursors"),
            coalesce_seconds=_number(env, "DRIFTKEEPER_COALESCE_SECONDS", 5.0, 0.0, 300.0),
            settle_seconds=_number(env, "DRIFTKEEPER_SETTLE_SECONDS", 1.0, 0.0, 30.0),
            audit_overlap_minutes=_number(
                env, "DRIFTKEEPER_AUDIT_OVERLAP_MINUTES", 10.0, 0.0, 1440.0
            ),
            arm_endpoint=env.get("DRIFTKEEPER_ARM_ENDPOINT", "").strip()
            or "https://management.azure.com",
            graph_endpoint=env.get("DRIFTKEEPER_GRAPH_ENDPOINT", "").strip()
            or "https://graph.microsoft.com/v1.0",
            ca_bundle=env.get("DRIFTKEEPER_CA_BUNDLE", "").strip(),
            subscriptions=tuple(
                s.strip() for s in env.get("AZURE_SUBSCRIPTION_ID", "").split(",") if s.strip()
            ),
        )
