"""Whole ARM sections through Azure Resource Graph, against the local stand-in: paging,
throttling (a fake sleeper: nothing waits), 429s, and the same snapshot as ARM's listings."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftkeeper import InputError, Snapshot, TransientReadError
from driftkeeper.kinds import all_kinds
from driftkeeper.kinds.nsg import NSGS
from driftkeeper.kinds.role_assignments import ASSIGNMENTS, DEFINITIONS
from driftkeeper.live import choose_source, read_snapshot
from driftkeeper.live._failures import Refused
from driftkeeper.live._reply import Reply
from driftkeeper.live._resource_graph import (
    MAX_SUBSCRIPTIONS,
    MAX_WAIT,
    QUOTA_REMAINING,
    QUOTA_RESETS_AFTER,
    RESOURCE_GRAPH_PATH,
    WAIT_BUDGET,
    ResourceGraphFetcher,
    ancestry_requests,
    arm_shape,
    graph_query,
    graph_requests,
    is_above,
    parse_timespan,
)
from tests.fakes.azure_rest import AzureRestServer
from tests.fakes.credentials import StaticTokenCredential

AUTH = "Microsoft.Authorization"
OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
MG_SCOPE = "/providers/Microsoft.Management/managementGroups/mg-platform"


def _guid(*parts: object) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "|".join(map(str, parts))))


def tenant(subscriptions: int, nsgs: int, assignments: int) -> tuple[list[str], dict[str, Any]]:
    """``subscriptions`` subscriptions, each with ``nsgs`` NSGs of 3 rules and ``assignments``
    role assignments (at the subscription, a resource group, a resource); two assignments at
    a management group; the built-in Owner and Reader definitions."""
    subs = [_guid("sub", i) for i in range(subscriptions)]
    nsg_items, ra_items = [], []
    for s, sub in enumerate(subs):
        group = f"/subscriptions/{sub}/resourceGroups/rg-{s}"
        for n in range(nsgs):
            nsg_id = f"{group}/providers/Microsoft.Network/networkSecurityGroups/nsg-{n}"
            rules = [
                {
                    "name": f"r{r}",
                    "id": f"{nsg_id}/securityRules/r{r}",
                    "etag": f'W/"{_guid(nsg_id)}"',
                    "type": "Microsoft.Network/networkSecurityGroups/securityRules",
                    "properties": {
                        "provisioningState": "Succeeded",
                        "protocol": "Tcp",
                        "sourcePortRange": "*",
                        "destinationPortRange": str(1000 + r),
                        "sourceAddressPrefix": "10.0.0.0/8",
                        "destinationAddressPrefix": "*",
                        "access": "Allow",
                        "priority": 100 + r,
                        "direction": "Inbound",
                        "sourcePortRanges": [],
                        "destinationPortRanges": [],
                    },
                }
                for r in range(3)
            ]
            nsg_items.append(
                {
                    "name": f"nsg-{n}",
                    "id": nsg_id,
                    "etag": f'W/"{_guid(nsg_id)}"',
                    "type": "Microsoft.Network/networkSecurityGroups",
                    "location": "westeurope",
                    "tags": {"owner": "net"} if n % 2 else {},
                    "properties": {"provisioningState": "Succeeded", "securityRules": rules},
                }
            )
        scopes = [f"/subscriptions/{sub}", group, f"{group}/providers/Microsoft.Web/sites/app"]
        for a in range(assignments):
            ra_items.append(_assignment(scopes[a % 3], _guid("p", s, a), (OWNER, READER)[a % 2]))
    ra_items += [_assignment(MG_SCOPE, _guid("mg", i), READER) for i in range(2)]
    definitions = [
        {
            "id": f"/providers/{AUTH}/roleDefinitions/{guid}",
            "name": guid,
            "type": f"{AUTH}/roleDefinitions",
            "properties": {"roleName": name, "type": "BuiltInRole", "assignableScopes": ["/"]},
        }
        for guid, name in ((OWNER, "Owner"), (READER, "Reader"))
    ]
    data = {
        NSGS.name: nsg_items,
        ASSIGNMENTS.name: ra_items,
        DEFINITIONS.name: definitions,
    }
    return subs, data


def _assignment(scope: str, principal: str, role: str) -> dict[str, Any]:
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
            "condition": None,
            "conditionVersion": None,
            "createdOn": "2026-01-01T00:00:00.0000000Z",
        },
    }


class Sleeper:
    """Records the waits it is asked for; never waits."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def read(server: AzureRestServer, subs: list[str], **options: Any) -> Snapshot:
    options.setdefault("max_retries", 3)
    options.setdefault("retry_delay", 0)
    return read_snapshot(
        StaticTokenCredential("dk-test-token"),
        subscriptions=subs,
        arm_endpoint=server.arm_endpoint,
        graph_endpoint=server.graph_endpoint,
        connection_verify=str(server.ca_file),
        include_graph=False,
        **options,
    )


