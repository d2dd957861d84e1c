"""Scan benchmark (issues 2 and 10): the whole ``driftkeeper scan`` command, end to end.

For each size N (role assignments) a synthetic tenant is generated with a fixed seed, in
issue 10's shape: N role assignments (ARM REST shape) over subscriptions of at most 2,500
assignments each (so no captured file passes the 1 MiB a baseline file may have; Azure
itself allows 4,000 per subscription), resource groups and resources, one NSG per 50
assignments with 20 custom rules each (plus Azure's 6 default rules, as ARM lists them),
and a few Conditional Access policies, directory role members and tenant policies (Graph
v1.0 shape). Baselines are captured from it with ``capture_baselines`` into a temporary
directory, ``driftkeeper baseline compile`` writes their bundle (as the deployment does),
then drift is introduced (1% extra role assignments, a few removed, changed / added /
removed NSG rules, a CA policy switched to report-only, an extra Global Administrator) and
the drifted snapshot is written the way ``driftkeeper snapshot`` writes it (``indent=1``).

Measured, each in a fresh child process (interpreter start included on both sides),
interleaved, ``--repeat`` times:

- json.load: ``python -c 'json.load(open(snapshot))'`` (the reference);
- scan: ``python -m driftkeeper.cli scan --state snapshot --baselines dir --format json``
  with its JSON written to a file: importing, loading the snapshot and the baselines,
  judging, printing;
- first: the first of those runs (right after the compile), and best: the best of them;
- peak RSS: each child's ``VmHWM`` (``/proc/self/status``) as it exits, the largest over the
  runs (not ``ru_maxrss``: Linux counts in it the RSS of the parent that forked the child,
  here the benchmark holding the generated tenant);
- once: the scan without a bundle (every file parsed from YAML), ``--yaml-run`` only,
  and ``baseline compile`` itself.

Before the runs the package's bytecode is compiled (``compileall``), as an installed
driftkeeper has it: a source checkout writes it on its first run, unless
``PYTHONDONTWRITEBYTECODE`` is set (as on the machines these figures come from), and then
every run would compile the modules it imports.

Usage: ``python bench/scan.py [--sizes 1000,10000,50000,100000] [--repeat 3] [--profile]
[--yaml-run] [--quick]``. ``--quick``: sizes 1000,10000, 2 repeats.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from driftkeeper.baseline import Baseline, BaselineSet, GuardSettings, parse_baseline
from driftkeeper.capture import capture_baselines, captured_documents
from driftkeeper.snapshot import SCHEMA_ID, Snapshot

SEED = 20261122

AUTH = "Microsoft.Authorization"
BUILTIN_ROLES = (  # (guid, name, weight)
    ("acdd72a7-3385-48ef-bd42-f606fba81ae7", "Reader", 40),
    ("b24988ac-6180-42a0-ab88-20f7382dd24c", "Contributor", 30),
    ("8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "Owner", 3),
    ("18d7d88d-d35e-4fb5-a5c3-7773c20a72d9", "User Access Administrator", 2),
    ("ba92f5b4-2d11-453d-a403-e96b0029c9fe", "Storage Blob Data Contributor", 10),
    ("4633458b-17de-408a-b874-0445c86b69e6", "Key Vault Secrets User", 8),
    ("9980e02c-c2be-4d73-94e8-173b1dc7cf3c", "Virtual Machine Contributor", 7),
)
CUSTOM_ROLES = ("App Deployer", "Network Reader Plus", "Cost Viewer")
PRINCIPAL_TYPES = (("ServicePrincipal", 55), ("User", 30), ("Group", 15))
RESOURCE_TYPES = (
    "Microsoft.Storage/storageAccounts",
    "Microsoft.KeyVault/vaults",
    "Microsoft.Compute/virtualMachines",
    "Microsoft.Web/sites",
    "Microsoft.Sql/servers",
)
METHOD_TYPE = "AuthenticationMethodConfiguration"
GLOBAL_ADMIN = "62e90394-69f5-4237-9190-012177145e10"
DIRECTORY_ROLES = (
    (GLOBAL_ADMIN, "Global Administrator", 3),
    ("e8611ab8-c189-46e8-94e1-60213ab1f814", "Privileged Role Administrator", 2),
    ("194ae4cb-b126-40b2-bd5b-6091b380977d", "Security Administrator", 3),
    ("fe930be7-5e62-47db-91af-98c3a49a38b1", "User Administrator", 4),
    ("729827e3-9c14-49f7-bb1b-9608f156bbb8", "Helpdesk Administrator", 6),
    ("f2ef992c-3afb-46b9-b7cf-a126ee74c451", "Global Reader", 5),
)


# --- tenant generation -----------------------------------------------------------------------
class Gen:
    """A deterministic generator of ids and timestamps."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def guid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def when(self) -> str:
        day = self.rng.randrange(1, 2000)
        secs = self.rng.randrange(86400)
        stamp = time.gmtime(1_546_300_800 + day * 86400 + secs)  # 2019-01-01 + day
        frac = self.rng.randrange(10_000_000)
        return time.strftime("%Y-%m-%dT%H:%M:%S", stamp) + f".{frac:07d}Z"

    def etag(self) -> str:
        return f'W/"{self.guid()}"'

    def weighted(self, items: tuple[tuple[Any, ...], ...]) -> tuple[Any, ...]:
        return self.rng.choices(items, weights=[i[-1] for i in items])[0]


