"""Baselines: version-controlled YAML, one per file, validated against a generated schema.

A baseline holds the expected state of one kind at one scope::

    kind: nsg
    scope: /subscriptions/.../networkSecurityGroups/web-nsg
    response: alert            # alert | approve (approval link) | auto (rolled back, braked)
    approvals: 1               # approve: distinct approvers a rollback needs (1 or 2)
    severity: high             # low | medium | high | critical
    owners: [netops@contoso.com]
    expectedActors: [<app id of the deployment pipeline>]
    expected:
      rules: [...]

A file with ``kind: guard`` tunes a built-in guard instead (``guard:``, ``enabled:``,
``params:``). The schema is assembled from each kind's and guard's own fragment, like
Cloud Custodian's: :func:`baseline_schema` returns it, ``driftkeeper schema`` prints it.

A file is untrusted input, and ``/api/health`` loads them too, so what one may cost is
bounded before it is built: at most :data:`MAX_FILE_BYTES`, nesting at most
:data:`MAX_DEPTH` levels (counted through aliases), aliases expanding to at most
:data:`MAX_ALIAS_NODES` nodes in all and never into themselves. A scope is a plain
ARM or Graph path (:data:`SCOPE_SEGMENT`), and a value quoted in an error is cut at
:data:`MAX_QUOTED` characters.

Loading at parsing speed: :func:`compile_bundle` (``driftkeeper baseline compile``, run at
deploy time) writes every file's validated document and derived state into a bundle keyed
by the SHA-256 of each file's bytes (see :mod:`driftkeeper._bundle`); :func:`load_baselines`
takes a file from it only when its exact bytes are there, and parses the others. Files it
parses are validated by fastjsonschema first; jsonschema decides and explains a refusal.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from . import _bundle
from ._errors import BaselineError
from ._files import open_regular, read_upto
from ._model import RESPONSES, SEVERITIES, Response, Severity
from .guards import all_guards
from .kinds import FieldError, Kind, all_kinds, get_kind

__all__ = [
    "MAX_ALIAS_NODES",
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_QUOTED",
    "ROLLBACK_RESPONSES",
    "Baseline",
    "BaselineSet",
    "BundleReport",
    "GuardSettings",
    "Progress",
    "baseline_schema",
    "compile_bundle",
    "default_bundle",
    "dump_baseline",
    "load_baselines",
    "parse_baseline",
]

log = logging.getLogger(__name__)

ROLLBACK_RESPONSES: tuple[Response, ...] = ("approve", "auto")
"""Responses that ask for a rollback, which driftkeeper cannot do yet."""

MAX_FILE_BYTES = 4 * 1024 * 1024
"""A baseline file larger than this is refused unread. ``baseline capture`` writes one
role-assignment file per subscription; Azure allows 4,000 assignments in one, which at
resource scope come to about 1.2 MB of YAML (tests/test_capture.py), so 4 MiB leaves room."""
MAX_DEPTH = 64
"""Deepest nesting of lists and mappings a baseline may have, aliases expanded."""
MAX_ALIAS_NODES = 10_000
"""How many nodes a file's aliases may expand to in all (a "billion laughs" needs ~10⁹)."""
MAX_QUOTED = 120
"""How much of a value an error message quotes."""
SCOPE_SEGMENT = re.compile(r"[\w.()~@:+-]+")
"""One segment of a scope: the characters ARM and Graph paths use (``\\w`` is Unicode, as
resource group names may be). ``.`` and ``..`` alone are refused separately."""
_PLAIN_SCOPE = re.compile(r"(?:/[\w.()~@:+-]+)+")

try:  # the C loader is ~10x faster on large role-assignment baselines
    _Loader: Any = yaml.CSafeLoader
    _Dumper: Any = yaml.CSafeDumper
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Loader = yaml.SafeLoader
    _Dumper = yaml.SafeDumper


