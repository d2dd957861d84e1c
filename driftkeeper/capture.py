"""``baseline capture``: write one baseline file per watched setting of a snapshot.

Output is deterministic and diff-friendly: stable ordering, no volatile fields, no capture
time. Re-capturing into a directory keeps what people edited in existing files (name,
description, response, approvals, severity, owners, expectedActors) and replaces ``expected``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._errors import BaselineError
from ._state import StateView
from .baseline import dump_baseline, load_yaml
from .kinds import all_kinds
from .snapshot import Snapshot

__all__ = ["CaptureResult", "capture_baselines", "captured_documents"]

log = logging.getLogger(__name__)
_KEPT = ("name", "description", "response", "approvals", "severity", "owners", "expectedActors")
_ORDER = (
    "kind",
    "name",
    "description",
    "scope",
    "response",
    "approvals",
    "severity",
    "owners",
    "expectedActors",
    "expected",
)


@dataclass(frozen=True)
class CaptureResult:
    written: tuple[Path, ...]
    skipped: tuple[str, ...]


def captured_documents(snapshot: Snapshot) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Baseline documents by relative file path, and notices for kinds not captured."""
    view = StateView(snapshot)
    docs: dict[str, dict[str, Any]] = {}
    skipped: list[str] = []
    for name, kind in all_kinds().items():
        status, section = view.status(kind.sections)
        if status != "captured":
            skipped.append(
                f"{name}: {section} {'not captured' if status == 'missing' else 'failed'}"
            )
            continue
        index = view.index(name)
        for key in kind.capture_keys(index):
            setting = kind.actual(index, key)
            if setting is None:
                continue
            rel = f"{name}/{kind.slug(setting)}.yaml"
            n = 2
            while rel in docs:
                rel = f"{name}/{kind.slug(setting)}-{n}.yaml"
                n += 1
            docs[rel] = {
                "kind": name,
                "scope": setting.scope,
                "response": "alert",
                "severity": kind.default_severity,
                "owners": [],
                "expectedActors": [],
                "expected": kind.to_expected(setting),
            }
    return docs, skipped


def capture_baselines(snapshot: Snapshot, out: str | Path) -> CaptureResult:
    """Write the baselines of ``snapshot`` under ``out`` (created if needed)."""
    root = Path(out)
    docs, skipped = captured_documents(snapshot)
    written = []
    header = [
        "driftkeeper baseline: the expected state of one setting. Captured with",
        "`driftkeeper baseline capture`; edit response/severity/owners/expectedActors freely.",
    ]
    for rel, doc in docs.items():
        path = root / rel
        if path.exists():
            try:
                old = load_yaml(path, str(path))
            except BaselineError as exc:
                log.warning("not keeping edits from unreadable %s: %s", path, exc)
                old = None
            if isinstance(old, dict):
                merged = {**doc, **{k: old[k] for k in _KEPT if k in old}}
                doc = {k: merged[k] for k in _ORDER if k in merged}
        path.parent.mkdir(parents=True, exist_ok=True)
        text = dump_baseline(doc, header=header)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        written.append(path)
    return CaptureResult(tuple(written), tuple(skipped))
