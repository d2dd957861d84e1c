"""Reading the loader's files (baselines, the compiled bundle) without trusting what they are.

A path may name a FIFO (a symlink, which git carries, to one), a device or a directory:
:func:`open_regular` opens it without ever blocking and refuses anything but a regular file.
:func:`read_upto` reads to the end or to a limit, sizing its first read by what ``stat``
said, so a small file never costs a buffer of the limit's size.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

__all__ = ["open_regular", "read_upto"]

_FLAGS = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0)


def open_regular(path: str | Path) -> tuple[int, int] | None:
    """A blocking read-only descriptor of the regular file at ``path`` and its size; None
    when it is a FIFO, a device or a directory. Raises OSError as ``os.open`` does."""
    fd = os.open(path, _FLAGS)  # non-blocking: a FIFO opens at once, and is refused below
    try:
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode):
            os.close(fd)
            return None
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd, status.st_size


def read_upto(fd: int, limit: int, size: int) -> bytes:
    """At most ``limit`` bytes from ``fd``'s position to its end. ``size`` (what ``stat``
    said) sizes the first read; a file longer than it said is read on, to ``limit``."""
    chunks: list[bytes] = []
    got, want = 0, min(size, limit)
    while got < limit:
        chunk = os.read(fd, max(1, min(want, limit - got)))
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
        want = 64 * 1024  # past what stat said: a file still growing
    return b"".join(chunks)