@dataclass(frozen=True)
class Baseline:
    """The expected state of one kind at one scope, and how to respond to drift from it."""

    kind: str
    scope: str
    key: str
    name: str
    file: str
    response: Response
    severity: Severity
    owners: tuple[str, ...]
    expected_actors: tuple[str, ...]
    expected: Mapping[str, Any]
    state: Any
    labels: Mapping[str, str] = field(default_factory=dict)
    """Display names the file carries (role and principal names), for messages."""
    approvals: int = 1
    """How many distinct approvers a rollback of this baseline needs (1 or 2)."""

    def __getstate__(self) -> dict[str, Any]:
        """What a copy or a pickle holds: every field's value (a bundled baseline's read
        first), never the open bundle it came from."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


_DEFERRED = ("expected", "state", "labels")
"""The fields a baseline taken from the bundle reads only when first asked for."""


class _DeferredField:
    """Stands for one of :data:`_DEFERRED` on the :class:`Baseline` class: reached only when
    the instance does not hold the value yet (a baseline taken from the bundle), it reads
    the value then and keeps it on the instance, where later reads find it directly."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, baseline: Baseline | None, owner: type | None = None) -> Any:
        if baseline is None:
            raise AttributeError(self.name)
        source = baseline.__dict__.get("_source")
        if source is None:
            raise AttributeError(f"'Baseline' object has no attribute {self.name!r}")
        value = source.read(self.name)
        object.__setattr__(baseline, self.name, value)
        return value


for _name in _DEFERRED:  # fields without a class default: the dataclass left no attribute
    setattr(Baseline, _name, _DeferredField(_name))


@dataclass(frozen=True)
class GuardSettings:
    """A ``kind: guard`` file: turns a built-in guard off or changes its parameters."""

    guard: str
    file: str
    enabled: bool = True
    severity: Severity | None = None
    response: Response = "alert"
    owners: tuple[str, ...] = ()
    params: Mapping[str, Any] = field(default_factory=dict)
    approvals: int = 1


@dataclass(frozen=True)
class BaselineSet:
    baselines: tuple[Baseline, ...] = ()
    guards: Mapping[str, GuardSettings] = field(default_factory=dict)

    def of_kind(self, kind: str) -> list[Baseline]:
        return [b for b in self.baselines if b.kind == kind]

    def awaiting_rollback(self, mode: str = "approve-only") -> list[str]:
        """The files asking for a response the kill switch ``mode`` (``DRIFTKEEPER_ROLLBACK``)
        does not give: guard settings asking for ``approve`` or ``auto`` (guards have no
        target state: never rolled back), every baseline asking for either when ``off``,
        ``auto`` baselines when ``approve-only`` (they get an approval link instead)."""
        wanted = {"off": ROLLBACK_RESPONSES, "approve-only": ("auto",)}.get(mode, ())
        files = [b.file for b in self.baselines if b.response in wanted]
        files += [g.file for g in self.guards.values() if g.response in ROLLBACK_RESPONSES]
        return sorted(files)

    def rollback_notice(self, mode: str = "approve-only") -> str | None:
        """The notice ``scan``, ``/api/health`` and the Function App's log give while
        :meth:`awaiting_rollback` is not empty, else None."""
        notices = []
        if mode in ("off", "approve-only"):
            asked = ROLLBACK_RESPONSES if mode == "off" else ("auto",)
            files = sorted(b.file for b in self.baselines if b.response in asked)
            given = "are alerted only" if mode == "off" else "wait for approval instead"
            if files:
                notices.append(
                    f"rollback is {mode} (DRIFTKEEPER_ROLLBACK): {len(files)} baseline(s) "
                    f"with response {'/'.join(asked)} {given}: {', '.join(files)}"
                )
        guards = sorted(g.file for g in self.guards.values() if g.response in ROLLBACK_RESPONSES)
        if guards:
            notices.append(
                f"guards are never rolled back (they have no target state): {len(guards)} guard "
                f"setting(s) with response approve/auto are alerted only: {', '.join(guards)}"
            )
        return "; ".join(notices) or None


