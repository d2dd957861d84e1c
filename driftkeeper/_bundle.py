"""The compiled baseline bundle: every baseline file's validated document (and the state
derived from it), keyed by the SHA-256 of the file's bytes, so a loader skips YAML parsing,
schema validation and normalization for every file whose content it already knows.

Layout: one JSON header line, then the JSON body::

    {"format": "driftkeeper-baseline-bundle/1", "fingerprint": "<code>", "digest": "<body>"}
    {"<sha256 of a file's bytes>": {"doc": {...}, "state": {...}, "labels": {...}}, ...}

A bundle is never stale by construction: an entry is found only by the exact content of a
file, so a changed, added or renamed file is simply not found (and is read from its YAML),
a removed file is simply not asked for, and names (``file``, the default ``name``) come
from the path at load time, never from the bundle. The whole bundle is refused (the files
are read instead) when its ``fingerprint`` is not that of this driftkeeper's code (a
bundle compiled by another version, whose schema or normalization may differ), when the
body's SHA-256 is not its ``digest`` (edited or truncated) or when it is not what
:func:`write_bundle` writes. A bundle is JSON: reading one never runs code. Whoever can
write the bundle can write the baselines beside it, so the digest is a check against
corruption and hand edits, not a signature.
"""

from __future__ import annotations

import gc
import hashlib
import json
import logging
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["BUNDLE_NAME", "FORMAT", "content_key", "fingerprint", "is_plain", "read_bundle"]
__all__ += ["write_bundle"]

log = logging.getLogger(__name__)

BUNDLE_NAME = ".driftkeeper-bundle.json"
"""Where a bundle lives by default: in the baselines directory, beside the files."""
FORMAT = "driftkeeper-baseline-bundle/1"

_PACKAGE = Path(__file__).resolve().parent
_fingerprint: str | None = None


def fingerprint() -> str:
    """SHA-256 over the bundle format, the YAML parser (PyYAML's version and whether its
    libyaml loader is used: the two accept slightly different documents) and every source
    file of the driftkeeper package: any change of code (a kind's schema or normalization)
    or of parser makes older bundles unusable."""
    global _fingerprint
    if _fingerprint is None:
        import yaml

        digest = hashlib.sha256(FORMAT.encode())
        loader = "libyaml" if getattr(yaml, "__with_libyaml__", False) else "python"
        digest.update(f"\0PyYAML {yaml.__version__} {loader}\0".encode())
        for path in sorted(_PACKAGE.rglob("*.py")):
            digest.update(path.relative_to(_PACKAGE).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
        _fingerprint = digest.hexdigest()
    return _fingerprint


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


def write_bundle(path: Path, entries: Mapping[str, Mapping[str, Any]]) -> None:
    """Write ``entries`` (content key -> entry) as a bundle, atomically (a reader sees the
    old bundle or the new one, never half of one)."""
    body = json.dumps(entries, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    data = body.encode()
    header = {"format": FORMAT, "fingerprint": fingerprint(), "digest": content_key(data)}
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    try:
        tmp.write_bytes(json.dumps(header, separators=(",", ":")).encode() + b"\n" + data)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def read_bundle(path: Path) -> dict[str, Any] | None:
    """The entries of the bundle at ``path``, or None when there is none or it is refused
    (with a warning saying why: the files are then read from their YAML)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        log.info(
            "no compiled baseline bundle at %s: every file is read from its YAML "
            "(`driftkeeper baseline compile` writes one)",
            path,
        )
        return None
    except OSError as exc:
        return _refuse(path, f"cannot read it ({exc})")
    head, _, data = raw.partition(b"\n")
    try:
        header = json.loads(head)
    except (ValueError, RecursionError):
        return _refuse(path, "not a driftkeeper baseline bundle")
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        return _refuse(path, "not a driftkeeper baseline bundle of this format")
    if header.get("fingerprint") != fingerprint():
        return _refuse(path, "compiled by another version of driftkeeper")
    if header.get("digest") != content_key(data):
        return _refuse(path, "its content does not match its digest (edited or truncated)")
    collect = gc.isenabled()
    gc.disable()  # JSON builds no cycles: tracing the growing document only costs time
    try:
        entries = json.loads(data)
    except (ValueError, RecursionError):
        return _refuse(path, "its body is not JSON")
    finally:
        if collect:
            gc.enable()
    if not isinstance(entries, dict) or not all(isinstance(e, dict) for e in entries.values()):
        return _refuse(path, "its body is not a map of entries")
    return entries


def _refuse(path: Path, why: str) -> dict[str, Any] | None:
    log.warning(
        "baseline bundle %s ignored: %s; the baseline files are read instead "
        "(run `driftkeeper baseline compile`)",
        path,
        why,
    )
    return None
