"""The bytecode prepackage ships (.funcignore keeps driftkeeper/'s and handlers/'
__pycache__): hash-checked, and only that of the sources shipped, whatever a developer's
tree held before the hook ran.

A timestamp .pyc (the kind every import writes) records its source's mtime to the second;
the package is a zip (DOS times: two seconds, no time zone), so on the Function App most no
longer match their source and every cold start compiles from source again. A .pyc whose
source was deleted is never imported, but it ships, with every constant of that source."""

from __future__ import annotations

import os
import py_compile
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ._bicep import ROOT

CHECKED_HASH = 0b11
"""The flags of a .pyc compiled with ``--invalidation-mode checked-hash`` (PEP 552)."""
TAG = sys.implementation.cache_tag


@pytest.fixture(scope="module")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A developer's copy of the app after imports (timestamp .pycs) and with a deleted
    module's .pyc left behind, once the prepackage hook has run in it."""
    tree = tmp_path_factory.mktemp("app")
    no_cache = shutil.ignore_patterns("__pycache__")
    for name in ("driftkeeper", "handlers", "baselines", "infra/hooks"):
        shutil.copytree(ROOT / name, tree / name, ignore=no_cache)
    shutil.copy(ROOT / "function_app.py", tree)
    stale = tree / "driftkeeper/_scratch.py"
    stale.write_text('TOKEN = "a-secret-the-developer-deleted"\n', encoding="utf-8")
    for source in [*tree.glob("driftkeeper/*.py"), *tree.glob("handlers/*.py")]:
        py_compile.compile(str(source), invalidation_mode=py_compile.PycInvalidationMode.TIMESTAMP)
    stale.unlink()
    env = {**os.environ, "PYTHON": sys.executable, "DRIFTKEEPER_BASELINES_DIR": "baselines"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    subprocess.run(["sh", "infra/hooks/prepackage.sh"], cwd=tree, env=env, check=True)
    return tree


def test_every_pyc_shipped_is_hash_checked(packaged: Path) -> None:
    pycs = sorted(packaged.rglob(f"*.{TAG}.pyc"))
    assert len(pycs) > 20
    timestamped = [p.relative_to(packaged).as_posix() for p in pycs if p.read_bytes()[4] == 0]
    assert timestamped == []


def test_no_pyc_ships_without_its_source(packaged: Path) -> None:
    orphans = [
        p.relative_to(packaged).as_posix()
        for p in packaged.rglob("__pycache__/*.pyc")
        if not (p.parent.parent / (p.name.split(".")[0] + ".py")).exists()
    ]
    assert orphans == []
