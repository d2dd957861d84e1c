"""Baselines: version-controlled YAML, one per file, validated against a generated schema.

A baseline holds the expected state of one kind at one scope::

    kind: nsg
    scope: /subscriptions/.../networkSecurityGroups/web-nsg
    response: alert            # alert | approve | auto (no rollback yet: alerted only)
    severity: high             # low | medium | high | critical
    owners: [netops@contoso.com]
    expectedActors: [<app id of the deployment pipeline>]
    expected:
      rules: [...]

A file with ``kind: guard`` tunes a built-in guard instead (``guard:``, ``enabled:``,
``params:``). The schema is assembled from each kind's and guard's own fragment, like
Cloud Custodian's: :func:`baseline_schema` returns it, ``driftkeeper schema`` prints it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ._errors import BaselineError
from ._model import RESPONSES, SEVERITIES, Response, Severity
from .guards import all_guards
from .kinds import FieldError, all_kinds, get_kind

__all__ = [
    "ROLLBACK_RESPONSES",
    "Baseline",
    "BaselineSet",
    "GuardSettings",
    "baseline_schema",
    "dump_baseline",
    "load_baselines",
    "parse_baseline",
]

log = logging.getLogger(__name__)

ROLLBACK_RESPONSES: tuple[Response, ...] = ("approve", "auto")
"""Responses that ask for a rollback, which driftkeeper cannot do yet."""

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


@dataclass(frozen=True)
class BaselineSet:
    baselines: tuple[Baseline, ...] = ()
    guards: Mapping[str, GuardSettings] = field(default_factory=dict)

    def of_kind(self, kind: str) -> list[Baseline]:
        return [b for b in self.baselines if b.kind == kind]

    def awaiting_rollback(self) -> list[str]:
        """The files (baselines and guard settings) asking for ``response: approve`` or
        ``auto``, which nothing acts on yet: their drift is alerted only."""
        files = [b.file for b in self.baselines if b.response in ROLLBACK_RESPONSES]
        files += [g.file for g in self.guards.values() if g.response in ROLLBACK_RESPONSES]
        return sorted(files)

    def rollback_notice(self) -> str | None:
        """The notice ``scan``, ``/api/health`` and the Function App's log give while
        :meth:`awaiting_rollback` is not empty, else None."""
        files = self.awaiting_rollback()
        if not files:
            return None
        return (
            f"rollback not available yet: {len(files)} baseline(s) with response "
            f"approve/auto are alerted only: {', '.join(files)}"
        )


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


def _schema_validator() -> Any:
    global _validator
    if _validator is None:
        from jsonschema import Draft202012Validator

        _validator = Draft202012Validator(baseline_schema())
    return _validator


def _field(path: Iterable[Any]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _schema_problem(file: str, doc: Any) -> BaselineError | None:
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
        problem = f"expected one of {allowed}; got {error.instance!r}"
    elif error.validator == "type":
        problem = f"expected {error.validator_value}; got {error.instance!r}"
    elif error.validator == "additionalProperties":
        problem = f"unknown field ({error.message})"
    else:
        problem = f"expected {error.validator} {error.validator_value!r}; got {error.instance!r}"
    if len(errors) > 1:
        problem += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    return BaselineError(file, where or "(document)", problem)


def parse_baseline(doc: Any, file: str) -> Baseline | GuardSettings:
    """Validate one parsed baseline document; raise :class:`BaselineError` naming the field."""
    if not isinstance(doc, dict):
        raise BaselineError(file, "(document)", "expected a mapping with at least 'kind'")
    problem = _schema_problem(file, doc)
    if problem is not None:
        raise problem
    owners = tuple(doc.get("owners") or ())
    if doc["kind"] == "guard":
        return GuardSettings(
            guard=doc["guard"],
            file=file,
            enabled=doc.get("enabled", True),
            severity=doc.get("severity"),
            response=doc.get("response", "alert"),
            owners=owners,
            params=doc.get("params") or {},
        )
    kind = get_kind(doc["kind"])
    key = kind.scope_key(doc["scope"])
    try:
        state = kind.expected_state(doc["expected"], key)
    except FieldError as exc:
        raise BaselineError(file, f"expected.{exc.path}", exc.problem) from None
    return Baseline(
        kind=kind.name,
        scope=doc["scope"],
        key=key,
        name=doc.get("name") or Path(file).stem,
        file=file,
        response=doc.get("response", "alert"),
        severity=doc.get("severity", kind.default_severity),
        owners=owners,
        expected_actors=tuple(doc.get("expectedActors") or ()),
        expected=doc["expected"],
        state=state,
        labels=kind.labels(doc["expected"]),
    )


def _files(directory: Path) -> Iterator[Path]:
    for pattern in ("*.yaml", "*.yml"):
        yield from directory.rglob(pattern)


def load_yaml(path: Path, name: str) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BaselineError(name, "", f"cannot read file ({exc})") from exc
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise BaselineError(name, where, f"not valid YAML ({problem})") from exc


def load_baselines(directory: str | Path) -> BaselineSet:
    """Read every ``*.yaml`` under ``directory`` (recursively), validated.

    Raises :class:`BaselineError` for the first bad file, and when two files claim the same
    kind and scope or tune the same guard.
    """
    root = Path(directory)
    if not root.is_dir():
        raise BaselineError(str(directory), "", "not a directory of baseline files")
    baselines: list[Baseline] = []
    guards: dict[str, GuardSettings] = {}
    seen: dict[tuple[str, str], str] = {}
    for path in sorted(_files(root)):
        name = str(path)
        parsed = parse_baseline(load_yaml(path, name), name)
        if isinstance(parsed, GuardSettings):
            if parsed.guard in guards:
                other = guards[parsed.guard].file
                raise BaselineError(name, "guard", f"guard {parsed.guard!r} is also set in {other}")
            guards[parsed.guard] = parsed
            continue
        ident = (parsed.kind, parsed.key)
        if ident in seen:
            raise BaselineError(
                name,
                "scope",
                f"{parsed.kind} {parsed.scope} already has a baseline in {seen[ident]}",
            )
        seen[ident] = name
        baselines.append(parsed)
    log.debug(
        "loaded %d baselines and %d guard settings from %s", len(baselines), len(guards), root
    )
    return BaselineSet(tuple(baselines), guards)


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
