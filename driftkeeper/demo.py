"""``make demo``: capture baselines from a known-good tenant, then find the drift in a
second snapshot of it (an RDP rule opened to the internet, an Owner added, the admin MFA
policy switched to report-only), and show the findings."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from .baseline import load_baselines
from .capture import capture_baselines
from .engine import scan
from .report import render_table
from .snapshot import Snapshot

__all__ = ["main"]

ROOT = Path(__file__).resolve().parents[1]


def main(out_dir: Path = ROOT / "build" / "demo") -> int:
    good = ROOT / "examples" / "tenant-known-good.json"
    drifted = ROOT / "examples" / "tenant-drifted.json"
    baselines = out_dir / "baselines"
    shutil.rmtree(baselines, ignore_errors=True)
    print(f"1. driftkeeper baseline capture --state {good.relative_to(ROOT)} --out {baselines}")
    result = capture_baselines(Snapshot.from_file(good), baselines)
    print(f"   wrote {len(result.written)} baseline files")
    print(f"2. driftkeeper scan --baselines {baselines} --state {drifted.relative_to(ROOT)}\n")
    report = scan(Snapshot.from_file(drifted), load_baselines(baselines))
    render_table(report, sys.stdout)
    print(f"\nscan exit code would be {report.exit_code} (0 no drift, 1 drift, 2 error)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
