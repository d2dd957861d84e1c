"""Snapshot of many subscriptions: Azure Resource Graph versus per-subscription listing.

A generated estate (default: 200 subscriptions x 50 NSGs x 20 custom rules, plus 20,000
role assignments spread over the subscriptions, their resource groups and resources, and a
few at the management group every subscription is in; two more at a sibling management
group, above none of them, are in neither snapshot) is served by the local ARM stand-in
(``tests/fakes/azure_rest.py``, TLS on 127.0.0.1). ``driftkeeper.live.read_snapshot`` reads
the ARM sections (NSGs, role assignments, role definitions; no Graph) once with
``source="arm"`` (every subscription's listings, the stand-in's ARM pages of
``--arm-page-size`` items) and once with ``source="graph"`` (one Resource Graph query per
section, pages of 1,000 rows, after one query of the subscriptions' management group
ancestors). For each: HTTP requests, the time to read (best of
``--repeat``), and the waits the throttling headers asked for. Those waits are recorded,
not slept (Resource Graph's default quota is 15 requests per 5 seconds, which the stand-in
reports); they are listed apart. Both snapshots are checked to hold the same items. The
stand-in is told the subscriptions (else it scans every item to find them, per request);
it still filters every item per listing, a cost real ARM does not have, so the ARM times
are an upper bound of the stand-in's own work, not of Azure's.

    .venv/bin/python -m bench.resource_graph [--subscriptions 200 --nsgs 50 --rules 20
        --assignments 20000 --repeat 2 --arm-page-size 100]
"""

from __future__ import annotations

import argparse
import gc
import platform
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from driftkeeper.live import read_snapshot
from tests.fakes.azure_rest import AzureRestServer, make_tls_files
from tests.fakes.credentials import StaticTokenCredential

AUTH = "Microsoft.Authorization"
NETWORK = "Microsoft.Network/networkSecurityGroups"
ROLES = (
    ("acdd72a7-3385-48ef-bd42-f606fba81ae7", "Reader"),
    ("b24988ac-6180-42a0-ab88-20f7382dd24c", "Contributor"),
    ("8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "Owner"),
)
MG_SCOPE = "/providers/Microsoft.Management/managementGroups/mg-platform"
SIBLING_SCOPE = "/providers/Microsoft.Management/managementGroups/mg-sandbox"
ROOT_GROUP = "bench-tenant-root"


def _guid(*parts: object) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "|".join(map(str, parts))))


def _rule_properties(r: int) -> dict[str, Any]:
    return {
        "provisioningState": "Succeeded",
        "protocol": ("Tcp", "Udp", "*")[r % 3],
        "sourcePortRange": "*",
        "destinationPortRange": str(1000 + r),
        "sourceAddressPrefix": ("10.0.0.0/8", "VirtualNetwork", "AzureLoadBalancer")[r % 3],
        "destinationAddressPrefix": "*",
        "access": "Allow" if r % 4 else "Deny",
        "priority": 100 + 10 * r,
        "direction": "Inbound" if r < 16 else "Outbound",
        "sourcePortRanges": [],
        "destinationPortRanges": [],
        "sourceAddressPrefixes": [],
        "destinationAddressPrefixes": [],
    }


