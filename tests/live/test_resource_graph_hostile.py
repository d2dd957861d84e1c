"""Red team of the management-group ancestry of Resource Graph reads: hostile chains and
scopes (unit), and the ancestry read itself paged, throttled and with odd subscription
spellings against the local stand-in."""

from __future__ import annotations

from typing import Any

import pytest

from driftkeeper.kinds.role_assignments import ASSIGNMENTS
from driftkeeper.live._failures import Refused, SectionReads
from driftkeeper.live._resource_graph import (
    ANCESTRY_QUERY,
    ANCESTRY_SECTION,
    RESOURCE_GRAPH_PATH,
    Ancestry,
    ancestry_requests,
    is_above,
)
from tests.fakes.azure_rest import AzureRestServer
from tests.live.test_resource_graph import Sleeper, _guid, graph_posts, read
from tests.live.test_resource_graph_hierarchy import (
    GROUPS,
    ROOT_GROUP,
    above,
    assert_same,
    hierarchy_tenant,
)

SUB_A, SUB_B, SUB_C = _guid("a"), _guid("b"), _guid("c")


def reads(*rows: Any) -> SectionReads:
    return SectionReads(sections={ANCESTRY_SECTION: list(rows)})


def row(sub: str, *names: Any) -> dict[str, Any]:
    chain = [{"name": n, "displayName": "x"} for n in names]
    return {"id": f"/subscriptions/{sub}", "properties": {"managementGroupAncestorsChain": chain}}


def at_scope(scope: str, name: str = "x") -> dict[str, Any]:
    return {"id": f"{scope.rstrip('/')}/providers/a/b/{name}", "properties": {"scope": scope}}


KNOWN = Ancestry.learn(reads(row(SUB_A, "mg-a", "mg-a", "Key", ROOT_GROUP)), [SUB_A])


def test_a_chain_naming_a_group_twice_is_read() -> None:
    assert KNOWN.unknown == ()
    assert KNOWN.groups == {"mg-a", "key", ROOT_GROUP}


@pytest.mark.parametrize(
    "scope",
    [
        GROUPS + "MG-A",
        GROUPS + "mg-a/",
        GROUPS.upper() + "mg-a",
        GROUPS.lower() + "MG-a",
        GROUPS + ROOT_GROUP.upper(),
        GROUPS + "KEY",
    ],
)
def test_an_ancestor_is_kept_in_any_case_or_with_a_trailing_slash(scope: str) -> None:
    assert KNOWN.judge([at_scope(scope)]) == [at_scope(scope)]


@pytest.mark.parametrize(
    "group",
    [
        "\u212aey",  # KELVIN SIGN + "ey": casefolds to "key", a known ancestor
        "\u212aEY",
        "mg-\u0430",  # Cyrillic a
        "mg-a\u200b",
    ],
)
def test_a_group_name_that_only_casefolds_to_an_ancestor_is_not_one(group: str) -> None:
    """Management group names are ASCII: a row at a name that merely casefolds to an
    ancestor's is at another group (and its scope would take the ancestor's index key)."""
    assert KNOWN.judge([at_scope(GROUPS + group)]) == []


@pytest.mark.parametrize(
    "group",
    ["mg-sibling", "mg-a-child", "mg", "mg-a'", "x" * 5000, "", "mg-a%2F..", "\u00fc"],
)
def test_a_group_that_is_no_ancestor_is_left_out_when_every_chain_is_known(group: str) -> None:
    assert KNOWN.judge([at_scope(GROUPS + group), at_scope("/")]) == [at_scope("/")]


def test_a_group_that_is_no_ancestor_fails_when_a_chain_is_unknown() -> None:
    unknown = Ancestry.learn(reads(row(SUB_A, "mg-a")), [SUB_A, SUB_B])
    refused = unknown.judge([at_scope(GROUPS + "mg-b" + "'" * 400)])
    assert isinstance(refused, Refused)
    assert refused.code == "ManagementGroupsUnknown"
    assert len(refused.text) < 1000  # the row's id and group are cut short


def test_rows_for_subscriptions_not_read_do_not_widen_the_ancestors() -> None:
    """The answer has a row for a subscription that was not asked for: its groups are above
    no read subscription, and must not let a sibling group's assignments in."""
    ancestry = Ancestry.learn(
        reads(row(SUB_A, "mg-a", ROOT_GROUP), row(SUB_C, "mg-sibling", ROOT_GROUP)), [SUB_A]
    )
    assert ancestry.unknown == ()
    assert ancestry.judge([at_scope(GROUPS + "mg-sibling")]) == []


