"""Role assignments above the subscriptions through Resource Graph, against the local
stand-in with a management group hierarchy: the same snapshot as ARM's listings (a sibling
management group's assignments in neither, the ancestors' in both), and what happens when
the ancestors are not known."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftkeeper.kinds import all_kinds
from driftkeeper.kinds.nsg import NSGS
from driftkeeper.kinds.role_assignments import ASSIGNMENTS, DEFINITIONS
from driftkeeper.live._failures import Refused, SectionReads
from driftkeeper.live._resource_graph import (
    ANCESTRY_QUERY,
    ANCESTRY_SECTION,
    MAX_SUBSCRIPTIONS,
    RESOURCE_GRAPH_PATH,
    Ancestry,
    ancestry_requests,
)
from tests.fakes.azure_rest import AzureRestServer
from tests.live.test_resource_graph import (
    READER,
    Sleeper,
    _assignment,
    _guid,
    by_id,
    graph_posts,
    read,
    tenant,
)

GROUPS = "/providers/Microsoft.Management/managementGroups/"
ROOT_GROUP = _guid("tenant")
"""The tenant root group's name (the tenant id)."""


def hierarchy_tenant(server: AzureRestServer) -> tuple[list[str], dict[str, str]]:
    """Four subscriptions in this hierarchy; the first three are read::

        <root group> ── mg-platform ── sub 0, sub 1
                     ├─ mg-landing ─── mg-corp ── sub 2
                     ├─ mg-sandbox ── sub 3
                     └─ mg-empty

    Assignments at the root (``/``), at every management group, and in every subscription.
    Returns the read subscriptions and the scope of each management group's assignment.
    """
    subs, server.data = tenant(subscriptions=4, nsgs=1, assignments=2)
    server.data[ASSIGNMENTS.name] = [
        a for a in server.data[ASSIGNMENTS.name] if a["id"].startswith("/subscriptions/")
    ]
    server.hierarchy = {
        subs[0]: "mg-platform",
        subs[1]: "mg-platform",
        subs[2]: "mg-corp",
        subs[3]: "mg-sandbox",
        "mg-corp": "mg-landing",
        "mg-platform": ROOT_GROUP,
        "mg-landing": ROOT_GROUP,
        "mg-sandbox": ROOT_GROUP,
        "mg-empty": ROOT_GROUP,
    }
    names = [ROOT_GROUP, "mg-platform", "mg-landing", "mg-corp", "mg-sandbox", "mg-empty"]
    # a group's name in other case in the assignment's scope (compared case-insensitively)
    scopes = {n: GROUPS + (n.upper() if n == "mg-corp" else n) for n in names}
    scopes["/"] = "/"
    server.data[ASSIGNMENTS.name] += [
        _assignment(scope, _guid("above", name), READER) for name, scope in scopes.items()
    ]
    return subs[:3], scopes


def above(snapshot: Any) -> set[str]:
    """The scopes of the snapshot's assignments outside any subscription."""
    return {
        a["properties"]["scope"]
        for a in snapshot.sections[ASSIGNMENTS.name]
        if not a["id"].startswith("/subscriptions/")
    }


def assert_same(arm: Any, graph: Any) -> None:
    assert arm.read_errors == graph.read_errors == {}
    for section in (NSGS.name, ASSIGNMENTS.name, DEFINITIONS.name):
        listed, queried = by_id(arm.sections[section]), by_id(graph.sections[section])
        assert listed.keys() == queried.keys(), section
        for key, item in listed.items():
            assert {k: v for k, v in item.items() if k != "etag"} == queried[key], key
    for kind in all_kinds().values():
        if any(s.api == "arm" for s in kind.reads):
            a, g = kind.index(arm), kind.index(graph)
            assert {k: s.state for k, s in a.items()} == {k: s.state for k, s in g.items()}


