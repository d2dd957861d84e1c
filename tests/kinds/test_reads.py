"""What kinds declare they read: path templates, requests, signals, and how answers land."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftkeeper import InputError, Snapshot
from driftkeeper._errors import PluginError
from driftkeeper.kinds import (
    ARM_CHANGES,
    ArmSection,
    GraphSection,
    PathTemplate,
    Request,
    Signals,
    all_kinds,
    all_sections,
    get_kind,
    section_owner,
)
from driftkeeper.live._failures import Refused
from driftkeeper.live._fetch import run_requests
from driftkeeper.signals import Signal

SUB = "0b1f6471-1bf0-4dda-aec3-111122223333"
NSG = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/w"
TEMPLATE = PathTemplate(
    "/subscriptions/{subscription}/resourceGroups/{resourceGroup}/providers/X.Y/things/{name}"
)


# --- declarations --------------------------------------------------------------------------
def test_every_section_has_one_owner_and_a_valid_declaration() -> None:
    sections = all_sections()
    assert set(sections) == {s.name for k in all_kinds().values() for s in k.reads}
    for name, section in sections.items():
        assert name.split(".", 1)[0] == section.api
        assert section_owner(name) in all_kinds()
        if isinstance(section, ArmSection):
            assert "{subscription}" in section.list_path
            assert section.list_path.endswith(section.provider_path)
            assert section.api_version


@pytest.mark.parametrize("kind", sorted(all_kinds()))
def test_required_and_optional_sections_derive_from_reads(kind: str) -> None:
    declared = get_kind(kind)
    assert declared.sections == tuple(s.name for s in declared.reads if s.need == "required")
    assert declared.sections, "a kind judges at least one section"
    assert set(declared.optional_sections) <= {s.name for s in declared.reads}


def test_a_section_declared_twice_is_refused() -> None:
    from driftkeeper import kinds

    class Twice:
        name = "zz-twice"
        reads = (all_sections()["arm.networkSecurityGroups"],)

    registry = kinds._KINDS
    registry._plugins["zz-twice"] = Twice()  # type: ignore[assignment]
    try:
        with pytest.raises(PluginError, match="declared by 'nsg' and 'zz-twice'"):
            all_sections()
    finally:
        del registry._plugins["zz-twice"]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (
            f"/subscriptions/{SUB.upper()}/resourceGroups/rg.1(x)/providers/X.Y/things/a-b_c",
            {"subscription": SUB, "resourceGroup": "rg.1(x)", "name": "a-b_c"},
        ),
        (
            f"/subscriptions/{SUB}/resourceGroups/rg/providers/X.Y/things/n/",
            {"subscription": SUB, "resourceGroup": "rg", "name": "n"},
        ),
        (f"/subscriptions/{SUB}/resourceGroups/rg./providers/X.Y/things/n", None),
        (f"/subscriptions/{SUB}/resourceGroups/../providers/X.Y/things/n", None),
        (f"/subscriptions/{SUB}/resourceGroups/rg/providers/X.Y/things/..", None),
        (f"/subscriptions/{SUB}/resourceGroups/rg/providers/X.Y/things/n/sub/x", None),
        ("/subscriptions/not-a-guid/resourceGroups/rg/providers/X.Y/things/n", None),
        (f"/subscriptions/{SUB}/resourceGroups/rg?x=1/providers/X.Y/things/n", None),
        (f"/subscriptions/{SUB}/resourceGroups/rg/providers/X.Y/things/n#frag", None),
    ],
)
def test_a_path_template_matches_only_what_it_declares(
    path: str, expected: dict[str, str] | None
) -> None:
    found = TEMPLATE.match(path)
    if expected is None:
        assert found is None
    else:
        assert found is not None
        assert {k: v.casefold() for k, v in found.items()} == {
            k: v.casefold() for k, v in expected.items()
        }


@given(st.text(max_size=80))
def test_whatever_a_template_accepts_fills_a_safe_path(name: str) -> None:
    path = f"/subscriptions/{SUB}/resourceGroups/rg/providers/X.Y/things/{name}"
    found = TEMPLATE.match(path)
    if found is None:
        return
    filled = TEMPLATE.fill(**found)
    segments = filled.split("/")
    assert len(segments) == len(TEMPLATE.text.split("/"))
    assert not {"..", "."} & set(segments)
    assert not set("?#%&= \\") & set(filled.replace("%28", "").replace("%29", ""))


def test_fill_refuses_a_value_its_placeholder_does_not_match() -> None:
    with pytest.raises(InputError, match="not a valid name"):
        TEMPLATE.fill(subscription=SUB, resourceGroup="rg", name="a/../b")


def test_an_arm_resource_is_one_get_and_a_404_means_gone() -> None:
    [request] = get_kind("nsg").requests(NSG)
    assert request.api == "arm"
    assert request.many is False
    assert request.gone == "empty"
    assert request.api_version == all_sections()["arm.networkSecurityGroups"].api_version
    assert request.path.casefold() == NSG.casefold()


@pytest.mark.parametrize(
    ("kind", "scope", "sections"),
    [
        ("conditional-access-policy", "/identity/conditionalAccess/policies", ["list"]),
        ("security-defaults", "/policies/identitySecurityDefaultsEnforcementPolicy", ["object"]),
        (
            "directory-role",
            "/roleManagement/directory/roleDefinitions/62e90394-69f5-4237-9190-012177145e10",
            ["list", "list"],
        ),
    ],
)
def test_graph_reads_follow_the_declared_shape(kind: str, scope: str, sections: list[str]) -> None:
    requests = get_kind(kind).requests(scope)
    assert [r.shape for r in requests] == sections
    assert all(r.api == "graph" for r in requests)


def test_a_directory_role_is_read_with_its_id_filtered_and_principal_expanded() -> None:
    role = "62E90394-69F5-4237-9190-012177145E10"
    active, eligible = get_kind("directory-role").requests(
        f"/roleManagement/directory/roleDefinitions/{role}"
    )
    assert dict(active.query) == {
        "$expand": "principal",
        "$filter": f"roleDefinitionId eq '{role.casefold()}'",
    }
    assert dict(eligible.query) == {"$filter": f"roleDefinitionId eq '{role.casefold()}'"}
    assert eligible.absent == frozenset({"aadpremiumlicenserequired"})


@pytest.mark.parametrize(
    ("kind", "scope"),
    [
        ("nsg", NSG + "/securityRules/x"),
        ("conditional-access-policy", "/identity/conditionalAccess/policies/not-a-guid"),
        ("directory-role", "/roleManagement/directory/roleDefinitions/x' or 1 eq 1"),
        ("security-defaults", "/policies/authenticationMethodsPolicy"),
        ("role-assignments", "/subscriptions/x"),
        ("role-assignments", "/providers/Microsoft.Management/managementGroups/.."),
        ("role-assignments", "/providers/Microsoft.Management/managementGroups/."),
        ("role-assignments", "/providers/Microsoft.Management/managementGroups/\uff4d\uff47"),
        ("role-assignments", f"/subscriptions/{SUB}/resourceGroups/rg\u00e9"),
        ("role-assignments", f"/subscriptions/{SUB}/resourceGroups/rg/providers/X.Y/things/.."),
        ("role-assignments", f"/subscriptions/{SUB}/resourceGroups/rg/providers/X.Y/t/a/b/.."),
        ("role-assignments", f"/subscriptions/{SUB}/resourceGroups/rg/providers/X.Y/t/a?b"),
    ],
)
def test_a_scope_that_is_not_the_kinds_is_refused_before_any_call(kind: str, scope: str) -> None:
    with pytest.raises(InputError):
        get_kind(kind).requests(scope)


# --- signals -------------------------------------------------------------------------------
def _arm(operation: str, event_type: str = ARM_CHANGES[0]) -> Signal:
    return Signal(
        "e", "eventgrid", event_type, "2026-01-01T00:00:00Z", NSG, operation, category="arm"
    )


def _audit(category: str, activity: str) -> Signal:
    return Signal("a", "audit", activity, "2026-01-01T00:00:00Z", "", activity, category=category)


@pytest.mark.parametrize(
    ("signals", "signal", "expected"),
    [
        (Signals(ARM_CHANGES, ("X.Y/things",)), _arm("X.Y/things/write"), True),
        (Signals(ARM_CHANGES, ("X.Y/things",)), _arm("x.y/THINGS/delete"), True),
        (Signals(ARM_CHANGES, ("X.Y/things",)), _arm("X.Y/thingsother/write"), False),
        (Signals(ARM_CHANGES, ("X.Y/things",)), _arm("X.Y/things/write", "Other.Type"), False),
        (Signals(ARM_CHANGES, ("X.Y/things",)), _audit("Policy", "Update policy"), False),
        (Signals(audit_categories=("Policy",)), _audit("policy", "Update policy"), True),
        (Signals(audit_categories=("Policy",)), _audit("RoleManagement", "Add member"), False),
        (
            Signals(audit_activities=("conditional access",)),
            _audit("X", "Update conditional access policy"),
            True,
        ),
        (Signals(audit_activities=("conditional access",)), _audit("X", "Update user"), False),
    ],
)
def test_signals_say_what_may_touch_a_kind(
    signals: Signals, signal: Signal, expected: bool
) -> None:
    assert signals.may_touch(signal) is expected


# --- answers into sections -----------------------------------------------------------------
class Answers:
    """A fetcher answering each request path from a table (a missing path: 404)."""

    def __init__(self, **answers: Any) -> None:
        self.answers = answers
        self.asked: list[str] = []

    def fetch(self, request: Request) -> Any:
        self.asked.append(request.path)
        return self.answers.get(
            request.path.strip("/").replace("/", "_"), Refused(404, "NotFound", "404")
        )


ITEMS = Request("arm.items", "arm", "/a", api_version="1")


def run(fetcher: Answers, *requests: Request) -> Any:
    return run_requests(requests, lambda _: fetcher)


def test_listings_of_one_section_are_united_and_deduplicated_by_id() -> None:
    answers = Answers(a=[{"id": "/X/1"}, {"id": "/x/2"}], b=[{"id": "/x/1"}, {"id": "/x/3"}])
    reads = run(answers, ITEMS, Request("arm.items", "arm", "/b"))
    assert [i["id"] for i in reads.sections["arm.items"]] == ["/X/1", "/x/2", "/x/3"]


def test_keep_filters_listed_items() -> None:
    def keep(item: Any) -> bool:
        return bool(item["id"] != "/x/2")

    reads = run(
        Answers(a=[{"id": "/x/1"}, {"id": "/x/2"}]), Request("arm.items", "arm", "/a", keep=keep)
    )
    assert [i["id"] for i in reads.sections["arm.items"]] == ["/x/1"]


def test_a_failure_fails_the_section_even_when_another_listing_answered() -> None:
    where = Request("arm.items", "arm", "/missing", where="subscription s2")
    answers = Answers(a=[{"id": "/x/1"}])
    reads = run(answers, ITEMS, where, Request("arm.items", "arm", "/a"))
    assert "arm.items" not in reads.sections
    assert reads.errors["arm.items"] == "subscription s2: 404"
    assert answers.asked == ["/a", "/missing"]  # nothing more is asked for a failed section


def test_gone_means_an_empty_section_only_where_the_request_says_so() -> None:
    gone = Request("arm.one", "arm", "/nothing", many=False, gone="empty")
    reads = run(Answers(), gone, Request("arm.other", "arm", "/nothing", many=False))
    assert reads.sections == {"arm.one": []}
    assert set(reads.errors) == {"arm.other"}


def test_subscription_not_found_is_never_gone() -> None:
    answers = Answers(nothing=Refused(404, "SubscriptionNotFound", "404 Not Found"))
    reads = run(answers, Request("arm.one", "arm", "/nothing", many=False, gone="empty"))
    assert reads.errors == {"arm.one": "404 Not Found"}


def test_an_absent_code_leaves_the_section_not_captured() -> None:
    no_p2 = Refused(400, "AadPremiumLicenseRequired", "400 Bad Request")
    other = Refused(403, "Authorization_RequestDenied", "403 Forbidden")
    pim = Request("graph.pim", "graph", "/pim", absent=frozenset({"aadpremiumlicenserequired"}))
    assert run(Answers(pim=no_p2), pim).sections == {}
    assert run(Answers(pim=no_p2), pim).errors == {}
    assert run(Answers(pim=other), pim).errors == {"graph.pim": "403 Forbidden"}


def test_one_object_goes_into_its_section_as_is_or_as_a_one_item_list() -> None:
    policy = {"id": "p", "isEnabled": True}
    reads = run(
        Answers(obj=policy, one=policy),
        Request("graph.obj", "graph", "/obj", many=False, shape="object"),
        Request("graph.one", "graph", "/one", many=False),
    )
    assert reads.sections == {"graph.obj": policy, "graph.one": [policy]}


def test_an_empty_body_is_a_failed_read_not_an_empty_state() -> None:
    reads = run(
        Answers(obj=None), Request("graph.obj", "graph", "/obj", many=False, shape="object")
    )
    assert "graph.obj" in reads.errors


# --- the snapshot document -------------------------------------------------------------------
def test_a_section_no_kind_declares_is_kept_as_unknown_and_reported() -> None:
    doc = {
        "schema": "driftkeeper.snapshot/1",
        "arm": {"notAWatchedType": [], "networkSecurityGroups": []},
        "graph": {"notAWatchedObject": {}},
    }
    snapshot = Snapshot.from_dict(doc)
    assert snapshot.unknown == ("arm.notAWatchedType", "graph.notAWatchedObject")
    assert list(snapshot.sections) == ["arm.networkSecurityGroups"]
    assert snapshot.notices() == [
        "arm.notAWatchedType: no watched kind reads this section; not judged",
        "graph.notAWatchedObject: no watched kind reads this section; not judged",
    ]


def test_merged_snapshots_unite_sections_and_failures() -> None:
    a = Snapshot("t", "2026-01-01T00:00:02Z", {"graph.x": []}, {}, "a")
    b = Snapshot("t", "2026-01-01T00:00:01Z", {"graph.y": {}}, {"graph.z": "403"}, "b")
    merged = Snapshot.merge([a, b])
    assert dict(merged.sections) == {"graph.x": [], "graph.y": {}}
    assert dict(merged.read_errors) == {"graph.z": "403"}
    assert merged.captured_at == "2026-01-01T00:00:01Z"


def test_graph_sections_are_declared_with_a_graph_name() -> None:
    with pytest.raises(PluginError, match=r"starts with 'graph\.'"):
        GraphSection("arm.x", "/x")
    with pytest.raises(PluginError, match=r"starts with 'arm\.'"):
        ArmSection("graph.x", "X.Y/z", "1", "/subscriptions/{subscription}/providers/X.Y/z")


def test_a_kind_module_that_fails_to_load_fails_every_lookup(tmp_path: Path) -> None:
    from driftkeeper._registry import Registry

    package = tmp_path / "somekinds"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "good.py").write_text("")
    (package / "m_broken.py").write_text("raise ValueError('x')\n")
    sys.path.insert(0, str(tmp_path))
    try:
        registry: Registry[Any] = Registry("somekinds", [str(package)], "kind")
        for _ in range(2):  # never a partial registry on a later call
            with pytest.raises(PluginError, match=r"somekinds\.m_broken cannot be loaded"):
                registry.all()
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m.startswith("somekinds")]:
            del sys.modules[name]


@pytest.mark.parametrize(
    ("item", "why"),
    [
        ("text", "that is not an object"),
        ({"name": "x"}, "without an id"),
        ({"id": 7}, "without an id"),
        ({"id": "/x/1", "properties": "x"}, "whose properties are not an object"),
    ],
)
def test_a_listed_item_unlike_the_services_fails_the_section(item: Any, why: str) -> None:
    reads = run(Answers(a=[{"id": "/x/0"}, item]), ITEMS)
    assert "arm.items" not in reads.sections
    assert reads.errors["arm.items"] == f"the service answered an item {why}"
