"""Hostile events through ``driftkeeper replay`` (the CLI's ``main``, in process): every item
of the file is reported, an ``invalid`` one with its reason; no item aborts the file, no
traceback, and the exit code is one of the documented ones (0, 1, 2)."""

from __future__ import annotations

import io
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftkeeper import cli
from tests.fuzz.conftest import FUZZ_SETTINGS, report
from tests.fuzz.strategies import FUZZ_ITEMS, dumps, event_documents

ROOT = Path(__file__).resolve().parents[2]
STATE = str(ROOT / "examples/tenant-drifted.json")
BASELINES = str(ROOT / "baselines")
BATCH = 50
"""Items per generated events file."""


def replay(events: Path, *extra: str) -> tuple[int, str]:
    out = io.StringIO()
    argv = ["replay", "--events", str(events), "--state", STATE, "--baselines", BASELINES]
    code = cli.main([*argv, *extra], out=out)
    return code, out.getvalue()


def test_every_hostile_item_of_a_file_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = 0
    items = 0
    outcomes: Counter[str] = Counter()
    codes: Counter[int] = Counter()
    started = time.monotonic()

    @settings(FUZZ_SETTINGS, max_examples=max(FUZZ_ITEMS // BATCH, 1))
    @given(st.lists(event_documents, min_size=BATCH, max_size=BATCH), st.booleans())
    def run(docs: list[Any], table: bool) -> None:
        nonlocal files, items
        events = tmp_path / "events.json"
        events.write_text("[" + ",".join(dumps(doc) for doc in docs) + "]", encoding="utf-8")
        capsys.readouterr()
        # when the file is replayed (as JSON, or as the table a person reads)
        code, out = replay(events, "--format", "table" if table else "json")
        err = capsys.readouterr().err
        # then it ends with a documented exit code, never a traceback
        assert code in (0, 1, 2), err
        assert "Traceback" not in err
        assert "unexpected failure" not in err
        if table:
            assert "driftkeeper replay" in out
        else:
            # and every item is reported, in order, an invalid one with its reason
            signals = json.loads(out)["signals"]
            assert len(signals) == len(docs)
            outcomes.update(s["outcome"] for s in signals)
            assert all(s["reason"].strip() for s in signals if s["outcome"] == "invalid")
            if all(s["outcome"] == "invalid" for s in signals):
                assert code == 2
                assert "no item is an event driftkeeper reads" in err
        files += 1
        items += len(docs)
        codes[code] += 1

    run()
    assert items == files * BATCH >= FUZZ_ITEMS // BATCH * BATCH
    report("replay", started, items=items, files=files, exit_codes=codes, outcomes=outcomes)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        pytest.param("[" * 100_000 + "]" * 100_000, "nested too deeply", id="deep"),
        pytest.param("[" + "9" * 5000 + "]", "cannot read events", id="huge-int"),
        pytest.param('["\\ud800", {"id": "\\udfff"}', "cannot read events", id="truncated"),
    ],
)
def test_an_unreadable_file_exits_2_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, problem: str
) -> None:
    events = tmp_path / "events.json"
    events.write_text(content, encoding="utf-8")
    code, out = replay(events)
    err = capsys.readouterr().err
    assert (code, out) == (2, "")
    assert f"driftkeeper: error: {events}: " in err
    assert problem in err
    assert "Traceback" not in err


def test_one_deeply_nested_item_is_invalid_and_the_rest_is_judged(tmp_path: Path) -> None:
    # given an item nested as deep as Python's JSON reader goes, beside a real event
    burst = json.loads((ROOT / "examples/events-burst.json").read_text())
    deep = "[" * 900 + "]" * 900
    events = tmp_path / "events.json"
    events.write_text(f"[{deep}, {json.dumps(burst[0])}]", encoding="utf-8")
    # when it is replayed
    code, out = replay(events, "--format", "json")
    # then both are reported: the nested one invalid, the event judged (drift: exit 1)
    signals = json.loads(out)["signals"]
    assert [s["outcome"] for s in signals] == ["invalid", "evaluated"]
    assert signals[0]["reason"] == "expected a JSON object, got list"
    assert code == 1
