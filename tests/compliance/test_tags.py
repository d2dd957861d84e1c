"""Shared-responsibility tags: declared by every kind and guard, listed in the docs, and a
kind that declares none still works (``unassigned``)."""

from __future__ import annotations

import re
from pathlib import Path

from driftkeeper.compliance import LAYERS, RESPONSIBILITIES, declared_controls
from driftkeeper.guards import Guard
from driftkeeper.kinds import Kind

ROOT = Path(__file__).resolve().parents[2]


def test_every_kind_and_guard_declares_a_known_responsibility_and_layer() -> None:
    controls = declared_controls()
    assert {c.type for c in controls} == {"kind", "guard"}
    for control in controls:
        assert control.responsibility in RESPONSIBILITIES[:-1], control
        assert control.layer in LAYERS[:-1], control


def test_the_base_classes_default_to_unassigned() -> None:
    assert (Kind.responsibility, Kind.layer) == ("unassigned", "unassigned")
    assert (Guard.responsibility, Guard.layer) == ("unassigned", "unassigned")


def test_the_baseline_docs_show_each_tag() -> None:
    text = (ROOT / "docs" / "baselines.md").read_text(encoding="utf-8")
    for control in declared_controls():
        line = re.search(rf"^\|\s*`{re.escape(control.name)}`\s*\|.*$", text, re.M)
        assert line is not None, control.name
        assert f"`{control.responsibility}` / `{control.layer}`" in line.group(), control.name
