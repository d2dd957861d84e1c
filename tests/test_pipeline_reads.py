"""Reading before judging: a signal's reads (the settings it touches and what the guards of
their kinds declare) are planned, fetched once each, then judged; nothing reads later."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import driftkeeper.pipeline
from driftkeeper import Snapshot
from driftkeeper.baseline import load_baselines
from driftkeeper.guards.ca_mfa_admins import MfaForPrivilegedRoles
from driftkeeper.intake import parse_event
from driftkeeper.kinds import get_kind
from driftkeeper.memory import MemoryIncidents, MemoryLedger
from driftkeeper.pipeline import Pipeline
from driftkeeper.signals import Signal
from tests.fakes.alerts import RecordingAlerts
from tests.fakes.audit_records import ca_update

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
POLICIES = ("conditional-access-policy", "/identity/conditionalAccess/policies")
DEFAULTS = ("security-defaults", "/policies/identitySecurityDefaultsEnforcementPolicy")
MFA_GUARD = "guard:ca-mfa-privileged-roles"


class KindReader:
    """Answers each read with the sections of the kind asked for, from one tenant document,
    and remembers every read (as the live per-kind readers would)."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.full = Snapshot.from_dict(doc)
        self.reads: list[tuple[str, str]] = []

    def read(self, kind: str, scope: str, *, newer_than: datetime | None = None) -> Snapshot:
        self.reads.append((kind, scope))
        plugin = get_kind(kind)
        wanted = (*plugin.sections, *plugin.optional_sections)
        sections = {s: v for s, v in self.full.sections.items() if s in wanted}
        return Snapshot(self.full.tenant_id, self.full.captured_at, sections, {}, f"read:{kind}")


def tenant(*, security_defaults: bool = False) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((ROOT / "examples/tenant-drifted.json").read_text())
    doc["graph"]["securityDefaults"]["isEnabled"] = security_defaults
    return copy.deepcopy(doc)


def ca_signal() -> Signal:
    signal = parse_event(ca_update("IPCGraph_reads-1", "2026-11-22T02:58:13Z"))
    assert isinstance(signal, Signal)
    return signal


def pipeline(reader: KindReader, **kwargs: Any) -> Pipeline:
    return Pipeline(
        load_baselines(ROOT / "baselines"),
        reader,
        MemoryLedger(),
        MemoryIncidents(),
        RecordingAlerts(),
        clock=lambda: NOW,
        **kwargs,
    )


def test_the_plan_names_the_touched_setting_and_the_guards_reads() -> None:
    p = pipeline(KindReader(tenant()))
    touches = p.route(ca_signal())
    assert [(t.kind, t.scope.rsplit("/", 1)[-1]) for t in touches] == [
        ("conditional-access-policy", "c0ffee00-1111-4222-8333-444455556666")
    ]
    assert p.plan(touches) == [(t.kind, t.scope) for t in touches] + [POLICIES, DEFAULTS]
    assert pipeline(KindReader(tenant()), guards="none").plan(touches) == [
        (t.kind, t.scope) for t in touches
    ]


