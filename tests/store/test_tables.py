"""store.TABLES names every table driftkeeper uses, as the modules that own them name them."""

from __future__ import annotations

from driftkeeper.compliance import SUMMARY_TABLE
from driftkeeper.compliance._summaries import COUNTS_SUFFIX
from driftkeeper.config import Settings
from driftkeeper.evidence import seals_table_name
from driftkeeper.loganalytics import outbox_table_name
from driftkeeper.runtime import Runtime
from driftkeeper.store import EVENT_TABLE, TABLES


def test_every_table_is_listed_once() -> None:
    settings = Settings()
    expected = {
        settings.events_table,
        settings.incidents_table,
        settings.cursors_table,
        settings.approvals_table,
        settings.brakes_table,
        seals_table_name(EVENT_TABLE),
        SUMMARY_TABLE,
        Runtime(settings).summaries_table,
        SUMMARY_TABLE + COUNTS_SUFFIX,
        outbox_table_name(EVENT_TABLE),
    }
    assert set(TABLES) == expected
    assert len(TABLES) == len(set(TABLES))


def test_the_storage_template_creates_every_table() -> None:
    import re
    from pathlib import Path

    bicep = Path(__file__).resolve().parents[2] / "infra" / "modules" / "storage.bicep"
    block = bicep.read_text(encoding="utf-8").split("param tableNames array = [", 1)[1]
    names = re.findall(r"^\s*'([a-z0-9]+)'\s*$", block.split("]", 1)[0], flags=re.M)
    assert sorted(names) == sorted(TABLES)