# --- the same snapshot as ARM's listings ------------------------------------------------------
def test_only_the_ancestors_assignments_are_read_both_ways(
    azure_rest_server: AzureRestServer,
) -> None:
    server = azure_rest_server
    subs, scopes = hierarchy_tenant(server)
    server.graph_page_size = 3

    arm = read(server, subs, source="arm")
    graph = read(server, subs, source="graph", sleep=Sleeper())

    assert_same(arm, graph)
    wanted = {scopes[n] for n in ("/", ROOT_GROUP, "mg-platform", "mg-landing", "mg-corp")}
    assert above(arm) == above(graph) == wanted  # not mg-sandbox's nor mg-empty's
    assert len(graph.sections[ASSIGNMENTS.name]) == 3 * 2 + 5
    # the ancestors were read once, for the three subscriptions, before the tenant-wide rows
    posts = graph_posts(server)
    containers = [p for p in posts if p.body["query"] == ANCESTRY_QUERY]
    assert len(containers) == 1
    assert sorted(containers[0].body["subscriptions"]) == sorted(subs)
    assert posts.index(containers[0]) == 0


def test_one_subscription_reads_its_own_branch(azure_rest_server: AzureRestServer) -> None:
    server = azure_rest_server
    subs, scopes = hierarchy_tenant(server)

    arm = read(server, subs[2:], source="arm")
    graph = read(server, subs[2:], source="graph", sleep=Sleeper())

    assert_same(arm, graph)
    assert above(graph) == {scopes[n] for n in ("/", ROOT_GROUP, "mg-landing", "mg-corp")}


def test_a_management_group_read_is_its_subscriptions_read(
    azure_rest_server: AzureRestServer,
) -> None:
    # reading mg-landing through Resource Graph gives what ARM lists for the subscription
    # below it: its resources, the assignments at it and below, and those above it
    server = azure_rest_server
    subs, scopes = hierarchy_tenant(server)

    arm = read(server, subs[2:], source="arm")
    graph = read(server, [], source="graph", management_groups=["mg-landing"], sleep=Sleeper())

    assert_same(arm, graph)
    assert above(graph) == {scopes[n] for n in ("/", ROOT_GROUP, "mg-landing", "mg-corp")}
    containers = [p for p in graph_posts(server) if p.body["query"] == ANCESTRY_QUERY]
    assert [p.body.get("managementGroups") for p in containers] == [["mg-landing"]]


# --- ancestors not known ----------------------------------------------------------------------
def test_a_subscription_resource_graph_does_not_see_fails_the_assignments(
    azure_rest_server: AzureRestServer,
) -> None:
    server = azure_rest_server
    subs, _ = hierarchy_tenant(server)
    assert server.hierarchy is not None
    del server.hierarchy[subs[2]]  # no resourcecontainers row

    snapshot = read(server, subs, source="graph", sleep=Sleeper())

    error = snapshot.read_errors[ASSIGNMENTS.name]
    assert ASSIGNMENTS.name not in snapshot.sections  # never kept, never dropped
    assert "may be above a read subscription" in error
    assert f"no row for subscription {subs[2]}" in error
    assert "Resource Graph (the tenant, above the subscriptions)" in error
    # the other sections are read as before; definitions are at the root only
    assert NSGS.name in snapshot.sections
    assert DEFINITIONS.name in snapshot.sections


def test_a_refused_ancestry_read_fails_the_assignments_above(
    azure_rest_server: AzureRestServer,
) -> None:
    server = azure_rest_server
    subs, _ = hierarchy_tenant(server)
    server.fail(RESOURCE_GRAPH_PATH, 403, times=1, retry_after=None, code="AuthorizationFailed")

    snapshot = read(server, subs, source="graph", sleep=Sleeper())

    error = snapshot.read_errors[ASSIGNMENTS.name]
    assert "were not read" in error
    assert "403 Forbidden: AuthorizationFailed" in error
    assert list(snapshot.read_errors) == [ASSIGNMENTS.name]


def test_unknown_ancestors_do_not_matter_without_assignments_at_groups(
    azure_rest_server: AzureRestServer,
) -> None:
    server = azure_rest_server
    subs, _ = hierarchy_tenant(server)
    server.data[ASSIGNMENTS.name] = [
        a for a in server.data[ASSIGNMENTS.name] if GROUPS not in a["id"]
    ]
    server.hierarchy = {}  # Resource Graph sees none of the subscriptions' ancestors

    snapshot = read(server, subs, source="graph", sleep=Sleeper())

    assert snapshot.read_errors == {}
    assert above(snapshot) == {"/"}