@dataclass
class Layout:
    subscriptions: list[str]
    groups: list[str]  # resource group ids
    resources: list[str]  # resource ids below resource groups
    principals: list[tuple[str, str]]  # (id, principalType)
    roles: list[tuple[str, int]]  # (guid, weight)


def layout(gen: Gen, n: int, *, per_subscription: int = 0) -> Layout:
    """``per_subscription``: at most about that many role assignments per subscription."""
    rng = gen.rng
    n_subs = max(2, round((n / 250) ** 0.5))  # 1k: 2, 10k: 6, 100k: 20
    if per_subscription:
        n_subs = max(n_subs, -(-n // per_subscription))
    subs = [f"/subscriptions/{gen.guid()}" for _ in range(n_subs)]
    n_groups = max(6, n // 60)
    groups = [
        f"{rng.choice(subs)}/resourceGroups/rg-{rng.choice(('app', 'data', 'net', 'ops'))}-{i:05d}"
        for i in range(n_groups)
    ]
    resources = []
    for i in range(max(10, n // 20)):
        rtype = rng.choice(RESOURCE_TYPES)
        resources.append(f"{rng.choice(groups)}/providers/{rtype}/res{i:06d}")
    principals = [(gen.guid(), gen.weighted(PRINCIPAL_TYPES)[0]) for _ in range(max(50, n // 4))]
    roles = [(guid, weight) for guid, _, weight in BUILTIN_ROLES]
    roles += [(gen.guid(), 1) for _ in CUSTOM_ROLES]
    return Layout(subs, groups, resources, principals, roles)


def role_definitions(lay: Layout) -> list[dict[str, Any]]:
    names = [name for _, name, _ in BUILTIN_ROLES] + list(CUSTOM_ROLES)
    sub = lay.subscriptions[0]
    out = []
    for (guid, _), name in zip(lay.roles, names, strict=True):
        custom = name in CUSTOM_ROLES
        out.append(
            {
                "properties": {
                    "roleName": name,
                    "type": "CustomRole" if custom else "BuiltInRole",
                    "description": f"{name} role",
                    "assignableScopes": [sub] if custom else ["/"],
                    "permissions": [
                        {
                            "actions": ["*/read"],
                            "notActions": [],
                            "dataActions": [],
                            "notDataActions": [],
                        }
                    ],
                    "createdOn": "2015-02-02T21:55:09.8806423Z",
                    "updatedOn": "2021-11-11T20:13:54.9397456Z",
                    "createdBy": None,
                    "updatedBy": None,
                },
                "id": f"{sub}/providers/{AUTH}/roleDefinitions/{guid}",
                "type": f"{AUTH}/roleDefinitions",
                "name": guid,
            }
        )
    return out


def role_assignment(gen: Gen, lay: Layout, taken: set[tuple[str, str, str]]) -> dict[str, Any]:
    rng = gen.rng
    roles, weights = zip(*lay.roles, strict=True)
    while True:
        where = rng.random()
        if where < 0.005:
            scope = "/providers/Microsoft.Management/managementGroups/mg-platform"
        elif where < 0.12:
            scope = rng.choice(lay.subscriptions)
        elif where < 0.70:
            scope = rng.choice(lay.groups)
        else:
            scope = rng.choice(lay.resources)
        role = rng.choices(roles, weights=weights)[0]
        principal, ptype = rng.choice(lay.principals)
        if (scope, role, principal) not in taken:
            taken.add((scope, role, principal))
            break
    sub = "/".join(scope.split("/")[:3]) if scope.startswith("/subscriptions/") else ""
    name = gen.guid()
    props: dict[str, Any] = {
        "roleDefinitionId": f"{sub}/providers/{AUTH}/roleDefinitions/{role}",
        "principalId": principal,
        "principalType": ptype,
        "scope": scope,
        "createdOn": gen.when(),
        "updatedOn": gen.when(),
        "createdBy": gen.guid(),
        "updatedBy": gen.guid(),
    }
    if rng.random() < 0.01:  # an ABAC condition, as on Storage data roles
        props["condition"] = (
            "((!(ActionMatches{'Microsoft.Storage/storageAccounts/blobServices/containers/"
            "blobs/read'})) OR (@Resource[Microsoft.Storage/storageAccounts/blobServices/"
            "containers:name] StringEquals 'logs'))"
        )
        props["conditionVersion"] = "2.0"
    return {
        "properties": props,
        "id": f"{scope.rstrip('/')}/providers/{AUTH}/roleAssignments/{name}",
        "type": f"{AUTH}/roleAssignments",
        "name": name,
    }


def _rule_props(gen: Gen, direction: str, priority: int) -> dict[str, Any]:
    """One custom rule's ``properties``, from a mix of shapes seen in real NSGs."""
    rng = gen.rng
    p: dict[str, Any] = {
        "provisioningState": "Succeeded",
        "protocol": rng.choice(("Tcp", "Tcp", "Tcp", "Udp", "*")),
        "sourcePortRange": "*",
        "access": "Allow",
        "priority": priority,
        "direction": direction,
        "sourcePortRanges": [],
        "destinationPortRanges": [],
        "sourceAddressPrefixes": [],
        "destinationAddressPrefixes": [],
    }
    net = f"10.{rng.randrange(256)}.{rng.randrange(256)}"
    shape = rng.random()
    if direction == "Outbound":
        p["sourceAddressPrefix"] = "VirtualNetwork"
        p["destinationAddressPrefix"] = rng.choice(("Storage", "Sql", "AzureMonitor", "Internet"))
        p["destinationPortRange"] = rng.choice(("443", "1433", "*"))
        if p["destinationAddressPrefix"] == "Internet" and rng.random() < 0.5:
            p["access"] = "Deny"
            p["destinationPortRange"] = "*"
    elif shape < 0.25:
        p["sourceAddressPrefix"] = "Internet"
        p["destinationAddressPrefix"] = f"{net}.0/24"
        p["destinationPortRanges"] = rng.choice((["443"], ["80", "443"]))
    elif shape < 0.45:
        p["sourceAddressPrefixes"] = [f"{net}.0/27", f"{net}.64/27"]
        p["destinationAddressPrefix"] = "VirtualNetwork"
        p["destinationPortRange"] = rng.choice(("22", "3389", "1433", "5432"))
    elif shape < 0.65:
        p["sourceAddressPrefix"] = "VirtualNetwork"
        p["destinationAddressPrefix"] = "*"
        lo = rng.choice((8080, 9000, 30000))
        p["destinationPortRanges"] = [f"{lo}-{lo + 9}", str(lo + 20)]
    elif shape < 0.75:
        p["sourceAddressPrefix"] = "AzureLoadBalancer"
        p["destinationAddressPrefix"] = "*"
        p["destinationPortRange"] = "*"
    elif shape < 0.85:
        p["sourceAddressPrefix"] = f"{rng.randrange(20, 200)}.{rng.randrange(256)}.10.4/32"
        p["destinationAddressPrefix"] = "*"
        p["destinationPortRange"] = "443"
        p["description"] = "partner API egress IP"
    elif shape < 0.93:
        p["sourceAddressPrefix"] = "*"
        p["destinationAddressPrefix"] = "*"
        p["destinationPortRange"] = "*"
        p["access"] = "Deny"
    else:
        p["sourceAddressPrefix"] = "VirtualNetwork"
        p["destinationApplicationSecurityGroups"] = [
            {
                "id": f"/subscriptions/x/resourceGroups/rg/providers/Microsoft.Network/"
                f"applicationSecurityGroups/asg-{rng.randrange(20)}"
            }
        ]
        p["destinationPortRange"] = "8443"
    return p


_DEFAULT_RULES = (
    ("AllowVnetInBound", "Inbound", "Allow", 65000, "VirtualNetwork", "VirtualNetwork"),
    ("AllowAzureLoadBalancerInBound", "Inbound", "Allow", 65001, "AzureLoadBalancer", "*"),
    ("DenyAllInBound", "Inbound", "Deny", 65500, "*", "*"),
    ("AllowVnetOutBound", "Outbound", "Allow", 65000, "VirtualNetwork", "VirtualNetwork"),
    ("AllowInternetOutBound", "Outbound", "Allow", 65001, "*", "Internet"),
    ("DenyAllOutBound", "Outbound", "Deny", 65500, "*", "*"),
)


def nsg(gen: Gen, lay: Layout, index: int, rules_per: int | None = None) -> dict[str, Any]:
    rng = gen.rng
    group = rng.choice(lay.groups)
    nsg_id = f"{group}/providers/Microsoft.Network/networkSecurityGroups/nsg-{index:05d}"
    etag = gen.etag()
    rules: list[dict[str, Any]] = []
    count = rng.randint(6, 14) if rules_per is None else rules_per
    inbound = rng.sample(range(100, 4000, 10), count)
    for i, priority in enumerate(inbound):
        direction = "Outbound" if i >= count - 2 else "Inbound"
        name = f"{direction.lower()}-{i:02d}-{rng.choice(('web', 'app', 'db', 'mgmt', 'lb'))}"
        rules.append(
            {
                "name": name,
                "id": f"{nsg_id}/securityRules/{name}",
                "etag": etag,
                "type": "Microsoft.Network/networkSecurityGroups/securityRules",
                "properties": _rule_props(gen, direction, priority),
            }
        )
    if rng.random() < 0.02:  # a few NSGs really are open to the internet
        rules[0]["properties"].update(
            sourceAddressPrefix="*",
            destinationPortRange="3389",
            access="Allow",
            direction="Inbound",
            destinationPortRanges=[],
            sourceAddressPrefixes=[],
        )
    defaults = [
        {
            "name": name,
            "id": f"{nsg_id}/defaultSecurityRules/{name}",
            "etag": etag,
            "type": "Microsoft.Network/networkSecurityGroups/defaultSecurityRules",
            "properties": {
                "provisioningState": "Succeeded",
                "description": f"Default rule {name}",
                "protocol": "*",
                "sourcePortRange": "*",
                "destinationPortRange": "*",
                "sourceAddressPrefix": src,
                "destinationAddressPrefix": dst,
                "access": access,
                "priority": priority,
                "direction": direction,
                "sourcePortRanges": [],
                "destinationPortRanges": [],
                "sourceAddressPrefixes": [],
                "destinationAddressPrefixes": [],
            },
        }
        for name, direction, access, priority, src, dst in _DEFAULT_RULES
    ]
    return {
        "name": nsg_id.rsplit("/", 1)[-1],
        "id": nsg_id,
        "etag": etag,
        "type": "Microsoft.Network/networkSecurityGroups",
        "location": rng.choice(("eastus", "westeurope", "northeurope")),
        "properties": {
            "provisioningState": "Succeeded",
            "resourceGuid": gen.guid(),
            "securityRules": rules,
            "defaultSecurityRules": defaults,
        },
    }


def ca_policy(gen: Gen, name: str, **over: Any) -> dict[str, Any]:
    policy: dict[str, Any] = {
        "id": gen.guid(),
        "templateId": None,
        "displayName": name,
        "createdDateTime": gen.when(),
        "modifiedDateTime": gen.when(),
        "state": "enabled",
        "sessionControls": None,
        "conditions": {
            "userRiskLevels": [],
            "signInRiskLevels": [],
            "clientAppTypes": ["all"],
            "servicePrincipalRiskLevels": [],
            "platforms": None,
            "locations": None,
            "devices": None,
            "clientApplications": None,
            "applications": {
                "includeApplications": ["All"],
                "excludeApplications": [],
                "includeUserActions": [],
                "includeAuthenticationContextClassReferences": [],
                "applicationFilter": None,
            },
            "users": {
                "includeUsers": [],
                "excludeUsers": [],
                "includeGroups": [],
                "excludeGroups": [gen.guid()],
                "includeRoles": [],
                "excludeRoles": [],
                "includeGuestsOrExternalUsers": None,
                "excludeGuestsOrExternalUsers": None,
            },
        },
        "grantControls": {
            "operator": "OR",
            "builtInControls": ["mfa"],
            "customAuthenticationFactors": [],
            "termsOfUse": [],
            "authenticationStrength@odata.context": "https://graph.microsoft.com/v1.0/$metadata#",
            "authenticationStrength": None,
        },
    }
    for path, value in over.items():
        target = policy
        *parents, last = path.split("__")
        for part in parents:
            target = target[part]
        target[last] = value
    return policy


def graph(gen: Gen, n: int) -> dict[str, Any]:
    rng = gen.rng
    admin_roles = [guid for guid, _, _ in DIRECTORY_ROLES]
    policies = [
        ca_policy(
            gen, "Require MFA for administrators", conditions__users__includeRoles=admin_roles
        ),
        ca_policy(gen, "Require MFA for all users", conditions__users__includeUsers=["All"]),
        ca_policy(
            gen,
            "Block legacy authentication",
            conditions__users__includeUsers=["All"],
            conditions__clientAppTypes=["exchangeActiveSync", "other"],
            grantControls__builtInControls=["block"],
        ),
        ca_policy(
            gen,
            "Require compliant device for admins (report-only)",
            state="enabledForReportingButNotEnforced",
            conditions__users__includeRoles=admin_roles[:2],
            grantControls__builtInControls=["compliantDevice"],
        ),
    ]
    for i in range(2 + n // 20000):
        policies.append(
            ca_policy(
                gen,
                f"Block access from untrusted locations {i}",
                conditions__users__includeGroups=[gen.guid()],
                conditions__locations={
                    "includeLocations": ["All"],
                    "excludeLocations": ["AllTrusted"],
                },
                grantControls__builtInControls=["block"],
            )
        )
    members = []
    eligible = []
    for guid, role_name, count in DIRECTORY_ROLES:
        for i in range(count + n // 25000):
            pid = gen.guid()
            members.append(
                {
                    "id": gen.guid(),
                    "principalId": pid,
                    "resourceScope": "/",
                    "directoryScopeId": "/",
                    "roleDefinitionId": guid,
                    "principal": {
                        "@odata.type": "#microsoft.graph.user",
                        "id": pid,
                        "accountEnabled": True,
                        "displayName": f"{role_name} {i}",
                        "userPrincipalName": f"adm{i}.{guid[:4]}@contoso.example",
                        "userType": "Member",
                    },
                }
            )
            if rng.random() < 0.5:
                eligible.append(
                    {
                        "id": gen.guid(),
                        "principalId": gen.guid(),
                        "directoryScopeId": "/",
                        "roleDefinitionId": guid,
                        "memberType": "Direct",
                        "status": "Provisioned",
                        "createdDateTime": gen.when(),
                        "scheduleInfo": {
                            "startDateTime": gen.when(),
                            "expiration": {"type": "noExpiration"},
                        },
                    }
                )
    methods = [
        {
            "@odata.type": f"#microsoft.graph.{m[0].lower()}{m[1:]}{METHOD_TYPE}",
            "id": m,
            "state": state,
            "includeTargets": [{"targetType": "group", "id": "all_users"}],
        }
        for m, state in (
            ("Fido2", "enabled"),
            ("MicrosoftAuthenticator", "enabled"),
            ("Sms", "disabled"),
            ("TemporaryAccessPass", "enabled"),
            ("Email", "disabled"),
            ("X509Certificate", "disabled"),
        )
    ]
    return {
        "conditionalAccessPolicies": policies,
        "directoryRoleAssignments": members,
        "directoryRoleEligibilitySchedules": eligible,
        "directoryRoleDefinitions": [
            {
                "id": guid,
                "templateId": guid,
                "displayName": name,
                "isBuiltIn": True,
                "isEnabled": True,
            }
            for guid, name, _ in DIRECTORY_ROLES
        ],
        "securityDefaults": {
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#policies/"
            "identitySecurityDefaultsEnforcementPolicy",
            "id": "00000000-0000-0000-0000-000000000005",
            "displayName": "Security Defaults",
            "isEnabled": False,
        },
        "authenticationMethodsPolicy": {
            "id": "authenticationMethodsPolicy",
            "displayName": "Authentication Methods Policy",
            "policyVersion": "1.5",
            "authenticationMethodConfigurations": methods,
        },
    }


@dataclass
class Tenant:
    base: dict[str, Any]  # the known-good snapshot document
    drifted: dict[str, Any]  # the same tenant after drift
    expected_ra_changes: int


def tenant(
    n: int,
    seed: int = SEED,
    *,
    nsg_every: int = 100,
    rules: int | None = None,
    per_subscription: int = 0,
) -> Tenant:
    """The tenant of size ``n``: one NSG per ``nsg_every`` role assignments, each with
    ``rules`` custom rules (default: 6-14), at most about ``per_subscription`` assignments
    per subscription (default: sqrt(n/250) subscriptions). ``bench/events.py`` and
    ``bench/table_ops.py`` use the defaults; the end-to-end scan uses issue 10's shape."""
    gen = Gen(seed + n)
    lay = layout(gen, n, per_subscription=per_subscription)
    taken: set[tuple[str, str, str]] = set()
    assignments = [role_assignment(gen, lay, taken) for _ in range(n)]
    nsgs = [nsg(gen, lay, i, rules) for i in range(max(1, n // nsg_every))]
    base = {
        "schema": SCHEMA_ID,
        "tenantId": gen.guid(),
        "capturedAt": "2026-11-22T10:00:00Z",
        "arm": {
            "networkSecurityGroups": nsgs,
            "roleAssignments": assignments,
            "roleDefinitions": role_definitions(lay),
        },
        "graph": graph(gen, n),
    }
    # Drift. The base document is serialized before the drifted copy is made.
    drifted = json.loads(json.dumps(base))
    rng = gen.rng
    ras = drifted["arm"]["roleAssignments"]
    removed = max(1, n // 1000)
    for i in sorted(rng.sample(range(len(ras)), removed), reverse=True):
        del ras[i]
    added = n // 100
    ras.extend(role_assignment(gen, lay, taken) for _ in range(added))
    rng.shuffle(ras)
    groups = drifted["arm"]["networkSecurityGroups"]
    for g in rng.sample(groups, min(5, len(groups))):  # a few changed rules
        rule = rng.choice(g["properties"]["securityRules"])["properties"]
        rule["priority"] = rule["priority"] + 5
        rule["destinationPortRanges"] = [*rule["destinationPortRanges"], "4443"]
    open_rdp = rng.choice(groups)  # one rule added that opens RDP to the internet
    open_rdp["properties"]["securityRules"].append(
        {
            "name": "temp-rdp-debug",
            "id": open_rdp["id"] + "/securityRules/temp-rdp-debug",
            "etag": gen.etag(),
            "type": "Microsoft.Network/networkSecurityGroups/securityRules",
            "properties": {
                "provisioningState": "Succeeded",
                "protocol": "Tcp",
                "sourcePortRange": "*",
                "destinationPortRange": "3389",
                "sourceAddressPrefix": "*",
                "destinationAddressPrefix": "*",
                "access": "Allow",
                "priority": 99,
                "direction": "Inbound",
                "sourcePortRanges": [],
                "destinationPortRanges": [],
                "sourceAddressPrefixes": [],
                "destinationAddressPrefixes": [],
            },
        }
    )
    rng.choice(groups)["properties"]["securityRules"].pop(0)  # one rule deleted
    gp = drifted["graph"]
    gp["conditionalAccessPolicies"][1]["state"] = "enabledForReportingButNotEnforced"
    extra = dict(gp["directoryRoleAssignments"][0], id=gen.guid(), principalId=gen.guid())
    gp["directoryRoleAssignments"].append(extra)
    return Tenant(base, drifted, removed + added)


# --- measuring -------------------------------------------------------------------------------
def baseline_set(snapshot: Snapshot) -> BaselineSet:
    """The baselines captured from ``snapshot``, in memory (``bench/events.py`` and
    ``bench/table_ops.py`` use them)."""
    docs, _ = captured_documents(snapshot)
    parsed = [parse_baseline(doc, rel) for rel, doc in docs.items()]
    return BaselineSet(
        tuple(p for p in parsed if isinstance(p, Baseline)),
        {p.guard: p for p in parsed if isinstance(p, GuardSettings)},
    )


REPO = Path(__file__).resolve().parent.parent
JSON_LOAD = "import json, sys\nwith open(sys.argv[1], 'rb') as f:\n    json.load(f)\n"
HWM = (  # run first in every child: its peak RSS is written to $BENCH_HWM as it exits
    "import atexit, os\n"
    "def _hwm():\n"
    "    status = open('/proc/self/status').read().split('VmHWM:')[1].split()[0]\n"
    "    open(os.environ['BENCH_HWM'], 'w').write(status)\n"
    "atexit.register(_hwm)\n"
)
RUN_MODULE = "import runpy, sys\nsys.argv[0] = sys.argv[1]\ndel sys.argv[1]\n" + (
    "runpy.run_module(sys.argv[0], run_name='__main__', alter_sys=True)\n"
)
PROFILE = (
    "import cProfile, io, pstats, sys\n"
    "prof = cProfile.Profile()\n"
    "prof.enable()\n"
    "from driftkeeper.cli import main\n"
    "main(sys.argv[1:], out=io.StringIO())\n"
    "prof.disable()\n"
    "for key in ('tottime', 'cumulative'):\n"
    "    pstats.Stats(prof).sort_stats(key).print_stats(int(sys.argv[0] == '-c') and 18)\n"
)


@dataclass
class Child:
    seconds: float
    rss_mib: float
    code: int


def child(args: list[str], *, stdout: Path | None = None) -> Child:
    """Run ``python args`` in a fresh process (``-m module`` through runpy, ``-c code`` as
    is, both after :data:`HWM`): wall time, peak RSS (``VmHWM``), exit code."""
    with tempfile.NamedTemporaryFile(prefix="hwm-", delete=False) as hwm:
        path = Path(hwm.name)
    env = dict(os.environ, PYTHONPATH=str(REPO), BENCH_HWM=str(path))
    env.pop("DRIFTKEEPER_BASELINES_DIR", None)
    flag, target, *rest = args
    code = HWM + (target if flag == "-c" else RUN_MODULE)
    argv = rest if flag == "-c" else [target, *rest]
    try:
        with open(stdout or os.devnull, "wb") as out:
            start = time.perf_counter()
            proc = subprocess.run(
                [sys.executable, "-c", code, *argv], stdout=out, env=env, cwd=REPO, check=False
            )
            seconds = time.perf_counter() - start
        kib = int(path.read_text() or 0)
    finally:
        path.unlink(missing_ok=True)
    return Child(seconds, kib / 1024, proc.returncode)


def scan_args(snapshot: Path, baselines: Path) -> list[str]:
    state = ["--state", str(snapshot), "--baselines", str(baselines), "--format", "json"]
    return ["-m", "driftkeeper.cli", "scan", *state]


@dataclass
class Row:
    size: int
    mib: float
    nsgs: int
    rules: int
    files: int
    yaml_mib: float
    drift: int
    compile: float
    json_first: float
    scan_first: float
    json_best: float
    scan_best: float
    json_rss: float
    scan_rss: float
    yaml_scan: float | None


def prepare(n: int, tmp: Path) -> tuple[Path, Path, dict[str, Any], int]:
    """Write the drifted snapshot and the captured baselines of size ``n`` under ``tmp``."""
    t = tenant(n, nsg_every=50, rules=20, per_subscription=2500)
    baselines = tmp / "baselines"
    capture_baselines(Snapshot.from_dict(t.base, source="bench-base"), baselines)
    snapshot = tmp / "snapshot.json"
    snapshot.write_text(json.dumps(t.drifted, indent=1) + "\n", encoding="utf-8")
    return snapshot, baselines, t.drifted, t.expected_ra_changes


def measure(n: int, repeat: int, *, profile: bool, yaml_run: bool) -> Row:
    with tempfile.TemporaryDirectory(prefix="driftkeeper-bench-") as name:
        tmp = Path(name)
        snapshot, baselines, drifted, expected = prepare(n, tmp)
        files = sorted(p for p in baselines.rglob("*.yaml"))
        yaml_bytes = sum(p.stat().st_size for p in files)
        groups = drifted["arm"]["networkSecurityGroups"]
        nsgs, rules = len(groups), sum(len(g["properties"]["securityRules"]) for g in groups)
        mib = snapshot.stat().st_size / 2**20
        del drifted
        gc.collect()

        compiled = child(
            ["-m", "driftkeeper.cli", "baseline", "compile", "--baselines", str(baselines)]
        )
        if compiled.code != 0:
            raise SystemExit(f"size {n}: baseline compile failed ({compiled.code})")
        report = tmp / "report.json"
        runs: list[tuple[Child, Child]] = []
        for _ in range(repeat):  # interleaved: the reference, then the command
            ref = child(["-c", JSON_LOAD, str(snapshot)])
            run = child(scan_args(snapshot, baselines), stdout=report)
            if run.code != 1:
                raise SystemExit(f"size {n}: scan exited {run.code}, expected 1 (drift)")
            runs.append((ref, run))
        drift = check(report, n, expected)
        yaml_scan = None
        if yaml_run:  # the same scan with every file read from YAML (no bundle)
            bundle = baselines / ".driftkeeper-bundle.json"
            bundle.rename(tmp / "bundle.json")
            slow = child(scan_args(snapshot, baselines), stdout=report)
            (tmp / "bundle.json").rename(bundle)
            yaml_scan = slow.seconds
            if check(report, n, expected) != drift:
                raise SystemExit(f"size {n}: the YAML path found other drift")
        if profile:
            proc = subprocess.run(
                [sys.executable, "-c", PROFILE, *scan_args(snapshot, baselines)[2:]],
                capture_output=True,
                text=True,
                env=dict(os.environ, PYTHONPATH=str(REPO)),
                cwd=REPO,
                check=False,
            )
            print(f"\n## cProfile of one `driftkeeper scan`, size {n}\n", file=sys.stderr)
            print(proc.stdout[-12000:], file=sys.stderr)
    return Row(
        size=n,
        mib=mib,
        nsgs=nsgs,
        rules=rules,
        files=len(files),
        yaml_mib=yaml_bytes / 2**20,
        drift=drift,
        compile=compiled.seconds,
        json_first=runs[0][0].seconds,
        scan_first=runs[0][1].seconds,
        json_best=min(r.seconds for r, _ in runs),
        scan_best=min(s.seconds for _, s in runs),
        json_rss=max(r.rss_mib for r, _ in runs),
        scan_rss=max(s.rss_mib for _, s in runs),
        yaml_scan=yaml_scan,
    )


def check(report: Path, n: int, expected: int) -> int:
    """The drift findings of a scan's JSON report, after checking that every role
    assignment change is reported and that drift shows up in every kind."""
    doc = json.loads(report.read_text(encoding="utf-8"))
    findings = doc["findings"]
    changes = sum(
        len(f.get("changes", ()))
        for f in findings
        if f["kind"] == "role-assignments" and not f["rule"].startswith("guard:")
    )
    if changes != expected:
        raise SystemExit(f"size {n}: {changes} role assignment changes, expected {expected}")
    kinds = {f["kind"] for f in findings if f["status"] == "drift"}
    if not {"nsg", "conditional-access-policy", "directory-role"} <= kinds:
        raise SystemExit(f"size {n}: drift not found in every kind: {sorted(kinds)}")
    return sum(1 for f in findings if f["status"] == "drift")


def table(rows: list[Row], repeat: int) -> str:
    tenants = (
        "| role assignments | NSGs / custom rules | snapshot (indent=1) | baseline files "
        "(YAML) | drift findings | `baseline compile` |\n|---:|---:|---:|---:|---:|---:|\n"
    ) + "".join(
        f"| {r.size:,} | {r.nsgs:,} / {r.rules:,} | {r.mib:.1f} MiB | {r.files:,} "
        f"({r.yaml_mib:.1f} MiB) | {r.drift} | {r.compile:.2f} s |\n"
        for r in rows
    )
    yaml = any(r.yaml_scan is not None for r in rows)
    head = (
        "| role assignments | json.load best | scan best | **best ratio** | json.load first "
        "| scan first | **first ratio** | json.load peak RSS | scan peak RSS | **RSS ratio** |"
        + (" scan without bundle (YAML) |" if yaml else "")
        + "\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        + ("---:|" if yaml else "")
        + "\n"
    )
    body = "".join(
        f"| {r.size:,} | {ms(r.json_best)} | {ms(r.scan_best)} "
        f"| **{r.scan_best / r.json_best:.2f}x** | {ms(r.json_first)} | {ms(r.scan_first)} "
        f"| **{r.scan_first / r.json_first:.2f}x** | {r.json_rss:.0f} MiB | {r.scan_rss:.0f} MiB "
        f"| **{r.scan_rss / r.json_rss:.2f}x** |"
        + (f" {r.yaml_scan:.2f} s |" if r.yaml_scan is not None else (" |" if yaml else ""))
        + "\n"
        for r in rows
    )
    note = (
        f"\nEach figure is a fresh child process (interpreter start included on both sides); "
        f"best and peak over {repeat} interleaved runs, first = the first run after the "
        "compile.\n"
    )
    return tenants + "\n" + head + body + note


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms" if seconds < 0.1 else f"{seconds * 1000:,.0f} ms"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--sizes",
        default="1000,10000,50000,100000",
        help="comma-separated role assignment counts (default: %(default)s)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per size (default: 3)")
    parser.add_argument(
        "--profile", action="store_true", help="print a cProfile of one scan per size to stderr"
    )
    parser.add_argument(
        "--yaml-run", action="store_true", help="also time one scan without the bundle"
    )
    parser.add_argument("--quick", action="store_true", help="sizes 1000,10000, 2 runs")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.repeat = "1000,10000", 2
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    if args.repeat < 1 or not sizes or min(sizes) < 100:
        parser.error("--repeat must be >= 1 and every size >= 100")
    package = Path(__file__).resolve().parents[1] / "driftkeeper"
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)], check=True)
    rows = []
    for n in sizes:
        started = time.perf_counter()
        rows.append(measure(n, args.repeat, profile=args.profile, yaml_run=args.yaml_run))
        print(f"size {n:,}: done in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        print(table(rows[-1:], args.repeat), file=sys.stderr, flush=True)  # so far
    print(f"Python {platform.python_version()}, {os.cpu_count()} CPUs, seed {SEED}\n")
    print(table(rows, args.repeat), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
