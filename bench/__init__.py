"""Helpers shared by the benchmarks (run as ``python bench/<name>.py`` from the repository root;
each script puts the root on ``sys.path`` before importing this package)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


@contextlib.contextmanager
def azurite(connection_string: str | None) -> Iterator[str]:
    """The given storage connection string, or a throwaway local Azurite's for the run."""
    if connection_string:
        yield connection_string
        return
    from tests.fakes.azurite import Azurite

    with Azurite() as server:
        yield server.connection_string