def test_a_subscription_read_twice_in_other_case_needs_one_row() -> None:
    ancestry = Ancestry.learn(reads(row(SUB_A.upper(), "mg-a")), [SUB_A, SUB_A.upper()])
    assert ancestry.unknown == ()
    assert ancestry.groups == {"mg-a"}


def test_a_row_with_a_trailing_slash_says_nothing() -> None:
    odd = {**row(SUB_A, "mg-a"), "id": f"/subscriptions/{SUB_A}/"}
    ancestry = Ancestry.learn(reads(odd), [SUB_A])
    assert ancestry.unknown == (SUB_A,)  # conservative: the row is not the subscription's


def test_no_subscriptions_no_ancestry_requests() -> None:
    assert ancestry_requests([]) == []
    assert ancestry_requests([], []) == []
    assert not any(is_above(r) for r in ancestry_requests([SUB_A]))


# --- against the stand-in ----------------------------------------------------------------------
def test_the_ancestry_read_is_paged(azure_rest_server: AzureRestServer) -> None:
    server = azure_rest_server
    subs, _ = hierarchy_tenant(server)
    server.graph_page_size = 1  # one subscription row per page

    arm = read(server, subs, source="arm")
    graph = read(server, subs, source="graph", sleep=Sleeper())

    assert_same(arm, graph)
    containers = [p for p in graph_posts(server) if p.body["query"] == ANCESTRY_QUERY]
    assert len(containers) == len(subs)  # three pages of one row


def test_a_throttled_ancestry_read_is_retried(azure_rest_server: AzureRestServer) -> None:
    server = azure_rest_server
    subs, scopes = hierarchy_tenant(server)
    server.fail(RESOURCE_GRAPH_PATH, 429, times=2, retry_after=1)
    sleep = Sleeper()

    graph = read(server, subs, source="graph", sleep=sleep)

    assert graph.read_errors == {}
    wanted = {scopes[n] for n in ("/", ROOT_GROUP, "mg-platform", "mg-landing", "mg-corp")}
    assert above(graph) == wanted


def test_subscriptions_in_other_case_read_their_ancestors(
    azure_rest_server: AzureRestServer,
) -> None:
    server = azure_rest_server
    subs, scopes = hierarchy_tenant(server)

    graph = read(server, [s.upper() for s in subs] + subs[:1], source="graph", sleep=Sleeper())

    assert graph.read_errors == {}
    wanted = {scopes[n] for n in ("/", ROOT_GROUP, "mg-platform", "mg-landing", "mg-corp")}
    assert above(graph) == wanted
    assert len(graph.sections[ASSIGNMENTS.name]) == 3 * 2 + 5


def test_no_subscriptions_reads_no_ancestry(azure_rest_server: AzureRestServer) -> None:
    server = azure_rest_server
    hierarchy_tenant(server)

    graph = read(server, [], source="graph", sleep=Sleeper())

    assert not [p for p in graph_posts(server) if p.body["query"] == ANCESTRY_QUERY]
    assert graph.read_errors == {}


@pytest.mark.parametrize(
    "scope",
    [
        "/" + GROUPS + "mg-sibling",
        " " + GROUPS + "mg-sibling",
        "///" + GROUPS.lstrip("/") + "mg-sibling",
        GROUPS.lstrip("/") + "mg-sibling",
        "\t" + GROUPS + "mg-sibling\n",
    ],
)
def test_a_sibling_group_spelled_oddly_is_not_read_as_the_root(scope: str) -> None:
    """A scope with a doubled or missing leading slash, or blanks, is still at its group:
    judged by it, never kept as a row at no management group."""
    assert KNOWN.judge([at_scope(scope)]) == []


def test_a_management_group_without_subscriptions_keeps_its_own_assignments(
    azure_rest_server: AzureRestServer,
) -> None:
    """No subscription below the read group: the ancestry read has no row, and the
    tenant-wide rows at the group itself must still come through its own scoped query."""
    server = azure_rest_server
    _, scopes = hierarchy_tenant(server)

    graph = read(server, [], source="graph", management_groups=["mg-empty"], sleep=Sleeper())

    assert graph.read_errors == {}
    assert scopes["mg-empty"] in above(graph)
    assert scopes["mg-sandbox"] not in above(graph)


def test_a_management_group_read_in_other_case(azure_rest_server: AzureRestServer) -> None:
    server = azure_rest_server
    subs, _ = hierarchy_tenant(server)

    arm = read(server, subs[2:], source="arm")
    graph = read(server, [], source="graph", management_groups=["MG-LANDING"], sleep=Sleeper())

    assert graph.read_errors == {}
    assert above(graph) == above(arm)
