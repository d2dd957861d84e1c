"""The deployment package: .funcignore keeps the app and its baselines and drops the rest
(judged by git's own gitignore rules, the syntax .funcignore uses), and requirements.txt
is the runtime only, its whole dependency tree pinned by constraints.txt."""

from __future__ import annotations

import re
import shutil
import subprocess
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from ._bicep import ROOT

SHIPPED = [
    "function_app.py",
    "host.json",
    "requirements.txt",
    "constraints.txt",
    "driftkeeper/__init__.py",
    "driftkeeper/kinds/nsg.py",
    "handlers/resource_events.py",
    "baselines/nsg/example.yaml",
    "baselines/.driftkeeper-bundle.json",
    "driftkeeper/__pycache__/cli.cpython-311.pyc",
    "driftkeeper/kinds/__pycache__/nsg.cpython-311.pyc",
    "handlers/__pycache__/resource_events.cpython-311.pyc",
    "__pycache__/function_app.cpython-311.pyc",
]
LEFT_OUT = [
    ".venv/lib/python3.11/site-packages/x.py",
    ".venv-checkov/bin/checkov",
    "node_modules/azurite/package.json",
    "tests/test_engine.py",
    "tests/infra/test_package.py",
    "bench/scan.py",
    "build/fuzz-report.jsonl",
    "docs/deployment.md",
    "infra/main.bicep",
    "examples/demo.py",
    "tests/__pycache__/conftest.cpython-311-pytest-8.3.4.pyc",
    "bench/__pycache__/scan.cpython-311.pyc",
    ".git/HEAD",
    ".azure/dk/.env",
    "local.settings.json",
    "requirements-dev.txt",
    ".ci/run",
]
DEV_ONLY = {"pytest", "hypothesis", "mypy", "ruff", "aiosmtpd", "pycep-parser", "checkov"}


def _ignored(paths: list[str], tmp_path: Path) -> set[str]:
    """The paths .funcignore leaves out, as git would judge a .gitignore with its lines."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    shutil.copy(ROOT / ".funcignore", repo / ".gitignore")
    found = subprocess.run(
        ["git", "check-ignore", "--no-index", "--stdin"],
        cwd=repo,
        input="\n".join(paths),
        capture_output=True,
        text=True,
        check=False,
    )
    return set(found.stdout.split())


def test_the_package_holds_the_app_and_its_baselines(tmp_path: Path) -> None:
    assert not _ignored(SHIPPED, tmp_path) & set(SHIPPED)


def test_the_package_leaves_out_tools_tests_and_environments(tmp_path: Path) -> None:
    ignored = _ignored(LEFT_OUT, tmp_path)
    assert sorted(set(LEFT_OUT) - ignored) == []


def test_every_tracked_source_of_the_app_ships(tmp_path: Path) -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "driftkeeper", "handlers", "baselines"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert tracked
    assert not _ignored(tracked, tmp_path)


def _pins(name: str) -> dict[str, str]:
    pins = {}
    for line in (ROOT / name).read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            req, _, version = line.partition("==")
            assert version, f"{name}: {line} is not pinned with =="
            pins[_canonical(req)] = version
    return pins


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_requirements_are_runtime_only_and_pinned() -> None:
    runtime = _pins("requirements.txt")
    constraints = _pins("constraints.txt")
    assert not set(runtime) & DEV_ONLY
    assert not {n for n in runtime if n.startswith(("pytest", "types-"))}
    assert "-c constraints.txt" in (ROOT / "requirements.txt").read_text(encoding="utf-8")
    for name, version in runtime.items():
        assert constraints.get(name) == version, f"{name}: {version} vs constraints"
    dev = _pins("requirements-dev.txt")
    assert DEV_ONLY - {"checkov"} <= set(dev)  # checkov lives in .venv-checkov
    assert "checkov" not in dev


def _closure(roots: list[str]) -> set[str]:
    """Every distribution the runtime requirements pull in, from the installed metadata."""
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        name = _canonical(todo.pop())
        if name in seen:
            continue
        seen.add(name)
        for spec in metadata.requires(name) or []:
            req = Requirement(spec)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return seen


def test_the_runtime_tree_is_pinned_and_holds_no_test_tool() -> None:
    tree = _closure(list(_pins("requirements.txt")))
    constraints = _pins("constraints.txt")
    assert sorted(tree - set(constraints)) == []
    assert not tree & DEV_ONLY
    assert not {n for n in tree if n.startswith("pytest")}
    for name in tree:
        assert metadata.version(name) == constraints[name], name
