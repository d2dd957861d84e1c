"""Accepting a drift: the baseline file change it implies, for review and merge.

Accepting says the live setting is the intended one. driftkeeper does not edit the deployed
baselines (a Function App's files are read-only, and baselines are reviewed like code): it
proposes the file, the live setting's ``expected`` with everything people wrote in the file
(name, description, response, severity, owners, expected actors, approvals) kept, and
shows or writes it for someone to merge.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._errors import BaselineError
from .._state import StateView
from ..baseline import Baseline, dump_baseline, load_yaml
from ..kinds import get_kind
from ..snapshot import Snapshot

__all__ = ["AcceptedBaseline", "accepted_baseline"]

_HEADER = (
    "driftkeeper baseline: the expected state of one setting.",
    "Proposed by an accepted drift: review, then merge to make it the baseline.",
)


@dataclass(frozen=True)
class AcceptedBaseline:
    """The proposed content of one baseline file."""

    file: str
    """The baseline's file, as loaded."""
    text: str
    """The whole proposed file (YAML)."""
    removed: bool = False
    """The setting no longer exists: accepting it means deleting the baseline file."""


def accepted_baseline(baseline: Baseline, live: Snapshot) -> AcceptedBaseline:
    """The baseline file that makes ``live`` compliant for ``baseline``'s setting."""
    kind = get_kind(baseline.kind)
    index = StateView(live).index(kind.name)
    setting = kind.actual(index, baseline.key)
    doc = _current_document(baseline)
    if setting is None:
        return AcceptedBaseline(baseline.file, "", removed=True)
    doc["expected"] = kind.to_expected(setting)
    return AcceptedBaseline(baseline.file, dump_baseline(doc, header=_HEADER))


def _current_document(baseline: Baseline) -> dict[str, Any]:
    """The baseline's file as written (comments aside), or one rebuilt from the loaded
    baseline when the file cannot be read again."""
    path = Path(baseline.file)
    try:
        doc = load_yaml(path, baseline.file) if path.is_file() else None
    except BaselineError:
        doc = None
    if isinstance(doc, Mapping):
        return dict(doc)
    return {
        "kind": baseline.kind,
        "name": baseline.name,
        "scope": baseline.scope,
        "response": baseline.response,
        "severity": baseline.severity,
        "owners": list(baseline.owners),
        "expectedActors": list(baseline.expected_actors),
        "expected": dict(baseline.expected),
    }