def baseline_schema() -> dict[str, Any]:
    """The JSON Schema of a baseline file, assembled from every kind's and guard's fragment."""
    kinds = all_kinds()
    guards = all_guards()
    strings = {"type": "array", "items": {"type": "string", "minLength": 1}}
    branches: list[dict[str, Any]] = [
        {
            "if": {"properties": {"kind": {"const": name}}},
            "then": {
                "required": ["scope", "expected"],
                "properties": {"scope": kind.scope_schema, "expected": kind.expected_schema},
            },
        }
        for name, kind in kinds.items()
    ]
    branches.append(
        {
            "if": {"properties": {"kind": {"const": "guard"}}},
            "then": {
                "required": ["guard"],
                "properties": {"guard": {"enum": sorted(guards)}},
                "allOf": [
                    {
                        "if": {"properties": {"guard": {"const": gname}}},
                        "then": {"properties": {"params": guard.params_schema}},
                    }
                    for gname, guard in guards.items()
                ],
            },
        }
    )
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "driftkeeper baseline",
        "type": "object",
        "required": ["kind"],
        "additionalProperties": False,
        "properties": {
            "kind": {"enum": [*kinds, "guard"]},
            "name": {"type": "string", "minLength": 1},
            "description": {"type": "string"},
            "scope": {"type": "string"},
            "response": {"enum": list(RESPONSES)},
            "approvals": {"type": "integer", "enum": [1, 2]},
            "severity": {"enum": list(SEVERITIES)},
            "owners": strings,
            "expectedActors": strings,
            "expected": {"type": "object"},
            "guard": {"type": "string"},
            "enabled": {"type": "boolean"},
            "params": {"type": "object"},
        },
        "allOf": branches,
    }


_validator: Any = None
_fast_validator: Any = None


def _schema_validator() -> Any:
    global _validator
    if _validator is None:
        from jsonschema import Draft202012Validator

        _validator = Draft202012Validator(baseline_schema())
    return _validator


def _fast_valid(doc: Any) -> bool:
    """Whether the compiled validator (fastjsonschema) accepts ``doc``. It only ever
    answers "valid" for what jsonschema accepts too (tests/test_baseline_fast.py checks it);
    when it refuses, jsonschema decides and explains (:func:`_schema_problem`)."""
    global _fast_validator
    import fastjsonschema

    if _fast_validator is None:
        _fast_validator = fastjsonschema.compile(baseline_schema())
    try:
        _fast_validator(doc)
    except fastjsonschema.JsonSchemaException:
        return False
    return True


def _excerpt(text: str) -> str:
    """``text`` as a message shows it: at most :data:`MAX_QUOTED` characters, then how long."""
    if len(text) <= MAX_QUOTED:
        return text
    return f"{text[:MAX_QUOTED]}… ({len(text)} characters)"


def _quote(value: object) -> str:
    """A value as a message quotes it (its repr, cut by :func:`_excerpt`)."""
    try:
        return _excerpt(repr(value))
    except RecursionError:  # pragma: no cover - depth is bounded when the file is read
        return f"<{type(value).__name__}>"