def test_every_read_is_made_once_and_before_anything_is_judged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reader = KindReader(tenant())
    p = pipeline(reader)
    judged_after: list[int] = []
    for name in ("evaluate", "guard_findings"):
        original = getattr(driftkeeper.pipeline, name)

        def spy(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
            judged_after.append(len(reader.reads))
            return _original(*args, **kwargs)

        monkeypatch.setattr(driftkeeper.pipeline, name, spy)
    p.process([ca_signal()])
    assert judged_after  # something was judged
    assert set(judged_after) == {len(reader.reads)}  # ... only once everything was read
    assert len(reader.reads) == len(set(reader.reads)) == 3  # policy, policies, defaults


@pytest.mark.parametrize(
    ("security_defaults", "mfa_guard"),
    [(True, "compliant"), (False, "drift")],
    ids=["defaults on: admins have MFA", "defaults off: the report-only policy leaves a gap"],
)
def test_a_guard_declaring_several_reads_judges_them_merged(
    monkeypatch: pytest.MonkeyPatch, security_defaults: bool, mfa_guard: str
) -> None:
    # given a guard that reads the CA policies AND security defaults (two reads)
    monkeypatch.setattr(MfaForPrivilegedRoles, "tenant_reads", (POLICIES, DEFAULTS))
    reader = KindReader(tenant(security_defaults=security_defaults))
    p = pipeline(reader)
    # when a CA policy changes
    p.process([ca_signal()])
    # then both were read, once each, and the guard judged them together
    assert reader.reads.count(POLICIES) == reader.reads.count(DEFAULTS) == 1
    ledger = p.ledger
    assert isinstance(ledger, MemoryLedger)
    [row] = [r for r in ledger.rows.values() if r.rule == MFA_GUARD]
    assert row.outcome == mfa_guard


def test_the_ca_guards_declare_the_policies_and_security_defaults() -> None:
    assert MfaForPrivilegedRoles.tenant_reads == (POLICIES, DEFAULTS)


def test_a_refused_tenant_read_is_an_error_for_its_guards_not_an_exception() -> None:
    class Refusing(KindReader):
        def read(self, kind: str, scope: str, *, newer_than: datetime | None = None) -> Snapshot:
            if (kind, scope) == POLICIES:
                from driftkeeper import InputError

                raise InputError("not a scope this reader knows")
            return super().read(kind, scope, newer_than=newer_than)

    p = pipeline(Refusing(tenant()))
    [result] = p.process([ca_signal()])
    errors = {f.rule: f.message for f in result.findings if f.status == "error"}
    assert "not a scope this reader knows" in errors[MFA_GUARD]


def snap(sections: dict[str, Any], errors: dict[str, str] | None = None, **kw: Any) -> Snapshot:
    return Snapshot("t", kw.pop("at", "2026-11-22T10:00:00Z"), sections, errors or {}, **kw)


def test_merged_unites_sections_errors_and_subscriptions() -> None:
    a = snap({"graph.conditionalAccessPolicies": []}, at="2026-11-22T10:00:05Z")
    b = snap(
        {"graph.securityDefaults": {"isEnabled": True}},
        {"graph.authenticationMethodsPolicy": "403 Forbidden"},
        at="2026-11-22T10:00:00Z",
    )
    both = Snapshot.merge([a, b])
    assert set(both.sections) == {"graph.conditionalAccessPolicies", "graph.securityDefaults"}
    assert both.read_errors == {"graph.authenticationMethodsPolicy": "403 Forbidden"}
    assert both.captured_at == "2026-11-22T10:00:00Z"  # the older read bounds freshness
    assert Snapshot.merge([a]) is a


@pytest.mark.parametrize(
    ("subscriptions", "expected"),
    [((("s1",), ("s2",)), ("s1", "s2")), ((("s1",), None), None)],
    ids=["both say", "one read all"],
)
def test_merged_subscriptions(
    subscriptions: tuple[tuple[str, ...] | None, ...], expected: tuple[str, ...] | None
) -> None:
    parts = [snap({}, subscriptions=s) for s in subscriptions]
    assert Snapshot.merge(parts).subscriptions == expected


def test_a_section_one_read_captured_is_not_failed_by_another() -> None:
    got = snap({"graph.securityDefaults": {"isEnabled": False}})
    failed = snap({}, {"graph.securityDefaults": "503"})
    assert Snapshot.merge([failed, got]).status("graph.securityDefaults") == "captured"


def test_a_coalesced_read_is_merged_once() -> None:
    reader = KindReader(tenant())
    p = pipeline(reader)
    a, b = reader.read(*POLICIES), reader.read(*DEFAULTS)
    assert p._merged([a, b]) is p._merged([a, b])
