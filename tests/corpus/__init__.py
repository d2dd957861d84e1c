"""Public sample payloads (ARM, Event Grid, Microsoft Graph, Cloud Custodian cassettes) in the
REST shapes Azure sends. Each file's origin and licence are listed in ``SOURCES.md`` beside
this module; every test, example and benchmark loads them through :func:`sample`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["SAMPLES", "sample"]

SAMPLES = Path(__file__).resolve().parent
"""The folder holding the samples, in ``arm/``, ``eventgrid/``, ``graph/``, ``monitor/`` and
``custodian/``."""


def sample(path: str) -> Any:
    """The parsed JSON of ``path`` (``"arm/recorded_nsg_list_after_open_ports.json"``), a fresh
    copy on every call. Raises :class:`FileNotFoundError` naming the sample when it is not
    in this folder."""
    file = (SAMPLES / path).resolve()
    if not file.is_relative_to(SAMPLES) or not file.is_file():
        raise FileNotFoundError(
            f"sample {path!r} is not in tests/corpus: add it there and list its origin and "
            "licence in tests/corpus/SOURCES.md"
        )
    return json.loads(file.read_text(encoding="utf-8"))