def _field(path: Iterable[Any]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return _excerpt(out)


def _schema_problem(file: str, doc: Any) -> BaselineError | None:
    if _fast_valid(doc):
        return None
    from jsonschema.exceptions import best_match

    errors = list(_schema_validator().iter_errors(doc))
    if not errors:
        return None
    error = best_match(errors)
    where = _field(error.absolute_path)
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        where = f"{where}.{missing}" if where else missing
        problem = "is required"
    elif error.validator == "enum":
        allowed = ", ".join(str(v) for v in error.validator_value)
        problem = f"expected one of {allowed}; got {_quote(error.instance)}"
    elif error.validator == "type":
        problem = f"expected {error.validator_value}; got {_quote(error.instance)}"
    elif error.validator == "additionalProperties":
        unknown = sorted(
            str(k) for k in error.instance if k not in error.schema.get("properties", {})
        )
        problem = f"unknown field ({_quote(', '.join(unknown))})"
    else:
        problem = (
            f"expected {error.validator} {_quote(error.validator_value)}; "
            f"got {_quote(error.instance)}"
        )
    if len(errors) > 1:
        problem += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    return BaselineError(file, where or "(document)", problem)


def _check_scope(file: str, scope: str) -> None:
    """Refuse a scope that is not ``/`` (the root) or a plain absolute path of ARM/Graph
    segments: no ``.`` or ``..`` segment, no empty one (``//``, a trailing ``/``), nothing
    outside :data:`SCOPE_SEGMENT` (no ``%``, ``?``, ``#``, ``\\``, spaces or controls)."""
    if scope == "/":  # the root scope, where tenant-wide role assignments live
        return
    if _PLAIN_SCOPE.fullmatch(scope) and "/./" not in f"{scope}/" and "/../" not in f"{scope}/":
        return  # the common case in one match; the loop below names what is wrong
    segments = scope.split("/")
    if segments[0] != "" or len(segments) < 2:
        problem = "must start with '/'"
    elif any(s in ("", ".", "..") for s in segments[1:]):
        problem = "must not have empty, '.' or '..' segments"
    elif not all(SCOPE_SEGMENT.fullmatch(s) for s in segments[1:]):
        problem = "may hold only letters, digits and - _ . ( ) ~ @ : + between '/'"
    else:
        return
    raise BaselineError(file, "scope", f"{problem}; got {_quote(scope)}")


def parse_baseline(doc: Any, file: str) -> Baseline | GuardSettings:
    """Validate one parsed baseline document; raise :class:`BaselineError` naming the field."""
    if not isinstance(doc, dict):
        raise BaselineError(file, "(document)", "expected a mapping with at least 'kind'")
    problem = _schema_problem(file, doc)
    if problem is not None:
        raise problem
    return _build(doc, file)


def _build(doc: dict[str, Any], file: str) -> Baseline | GuardSettings:
    """The :class:`Baseline` or :class:`GuardSettings` of a valid document."""
    if doc["kind"] == "guard":
        return _guard(doc, file)
    kind = get_kind(doc["kind"])
    fields = _head(kind, doc, file)
    try:
        state = kind.expected_state(doc["expected"], fields["key"])
    except FieldError as exc:
        where = _field(["expected", exc.path])
        raise BaselineError(file, where, _excerpt(exc.problem)) from None
    return Baseline(
        **fields, expected=doc["expected"], state=state, labels=kind.labels(doc["expected"])
    )


def _guard(doc: dict[str, Any], file: str) -> GuardSettings:
    return GuardSettings(
        guard=doc["guard"],
        file=file,
        enabled=doc.get("enabled", True),
        severity=doc.get("severity"),
        response=doc.get("response", "alert"),
        owners=tuple(doc.get("owners") or ()),
        params=doc.get("params") or {},
        approvals=doc.get("approvals", 1),
    )


def _head(kind: Kind, doc: Mapping[str, Any], file: str) -> dict[str, Any]:
    """Every field of a baseline but the :data:`_DEFERRED` ones."""
    _check_scope(file, doc["scope"])
    return {
        "kind": kind.name,
        "scope": doc["scope"],
        "key": kind.scope_key(doc["scope"]),
        "name": doc.get("name") or _stem(file),
        "file": file,
        "response": doc.get("response", "alert"),
        "severity": doc.get("severity", kind.default_severity),
        "owners": tuple(doc.get("owners") or ()),
        "expected_actors": tuple(doc.get("expectedActors") or ()),
        "approvals": doc.get("approvals", 1),
    }


def _stem(file: str) -> str:
    """``Path(file).stem``, without building a path."""
    base = os.path.basename(file)
    stem, dot, suffix = base.rpartition(".")
    return stem if dot and stem and suffix else base


def _files(directory: Path) -> Iterator[Path]:
    for pattern in ("*.yaml", "*.yml"):
        yield from directory.rglob(pattern)


def load_yaml(path: Path, name: str) -> Any:
    """Parse one baseline file, refusing (with :class:`BaselineError`) a file that is too
    large, nests too deep or expands aliases too far before anything is built from it."""
    return _parse_yaml(_read(path, name), name)


def _read(path: Path, name: str) -> bytes:
    try:
        opened = open_regular(path)
    except OSError as exc:
        raise BaselineError(name, "", f"cannot read file ({exc})") from exc
    if opened is None:
        raise BaselineError(name, "", "not a regular file")
    fd, size = opened
    try:
        data = read_upto(fd, MAX_FILE_BYTES + 1, size)
    except OSError as exc:
        raise BaselineError(name, "", f"cannot read file ({exc})") from exc
    finally:
        os.close(fd)
    if len(data) > MAX_FILE_BYTES:
        raise BaselineError(name, "(document)", f"file larger than {MAX_FILE_BYTES} bytes")
    return data


def _parse_yaml(data: bytes, name: str) -> Any:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BaselineError(name, "", f"cannot read file ({exc})") from exc
    try:
        _check_cost(text, name)
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise BaselineError(name, where, f"not valid YAML ({_excerpt(problem)})") from exc
    except ValueError as exc:  # a timestamp such as 2024-02-30
        raise BaselineError(name, "", f"not valid YAML ({_excerpt(str(exc))})") from exc


@dataclass
class _Open:
    """A list or mapping still open while :func:`_check_cost` reads the event stream."""

    anchor: str | None
    mapping: bool
    path: list[Any]
    nodes: int = 1
    depth: int = 1
    items: int = 0


def _check_cost(text: str, name: str) -> None:
    """Walk the YAML event stream (libyaml's parser does not recurse) and refuse the file
    before it is composed: nesting deeper than :data:`MAX_DEPTH`, aliases expanding to more
    than :data:`MAX_ALIAS_NODES` nodes, or an alias inside the node it names. An undefined
    alias is left for the loader to report."""
    anchors: dict[str, tuple[int, int]] = {}  # name -> (nodes, depth) of the anchored node
    stack: list[_Open] = []
    expanded = 0

    def refuse(event: Any, problem: str) -> BaselineError:
        mark = event.start_mark
        at = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        return BaselineError(name, _field(_path(stack)) or "(document)", problem + at)

    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.AliasEvent):
            alias = event.anchor or ""
            if any(o.anchor == alias for o in stack):
                raise refuse(event, f"alias *{_excerpt(alias)} refers to a node holding it")
            nodes, depth = anchors.get(alias, (1, 0))
            expanded += nodes
            if expanded > MAX_ALIAS_NODES:
                raise refuse(event, f"aliases expand to more than {MAX_ALIAS_NODES} nodes")
            if len(stack) + depth > MAX_DEPTH:
                raise refuse(event, f"nested deeper than {MAX_DEPTH} levels (through an alias)")
            _close(stack, nodes, depth)
        elif isinstance(event, yaml.ScalarEvent):
            if stack and stack[-1].mapping and stack[-1].items % 2 == 0:
                stack[-1].path[-1] = event.value
            _close(stack, 1, 0)
            if event.anchor is not None:
                anchors[event.anchor] = (1, 0)
        elif isinstance(event, yaml.CollectionStartEvent):
            path = _path(stack)
            mapping = isinstance(event, yaml.MappingStartEvent)
            stack.append(_Open(event.anchor, mapping, [*path, "?" if mapping else 0]))
            if len(stack) > MAX_DEPTH:
                stack[-1].path.pop()
                raise refuse(event, f"nested deeper than {MAX_DEPTH} levels")
        elif isinstance(event, yaml.CollectionEndEvent):
            done = stack.pop()
            if done.anchor is not None:
                anchors[done.anchor] = (done.nodes, done.depth)
            _close(stack, done.nodes, done.depth)


