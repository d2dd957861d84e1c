"""Every setting the code reads is set by the templates or documented in docs/deployment.md."""

from __future__ import annotations

import re

from ._bicep import ROOT, bicep_files

READ = re.compile(r"[\"'](DRIFTKEEPER_[A-Z0-9_]+|AZURE_[A-Z_]+)[\"']")


def _read_by_code() -> set[str]:
    names: set[str] = set()
    for folder in ("driftkeeper", "handlers"):
        for path in (ROOT / folder).rglob("*.py"):
            names.update(READ.findall(path.read_text(encoding="utf-8")))
    names.update(READ.findall((ROOT / "function_app.py").read_text(encoding="utf-8")))
    # settings of local tools and tests, never of a deployed app
    return {n for n in names if n not in {"DRIFTKEEPER_FUZZ_ITEMS", "DRIFTKEEPER_FUZZ_REPORT"}}


def test_the_code_reads_settings_at_all() -> None:
    names = _read_by_code()
    assert {"DRIFTKEEPER_TABLE_ENDPOINT", "DRIFTKEEPER_APPROVERS", "AZURE_TENANT_ID"} <= names


def test_every_setting_the_code_reads_is_set_or_documented() -> None:
    templates = "\n".join(p.read_text(encoding="utf-8") for p in bicep_files())
    docs = (ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")
    missing = sorted(
        name
        for name in _read_by_code()
        if not re.search(rf"\b{name}\b", templates) and f"`{name}`" not in docs
    )
    assert not missing, f"neither set in infra/ nor documented in docs/deployment.md: {missing}"


def test_the_settings_other_branches_read_are_set_by_these_names() -> None:
    # agreed names: the Event Hubs trigger's identity-based connection and the Logs Ingestion sink
    main = (ROOT / "infra" / "main.bicep").read_text(encoding="utf-8")
    for name in (
        "DRIFTKEEPER_EVENT_HUB__fullyQualifiedNamespace",
        "DRIFTKEEPER_EVENT_HUB_NAME",
        "DRIFTKEEPER_LOGS_INGESTION_ENDPOINT",
        "DRIFTKEEPER_LOGS_INGESTION_RULE_ID",
        "DRIFTKEEPER_LOGS_INGESTION_STREAM",
        "DRIFTKEEPER_APPROVERS",
        "DRIFTKEEPER_READERS",
    ):
        assert f"{name}:" in main, name