def graph_posts(server: AzureRestServer) -> list[Any]:
    return [r for r in server.requests_to(RESOURCE_GRAPH_PATH) if r.method == "POST"]


def by_id(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {i["id"].casefold(): i for i in items}


# --- paging ----------------------------------------------------------------------------------
def test_paging_returns_every_row_once(azure_rest_server: AzureRestServer) -> None:
    server = azure_rest_server
    subs, server.data = tenant(subscriptions=4, nsgs=6, assignments=9)
    server.graph_page_size = 5
    server.graph_quota = 100
    sleeper = Sleeper()

    snapshot = read(server, subs, source="graph", sleep=sleeper)

    assert snapshot.read_errors == {}
    nsgs = snapshot.sections[NSGS.name]
    assert len(nsgs) == len({n["id"] for n in nsgs}) == 24
    assignments = snapshot.sections[ASSIGNMENTS.name]
    assert len(assignments) == len({a["id"] for a in assignments}) == 4 * 9 + 2
    posts = graph_posts(server)
    # the 4 subscriptions' ancestors in 1 page; NSGs: 24 rows in 5 pages; assignments 36 in
    # 8, then the 2 above the subscriptions in 1; definitions: none in the subscriptions
    # (1 page), the 2 built-in ones above them (1)
    assert len(posts) == 1 + 5 + 8 + 1 + 2
    assert "resourcecontainers" in posts[0].body["query"]
    nsg_pages = [p for p in posts if "networksecuritygroups" in p.body["query"]]
    tokens = [p.body["options"].get("$skipToken") for p in nsg_pages]
    assert tokens[0] is None
    assert len(set(tokens[1:])) == 4
    assert all(p.body["options"]["$top"] == 1000 for p in posts)
    assert all(p.body["options"]["resultFormat"] == "objectArray" for p in posts)
    assert sorted(nsg_pages[0].body["subscriptions"]) == sorted(subs)
    assert all(p.query["api-version"] == ["2022-10-01"] and p.bearer for p in posts)
    assert not [r for r in server.requests if r.path.startswith("/subscriptions/")]
    assert sleeper.waits == []  # the quota was never used up


def test_more_than_1000_subscriptions_are_sent_in_batches() -> None:
    subs = [_guid("s", i) for i in range(2 * MAX_SUBSCRIPTIONS + 5)]

    requests = graph_requests([NSGS, ASSIGNMENTS], subs)

    nsg_batches = [
        dict(r.query)["subscriptions"].split(",") for r in requests if r.section == NSGS.name
    ]
    assert [len(b) for b in nsg_batches] == [1000, 1000, 5]
    assert [s for batch in nsg_batches for s in batch] == subs
    # role assignments: the same batches, and one query for those above the subscriptions
    tenant_wide = [r for r in requests if r.section == ASSIGNMENTS.name and len(r.query) == 1]
    assert len(tenant_wide) == 1
    assert "isempty(subscriptionId)" in tenant_wide[0].query[0][1]


def test_management_groups_are_one_scope() -> None:
    requests = graph_requests([NSGS, ASSIGNMENTS], (), ["mg-platform", "mg-landing"])

    scoped = [dict(r.query).get("managementGroups") for r in requests]
    # and, as for subscriptions, the assignments above them (judged by their ancestry)
    assert scoped == ["mg-platform,mg-landing"] * 2 + [None]
    assert [is_above(r) for r in requests] == [False, False, True]
    first = ancestry_requests((), ["mg-platform", "mg-landing"])
    assert [dict(r.query)["managementGroups"] for r in first] == ["mg-platform,mg-landing"]


def test_queries_read_the_declared_type_from_its_table() -> None:
    assert graph_query(NSGS) == (
        "resources | where type =~ 'microsoft.network/networksecuritygroups' "
        "| project id, name, type, location, tags, properties | order by id asc"
    )
    assert graph_query(ASSIGNMENTS).startswith(
        "authorizationresources | where type =~ 'microsoft.authorization/roleassignments' "
        "| project id, name, type, properties"
    )


# --- throttling ------------------------------------------------------------------------------
def test_an_exhausted_quota_waits_until_it_resets(azure_rest_server: AzureRestServer) -> None:
    server = azure_rest_server
    subs, server.data = tenant(subscriptions=2, nsgs=10, assignments=4)
    server.graph_page_size = 4
    server.graph_quota = 3
    server.graph_quota_window = 7
    sleeper = Sleeper()

    snapshot = read(server, subs, source="graph", sleep=sleeper)

    posts = graph_posts(server)
    # ancestors: 1 page; NSGs 20 rows: 5 pages; assignments 8: 2 pages, +1 above;
    # definitions: 1 page, +1 above
    assert len(posts) == 11
    # the quota is used up after every third request: the next one waits 7 s
    assert sleeper.waits == [7.0, 7.0, 7.0]
    assert len(snapshot.sections[NSGS.name]) == 20


def test_a_429_is_retried_after_retry_after(azure_rest_server: AzureRestServer) -> None:
    server = azure_rest_server
    subs, server.data = tenant(subscriptions=2, nsgs=3, assignments=3)
    server.fail(RESOURCE_GRAPH_PATH, 429, times=2, retry_after=4, code="RateLimiting")
    sleeper = Sleeper()

    snapshot = read(server, subs, source="graph", sleep=sleeper)

    assert snapshot.read_errors == {}
    assert sleeper.waits == [4.0, 4.0]
    assert [p.status for p in graph_posts(server)][:3] == [429, 429, 200]
    assert len(snapshot.sections[NSGS.name]) == 6


def test_a_client_that_ignored_the_quota_is_told_429_and_waits(
    azure_rest_server: AzureRestServer,
) -> None:
    # the stand-in enforcing its quota, as Azure does: a request after "0 remaining" is a 429
    # unless the client waited; the reader waits when told 0, the stand-in cannot see that,
    # so it answers 429 with Retry-After, which the reader honours too
    server = azure_rest_server
    subs, server.data = tenant(subscriptions=1, nsgs=8, assignments=2)
    server.graph_page_size = 2
    server.graph_quota = 2
    server.graph_enforce_quota = True
    sleeper = Sleeper()

    snapshot = read(server, subs, source="graph", sleep=sleeper, max_retries=5)

    assert snapshot.read_errors == {}
    assert len(snapshot.sections[NSGS.name]) == 8
    assert 429 in [p.status for p in graph_posts(server)]
    assert sleeper.waits
    assert all(w == 5.0 for w in sleeper.waits)


def test_throttled_past_the_retries_is_a_transient_failure(
    azure_rest_server: AzureRestServer,
) -> None:
    server = azure_rest_server
    subs, server.data = tenant(subscriptions=1, nsgs=1, assignments=1)
    server.fail(RESOURCE_GRAPH_PATH, 429, times=None, retry_after=2)
    sleeper = Sleeper()

    with pytest.raises(TransientReadError, match="429 Too Many Requests"):
        read(server, subs, source="graph", sleep=sleeper, max_retries=2)
    assert sleeper.waits == [2.0, 2.0]
    assert len(graph_posts(server)) == 3


def test_a_refused_query_fails_only_its_section(azure_rest_server: AzureRestServer) -> None:
    server = azure_rest_server
    subs, server.data = tenant(subscriptions=1, nsgs=2, assignments=2)
    server.data[ASSIGNMENTS.name] = server.data[ASSIGNMENTS.name][:2]  # none above
    server.fail(RESOURCE_GRAPH_PATH, 403, times=2, retry_after=None, code="AuthorizationFailed")

    snapshot = read(server, subs, source="graph", sleep=Sleeper())

    # the first query is the ancestors' (not needed: no assignment at a management group),
    # the second the NSGs'
    assert NSGS.name not in snapshot.sections
    assert "403 Forbidden: AuthorizationFailed" in snapshot.read_errors[NSGS.name]
    assert "Resource Graph" in snapshot.read_errors[NSGS.name]
    assert list(snapshot.read_errors) == [NSGS.name]
    assert len(snapshot.sections[ASSIGNMENTS.name]) == 2


# --- the same state as ARM's listings ---------------------------------------------------------
def test_results_equal_the_per_subscription_arm_listing(
    azure_rest_server: AzureRestServer,
) -> None:
    server = azure_rest_server
    subs, server.data = tenant(subscriptions=5, nsgs=4, assignments=7)
    server.page_size = 6
    server.graph_page_size = 9

    arm = read(server, subs, source="arm")
    graph = read(server, subs, source="graph", sleep=Sleeper())

    assert arm.read_errors == graph.read_errors == {}
    assert arm.subscriptions == graph.subscriptions
    for section in (NSGS.name, ASSIGNMENTS.name, DEFINITIONS.name):
        listed, queried = by_id(arm.sections[section]), by_id(graph.sections[section])
        assert listed.keys() == queried.keys()
        for key, item in listed.items():
            # Resource Graph has no etag column: the only difference (the kinds drop it)
            assert {k: v for k, v in item.items() if k != "etag"} == queried[key], key
    # and what the kinds judge is the same, setting by setting
    for kind in all_kinds().values():
        if any(s.api == "arm" for s in kind.reads):
            a, g = kind.index(arm), kind.index(graph)
            assert {k: s.state for k, s in a.items()} == {k: s.state for k, s in g.items()}


def test_rows_are_put_in_arm_shape() -> None:
    row = {
        "id": "/subscriptions/x/providers/Microsoft.Authorization/roleAssignments/a",
        "name": "a",
        "type": "microsoft.authorization/roleassignments",
        "location": None,
        "tags": None,
        "properties": {"scope": "/subscriptions/x", "condition": None},
    }

    shaped = arm_shape(row, ASSIGNMENTS.resource_type)

    assert shaped == {
        "id": row["id"],
        "name": "a",
        "type": "Microsoft.Authorization/roleAssignments",
        "properties": {"scope": "/subscriptions/x", "condition": None},
    }
    assert arm_shape({"type": "other/type"}, ASSIGNMENTS.resource_type) == {"type": "other/type"}


# --- helpers -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("00:00:05", 5.0),
        ("00:01:00", 60.0),
        ("1.00:00:01", 86401.0),
        ("00:00:00.5", 0.5),
        ("3", 3.0),
        ("", None),
        (None, None),
        ("soon", None),
        ("-1", None),
    ],
)
def test_quota_reset_timespans(text: str | None, seconds: float | None) -> None:
    assert parse_timespan(text) == seconds