def _path(stack: list[_Open]) -> list[Any]:
    return list(stack[-1].path) if stack else []


def _close(stack: list[_Open], nodes: int, depth: int) -> None:
    """Count a finished child (``nodes`` in all, ``depth`` levels) into the open parent."""
    if not stack:
        return
    parent = stack[-1]
    parent.nodes += nodes
    parent.depth = max(parent.depth, depth + 1)
    parent.items += 1
    if parent.mapping:
        if parent.items % 2 == 0:
            parent.path[-1] = "?"
    else:
        parent.path[-1] = parent.items


Progress = Callable[[int, int], None]
"""Called after each baseline file is loaded with (files loaded, files in all)."""


@dataclass(frozen=True)
class BundleReport:
    """What :func:`compile_bundle` wrote."""

    path: Path
    files: int
    bundled: int
    """Files whose entry is in the bundle; the others hold values JSON cannot give back
    (YAML dates, binary) and are read from their YAML at every load."""


def default_bundle(directory: str | Path) -> Path:
    """Where the bundle of the baselines in ``directory`` lives unless told otherwise."""
    return Path(directory) / _bundle.BUNDLE_NAME


def load_baselines(
    directory: str | Path,
    *,
    bundle: str | Path | None = None,
    use_bundle: bool = True,
    progress: Progress | None = None,
) -> BaselineSet:
    """Read every ``*.yaml`` under ``directory`` (recursively), validated.

    A file whose exact content is in the compiled bundle (``bundle``, by default
    ``.driftkeeper-bundle.json`` in ``directory``; see :func:`compile_bundle`) is taken from
    it, the others are parsed and validated; ``use_bundle=False`` reads every file.
    ``progress(loaded, total)`` is called after each file.

    Raises :class:`BaselineError` for the first bad file, and when two files claim the same
    kind and scope or tune the same guard.
    """
    root = Path(directory)
    if not root.is_dir():
        raise BaselineError(str(directory), "", "not a directory of baseline files")
    found = None
    if use_bundle:
        found = _bundle.read_bundle(Path(bundle) if bundle else default_bundle(root))
    return _load(root, found, progress, None)


