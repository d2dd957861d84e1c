"""Accepting a drift proposes the baseline file that makes the live setting compliant."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from driftkeeper import Snapshot
from driftkeeper._state import StateView
from driftkeeper.baseline import Baseline, load_baselines, parse_baseline
from driftkeeper.engine import evaluate
from driftkeeper.kinds import get_kind
from driftkeeper.rollback._accept import accepted_baseline

ROOT = Path(__file__).resolve().parents[2]
DRIFTED = Snapshot.from_file(ROOT / "examples/tenant-drifted.json")


def judged(baseline: Baseline, snapshot: Snapshot) -> str:
    kind = get_kind(baseline.kind)
    return evaluate(kind, baseline, StateView(snapshot).index(kind.name), snapshot).status


def drifted_baselines() -> list[Baseline]:
    loaded = load_baselines(ROOT / "baselines")
    return [b for b in loaded.baselines if judged(b, DRIFTED) == "drift"]


@pytest.mark.parametrize("baseline", drifted_baselines(), ids=lambda b: b.name)
def test_the_proposed_file_makes_the_live_setting_compliant(baseline: Baseline) -> None:
    # given a baseline the drifted tenant breaks
    # when its drift is accepted
    proposed = accepted_baseline(baseline, DRIFTED)
    if proposed.removed:
        pytest.skip("the setting is gone: accepting deletes the file")
    # then the proposed file keeps what people wrote and judges the live setting compliant
    doc = yaml.safe_load(proposed.text)
    original = yaml.safe_load(Path(baseline.file).read_text(encoding="utf-8"))
    kept = {k: v for k, v in original.items() if k != "expected"}
    assert {k: v for k, v in doc.items() if k != "expected"} == kept
    new = parse_baseline(doc, baseline.file)
    assert isinstance(new, Baseline)
    assert judged(new, DRIFTED) == "compliant"
    assert proposed.text.startswith("# driftkeeper baseline")


def test_there_is_drift_to_accept() -> None:
    assert len(drifted_baselines()) >= 3