@given(st.text(max_size=30))
def test_any_header_text_is_a_wait_or_none(text: str) -> None:
    value = parse_timespan(text)
    assert value is None or value >= 0


@pytest.mark.parametrize(
    ("source", "count", "minimum", "chosen"),
    [
        ("auto", 11, 10, "graph"),
        ("auto", 10, 10, "arm"),
        ("auto", 1, 0, "graph"),
        ("graph", 1, 10, "graph"),
        ("arm", 500, 10, "arm"),
    ],
)
def test_auto_picks_resource_graph_above_the_threshold(
    source: str, count: int, minimum: int, chosen: str
) -> None:
    assert choose_source(source, count, minimum) == chosen


def test_an_unknown_source_is_refused() -> None:
    with pytest.raises(InputError, match="not a source"):
        choose_source("magic", 3, 10)


def test_management_groups_need_resource_graph(azure_rest_server: AzureRestServer) -> None:
    with pytest.raises(InputError, match="Resource Graph"):
        read(azure_rest_server, [], management_groups=["mg-platform"])


# --- bounded waits and pages (a scripted ARM client: the answers no stand-in would give) ---
class ScriptedArm:
    """Our :class:`~driftkeeper.live._arm.ArmClient`'s ``post``, answering from ``answer``
    (called with the request number); records the bodies posted."""

    endpoint = "https://arm.invalid"

    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.bodies: list[Any] = []

    def post(
        self, url: str, body: Any, *, params: dict[str, str], keep: tuple[str, ...] = ()
    ) -> Reply:
        self.bodies.append(body)
        return self.answer(len(self.bodies))  # type: ignore[no-any-return]