def estate(
    subscriptions: int, nsgs: int, rules: int, assignments: int
) -> tuple[list[str], dict[str, Any]]:
    """The generated estate: subscription ids, and the stand-in's data."""
    subs = [_guid("sub", i) for i in range(subscriptions)]
    bodies = [_rule_properties(r) for r in range(rules)]  # shared: the JSON is the same
    nsg_items: list[dict[str, Any]] = []
    ra_items: list[dict[str, Any]] = []
    per_sub = max(1, assignments // max(1, subscriptions))
    for s, sub in enumerate(subs):
        groups = [f"/subscriptions/{sub}/resourceGroups/rg-{g}" for g in range(5)]
        for n in range(nsgs):
            nsg_id = f"{groups[n % 5]}/providers/{NETWORK}/nsg-{n:03d}"
            etag = f'W/"{_guid(nsg_id)}"'
            nsg_items.append(
                {
                    "name": f"nsg-{n:03d}",
                    "id": nsg_id,
                    "etag": etag,
                    "type": NETWORK,
                    "location": "westeurope",
                    "properties": {
                        "provisioningState": "Succeeded",
                        "resourceGuid": _guid("guid", nsg_id),
                        "securityRules": [
                            {
                                "name": f"rule-{r:02d}",
                                "id": f"{nsg_id}/securityRules/rule-{r:02d}",
                                "etag": etag,
                                "type": f"{NETWORK}/securityRules",
                                "properties": bodies[r],
                            }
                            for r in range(rules)
                        ],
                    },
                }
            )
        scopes = [f"/subscriptions/{sub}", *groups]
        scopes += [f"{g}/providers/Microsoft.Web/sites/app-{i}" for i, g in enumerate(groups)]
        for a in range(per_sub if s < subscriptions - 1 else assignments - per_sub * s - 4):
            ra_items.append(_assignment(scopes[a % len(scopes)], _guid("p", s, a), a))
    ra_items += [_assignment(MG_SCOPE, _guid("mg", i), i) for i in range(4)]
    ra_items += [_assignment(SIBLING_SCOPE, _guid("sandbox", i), i) for i in range(2)]
    definitions = [
        {
            "id": f"/providers/{AUTH}/roleDefinitions/{guid}",
            "name": guid,
            "type": f"{AUTH}/roleDefinitions",
            "properties": {"roleName": name, "type": "BuiltInRole", "assignableScopes": ["/"]},
        }
        for guid, name in ROLES
    ]
    data = {
        "arm.networkSecurityGroups": nsg_items,
        "arm.roleAssignments": ra_items,
        "arm.roleDefinitions": definitions,
    }
    return subs, data


def _assignment(scope: str, principal: str, n: int) -> dict[str, Any]:
    role = ROLES[n % len(ROLES)][0]
    name = _guid(scope, principal, role)
    sub = "/".join(scope.split("/")[:3]) if scope.startswith("/subscriptions/") else ""
    return {
        "id": f"{scope}/providers/{AUTH}/roleAssignments/{name}",
        "name": name,
        "type": f"{AUTH}/roleAssignments",
        "properties": {
            "roleDefinitionId": f"{sub}/providers/{AUTH}/roleDefinitions/{role}",
            "principalId": principal,
            "principalType": "ServicePrincipal",
            "scope": scope,
            "createdOn": "2026-01-01T00:00:00.0000000Z",
            "updatedOn": "2026-01-01T00:00:00.0000000Z",
            "createdBy": None,
            "updatedBy": _guid("by", n),
        },
    }


def run_once(server: AzureRestServer, subs: list[str], source: str) -> dict[str, Any]:
    waits: list[float] = []
    server.requests.clear()
    gc.collect()
    start = time.perf_counter()
    snapshot = read_snapshot(
        StaticTokenCredential("bench-token"),
        subscriptions=subs,
        arm_endpoint=server.arm_endpoint,
        graph_endpoint=server.graph_endpoint,
        connection_verify=str(server.ca_file),
        include_graph=False,
        source="graph" if source == "graph" else "arm",
        sleep=waits.append,
        max_retries=3,
        retry_delay=0,
    )
    seconds = time.perf_counter() - start
    if snapshot.read_errors:
        raise SystemExit(f"{source}: read errors {dict(snapshot.read_errors)}")
    counts = {name: len(items) for name, items in snapshot.sections.items()}
    ids = {name: {i["id"].casefold() for i in items} for name, items in snapshot.sections.items()}
    return {
        "source": source,
        "requests": len(server.requests),
        "seconds": seconds,
        "waits": waits,
        "counts": counts,
        "ids": ids,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscriptions", type=int, default=200)
    parser.add_argument("--nsgs", type=int, default=50, help="NSGs per subscription")
    parser.add_argument("--rules", type=int, default=20, help="custom rules per NSG")
    parser.add_argument("--assignments", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--arm-page-size", type=int, default=100)
    args = parser.parse_args(argv)

    subs, data = estate(args.subscriptions, args.nsgs, args.rules, args.assignments)
    print(
        f"estate: {len(subs)} subscriptions, {len(data['arm.networkSecurityGroups'])} NSGs x "
        f"{args.rules} rules, {len(data['arm.roleAssignments'])} role assignments; "
        f"python {platform.python_version()}, {platform.machine()}",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as tmp:
        tls = make_tls_files(Path(tmp))
        known = set(subs)  # spares the stand-in a scan of every item per ARM request
        with AzureRestServer(
            tls, data=data, page_size=args.arm_page_size, subscriptions=known
        ) as server:
            server.hierarchy = dict.fromkeys(subs, "mg-platform")
            server.hierarchy.update({"mg-platform": ROOT_GROUP, "mg-sandbox": ROOT_GROUP})
            results: dict[str, list[dict[str, Any]]] = {"arm": [], "graph": []}
            for _ in range(args.repeat):
                for source in ("arm", "graph"):
                    result = run_once(server, subs, source)
                    results[source].append(result)
                    print(
                        f"  {source}: {result['requests']} requests, "
                        f"{result['seconds']:.2f} s, waits asked {result['waits']}",
                        flush=True,
                    )
    arm, graph = (min(results[s], key=lambda r: r["seconds"]) for s in ("arm", "graph"))
    if arm["ids"] != graph["ids"]:
        raise SystemExit("the two snapshots do not hold the same items")
    if any("mg-sandbox" in i for r in (arm, graph) for i in r["ids"]["arm.roleAssignments"]):
        raise SystemExit("a sibling management group's assignments were read")
    print(f"\n| source | requests | time (best of {args.repeat}) | throttling waits asked |")
    print("|---|---:|---:|---|")
    for r in (arm, graph):
        waits = f"{len(r['waits'])} x {r['waits'][0]:.0f} s" if r["waits"] else "none"
        print(f"| {r['source']} | {r['requests']} | {r['seconds']:.2f} s | {waits} |")
    print(f"\nitems: {arm['counts']} (the same in both)")
    print(
        f"Resource Graph: {arm['requests'] / graph['requests']:.0f}x fewer requests, "
        f"{arm['seconds'] / graph['seconds']:.1f}x faster (waits not slept)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
