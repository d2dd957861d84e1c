"""What every watched kind knows: its snapshot sections, its baseline schema, how to
normalize its state and how to say what changed."""

from __future__ import annotations

import logging
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from .._errors import FieldError, InputError
from .._model import Change, Severity
from ..rollback._plan import CannotPlan
from ..signals import Signal
from ..snapshot import Snapshot, is_unreadable, why_unreadable
from ._reads import Request, Section

if TYPE_CHECKING:
    from ..rollback._plan import Drift, Step, Write

__all__ = [
    "ARM_CHANGES",
    "FieldError",
    "Index",
    "Kind",
    "Setting",
    "Signals",
    "Touch",
    "item_key",
    "keyed",
    "list_delta",
    "require_list",
    "short_value",
    "slugify",
]


@dataclass(frozen=True)
class Setting:
    """The normalized live state of one watched setting (one NSG, one role, one policy)."""

    key: str
    """Comparison key of the scope (ARM ids are case-insensitive, so casefolded)."""
    scope: str
    """The scope as Azure spells it, for people."""
    title: str
    """A short human name: the NSG's name, the role's name, the policy's displayName."""
    state: Any
    """Normalized state; compared with :func:`driftkeeper._diff.diff_states`."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """Display names (role names, principal names) that help people, never compared."""
    raw: Any = None
    """What the kind needs to write a baseline (``to_expected``)."""


Index = Mapping[str, Setting]

_log = logging.getLogger(__name__)


ARM_CHANGES = (
    "Microsoft.Resources.ResourceWriteSuccess",
    "Microsoft.Resources.ResourceDeleteSuccess",
    "Microsoft.Resources.ResourceActionSuccess",
)
"""The Event Grid types of ARM changes that were made (azure-eventgrid's system event names)."""


@dataclass(frozen=True)
class Signals:
    """The signals that may touch a kind, as data: what the Event Grid subscription filters
    on, what the audit poll asks for, and a cheap first test before a kind routes."""

    event_types: tuple[str, ...] = ()
    """Event Grid / CloudEvents types (ARM changes, Graph change notifications)."""
    resource_types: tuple[str, ...] = ()
    """ARM resource types whose changes touch the kind (their operations start with them)."""
    audit_categories: tuple[str, ...] = ()
    """Entra ``directoryAudit`` categories (``RoleManagement``, ``Policy``); empty: any."""
    audit_activities: tuple[str, ...] = ()
    """Words an audit record's activity contains (``conditional access``); empty: any.
    A kind with neither takes no audit records."""

    def may_touch(self, signal: Signal) -> bool:
        """Whether ``signal`` is one of these (pure; the kind's ``route`` decides the rest)."""
        if signal.source == "audit":
            if not (self.audit_categories or self.audit_activities):
                return False
            category = signal.category.casefold()
            if self.audit_categories and not any(
                c.casefold() == category for c in self.audit_categories
            ):
                return False
            activity = signal.operation.casefold()
            return not self.audit_activities or any(
                a.casefold() in activity for a in self.audit_activities
            )
        if signal.type not in self.event_types:
            return False
        if signal.category != "arm":
            return True
        operation = signal.operation.casefold()
        return any(operation.startswith(t.casefold() + "/") for t in self.resource_types)

    def to_dict(self) -> dict[str, list[str]]:
        return {
            name: list(values)
            for name, values in (
                ("eventTypes", self.event_types),
                ("resourceTypes", self.resource_types),
                ("auditCategories", self.audit_categories),
                ("auditActivities", self.audit_activities),
            )
            if values
        }


@dataclass(frozen=True)
class Touch:
    """A setting a signal touches: read ``scope`` of ``kind``, judge what covers ``key``."""

    kind: str
    scope: str
    key: str


class Kind(ABC):
    """A watched kind. Subclasses register with :func:`driftkeeper.kinds.register`."""

    name: ClassVar[str]
    """The name used in baseline YAML (``kind: nsg``)."""
    title: ClassVar[str]
    reads: ClassVar[tuple[Section, ...]]
    """The snapshot sections the kind owns and where each is read (see :mod:`._reads`)."""
    signals: ClassVar[Signals] = Signals()
    """The signals that may touch the kind."""
    sections: ClassVar[tuple[str, ...]]
    """Sections the kind cannot do without (derived from ``reads``)."""
    optional_sections: ClassVar[tuple[str, ...]] = ()
    """Sections used when captured and skipped when not captured; when their read *failed*,
    the kind's baselines are errors (never judged on partial state). Derived from ``reads``."""
    default_severity: ClassVar[Severity] = "high"
    responsibility: ClassVar[str] = "unassigned"
    """The customer responsibility of the shared-responsibility model the kind guards
    (``identity-and-access``, ``account-and-access-management``, ``network-controls``,
    ``data``); declared data the dashboard groups by (``unassigned`` until a kind says)."""
    layer: ClassVar[str] = "unassigned"
    """Its defense-in-depth layer (``identity``, ``perimeter``, ``network``, ``data`` ...)."""
    expected_schema: ClassVar[dict[str, Any]]
    """JSON Schema of the baseline's ``expected`` block."""
    scope_schema: ClassVar[dict[str, Any]] = {"type": "string", "minLength": 1}
    writes: ClassVar[tuple[Write, ...]] = ()
    """Every kind of request :meth:`plan` may send, with the permission it needs (see
    :class:`~driftkeeper.rollback.Write`); empty for a kind without a rollback."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        reads = cls.__dict__.get("reads")
        if reads is not None:
            cls.sections = tuple(s.name for s in reads if s.need == "required")
            cls.optional_sections = tuple(s.name for s in reads if s.need == "optional")

    def declaration(self) -> dict[str, Any]:
        """Name, sections (where each is read) and signals, for people (``driftkeeper kinds``)."""
        return {
            "name": self.name,
            "title": self.title,
            "sections": [section.declaration() for section in self.reads],
            "signals": self.signals.to_dict(),
        }

    # --- reading live state ----------------------------------------------------------------
    def requests(self, scope: str, *, subscriptions: Sequence[str] = ()) -> list[Request]:
        """The GETs that read the setting at ``scope`` (the event pipeline's read).

        By default: one item of the first section whose ``get_path`` fits ``scope``, or a
        whole Graph collection or object whose path is ``scope``. Raises
        :class:`~driftkeeper.InputError` for a scope that is none of these, before any call.
        """
        wanted = scope.strip().rstrip("/").casefold()
        for section in self.reads:
            if section.need == "labels":
                continue
            request = section.get_request(scope)
            if request is not None:
                return [request]
            if section.api == "graph" and section.path.casefold() == wanted:
                return [section.collection_request()]
        raise InputError(f"not a {self.name} scope: {scope!r}")

    # --- reading ---------------------------------------------------------------------------
    @abstractmethod
    def index(self, snapshot: Snapshot) -> Index:
        """Every setting of this kind in the snapshot, by comparison key."""

    def notices(self, snapshot: Snapshot) -> list[str]:
        """Things people should know about this kind's coverage in ``snapshot``."""
        return []

    def scope_key(self, scope: str) -> str:
        return scope.strip().casefold()

    def actual(self, index: Index, key: str) -> Setting | None:
        """The live setting a baseline scoped at ``key`` is compared with (None: absent)."""
        return index.get(key)

    def uncovered(self, index: Index, baseline_keys: set[str]) -> list[str]:
        """Scopes of live settings that no baseline of this kind covers."""
        return [s.scope for k, s in index.items() if k not in baseline_keys]

    def capture_keys(self, index: Index) -> Iterable[str]:
        """The scopes ``baseline capture`` writes one baseline for: every setting but those
        whose state is :func:`~driftkeeper.snapshot.unreadable` (a baseline file must load;
        such a setting is then unbaselined, and drift against any baseline)."""
        for key, setting in index.items():
            if is_unreadable(setting.state):
                _log.warning("%s not captured: %s", setting.scope, why_unreadable(setting.state))
                continue
            yield key

    # --- signals ---------------------------------------------------------------------------
    def route(self, signal: Signal, baselines: Mapping[str, Any]) -> list[Touch]:
        """The settings of this kind a signal touches (pure, no I/O).

        ``baselines`` maps the scope keys of this kind's baselines to their states, for
        kinds that need them to decide (a user deleted: which roles held them?).
        """
        return []

    def covers(self, baseline_key: str, touched_key: str) -> bool:
        """Whether a baseline scoped at ``baseline_key`` judges the touched setting."""
        return baseline_key == touched_key

    # --- baselines -------------------------------------------------------------------------
    @abstractmethod
    def expected_state(self, expected: Mapping[str, Any], scope_key: str) -> Any:
        """Normalize a baseline's ``expected`` block; raise :class:`FieldError` if unusable."""

    @abstractmethod
    def to_expected(self, setting: Setting) -> dict[str, Any]:
        """The ``expected`` block ``baseline capture`` writes for a live setting."""

    def slug(self, setting: Setting) -> str:
        """A file name stem for the captured baseline."""
        return slugify(setting.title)

    def comparable(self, state: Any, snapshot: Snapshot) -> Any:
        """The part of a state that ``snapshot`` lets us judge (both sides go through it).

        A kind whose coverage depends on optional sections (PIM eligibility) drops here what
        the snapshot did not capture, so "not captured" never reads as "all removed".
        """
        return state

    # --- rollback ---------------------------------------------------------------------------
    def plan(self, drift: Drift) -> Sequence[Step] | CannotPlan:
        """The mutating requests that restore ``drift.baseline`` (pure: nothing is sent), in
        the order they must be sent, or why that cannot be done.

        ``drift.live`` is the live setting (None: it no longer exists), ``drift.snapshot``
        what it was read from; build URLs with ``drift.endpoints`` from the kind's own section
        paths (every value from outside through :class:`PathTemplate` or
        :func:`~driftkeeper.kinds._reads.segment`), and new ids with ``drift.new_guid``.
        A kind that does not override this has no rollback.
        """
        return CannotPlan(f"kind {self.name} has no rollback")

    # --- words -----------------------------------------------------------------------------
    def labels(self, expected: Mapping[str, Any]) -> dict[str, str]:
        """Display names a baseline's ``expected`` block carries (for removed items)."""
        return {}

    def describe(self, change: Change, labels: Mapping[str, str]) -> str:
        """One change in words a paged engineer understands at a glance."""
        if change.expected is None:
            return f"{change.path} added: {short_value(change.actual)}"
        if change.actual is None:
            return f"{change.path} removed (was {short_value(change.expected)})"
        if isinstance(change.expected, list) and isinstance(change.actual, list):
            return f"{change.path}: {list_delta(change.expected, change.actual)}"
        return (
            f"{change.path} changed from {short_value(change.expected)} "
            f"to {short_value(change.actual)}"
        )

    def missing_message(self, scope: str) -> str:
        return f"{self.title} {scope} no longer exists"


def short_value(value: Any, limit: int = 80) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, list):
        text = ", ".join(short_value(v, limit) for v in value) or "none"
    elif isinstance(value, dict):
        text = ", ".join(f"{k}={short_value(v, limit)}" for k, v in value.items())
    else:
        text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def list_delta(expected: Sequence[Any], actual: Sequence[Any]) -> str:
    """``added x, y; removed z`` for two lists compared as sets."""
    added = [v for v in actual if v not in expected]
    removed = [v for v in expected if v not in actual]
    parts = []
    if added:
        parts.append(f"added {short_value(added)}")
    if removed:
        parts.append(f"removed {short_value(removed)}")
    return "; ".join(parts) or "reordered"


def slugify(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-")
    return slug[:80] or "unnamed"


def keyed(prefix: str, key: str) -> str:
    """The state key of one item of a keyed collection: ``rules[allow-rdp]``."""
    return f"{prefix}[{key}]"


def item_key(path: str) -> tuple[str, str]:
    """Split ``rules[allow-rdp].priority`` into (``rules``, ``allow-rdp``)."""
    head = path.split("].", 1)[0]
    prefix, _, key = head.partition("[")
    return prefix, key[:-1] if key.endswith("]") else key


def require_list(value: Any, path: str) -> Sequence[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise FieldError(path, "expected a list")
    return value