def _page(
    n: int, *, rows: int = 1, total: int | None = 50, last: int = 50, **headers: str
) -> Reply:
    body: dict[str, Any] = {
        "data": [{"id": f"/x/{n}-{i}", "type": NSGS.resource_type} for i in range(rows)],
        "count": rows,
    }
    if total is not None:
        body["totalRecords"] = total
    if n < last:
        body["$skipToken"] = f"token-{n}"
    return Reply(200, headers, body)


def _graph_fetch(arm: ScriptedArm, sleeper: Sleeper, **options: Any) -> Any:
    request = graph_requests([NSGS], ["sub-1"])[0]
    fetcher = ResourceGraphFetcher(arm, {NSGS.name: NSGS.resource_type}, sleep=sleeper, **options)  # type: ignore[arg-type]
    return fetcher.fetch(request)


def test_a_quota_reset_days_away_waits_at_most_the_budget() -> None:
    # quota used up on each of 50 pages, reset "99 days" away: once 14,700 s of sleep
    resets = {QUOTA_REMAINING: "0", QUOTA_RESETS_AFTER: "99.00:00:00"}
    arm = ScriptedArm(lambda n: _page(n, **resets))
    sleeper = Sleeper()

    with pytest.raises(TransientReadError, match=r"arm\.networkSecurityGroups.*wait budget"):
        _graph_fetch(arm, sleeper)
    assert sleeper.waits == [MAX_WAIT] * 4
    assert sum(sleeper.waits) <= WAIT_BUDGET
    assert len(arm.bodies) == 5