def compile_bundle(directory: str | Path, *, out: str | Path | None = None) -> BundleReport:
    """Load every baseline file under ``directory`` from its YAML (raising as
    :func:`load_baselines` does) and write the bundle (by default
    ``.driftkeeper-bundle.json`` in ``directory``) that later loads take them from."""
    root = Path(directory)
    if not root.is_dir():
        raise BaselineError(str(directory), "", "not a directory of baseline files")
    entries: dict[str, dict[str, Any]] = {}
    loaded = _load(root, None, None, entries)
    path = Path(out) if out else default_bundle(root)
    _bundle.write_bundle(path, entries)
    files = len(loaded.baselines) + len(loaded.guards)
    return BundleReport(path, files, sum("yaml" not in e for e in entries.values()))


def _load(
    root: Path,
    bundle: _bundle.Bundle | None,
    progress: Progress | None,
    record: dict[str, dict[str, Any]] | None,
) -> BaselineSet:
    baselines: list[Baseline] = []
    guards: dict[str, GuardSettings] = {}
    seen: dict[tuple[str, str], str] = {}
    paths = sorted(_files(root))
    entries = bundle.entries if bundle is not None else None
    missed = 0
    for done, path in enumerate(paths, 1):
        name = str(path)
        data = _read(path, name)
        key = _bundle.content_key(data) if entries is not None or record is not None else ""
        entry = entries.get(key) if entries is not None else None
        parsed = None
        if entry is not None and bundle is not None:
            parsed = _from_entry(entry, name, key, bundle)
        if parsed is None:
            missed += entries is not None and (entry is None or "yaml" not in entry)
            doc = _parse_yaml(data, name)
            parsed = parse_baseline(doc, name)
            if record is not None:
                _record(record, key, doc, parsed)
        if isinstance(parsed, GuardSettings):
            if parsed.guard in guards:
                other = guards[parsed.guard].file
                raise BaselineError(name, "guard", f"guard {parsed.guard!r} is also set in {other}")
            guards[parsed.guard] = parsed
        else:
            ident = (parsed.kind, parsed.key)
            if ident in seen:
                raise BaselineError(
                    name,
                    "scope",
                    f"{parsed.kind} {_excerpt(parsed.scope)} already has a baseline in "
                    f"{seen[ident]}",
                )
            seen[ident] = name
            baselines.append(parsed)
        if progress is not None:
            progress(done, len(paths))
    if missed:
        log.warning(
            "%d of %d baseline files are not in the compiled bundle and were read from YAML "
            "(run `driftkeeper baseline compile`)",
            missed,
            len(paths),
        )
    log.debug(
        "loaded %d baselines and %d guard settings from %s", len(baselines), len(guards), root
    )
    return BaselineSet(tuple(baselines), guards)


