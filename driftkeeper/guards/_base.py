"""What every built-in guard knows: its source, severity, parameters and the check."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from .._model import Change, Severity
from .._state import StateView

__all__ = ["Guard", "Verdict"]


@dataclass(frozen=True)
class Verdict:
    """One resource judged by a guard: ``ok`` or not, with the offending values as changes."""

    resource: str
    ok: bool
    message: str
    changes: tuple[Change, ...] = ()


class Guard(ABC):
    """An invariant that must hold whatever the baseline says."""

    name: ClassVar[str]
    """The name used in ``kind: guard`` files and in findings (``guard:<name>``)."""
    kind: ClassVar[str]
    """The watched kind the guard judges (for findings and routing)."""
    title: ClassVar[str]
    source: ClassVar[str]
    """Where the rule comes from (CIS benchmark item, Azure Policy built-in)."""
    default_severity: ClassVar[Severity]
    responsibility: ClassVar[str] = "unassigned"
    """The customer responsibility it guards (as :attr:`driftkeeper.kinds.Kind.responsibility`)."""
    layer: ClassVar[str] = "unassigned"
    """Its defense-in-depth layer (``identity``, ``perimeter``, ``network``, ``data`` ...)."""
    sections: ClassVar[tuple[str, ...]]
    params_schema: ClassVar[dict[str, Any]] = {"type": "object", "additionalProperties": False}
    tenant_reads: ClassVar[tuple[tuple[str, str], ...]] = ()
    """For a guard that judges the whole tenant (e.g. "does any CA policy require MFA, or
    are security defaults on?"): every (kind, scope) the event pipeline reads to judge it,
    fetched with the event's own read. Guards without them judge one resource from the
    partial state read for the event."""
    defaults: ClassVar[Mapping[str, Any]] = {}

    def params(self, overrides: Mapping[str, Any]) -> dict[str, Any]:
        return {**self.defaults, **overrides}

    def required_sections(self, params: Mapping[str, Any]) -> tuple[str, ...]:
        """The sections the guard needs with these parameters (default: ``sections``)."""
        return self.sections

    @abstractmethod
    def check(self, view: StateView, params: Mapping[str, Any]) -> Iterable[Verdict]:
        """Judge every resource the guard covers."""
