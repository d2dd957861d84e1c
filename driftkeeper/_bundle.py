"""The compiled baseline bundle: every baseline file's validated document and the values
derived from it, keyed by the SHA-256 of the file's bytes, so a loader skips YAML parsing,
schema validation and normalization for every file whose content it already knows, and
reads a file's large values (its ``expected`` block, normalized state and labels) only
when something asks for them.

Layout: a JSON header line, a JSON index of exactly ``index`` bytes and a newline, then
the parts, each a JSON value at its place::

    {"format": "driftkeeper-baseline-bundle/2", "fingerprint": "<code>", "index": N,
     "parts": <bytes of parts>, "digest": "<sha256 of the index>"}
    {"<sha256 of a file's bytes>": {"doc": {<small fields>},
                                    "parts": {"state": [offset, length, "<sha256>"], ...}},
     "<sha256 of a file the bundle cannot hold>": {"yaml": true}, ...}
    <parts>

A bundle is never stale by construction: an entry is found only by the exact content of a
file, so a changed, added or renamed file is simply not found (and is read from its YAML),
a removed file is simply not asked for, and names (``file``, the default ``name``) come
from the path at load time, never from the bundle. The whole bundle is refused (the files
are read instead) when its ``fingerprint`` is not that of this driftkeeper's code and Python (a
bundle compiled by another version, or by another Python minor version, whose schema or
normalization may differ), when it is not a regular file (a FIFO is never waited on), when
the index's SHA-256 is not its ``digest`` (edited), when the file's length is not what its
header says (truncated or appended to) or when it is not what
:func:`write_bundle` writes. A part is read when first asked for and checked against its
own SHA-256 then (:meth:`Bundle.part` refuses one that does not match, and the caller
reads the file's YAML instead). A bundle is JSON: reading one never runs code.
Whoever can write the bundle can write the baselines beside it, so the digests are a check
against corruption and hand edits, not a signature.

The bundle stays open while anything loaded from it lives (one descriptor, closed when the
last of them is collected): a bundle replaced by a new compile (written beside, then
renamed over) leaves those readers on the file they opened.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import sys
import tempfile
import threading
import weakref
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ._files import open_regular, read_upto
from ._gc import paused_gc

__all__ = ["BUNDLE_NAME", "FORMAT", "Bundle", "content_key", "fingerprint", "is_plain"]
__all__ += ["read_bundle", "write_bundle"]

log = logging.getLogger(__name__)

BUNDLE_NAME = ".driftkeeper-bundle.json"
"""Where a bundle lives by default: in the baselines directory, beside the files."""
FORMAT = "driftkeeper-baseline-bundle/2"
MAX_HEADER = 4096
"""A first line longer than this is not a bundle's header."""

_PACKAGE = Path(__file__).resolve().parent
_fingerprint: str | None = None