def _record(record: dict[str, dict[str, Any]], key: str, doc: Any, parsed: Any) -> None:
    """Put a freshly validated file into the bundle being compiled, when JSON gives its
    document back exactly: its small fields in the index, its ``expected`` block (and its
    state and labels, when those are plain too) as parts read when first asked for."""
    if not _bundle.is_plain(doc):
        log.warning("%s: read from YAML at every load (holds values JSON cannot)", parsed.file)
        record[key] = {"yaml": True}
        return
    if isinstance(parsed, GuardSettings):
        record[key] = {"doc": doc}
        return
    parts: dict[str, Any] = {"expected": doc["expected"]}
    if _bundle.is_plain(parsed.state):
        parts["state"] = parsed.state
    if _bundle.is_plain(parsed.labels):
        parts["labels"] = parsed.labels
    head = {k: v for k, v in doc.items() if k != "expected"}
    record[key] = {"doc": head, "parts": parts}


def _from_entry(
    entry: Mapping[str, Any], name: str, key: str, bundle: _bundle.Bundle
) -> Baseline | GuardSettings | None:
    """The baseline of a bundle entry, its large fields left in the bundle until asked for,
    or None (the file is then read from its YAML) when the entry says so or is not what
    :func:`compile_bundle` writes."""
    if "yaml" in entry:
        return None
    doc = entry.get("doc")
    try:
        if not isinstance(doc, dict) or not isinstance(doc.get("kind"), str):
            raise TypeError("no document")
        if doc["kind"] == "guard":
            _check_head(None, doc)
            return _guard(doc, name)
        kind = get_kind(doc["kind"])
        spans = entry["parts"]
        if not isinstance(spans, dict) or "expected" not in spans:
            raise TypeError("no expected block")
        _check_head(kind, doc)
        fields = _head(kind, doc, name)
    except (BaselineError, KeyError, TypeError, ValueError, AttributeError) as exc:
        log.warning("%s: bundle entry ignored (%s); read from YAML", name, exc)
        return None
    baseline = object.__new__(Baseline)  # frozen: its fields go straight into its __dict__
    parts = _BundledParts(bundle, spans, kind, fields["key"], key, name)
    baseline.__dict__.update(fields, _source=parts)
    return baseline


_HEAD_TYPES: dict[str, type] = {
    "kind": str,
    "name": str,
    "description": str,
    "scope": str,
    "response": str,
    "severity": str,
    "approvals": int,
    "owners": list,
    "expectedActors": list,
    "guard": str,
    "enabled": bool,
    "params": dict,
}
"""The type of every field of a baseline document but ``expected``, as the schema says
(tests/test_bundle_hostile.py checks the two agree)."""


