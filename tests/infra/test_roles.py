"""Every role definition id in infra/ comes from an allow-list that names it, and every role
assignment is to one principal with a principalType (never a group of unknown size)."""

from __future__ import annotations

from ._bicep import GUID, bicep_files, relative, text_without_comments

ALLOWED_ROLES = {
    "acdd72a7-3385-48ef-bd42-f606fba81ae7": "Reader",
    "4633458b-17de-408a-b874-0445c86b69e6": "Key Vault Secrets User",
    "3913510d-42f4-4e42-8a64-420c390055eb": "Monitoring Metrics Publisher",
    "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3": "Storage Table Data Contributor",
    "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "Storage Blob Data Owner",
    "974c5e8b-45b9-4653-ba55-5f855dd0fb88": "Storage Queue Data Contributor",
    "ba92f5b4-2d11-453d-a403-e96b0029c9fe": "Storage Blob Data Contributor",
    "2b629674-e913-4c01-ae53-ef4638d8f975": "Azure Event Hubs Data Sender",
    "a638d3c7-ab3a-418d-83e6-5f17a39d4fde": "Azure Event Hubs Data Receiver",
}
"""Built-in roles the templates assign, each to driftkeeper's identity or an Event Grid
topic's, on the narrowest scope that works."""

NEVER_GRANTED = {
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": "User Access Administrator",
    "f58310d9-a9f6-439a-9e8d-f62e7b41a168": "Role Based Access Control Administrator",
}
"""Roles that may appear only in rollback-role.bicep's assignment condition, as the roles
the rollback role can never grant."""


def test_every_role_id_is_allowed_and_named() -> None:
    found = {}
    for path in bicep_files():
        for guid in GUID.findall(text_without_comments(path)):
            guid = guid.lower()
            if path.name == "rollback-role.bicep" and guid in NEVER_GRANTED:
                continue
            assert guid in ALLOWED_ROLES, f"{relative(path)}: role id {guid} is not allow-listed"
            found[guid] = ALLOWED_ROLES[guid]
    assert "Reader" in found.values()


def test_no_privileged_role_outside_the_rollback_condition() -> None:
    for path in bicep_files():
        if path.name == "rollback-role.bicep":
            continue
        text = text_without_comments(path).lower()
        for guid, name in NEVER_GRANTED.items():
            assert guid not in text, f"{relative(path)} references {name}"


def test_every_role_assignment_names_a_service_principal() -> None:
    for path in bicep_files():
        text = text_without_comments(path)
        blocks = text.split("Microsoft.Authorization/roleAssignments@")[1:]
        for block in blocks:
            body = block.split("\n}\n", 1)[0]
            assert "principalType: 'ServicePrincipal'" in body, relative(path)
            assert "roleDefinitionId:" in body, relative(path)


def test_the_lists_agree_with_the_kinds_role_names() -> None:
    # one spelling of each built-in role id in the repository: a mistyped GUID in a
    # condition would silently let that role through
    from driftkeeper.kinds.role_assignments import BUILTIN_ROLES

    for guid, name in {**ALLOWED_ROLES, **NEVER_GRANTED}.items():
        if guid in BUILTIN_ROLES:
            assert BUILTIN_ROLES[guid] == name
    for guid, name in BUILTIN_ROLES.items():
        if name in NEVER_GRANTED.values():
            assert NEVER_GRANTED.get(guid) == name, f"{name}: {guid}"


def test_the_rollback_condition_names_all_three_forbidden_roles() -> None:
    path = next((p for p in bicep_files() if p.name == "rollback-role.bicep"), None)
    if path is None:  # supplied by another branch (PENDING_MODULES)
        return
    text = path.read_text(encoding="utf-8").lower()
    for guid, name in NEVER_GRANTED.items():
        assert guid in text, f"rollback-role.bicep does not name {name} ({guid})"
