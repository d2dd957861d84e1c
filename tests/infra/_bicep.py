"""Shared helpers of the infra tests: the repository's Bicep files, parsed with pycep-parser."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")

# Modules main.bicep calls that another branch supplies (the rollback role: its custom role
# definition and conditional assignment). Allowed to be missing until that branch is merged.
PENDING_MODULES = frozenset({"modules/rollback-role.bicep"})


def bicep_files() -> list[Path]:
    return sorted(INFRA.rglob("*.bicep"))


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


@cache
def _parsed(path: str) -> dict[str, Any]:
    from pycep import BicepParser

    return BicepParser().parse(file_path=Path(path))


def parse(path: Path) -> dict[str, Any]:
    """pycep's JSON of one file (cached: the suite parses each once)."""
    return _parsed(str(path))


def text_without_comments(path: Path) -> str:
    """The file without // comments (a URL's '//' inside a string is kept)."""
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        quoted = False
        cut = len(line)
        for i, char in enumerate(line):
            if char == "'":
                quoted = not quoted
            elif not quoted and line.startswith("//", i):
                cut = i
                break
        lines.append(line[:cut])
    return "\n".join(lines)


def load_json(relative_path: str) -> Any:
    return json.loads((ROOT / relative_path).read_text(encoding="utf-8"))