def _check_head(kind: Kind | None, doc: Mapping[str, Any]) -> None:
    """Raise ValueError unless ``doc`` (a bundle entry's fields but ``expected``; a guard
    setting's, ``kind`` None) is what the schema accepts of a file: the index is a build
    artefact nobody reviews, so it never gives a baseline its YAML could not have (say
    ``approvals: 0``). Checked by hand, not by the schema's validator, whose compiling
    would cost every cold start (80 ms); so a guard's ``params`` are checked to be a map,
    not against the guard's own schema. Values the schema accepts are taken as they are:
    the digests are not a signature (see :mod:`driftkeeper._bundle`)."""
    for name, value in doc.items():
        if type(value) is not _HEAD_TYPES.get(name):
            raise ValueError(f"field {name!r} is not what compile writes")
    if doc.get("name") == "" or doc.get("response", "alert") not in RESPONSES:
        raise ValueError("its name or response is not what compile writes")
    if doc.get("severity", "high") not in SEVERITIES or doc.get("approvals", 1) not in (1, 2):
        raise ValueError("its severity or approvals are not what compile writes")
    for name in ("owners", "expectedActors"):
        if not all(type(v) is str and v for v in doc.get(name, ())):
            raise ValueError(f"its {name} are not what compile writes")
    if kind is None:
        if doc.get("guard") not in all_guards():
            raise ValueError("its guard is not one driftkeeper has")
        return
    scope, schema = doc.get("scope"), kind.scope_schema
    if scope is None or ("const" in schema and scope != schema["const"]):
        raise ValueError("its scope is not what compile writes")
    if not scope or ("pattern" in schema and not re.search(schema["pattern"], scope)):
        raise ValueError("its scope is not what compile writes")


class _BundledParts:
    """Where a bundled baseline's :data:`_DEFERRED` fields are: read from the bundle when
    first asked for, or, when the bundle no longer holds them as compiled, from the file's
    YAML (which must still be the content the bundle was keyed by)."""

    def __init__(
        self,
        bundle: _bundle.Bundle,
        spans: Mapping[str, Any],
        kind: Kind,
        scope_key: str,
        content_key: str,
        file: str,
    ) -> None:
        self.bundle = bundle
        self.spans = spans
        self.kind = kind
        self.scope_key = scope_key
        self.content_key = content_key
        self.file = file

    def read(self, name: str) -> Any:
        if name in self.spans:
            try:
                value = self.bundle.part(self.spans[name])
            except LookupError:
                return self._from_yaml(name)
            if name == "state" or isinstance(value, dict):  # expected and labels: maps
                return value
            return self._from_yaml(name)
        expected = self.read("expected")
        if name == "labels":
            return self.kind.labels(expected)
        try:
            return self.kind.expected_state(expected, self.scope_key)
        except FieldError:  # compile accepted it: only another kind's code would refuse it
            return self._from_yaml(name)

    def _from_yaml(self, name: str) -> Any:
        data = _read(Path(self.file), self.file)
        if _bundle.content_key(data) != self.content_key:
            raise BaselineError(
                self.file,
                name,
                "changed on disk since the baselines were loaded, and the compiled bundle no "
                "longer holds what was loaded: load the baselines again",
            )
        return getattr(_build_checked(_parse_yaml(data, self.file), self.file), name)


def _build_checked(doc: Any, file: str) -> Baseline:
    parsed = parse_baseline(doc, file)
    if not isinstance(parsed, Baseline):
        raise BaselineError(file, "kind", "is no longer a baseline's")
    return parsed


def dump_baseline(doc: Mapping[str, Any], *, header: Sequence[str] = ()) -> str:
    """Deterministic YAML for a baseline document (key order as given, block style)."""
    body = yaml.dump(
        dict(doc),
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=120,
    )
    lines = "".join(f"# {line}\n" for line in header)
    return lines + str(body)