def fingerprint() -> str:
    """SHA-256 over the bundle format, the YAML parser (PyYAML's version and whether its
    libyaml loader is used: the two accept slightly different documents), the Python
    (:func:`_runtime`) and every source file of the driftkeeper package: any change of code
    (a kind's schema or normalization), of parser or of Python minor version makes older
    bundles unusable."""
    global _fingerprint
    if _fingerprint is None:
        import yaml

        digest = hashlib.sha256(FORMAT.encode())
        loader = "libyaml" if getattr(yaml, "__with_libyaml__", False) else "python"
        digest.update(f"\0PyYAML {yaml.__version__} {loader}\0{_runtime()}\0".encode())
        for path in sorted(_PACKAGE.rglob("*.py")):
            digest.update(path.relative_to(_PACKAGE).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
        _fingerprint = digest.hexdigest()
    return _fingerprint


def _runtime() -> str:
    """The Python a bundle's states were computed with: its minor version (``ipaddress``
    has changed how it spells addresses, IPv4-mapped IPv6 ones in gh-87799) and the Unicode
    database ``str.casefold`` follows. ``prepackage`` runs on the deployer's Python, the app
    on the Function App's: a bundle of another minor version is refused there. Not the patch
    level: the platform updates it unannounced, and a bundle refused at every cold start
    would be no bundle; a change of normalization in a patch release is not caught."""
    import unicodedata

    implementation = sys.implementation.name
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    return f"{implementation} {version} unicode {unicodedata.unidata_version}"


def content_key(data: bytes) -> str:
    """The key of a file's entry: the SHA-256 of its bytes."""
    return hashlib.sha256(data).hexdigest()


def is_plain(value: Any) -> bool:
    """Whether JSON gives ``value`` back exactly: dicts with string keys, lists, strings,
    finite floats, ints, booleans and None (not tuples, sets, dates or bytes)."""
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is dict:
            if not all(type(k) is str for k in item):
                return False
            stack.extend(item.values())
        elif kind is list:
            stack.extend(item)
        elif kind is float:
            if not math.isfinite(item):
                return False
        elif kind not in (str, int, bool) and item is not None:
            return False
    return True


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def write_bundle(path: Path, entries: Mapping[str, Mapping[str, Any]]) -> None:
    """Write ``entries`` (content key -> ``{"doc": {...}, "parts": {name: value}}``, or any
    other small entry, kept as it is) as a bundle, atomically: a reader sees the old bundle
    or the new one, never half of one."""
    index: dict[str, Any] = {}
    chunks: list[bytes] = []
    offset = 0
    for key, entry in entries.items():
        parts = entry.get("parts")
        if parts is None:
            index[key] = dict(entry)
            continue
        spans = {}
        for name, value in parts.items():
            data = _dumps(value)
            spans[name] = [offset, len(data), content_key(data)]
            chunks.append(data)
            offset += len(data)
        index[key] = {**{k: v for k, v in entry.items() if k != "parts"}, "parts": spans}
    head = _dumps(index)
    header = {"format": FORMAT, "fingerprint": fingerprint(), "index": len(head)}
    header |= {"parts": offset, "digest": content_key(head)}
    # a name of its own, created here (never a file or symlink someone put there first)
    fd, name = tempfile.mkstemp(prefix=f"{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(name)
    try:
        with open(fd, "wb") as out:
            out.write(_dumps(header) + b"\n" + head + b"\n")
            out.writelines(chunks)
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would keep the app's other readers out
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


class Bundle:
    """A bundle read by :func:`read_bundle`: its index, and its parts on demand."""

    def __init__(self, path: Path, entries: dict[str, Any], fd: int, base: int, size: int) -> None:
        self.path = path
        self.entries = entries
        """Content key -> entry, as :func:`write_bundle` wrote it (parts as spans)."""
        self._fd = fd
        self._base = base
        self._size = size
        self._lock = threading.Lock()
        weakref.finalize(self, os.close, fd)

    def part(self, span: Any) -> Any:
        """The value of the part at ``span`` (``[offset, length, sha256]`` from an entry).
        Raises :class:`LookupError` (with a warning logged) when the bundle does not hold it
        there (edited or truncated since it was opened, or a span compile never writes): the
        caller then reads the file's YAML."""
        if not (
            isinstance(span, list)
            and len(span) == 3
            and all(type(n) is int and n >= 0 for n in span[:2])
            and span[0] + span[1] <= self._size  # never a read past the parts
        ):
            log.warning("baseline bundle %s: a part's place is not what compile writes", self.path)
            raise LookupError(span)
        offset, length, digest = span
        with self._lock:
            os.lseek(self._fd, self._base + offset, os.SEEK_SET)
            data = read_upto(self._fd, length, length)
        if content_key(data) != digest:
            log.warning(
                "baseline bundle %s changed since it was opened (a part does not match its "
                "digest); the baseline file is read instead",
                self.path,
            )
            raise LookupError(span)
        try:
            return json.loads(data)
        except (ValueError, RecursionError):  # only a forger's part: its digest matched
            log.warning("baseline bundle %s: a part is not JSON", self.path)
            raise LookupError(span) from None


def read_bundle(path: Path) -> Bundle | None:
    """The bundle at ``path`` (its index read and checked; its parts left on disk), or None
    when there is none or it is refused (with a warning saying why: the files are then
    read from their YAML)."""
    try:
        opened = open_regular(path)
    except FileNotFoundError:
        log.info(
            "no compiled baseline bundle at %s: every file is read from its YAML "
            "(`driftkeeper baseline compile` writes one)",
            path,
        )
        return None
    except OSError as exc:
        return _refuse(path, f"cannot read it ({exc})")
    if opened is None:
        return _refuse(path, "not a regular file")
    fd, size = opened
    try:
        bundle = _open(path, fd, size)
    except OSError as exc:
        bundle = _refuse(path, f"cannot read it ({exc})")
    if bundle is None:
        os.close(fd)
    return bundle


def _open(path: Path, fd: int, length: int) -> Bundle | None:
    first = os.read(fd, MAX_HEADER)
    line, newline, _ = first.partition(b"\n")
    try:
        header = json.loads(line) if newline else None
    except (ValueError, RecursionError):
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        return _refuse(path, "not a driftkeeper baseline bundle of this format")
    if header.get("fingerprint") != fingerprint():
        return _refuse(path, "compiled by another version of driftkeeper")
    size, parts = header.get("index"), header.get("parts")
    if type(size) is not int or type(parts) is not int or min(size, parts) < 0:
        return _refuse(path, "its header is not what compile writes")
    base = len(line) + 1 + size + 1
    if length != base + parts:
        return _refuse(path, "it is not as long as its header says (truncated or appended to)")
    os.lseek(fd, len(line) + 1, os.SEEK_SET)
    data = read_upto(fd, size + 1, size + 1)
    index, end = data[:size], data[size:]
    if end != b"\n" or header.get("digest") != content_key(index):
        return _refuse(path, "its index does not match its digest (edited)")
    try:
        with paused_gc():
            entries = json.loads(index)
    except (ValueError, RecursionError):
        return _refuse(path, "its index is not JSON")
    if not isinstance(entries, dict) or not all(isinstance(e, dict) for e in entries.values()):
        return _refuse(path, "its index is not a map of entries")
    return Bundle(path, entries, fd, base, parts)


def _refuse(path: Path, why: str) -> Bundle | None:
    log.warning(
        "baseline bundle %s ignored: %s; the baseline files are read instead "
        "(run `driftkeeper baseline compile`)",
        path,
        why,
    )
    return None
