"""Event pipeline benchmark (issue 3): the in-process cost of one event, and ARM reads per burst.

**Per-event cost.** A synthetic tenant from ``bench/scan.py`` (same generator, same seed) is
the live state; its known-good twin gives the baselines. A stream of events (fixed seed,
unique ids, realistic payloads: the Event Grid ``ResourceWriteSuccess`` sample with its full
``claims`` block, CloudEvents 1.0, Entra ``directoryAudit`` records) is made of:

- NSG rule writes, Event Grid schema and CloudEvents schema;
- role-assignment writes at subscription, resource-group and resource scope;
- audit records: a Conditional Access policy update, a member added to a directory role;
- ignored: storage account writes (not watched) and failed NSG rule writes.

Each event starts as its JSON bytes. Timed per event, in order: ``json.loads`` (the
reference), ``parse_event``, ``Pipeline.process([signal])`` (route, read, evaluate, the
``EventRecord`` rows, ``MemoryLedger`` and ``MemoryIncidents``), then ``record_entities`` for
each row (the Table entities the real ledger would send). Reads never leave the process:

- **coalesced (burst)**: ``CoalescingReader(window=3600)`` over a per-resource reader, warmed,
  so every read is a cache hit (the steady state of a burst);
- **uncached (every event reads)**: the per-resource reader itself. Like ``ResourceReader`` it
  answers with a partial snapshot: the one NSG, the subscription's role assignments (at or
  below it), the one CA policy (every policy and security defaults for the tenant-wide CA
  guards' read), the one directory role's members. Building that snapshot is in the time;
  the ARM / Graph call and the SDK's deserialization are not;
- **full tenant (snapshot_reader)**: ``snapshot_reader`` over the whole tenant, as
  ``driftkeeper replay --state`` does (for information, on fewer events).

Event times are in the past (2025), so ``newer_than`` never forces a read here.

**Reads per burst.** 1,000 NSG rule writes over 10 NSGs, in random order, through
``CoalescingReader(inner, window=5.0)`` over a reader that sleeps 20 ms per read (simulated
ARM latency) and counts its reads; processed sequentially and from 8 threads. Arrivals:
all at once with event times from before the burst (no ``newer_than`` effect), or paced at
``--rate`` per second, each event's time being its arrival minus a delivery lag (1 s, 0 s),
so a change can be newer than reads begun earlier. "stale" counts events judged on a read
that began before the event's time.

Usage: ``python bench/events.py [--sizes 1000,10000] [--events 1400] [--repeat 3]
[--rate 200] [--delay 0.02] [--quick]``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import sys
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.scan import baseline_set, tenant
from driftkeeper._model import EventRecord
from driftkeeper.baseline import BaselineSet
from driftkeeper.intake import parse_event
from driftkeeper.kinds import Request, get_kind
from driftkeeper.live import CoalescingReader, snapshot_reader
from driftkeeper.live._failures import Refused
from driftkeeper.live._fetch import run_requests
from driftkeeper.memory import MemoryIncidents, MemoryLedger
from driftkeeper.pipeline import Pipeline, StateReader
from driftkeeper.signals import Signal
from driftkeeper.snapshot import Snapshot, declared_sections
from driftkeeper.store import record_entities

SEED = 20261123
EPOCH = datetime(2025, 6, 1, 8, tzinfo=UTC)  # event times: before any read of this run
AUTH_SUFFIX = "/providers/Microsoft.Authorization/roleAssignments/"
RULE_OP = "Microsoft.Network/networkSecurityGroups/securityRules/write"

# (label, share of the stream)
MIX: tuple[tuple[str, float], ...] = (
    ("NSG rule write (Event Grid)", 0.25),
    ("NSG rule write (CloudEvents)", 0.15),
    ("role-assignment write", 0.15),
    ("audit: CA policy updated", 0.05),
    ("audit: member added to role", 0.05),
    ("storage account write (ignored)", 0.25),
    ("failed NSG write (ignored)", 0.10),
)
EXPECTED = {  # (pipeline outcome, kind of the rows) per label: checked before timing
    "NSG rule write (Event Grid)": ("evaluated", "nsg"),
    "NSG rule write (CloudEvents)": ("evaluated", "nsg"),
    "role-assignment write": ("evaluated", "role-assignments"),
    "audit: CA policy updated": ("evaluated", "conditional-access-policy"),
    "audit: member added to role": ("evaluated", "directory-role"),
    "storage account write (ignored)": ("ignored", ""),
    "failed NSG write (ignored)": ("ignored", ""),
}


# --- events ----------------------------------------------------------------------------------
class EventGen:
    """Realistic event payloads (the documented samples' fields), from a fixed seed."""

    def __init__(self, seed: int, tenant_id: str) -> None:
        self.rng = random.Random(seed)
        self.tenant_id = tenant_id
        self.n = 0
        self.users = [
            (self.guid(), f"{name}@contoso.example", name.title())
            for name in ("ana.ops", "mallory", "deploy", "ravi.net", "jo.sec")
        ]

    def guid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def when(self) -> str:
        self.n += 1
        stamp = EPOCH + timedelta(seconds=self.n * 0.37)
        return stamp.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"

    def claims(self) -> dict[str, Any]:
        oid, upn, name = self.rng.choice(self.users)
        ms, xml = "http://schemas.microsoft.com", "http://schemas.xmlsoap.org/ws/2005/05"
        return {
            "aud": "https://management.core.windows.net/",
            "iss": f"https://sts.windows.net/{self.tenant_id}/",
            "iat": "1748764800",
            "nbf": "1748764800",
            "exp": "1748769000",
            f"{ms}/claims/authnclassreference": "1",
            "aio": "AVQAq/8XAAAA" + uuid.UUID(int=self.rng.getrandbits(128)).hex,
            f"{ms}/claims/authnmethodsreferences": "pwd,mfa",
            "appid": "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
            "appidacr": "0",
            f"{xml}/identity/claims/surname": name.split(".")[-1],
            f"{xml}/identity/claims/givenname": name.split(".")[0],
            "groups": self.guid(),
            f"{ms}/identity/claims/identityprovider": f"https://sts.windows.net/{self.tenant_id}/",
            "ipaddr": f"203.0.113.{self.rng.randrange(1, 255)}",
            "name": name,
            f"{ms}/identity/claims/objectidentifier": oid,
            "puid": "10032001" + format(self.rng.getrandbits(32), "08X"),
            "rh": "0.AQsA" + uuid.UUID(int=self.rng.getrandbits(128)).hex,
            f"{ms}/identity/claims/scope": "user_impersonation",
            f"{xml}/identity/claims/nameidentifier": uuid.UUID(int=self.rng.getrandbits(128)).hex,
            f"{ms}/identity/claims/tenantid": self.tenant_id,
            f"{xml}/identity/claims/name": upn,
            f"{xml}/identity/claims/upn": upn,
            "uti": uuid.UUID(int=self.rng.getrandbits(128)).hex[:22],
            "ver": "1.0",
            "xms_tcdt": "1469565974",
        }

    def arm_data(self, resource: str, operation: str, status: str) -> dict[str, Any]:
        sub = resource.split("/")[2]
        return {
            "authorization": {
                "scope": resource,
                "action": operation,
                "evidence": {
                    "role": "Owner",
                    "roleAssignmentScope": f"/subscriptions/{sub}",
                    "roleAssignmentId": self.guid().replace("-", ""),
                    "roleDefinitionId": "8e3af657a8ff443ca75c2fe8c4bcb635",
                    "principalId": self.guid().replace("-", ""),
                    "principalType": "User",
                },
            },
            "claims": self.claims(),
            "correlationId": self.guid(),
            "httpRequest": {
                "clientRequestId": self.guid(),
                "clientIpAddress": f"203.0.113.{self.rng.randrange(1, 255)}",
                "method": "PUT",
                "url": f"https://management.azure.com{resource}?api-version=2023-09-01",
            },
            "resourceProvider": operation.split("/", 1)[0],
            "resourceUri": resource,
            "operationName": operation,
            "status": status,
            "subscriptionId": sub,
            "tenantId": self.tenant_id,
        }

    def event_grid(self, resource: str, operation: str, outcome: str = "Success") -> dict[str, Any]:
        status = "Succeeded" if outcome == "Success" else "Failed"
        return {
            "subject": resource,
            "eventType": f"Microsoft.Resources.ResourceWrite{outcome}",
            "eventTime": self.when(),
            "id": self.guid(),
            "data": self.arm_data(resource, operation, status),
            "dataVersion": "2",
            "metadataVersion": "1",
            "topic": "/subscriptions/" + resource.split("/")[2],
        }

    def cloud_event(self, resource: str, operation: str) -> dict[str, Any]:
        return {
            "source": "/subscriptions/" + resource.split("/")[2],
            "subject": resource,
            "type": "Microsoft.Resources.ResourceWriteSuccess",
            "time": self.when(),
            "id": self.guid(),
            "data": self.arm_data(resource, operation, "Succeeded"),
            "specversion": "1.0",
        }

    def _audit(self, **fields: Any) -> dict[str, Any]:
        oid, upn, name = self.rng.choice(self.users)
        return {
            "id": f"Directory_{self.guid()}",
            "result": "success",
            "resultReason": "",
            "activityDateTime": self.when(),
            "correlationId": self.guid(),
            "initiatedBy": {
                "app": None,
                "user": {
                    "id": oid,
                    "displayName": name,
                    "userPrincipalName": upn,
                    "ipAddress": f"203.0.113.{self.rng.randrange(1, 255)}",
                    "userType": "Member",
                    "homeTenantId": self.tenant_id,
                    "homeTenantName": None,
                },
            },
            "additionalDetails": [],
            **fields,
        }

    def audit_ca(self, policy_id: str, name: str) -> dict[str, Any]:
        return self._audit(
            category="Policy",
            activityDisplayName="Update conditional access policy",
            loggedByService="Conditional Access",
            operationType="Update",
            targetResources=[
                {
                    "id": policy_id,
                    "displayName": name,
                    "type": "Policy",
                    "userPrincipalName": None,
                    "groupType": None,
                    "modifiedProperties": [
                        {
                            "displayName": "ConditionalAccessPolicy",
                            "oldValue": json.dumps({"id": policy_id, "state": "enabled"}),
                            "newValue": json.dumps(
                                {"id": policy_id, "state": "enabledForReportingButNotEnforced"}
                            ),
                        }
                    ],
                }
            ],
        )

    def audit_role_member(self, role_id: str, role_name: str) -> dict[str, Any]:
        user = self.guid()
        return self._audit(
            category="RoleManagement",
            activityDisplayName="Add member to role",
            loggedByService="Core Directory",
            operationType="Assign",
            targetResources=[
                {
                    "id": user,
                    "displayName": None,
                    "type": "User",
                    "userPrincipalName": f"new.admin.{user[:6]}@contoso.example",
                    "groupType": None,
                    "modifiedProperties": [
                        {"displayName": "Role.ObjectID", "oldValue": None,
                         "newValue": json.dumps(self.guid())},
                        {"displayName": "Role.DisplayName", "oldValue": None,
                         "newValue": json.dumps(role_name)},
                        {"displayName": "Role.TemplateId", "oldValue": None,
                         "newValue": json.dumps(role_id)},
                        {"displayName": "Role.WellKnownObjectName", "oldValue": None,
                         "newValue": json.dumps("TenantAdmins")},
                    ],
                },
                {
                    "id": self.guid(),
                    "displayName": role_name,
                    "type": "Role",
                    "userPrincipalName": None,
                    "groupType": None,
                    "modifiedProperties": [],
                },
            ],
        )  # fmt: skip


@dataclass
class Stream:
    events: list[tuple[str, bytes]]  # (label, JSON bytes) in processing order
    nsg_ids: list[str]


def make_stream(doc: dict[str, Any], count: int, seed: int) -> Stream:
    gen = EventGen(seed, doc["tenantId"])
    rng = gen.rng
    arm, graph = doc["arm"], doc["graph"]
    nsgs = [n for n in arm["networkSecurityGroups"] if n["properties"]["securityRules"]]
    scopes = [ra["properties"]["scope"] for ra in arm["roleAssignments"]]
    scopes = [s for s in scopes if s.startswith("/subscriptions/")]
    policies = graph["conditionalAccessPolicies"]
    roles = graph["directoryRoleDefinitions"]
    storage = [
        s for s in {s.rsplit("/", 2)[0] for s in scopes} if "/providers/" not in s
    ]  # resource groups
    storage.sort()

    def rule_of(nsg: dict[str, Any]) -> str:
        rule = rng.choice(nsg["properties"]["securityRules"])
        return f"{nsg['id']}/securityRules/{rule['name']}"

    makers: dict[str, Callable[[], dict[str, Any]]] = {
        "NSG rule write (Event Grid)": lambda: gen.event_grid(rule_of(rng.choice(nsgs)), RULE_OP),
        "NSG rule write (CloudEvents)": lambda: gen.cloud_event(rule_of(rng.choice(nsgs)), RULE_OP),
        "role-assignment write": lambda: gen.event_grid(
            rng.choice(scopes).rstrip("/") + AUTH_SUFFIX + gen.guid(),
            "Microsoft.Authorization/roleAssignments/write",
        ),
        "audit: CA policy updated": lambda: gen.audit_ca(
            (p := rng.choice(policies))["id"], p["displayName"]
        ),
        "audit: member added to role": lambda: gen.audit_role_member(
            (r := rng.choice(roles))["id"], r["displayName"]
        ),
        "storage account write (ignored)": lambda: gen.event_grid(
            f"{rng.choice(storage)}/providers/Microsoft.Storage/storageAccounts/st{rng.randrange(999):03d}",
            "Microsoft.Storage/storageAccounts/write",
        ),
        "failed NSG write (ignored)": lambda: gen.event_grid(
            rule_of(rng.choice(nsgs)), RULE_OP, outcome="Failure"
        ),
    }
    labels = [label for label, share in MIX for _ in range(max(1, round(share * count)))]
    rng.shuffle(labels)
    events = [(label, json.dumps(makers[label]()).encode()) for label in labels]
    return Stream(events, [n["id"] for n in nsgs])


# --- readers ---------------------------------------------------------------------------------
class TenantFetcher:
    """Answers the GETs the kinds declare (``Kind.requests``) from a tenant document, in
    memory: what ARM and Graph would send, without the network and the SDK."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = Snapshot.from_dict(doc)
        self.sections = declared_sections()
        self.by_id: dict[str, dict[str, Any]] = {}
        self.by_subscription: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for name, section in self.sections.items():
            for item in self.doc.items(name):
                self.by_id[str(item.get("id", "")).casefold()] = item
                if section.api == "arm":
                    for sub in self._subscriptions_of(item):
                        self.by_subscription[(name, sub)].append(item)
        self._filtered: dict[tuple[str, str, str], list[dict[str, Any]]] = {}

    @staticmethod
    def _subscriptions_of(item: dict[str, Any]) -> list[str]:
        where = str((item.get("properties") or {}).get("scope") or item.get("id") or "")
        parts = where.casefold().split("/")
        return [parts[2]] if len(parts) > 2 and parts[1] == "subscriptions" else []

    def fetch(self, request: Request) -> Any:
        section = self.sections[request.section]
        if not request.many and section.shape == "object":
            return self.doc.object(request.section)
        if not request.many:
            found = self.by_id.get(request.path.casefold())
            if found is None and section.api == "graph":
                found = self.by_id.get(request.path.rsplit("/", 1)[-1].casefold())
            return found if found is not None else Refused(404, "NotFound", "404 Not Found")
        if section.api == "arm":
            sub = request.path.split("/")[2].casefold()
            return list(self.by_subscription.get((request.section, sub), []))
        wanted = dict(request.query).get("$filter")
        if wanted is None:
            return self.doc.items(request.section)
        prop, _, value = wanted.partition(" eq ")
        key = (request.section, prop, value.strip("'").casefold())
        if key not in self._filtered:
            self._filtered[key] = [
                i for i in self.doc.items(request.section)
                if str(i.get(prop, "")).casefold() == key[2]
            ]  # fmt: skip
        return self._filtered[key]


class PartialReader:
    """Answers like ``ResourceReader``: each kind's declared requests (``Kind.requests``),
    answered by :class:`TenantFetcher` and put into a partial snapshot by the same code the
    live reader uses (``run_requests``).

    ``delay`` sleeps per read (simulated ARM / Graph latency). ``reads`` counts reads. The
    snapshot's ``captured_at`` is the wall-clock time the read began (microseconds).
    """

    def __init__(self, doc: dict[str, Any], *, delay: float = 0.0) -> None:
        self.tenant_id = doc["tenantId"]
        self.delay = delay
        self.reads = 0
        self._lock = threading.Lock()
        self.fetcher = TenantFetcher(doc)
        self.subscriptions = tuple(sorted({sub for _, sub in self.fetcher.by_subscription}))

    def read(self, kind: str, scope: str, *, newer_than: datetime | None = None) -> Snapshot:
        began = datetime.now(UTC)
        with self._lock:
            self.reads += 1
        if self.delay:
            time.sleep(self.delay)
        requests = get_kind(kind).requests(scope, subscriptions=self.subscriptions)
        reads = run_requests(requests, lambda _: self.fetcher, scope=scope)
        captured = began.isoformat().replace("+00:00", "Z")
        return Snapshot(self.tenant_id, captured, reads.sections, reads.errors, "bench")


class CapturingLedger(MemoryLedger):
    """A ``MemoryLedger`` that keeps the last batch, so its Table entities can be built."""

    def __init__(self) -> None:
        super().__init__()
        self.batch: list[EventRecord] = []

    def record(self, records: Sequence[EventRecord]) -> None:
        super().record(records)
        self.batch = list(records)


# --- per-event cost --------------------------------------------------------------------------
STAGES = ("loads", "parse", "process", "rows")


@dataclass
class Cost:
    count: int = 0
    size: int = 0
    stage: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))

    @property
    def total(self) -> float:
        return sum(self.stage.values())


def run_stream(
    events: list[tuple[str, bytes]], baselines: BaselineSet, reader: StateReader
) -> dict[str, Cost]:
    """One timed pass over ``events``: per label, summed seconds per stage."""
    ledger = CapturingLedger()
    pipeline = Pipeline(baselines, reader, ledger, MemoryIncidents())
    costs: dict[str, Cost] = defaultdict(Cost)
    clock = time.perf_counter
    gc.collect()
    for label, data in events:
        t0 = clock()
        doc = json.loads(data)
        t1 = clock()
        signal = parse_event(doc)
        t2 = clock()
        pipeline.process([signal])
        t3 = clock()
        for record in ledger.batch:
            record_entities(record)
        t4 = clock()
        cost = costs[label]
        cost.count += 1
        cost.size += len(data)
        stage = cost.stage
        stage["loads"] += t1 - t0
        stage["parse"] += t2 - t1
        stage["process"] += t3 - t2
        stage["rows"] += t4 - t3
    return costs


def best_of(runs: list[dict[str, Cost]]) -> dict[str, Cost]:
    """Per label, the run with the smallest total (its stages and its json.loads together)."""
    return {label: min((r[label] for r in runs), key=lambda c: c.total) for label in runs[0]}


def check_outcomes(stream: Stream, baselines: BaselineSet, reader: StateReader) -> None:
    """Every kind of event does what it should (routes to its kind, or is ignored)."""
    ledger = MemoryLedger()
    pipeline = Pipeline(baselines, reader, ledger, MemoryIncidents())
    seen: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for label, data in stream.events:
        signal = parse_event(json.loads(data))
        if not isinstance(signal, Signal):
            raise SystemExit(f"{label}: not parsed: {signal}")
        (result,) = pipeline.process([signal])
        kinds = {r.kind for r in ledger.rows.values() if r.signal_id == signal.id}
        seen[label].add((result.outcome, ",".join(sorted(kinds))))
    for label, outcomes in seen.items():
        want = EXPECTED[label]
        if outcomes != {want}:
            raise SystemExit(f"{label}: outcomes {sorted(outcomes)}, expected {want}")


@dataclass
class SizeResult:
    size: int
    subs: int
    per_sub: int
    nsgs: int
    modes: dict[str, dict[str, Cost]]
    full_events: int


COALESCED, UNCACHED, FULL = (
    "coalesced (burst)",
    "uncached (every event reads)",
    "full tenant (snapshot_reader)",
)


def measure_size(n: int, count: int, repeat: int, full_count: int) -> SizeResult:
    t = tenant(n)
    baselines = baseline_set(Snapshot.from_dict(t.base, source="bench-base"))
    doc = t.drifted
    stream = make_stream(doc, count, SEED + n)
    partial = PartialReader(doc)
    coalescing = CoalescingReader(partial, window=3600.0)
    full = snapshot_reader(Snapshot.from_dict(doc, source="bench"))
    check_outcomes(stream, baselines, partial)
    check_outcomes(stream, baselines, coalescing)  # also warms the coalescing cache

    runs: dict[str, list[dict[str, Cost]]] = {COALESCED: [], UNCACHED: []}
    for _ in range(repeat):  # interleaved
        runs[COALESCED].append(run_stream(stream.events, baselines, coalescing))
        runs[UNCACHED].append(run_stream(stream.events, baselines, partial))
    modes = {mode: best_of(r) for mode, r in runs.items()}
    # the whole tenant per event is slow: a sample of the stream, one pass
    sample = stream.events[:full_count]
    modes[FULL] = run_stream(sample, baselines, full) if full_count else {}

    subs = {ra["properties"]["scope"].split("/")[2] for ra in doc["arm"]["roleAssignments"]
            if ra["properties"]["scope"].startswith("/subscriptions/")}  # fmt: skip
    return SizeResult(
        n, len(subs), n // max(1, len(subs)), len(doc["arm"]["networkSecurityGroups"]),
        modes, len(sample),
    )  # fmt: skip


def us(seconds: float, count: int) -> str:
    value = seconds / count * 1e6
    return f"{value:,.0f} µs" if value >= 100 else f"{value:,.1f} µs"


def overall(costs: dict[str, Cost]) -> Cost:
    out = Cost()
    for cost in costs.values():
        out.count += cost.count
        out.size += cost.size
        for name in STAGES:
            out.stage[name] += cost.stage[name]
    return out


def cost_tables(result: SizeResult) -> str:
    coalesced = result.modes[COALESCED]
    labels = [label for label, _ in MIX]
    rows = [(label, coalesced[label]) for label in labels]
    rows.append(("**all (the mix)**", overall(coalesced)))
    head = (
        "| event | events | bytes | json.loads | parse_event | pipeline.process | Table rows "
        "| **total** | **total / json.loads** | events/s (one core) |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    body = "".join(
        f"| {label} | {c.count:,} | {c.size // c.count:,} | {us(c.stage['loads'], c.count)} "
        f"| {us(c.stage['parse'], c.count)} | {us(c.stage['process'], c.count)} "
        f"| {us(c.stage['rows'], c.count)} | **{us(c.total, c.count)}** "
        f"| **{c.total / c.stage['loads']:.1f}x** | {c.count / c.total:,.0f} |\n"
        for label, c in rows
    )
    first = f"Coalesced reads (the burst's steady state), per event:\n\n{head}{body}"

    head2 = (
        f"| event | {COALESCED} | ratio | {UNCACHED} | ratio | {FULL} | ratio |\n"
        "|---|---:|---:|---:|---:|---:|---:|\n"
    )
    lines = []
    for label in [*labels, None]:
        cells = []
        for mode in (COALESCED, UNCACHED, FULL):
            costs = result.modes[mode]
            c = overall(costs) if label is None else costs.get(label)
            if c is None or not c.count:
                cells += ["n/a", "n/a"]
            else:
                cells += [us(c.total, c.count), f"{c.total / c.stage['loads']:.1f}x"]
        name = "**all (the mix)**" if label is None else label
        lines.append(f"| {name} | " + " | ".join(cells) + " |\n")
    second = (
        "Total per event (json.loads + parse + pipeline + rows) and its ratio to json.loads, "
        f"by read mode (full tenant: the first {result.full_events} events of the stream, "
        "one pass):\n\n" + head2 + "".join(lines)
    )
    return first + "\n" + second


# --- reads per burst -------------------------------------------------------------------------
@dataclass
class BurstRow:
    threads: int
    arrival: str
    events: int
    reads: int
    seconds: float
    windows: float
    stale: int


def burst(
    doc: dict[str, Any],
    baselines: BaselineSet,
    stream: Stream,
    *,
    threads: int,
    lag: float | None,
    rate: float,
    delay: float,
    window: float,
    settle: float = 0.0,
) -> BurstRow:
    """Process a burst; ``lag=None``: all at once, event times from before the burst; else
    events arrive at ``rate`` per second, each changed ``lag`` seconds before it arrives."""
    inner = PartialReader(doc, delay=delay)
    coalescing = CoalescingReader(inner, window=window, settle=settle)
    stale = 0
    stale_lock = threading.Lock()

    class Auditing:
        """Counts events judged on a read that began before the event's time."""

        def read(self, kind: str, scope: str, *, newer_than: datetime | None = None) -> Snapshot:
            nonlocal stale
            snapshot = coalescing.read(kind, scope, newer_than=newer_than)
            began = datetime.fromisoformat(snapshot.captured_at.replace("Z", "+00:00"))
            if newer_than is not None and began < newer_than:
                with stale_lock:
                    stale += 1
            return snapshot

    pipeline = Pipeline(baselines, Auditing(), MemoryLedger(), MemoryIncidents())
    signals = [parse_event(json.loads(data)) for _, data in stream.events]
    pool = ThreadPoolExecutor(threads) if threads > 1 else None
    began = time.perf_counter()
    wall = datetime.now(UTC)
    futures = []
    for i, signal in enumerate(signals):
        if lag is not None:  # arrives at its time; changed `lag` before that
            offset = i / rate
            pause = began + offset - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            when = wall + timedelta(seconds=offset - lag)
            signal = replace(signal, time=when.isoformat().replace("+00:00", "Z"))
        if pool is None:
            pipeline.process([signal])
        else:
            futures.append(pool.submit(pipeline.process, [signal]))
    if pool is not None:
        for future in futures:
            future.result()
        pool.shutdown()
    seconds = time.perf_counter() - began
    if lag is None:
        arrival = "all at once; changes older than the burst"
    else:
        arrival = f"{rate:,.0f}/s; each changed {lag * 1000:,.0f} ms before it arrives"
    if settle:
        arrival += f"; settle {settle:g} s"
    return BurstRow(
        threads, arrival, len(signals), inner.reads, seconds, max(1.0, seconds / window), stale
    )


def burst_stream(doc: dict[str, Any], count: int, nsgs: int) -> Stream:
    """``count`` NSG rule writes (Event Grid) over the first ``nsgs`` NSGs, random order."""
    gen = EventGen(SEED, doc["tenantId"])
    rng = gen.rng
    chosen = [n for n in doc["arm"]["networkSecurityGroups"] if n["properties"]["securityRules"]]
    chosen = chosen[:nsgs]
    events = []
    for i in range(count):
        nsg = chosen[i % len(chosen)]
        rule = rng.choice(nsg["properties"]["securityRules"])
        event = gen.event_grid(f"{nsg['id']}/securityRules/{rule['name']}", RULE_OP)
        events.append(("NSG rule write (Event Grid)", json.dumps(event).encode()))
    rng.shuffle(events)
    return Stream(events, [n["id"] for n in chosen])


def burst_table(rows: list[BurstRow], nsgs: int, delay: float, window: float) -> str:
    head = (
        "| processing | arrival | events | ARM reads | **reads / window** | wall time "
        "| windows | stale: judged on a read begun before the change |\n"
        "|---|---|---:|---:|---:|---:|---:|---:|\n"
    )
    body = "".join(
        f"| {'sequential' if r.threads == 1 else f'{r.threads} threads'} | {r.arrival} "
        f"| {r.events:,} | {r.reads:,} | **{r.reads / r.windows:,.0f}** | {r.seconds:.2f} s "
        f"| {r.windows:.1f} | {r.stale:,} |\n"
        for r in rows
    )
    return (
        f"{nsgs} NSGs, `CoalescingReader(window={window:g})`, {delay * 1000:.0f} ms per read; "
        "goal: at most one read per NSG per window, i.e. ≤ 10 reads per window. "
        "Windows: wall time / window, at least 1.\n\n" + head + body
    )


# --- main ------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000", help="tenant sizes (role assignments)")
    parser.add_argument("--events", type=int, default=1400, help="events in the timed stream")
    parser.add_argument("--repeat", type=int, default=3, help="timed passes, best kept")
    parser.add_argument("--full-events", type=int, default=150, help="events, full-tenant mode")
    parser.add_argument("--burst", type=int, default=1000, help="events in the read burst")
    parser.add_argument("--rate", type=float, default=200.0, help="paced arrivals per second")
    parser.add_argument("--delay", type=float, default=0.020, help="seconds per simulated read")
    parser.add_argument("--quick", action="store_true", help="a fast smoke run")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.events, args.repeat = "1000", 200, 1
        args.full_events, args.burst = 30, 200
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    window, nsgs = 5.0, 10

    print(f"Python {platform.python_version()}, {os.cpu_count()} CPUs, seed {SEED}\n")
    for n in sizes:
        started = time.perf_counter()
        result = measure_size(n, args.events, args.repeat, args.full_events)
        print(
            f"### Tenant of {n:,} role assignments ({result.subs} subscriptions, about "
            f"{result.per_sub:,} assignments each; {result.nsgs} NSGs)\n"
        )
        print(cost_tables(result))
        print(f"size {n:,}: done in {time.perf_counter() - started:.1f} s", file=sys.stderr)

    started = time.perf_counter()
    t = tenant(1000)  # 10 NSGs
    baselines = baseline_set(Snapshot.from_dict(t.base, source="bench-base"))
    stream = burst_stream(t.drifted, args.burst, nsgs)
    lags: list[float | None] = [None, 1.0, 0.0]
    rows = [
        burst(t.drifted, baselines, stream, threads=threads, lag=lag, rate=args.rate,
              delay=args.delay, window=window, settle=settle)
        for settle in (0.0, 1.0)
        for lag in lags
        for threads in (1, 8)
        # a settling leader blocks its thread: only concurrent processing (as a worker does)
        if not settle or (lag is not None and threads > 1)
    ]  # fmt: skip
    print("### Reads per burst\n")
    print(burst_table(rows, len(stream.nsg_ids), args.delay, window), end="")
    print(f"bursts: done in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
