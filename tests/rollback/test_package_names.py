"""driftkeeper.rollback imports its modules when a name is first used: the kinds import
``rollback._plan`` at start-up and must not pull in the approval or rendering code."""

from __future__ import annotations

import json
import subprocess
import sys

import driftkeeper.rollback as rollback


def test_every_name_the_package_exports_resolves() -> None:
    assert set(rollback._LAZY) == set(rollback.__all__)
    for name in rollback.__all__:
        assert getattr(rollback, name) is getattr(
            sys.modules[f"driftkeeper.rollback{rollback._LAZY[name]}"], name
        )


def test_loading_the_kinds_imports_no_approval_or_rendering_code() -> None:
    code = (
        "import json, sys, driftkeeper.engine, driftkeeper.kinds\n"
        "from driftkeeper.kinds import all_kinds\n"
        "all_kinds()\n"
        "print(json.dumps([m for m in sys.modules if m.startswith('driftkeeper.rollback')]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    loaded = json.loads(out)
    assert "driftkeeper.rollback._plan" in loaded
    assert not {f"driftkeeper.rollback.{m}" for m in ("_approval", "_render", "_make")} & set(
        loaded
    )
