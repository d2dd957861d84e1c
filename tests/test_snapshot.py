"""The snapshot document: validation, az shapes, not-captured vs failed sections."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from driftkeeper import Snapshot, SnapshotError
from tests.builders import document, healthy


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
    ],
)
def test_invalid_documents_name_the_field(doc: Any, field: str, problem: str) -> None:
    with pytest.raises(SnapshotError) as caught:
        Snapshot.from_dict(doc, source="snap.json")
    assert (caught.value.source, caught.value.field) == ("snap.json", field)
    assert problem in caught.value.problem


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
        document(roleAssignments={"value": [{"properties": {}}], "nextLink": None})
    )
    assert snap.items("arm.roleAssignments") == [{"properties": {}}]


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