def test_a_429_asking_for_ages_waits_at_most_the_budget() -> None:
    # once: 5 x 300 s = 1,500 s before TransientReadError
    arm = ScriptedArm(lambda n: Reply(429, {"retry-after": "1000000000"}, None))
    sleeper = Sleeper()

    with pytest.raises(TransientReadError, match="wait budget"):
        _graph_fetch(arm, sleeper, max_retries=5, wait_budget=100)
    assert sleeper.waits == [MAX_WAIT] * 3
    assert sum(sleeper.waits) <= 100


def test_waits_within_the_budget_are_all_waited() -> None:
    resets = {QUOTA_REMAINING: "0", QUOTA_RESETS_AFTER: "00:00:03"}
    arm = ScriptedArm(lambda n: _page(n, last=10, **resets))
    sleeper = Sleeper()

    rows = _graph_fetch(arm, sleeper)

    assert len(rows) == 10
    assert sleeper.waits == [3.0] * 9


def test_empty_pages_with_fresh_tokens_stop() -> None:
    # once: 100,000 requests, every one an empty page with a new $skipToken
    arm = ScriptedArm(lambda n: _page(n, rows=0, total=0, last=100_000))

    refused = _graph_fetch(arm, Sleeper())

    assert isinstance(refused, Refused)
    assert refused.code == "TooManyPages"
    assert len(arm.bodies) == 2


def test_pages_without_a_total_stop_at_max_pages() -> None:
    arm = ScriptedArm(lambda n: _page(n, rows=0, total=None, last=100_000))

    refused = _graph_fetch(arm, Sleeper(), max_pages=50)

    assert isinstance(refused, Refused)
    assert refused.code == "TooManyPages"
    assert len(arm.bodies) == 50


def test_a_full_paging_is_not_cut() -> None:
    arm = ScriptedArm(lambda n: _page(n, rows=1, total=30, last=30))

    rows = _graph_fetch(arm, Sleeper())

    assert len(rows) == 30


@pytest.mark.parametrize("token", [7, ["a"], {"t": 1}, True])
def test_a_skiptoken_that_is_not_text_is_named_so(token: Any) -> None:
    arm = ScriptedArm(
        lambda n: Reply(200, {}, {"data": [], "totalRecords": 5, "$skipToken": token})
    )

    refused = _graph_fetch(arm, Sleeper())

    assert isinstance(refused, Refused)
    assert "not a string" in refused.text
    assert "repeated" not in refused.text


@pytest.mark.parametrize(
    "text",
    [
        "1" * 5000 + ".00:00:00",
        "00:00:00." + "9" * 5000,
        "9" * 5000,
        "1e999",
        "inf",
        "nan",
        "12345678.00:00:00",
    ],
)
def test_huge_quota_headers_are_no_wait_or_a_capped_one(text: str) -> None:
    value = parse_timespan(text)
    assert value is None or 0 <= value < float("inf")
    arm = ScriptedArm(
        lambda n: _page(n, last=2, **{QUOTA_REMAINING: "0", QUOTA_RESETS_AFTER: text})
    )
    sleeper = Sleeper()
    rows = _graph_fetch(arm, sleeper)
    assert len(rows) == 2
    assert all(0 <= w <= MAX_WAIT for w in sleeper.waits)


@given(
    st.one_of(
        st.text(max_size=30),
        st.builds(
            lambda digits, tail: digits + tail,
            st.text("0123456789", min_size=1, max_size=6000),
            st.sampled_from(["", ".00:00:00", ":00:00", "e5", ".5"]),
        ),
        st.builds(
            lambda days, fraction: f"{days}.01:02:03.{fraction}",
            st.text("0123456789", min_size=4301, max_size=6000),
            st.text("0123456789", min_size=1, max_size=6000),
        ),
    )
)
def test_any_header_text_is_a_finite_wait_or_none(text: str) -> None:
    value = parse_timespan(text)
    assert value is None or 0 <= value < float("inf")
