"""Pausing the cyclic garbage collector around work that builds many objects and no cycles.

CPython's collector runs a full collection each time the objects that survived earlier ones
grow by a quarter, and each full collection traces every tracked object. Parsing a large
JSON document or judging a large snapshot builds millions of containers and no reference
cycles, so those collections find nothing and cost a third of the time (measured in
``BENCHMARKS.md``). Reference counting still frees everything as usual while it is paused.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["paused_gc"]


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic collector for the block (nested blocks keep it paused), then put
    it back as it was."""
    collect = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collect:
            gc.enable()