# --- the ancestry itself ----------------------------------------------------------------------
SUB_A, SUB_B = _guid("a"), _guid("b")


def reads(*rows: Any) -> SectionReads:
    return SectionReads(sections={ANCESTRY_SECTION: list(rows)})


def row(sub: str, chain: Any) -> dict[str, Any]:
    return {
        "id": f"/subscriptions/{sub.upper()}",
        "properties": {"managementGroupAncestorsChain": chain},
    }


def chain(*names: Any) -> list[dict[str, Any]]:
    return [{"name": n, "displayName": "x"} for n in names]


def at(group: str) -> dict[str, Any]:
    scope = GROUPS + group if group != "/" else "/"
    return {"id": f"{scope.rstrip('/')}/providers/x/y/{group}", "properties": {"scope": scope}}


def test_the_ancestry_keeps_the_root_and_the_ancestors_only() -> None:
    ancestry = Ancestry.learn(
        reads(row(SUB_A, chain("MG-Platform", "root")), row(SUB_B, chain("root"))), [SUB_A, SUB_B]
    )

    assert ancestry.groups == {"mg-platform", "root"}
    assert ancestry.unknown == ()
    assert ancestry.problem == ""
    rows = [at("/"), at("root"), at("mg-platform"), at("mg-sibling"), {"id": "/providers/r/d"}]
    assert ancestry.judge(rows) == [rows[0], rows[1], rows[2], rows[4]]


@pytest.mark.parametrize(
    "bad",
    [
        None,
        "mg-platform",
        [{"displayName": "no name"}],
        ["mg-platform"],
        chain("mg' | project x"),
        chain(".."),
        chain("mg/child"),
        chain("x" * 91),
        chain("grüppe"),
        chain(7),
    ],
)
def test_an_unreadable_chain_is_not_trusted(bad: Any) -> None:
    ancestry = Ancestry.learn(
        reads(row(SUB_A, bad), row(SUB_B, chain("mg-b", "root"))), [SUB_A, SUB_B]
    )

    assert ancestry.unknown == (SUB_A,)
    assert "unreadable" in ancestry.problem
    assert SUB_A in ancestry.problem
    assert ancestry.groups == {"mg-b", "root"}  # the readable chain is kept
    refused = ancestry.judge([at("mg-b"), at("mg-platform")])
    assert isinstance(refused, Refused)
    assert refused.code == "ManagementGroupsUnknown"
    assert ancestry.judge([at("/"), at("mg-b")]) == [at("/"), at("mg-b")]


def test_a_missing_subscription_and_a_failed_read_are_unknown() -> None:
    missing = Ancestry.learn(reads(row(SUB_A, chain("root"))), [SUB_A, SUB_B])
    assert missing.unknown == (SUB_B,)
    assert f"no row for subscription {SUB_B}" in missing.problem

    failed = SectionReads()
    failed.fail(ANCESTRY_SECTION, "403 Forbidden")
    refused = Ancestry.learn(failed, [SUB_A]).judge([at("root")])
    assert isinstance(refused, Refused)
    assert "403 Forbidden" in refused.text
    assert isinstance(Ancestry().judge([at("root")]), Refused)  # nothing learned yet


def test_the_ancestry_is_read_in_batches_of_1000() -> None:
    subs = [_guid("s", i) for i in range(MAX_SUBSCRIPTIONS + 1)]

    requests = ancestry_requests(subs)

    assert [len(dict(r.query)["subscriptions"].split(",")) for r in requests] == [1000, 1]
    assert all(dict(r.query)["query"] == ANCESTRY_QUERY for r in requests)


@given(st.lists(st.one_of(st.text(max_size=100), st.integers(), st.none()), max_size=5))
def test_only_valid_group_names_are_learned(names: list[Any]) -> None:
    ancestry = Ancestry.learn(reads(row(SUB_A, chain(*names))), [SUB_A])

    valid = all(
        isinstance(n, str)
        and n not in ("", ".", "..")
        and len(n) <= 90
        and all(c.isascii() and (c.isalnum() or c in "-_.()") for c in n)
        and not set(n) <= {"."}
        for n in names
    )
    assert (ancestry.unknown == ()) is valid
    assert all(g.isascii() and "/" not in g and "'" not in g for g in ancestry.groups)
