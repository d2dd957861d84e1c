"""Broken baselines and snapshots through ``driftkeeper scan`` (the CLI's ``main``, in
process): exit 2, the error names the file and the field, never a traceback. Each case is
bounded by pytest-timeout (the suite's), not by a wall-time assertion."""

from __future__ import annotations

import io
import json
import re
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings

from driftkeeper import cli
from tests.fuzz.conftest import FUZZ_SETTINGS, bounded, report
from tests.fuzz.strategies import FUZZ_ITEMS, broken_baselines, broken_snapshots

ROOT = Path(__file__).resolve().parents[2]
STATE = ROOT / "examples/tenant-drifted.json"
GOOD_STATE = json.loads(STATE.read_text())
GOOD_BASELINE = yaml.safe_load(next((ROOT / "baselines/nsg").glob("*.yaml")).read_text())
SCAN_CASES = max(FUZZ_ITEMS // 8, 1)
CASE_SECONDS = 20.0
"""The bound on one case (a hang or a blow-up fails it; generous on a busy 2-core box)."""
NSG_BASELINES = ROOT / "baselines/nsg"
"""Baselines for the snapshot cases: a few, so a case costs the snapshot, not the set."""
"""Cases per document type (a scan loads and judges a whole tenant: dearer than an event)."""
ERROR = re.compile(r"driftkeeper: error: (?P<file>.+?): (?P<rest>.*)", re.DOTALL)


def scan(baselines: Path, state: Path) -> tuple[int, str]:
    out = io.StringIO()
    argv = ["scan", "--baselines", str(baselines), "--state", str(state), "--format", "json"]
    with bounded(CASE_SECONDS):
        code = cli.main(argv, out=out)
    return code, out.getvalue()


def refusal(err: str, path: Path) -> str:
    """What follows ``<path>: `` in the one error line (the field, then the problem)."""
    assert "Traceback" not in err
    assert "unexpected failure" not in err
    match = ERROR.fullmatch(err.strip())
    assert match, err
    assert match["file"] == str(path) or match["rest"].startswith(f"{path}: "), err
    return match["rest"]


def test_broken_baselines_exit_2_naming_file_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = 0
    started = time.monotonic()

    @settings(FUZZ_SETTINGS, max_examples=SCAN_CASES)
    @given(broken_baselines(GOOD_BASELINE))
    def run(case: tuple[str, str]) -> None:
        nonlocal cases
        text, field = case
        directory = tmp_path / "baselines"
        shutil.rmtree(directory, ignore_errors=True)
        (directory / "nsg").mkdir(parents=True)
        path = directory / "nsg" / "broken.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        capsys.readouterr()
        # when a scan loads it
        code, out = scan(directory, STATE)
        # then it exits 2, names the file and the field, and judges nothing
        rest = refusal(capsys.readouterr().err, path)
        assert (code, out) == (2, "")
        if field == "" or "not valid YAML" in rest:
            # YAML that does not parse (a lone surrogate cannot be YAML): line and column
            assert re.match(r"(line \d+, column \d+: )?not valid YAML \(", rest), rest
        elif not rest.startswith(field):
            assert rest.startswith("(document): "), (field, rest)  # e.g. over the size limit
        cases += 1

    run()
    assert cases == SCAN_CASES
    report("scan: baselines", started, cases=cases, exit_2=cases)


def test_broken_snapshots_exit_2_naming_file_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = 0
    started = time.monotonic()

    @settings(FUZZ_SETTINGS, max_examples=SCAN_CASES)
    @given(broken_snapshots(GOOD_STATE))
    def run(case: tuple[dict[str, Any], str]) -> None:
        nonlocal cases
        doc, field = case
        path = tmp_path / "state.json"
        path.write_text(json.dumps(doc), encoding="utf-8")
        capsys.readouterr()
        code, out = scan(NSG_BASELINES, path)
        rest = refusal(capsys.readouterr().err, path)
        assert (code, out) == (2, "")
        named = rest.split(": ", 1)[0]  # the field itself, one inside it, or its section
        assert named.startswith(field) or field.startswith(named), (field, rest)
        assert named.strip()
        cases += 1

    run()
    assert cases == SCAN_CASES
    report("scan: snapshots", started, cases=cases, exit_2=cases)
