"""The snapshot document: validation, az shapes, not-captured vs failed sections."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from driftkeeper import Snapshot, SnapshotError
from driftkeeper.baseline import BaselineSet
from driftkeeper.engine import scan
from driftkeeper.snapshot import MAX_DEPTH
from tests.builders import document, healthy, nsg


def nsgs(envelope: dict[str, Any]) -> dict[str, Any]:
    """A document with one NSG whose envelope fields are replaced."""
    return document(networkSecurityGroups=[{**nsg([]), **envelope}])


def nested(depth: int) -> Any:
    value: Any = []
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("doc", "field", "problem"),
    [
        ([], "", "expected a JSON object"),
        ({"schema": "driftkeeper.snapshot/2"}, "schema", "expected 'driftkeeper.snapshot/1'"),
        ({**document(), "tenantId": 7}, "tenantId", "expected a string"),
        ({**document(), "arm": []}, "arm", "expected an object"),
        (document(networkSecurityGroups={"a": 1}), "arm.networkSecurityGroups", "expected a list"),
        (document(roleAssignments=[1]), "arm.roleAssignments[0]", "expected an object"),
        (document(securityDefaults=[]), "graph.securityDefaults", "expected an object"),
        ({**document(), "readErrors": {"arm.x": 1}}, "readErrors", "section: message"),
        # the envelope ARM and Graph give every item, whatever the kind
        (nsgs({"id": 12}), "arm.networkSecurityGroups[0].id", "expected a string, got a number"),
        (nsgs({"name": ["web"]}), "arm.networkSecurityGroups[0].name", "expected a string"),
        (nsgs({"type": None}), "arm.networkSecurityGroups[0].type", "expected a string, got null"),
        (nsgs({"properties": "abc"}), "arm.networkSecurityGroups[0].properties", "an object"),
        (nsgs({"properties": None}), "arm.networkSecurityGroups[0].properties", "an object"),
        (nsgs({"properties": []}), "arm.networkSecurityGroups[0].properties", "an object"),
        (
            document(networkSecurityGroups=[{"id": 12, "securityRules": []}]),  # az's flat shape
            "arm.networkSecurityGroups[0].id",
            "expected a string",
        ),
        (
            document(roleAssignments=[{"id": "/x", "properties": "x"}]),
            "arm.roleAssignments[0].properties",
            "expected an object, got a string",
        ),
        (
            document(roleDefinitions=[{"id": "/x", "name": 7, "properties": {}}]),
            "arm.roleDefinitions[0].name",
            "expected a string",
        ),
        (
            document(conditionalAccessPolicies=[{"id": 5}]),
            "graph.conditionalAccessPolicies[0].id",
            "expected a string",
        ),
        (
            document(directoryRoleAssignments=[{"id": {"x": 1}}]),
            "graph.directoryRoleAssignments[0].id",
            "expected a string, got an object",
        ),
        (document(securityDefaults={"id": True}), "graph.securityDefaults.id", "got a boolean"),
        (nsgs({"id": ""}), "arm.networkSecurityGroups[0].id", "is required"),
        (
            document(roleAssignments=[{"properties": {}}]),
            "arm.roleAssignments[0].id",
            "is required (a non-empty string)",
        ),
        (
            document(conditionalAccessPolicies=[{"state": "enabled"}]),
            "graph.conditionalAccessPolicies[0].id",
            "is required",
        ),
        (
            {**document(), "arm": {"networkSecurityGroups": nested(MAX_DEPTH)}},
            "arm.networkSecurityGroups",
            f"nested too deeply (more than {MAX_DEPTH} levels)",
        ),
        ({**document(), "extra": nested(MAX_DEPTH)}, "extra", "nested too deeply"),
    ],
)
def test_invalid_documents_name_the_field(doc: Any, field: str, problem: str) -> None:
    with pytest.raises(SnapshotError) as caught:
        Snapshot.from_dict(doc, source="snap.json")
    assert (caught.value.source, caught.value.field) == ("snap.json", field)
    assert problem in caught.value.problem


def test_a_document_at_the_depth_limit_loads() -> None:
    doc = document(networkSecurityGroups=[nsg([])])
    # the document, arm, the section, the NSG, properties: a value 5 levels down
    doc["arm"]["networkSecurityGroups"][0]["properties"]["x"] = nested(MAX_DEPTH - 5)
    Snapshot.from_dict(doc)
    doc["arm"]["networkSecurityGroups"][0]["properties"]["x"] = nested(MAX_DEPTH - 4)
    with pytest.raises(SnapshotError, match="nested too deeply"):
        Snapshot.from_dict(doc)


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 2_000, 100_000])
def test_a_deeply_nested_file_is_a_snapshot_error_naming_it(tmp_path: Path, depth: int) -> None:
    path = tmp_path / "deep.json"
    path.write_text('{"schema": "driftkeeper.snapshot/1", "arm": {"networkSecurityGroups": '
                    + "[" * depth + "]" * depth + "}}")  # fmt: skip

    with pytest.raises(SnapshotError) as caught:
        Snapshot.from_file(path)

    assert caught.value.source == str(path)
    assert "nested too deeply" in caught.value.problem


@pytest.mark.parametrize("key", ["grpah", "ARM", "Graph", "networkSecurityGroups", "$comment"])
def test_a_top_level_key_that_is_no_group_is_a_notice(key: str) -> None:
    doc = {**document(), key: {"conditionalAccessPolicies": []}}

    snapshot = Snapshot.from_dict(doc)

    notice = f"{key}: not a section group (arm, graph); ignored"
    assert snapshot.notices() == [notice]
    assert notice in scan(snapshot, BaselineSet()).skipped


def test_read_errors_of_sections_no_kind_declares_are_notices() -> None:
    doc = document(networkSecurityGroups=[])
    doc["readErrors"] = {
        "arm.keyVaults": "403 Forbidden",
        "graph": "500",
        "graph.conditionalAccessPolicies": "403 Forbidden",
    }

    snapshot = Snapshot.from_dict(doc)

    assert snapshot.read_errors == {"graph.conditionalAccessPolicies": "403 Forbidden"}
    assert snapshot.notices() == [
        "readErrors: arm.keyVaults: no watched kind reads this section; ignored",
        "readErrors: graph: no watched kind reads this section; ignored",
    ]
    assert Snapshot.merge([snapshot, Snapshot.from_dict(document())]).notices() == (
        snapshot.notices()
    )


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(SnapshotError, match="cannot read file"):
        Snapshot.from_file(tmp_path / "none.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(SnapshotError, match="not valid JSON"):
        Snapshot.from_file(bad)


def test_section_status() -> None:
    doc = document(networkSecurityGroups=[], conditionalAccessPolicies=[])
    doc["readErrors"] = {"graph.conditionalAccessPolicies": "403 Forbidden"}
    snap = Snapshot.from_dict(doc)
    assert snap.status("arm.networkSecurityGroups") == "captured"  # empty: none exist
    assert snap.status("arm.roleAssignments") == "missing"
    assert snap.status("graph.conditionalAccessPolicies") == "failed"


def test_raw_list_responses_are_accepted() -> None:
    snap = Snapshot.from_dict(
        document(roleAssignments={"value": [{"id": "/a", "properties": {}}], "nextLink": None})
    )
    assert snap.items("arm.roleAssignments") == [{"id": "/a", "properties": {}}]


def test_az_role_definition_shape() -> None:
    flat = {
        "id": "/x/roleDefinitions/1",
        "name": "1",
        "roleName": "Owner",
        "roleType": "BuiltInRole",
        "type": "Microsoft.Authorization/roleDefinitions",
        "permissions": [],
    }
    [rd] = Snapshot.from_dict(document(roleDefinitions=[flat])).items("arm.roleDefinitions")
    assert rd["type"] == "Microsoft.Authorization/roleDefinitions"
    assert rd["properties"] == {"roleName": "Owner", "type": "BuiltInRole", "permissions": []}


def test_round_trip() -> None:
    doc = healthy()
    doc["readErrors"] = {"graph.directoryRoleEligibilitySchedules": "400 Bad Request"}
    assert json.loads(json.dumps(Snapshot.from_dict(doc).to_dict())) == doc
