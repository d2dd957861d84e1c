"""Every public sample in tests/corpus that is a kind's state parses and evaluates."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from driftkeeper import Snapshot
from driftkeeper.engine import scan
from tests.builders import baselines_of, corpus, document, nsg


def _body(example: dict[str, Any], status: str = "200") -> Any:
    return example["responses"][status]["body"]


def _cassette(path: str, marker: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for interaction in corpus(path)["interactions"]:
        if marker in interaction["request"]["uri"] and interaction["request"]["method"] == "GET":
            data = interaction["response"]["body"].get("data")
            if isinstance(data, dict) and isinstance(data.get("value"), list):
                items += data["value"]
    return items


def _rules_nsg(*rules: dict[str, Any]) -> list[dict[str, Any]]:
    return [nsg(list(rules))]


SAMPLES: dict[str, Any] = {
    "arm/network_NetworkSecurityGroupGet": lambda: {
        "networkSecurityGroups": [
            _body(corpus("arm/network_NetworkSecurityGroupGet_2024-05-01.json"))
        ]
    },
    "arm/network_NetworkSecurityGroupCreateWithRule (201)": lambda: {
        "networkSecurityGroups": [
            _body(corpus("arm/network_NetworkSecurityGroupCreateWithRule_2024-05-01.json"), "201")
        ]
    },
    "arm/network_NetworkSecurityGroupRuleGet": lambda: {
        "networkSecurityGroups": _rules_nsg(
            _body(corpus("arm/network_NetworkSecurityGroupRuleGet_2024-05-01.json"))
        )
    },
    "arm/network_NetworkSecurityGroupRuleCreate (201)": lambda: {
        "networkSecurityGroups": _rules_nsg(
            _body(corpus("arm/network_NetworkSecurityGroupRuleCreate_2024-05-01.json"), "201")
        )
    },
    "arm/recorded_securityRule_put_201_open_ports": lambda: {
        "networkSecurityGroups": _rules_nsg(
            corpus("arm/recorded_securityRule_put_201_open_ports.json")
        )
    },
    "arm/recorded_nsg_list_before_open_ports": lambda: {
        "networkSecurityGroups": corpus("arm/recorded_nsg_list_before_open_ports.json")
    },
    "arm/recorded_nsg_list_after_open_ports": lambda: {
        "networkSecurityGroups": corpus("arm/recorded_nsg_list_after_open_ports.json")
    },
    "arm/authorization_RoleAssignments_Get": lambda: {
        "roleAssignments": [_body(corpus("arm/authorization_RoleAssignments_Get_2022-04-01.json"))]
    },
    "arm/authorization_RoleAssignments_ListForScope": lambda: {
        "roleAssignments": _body(
            corpus("arm/authorization_RoleAssignments_ListForScope_2022-04-01.json")
        )
    },
    "arm/authorization_RoleAssignments_ListForResourceGroup": lambda: {
        "roleAssignments": _body(
            corpus("arm/authorization_RoleAssignments_ListForResourceGroup_2022-04-01.json")
        )
    },
    "arm/authorization_RoleAssignments_CreateForSubscription (201)": lambda: {
        "roleAssignments": [
            _body(
                corpus("arm/authorization_RoleAssignments_CreateForSubscription_2022-04-01.json"),
                "201",
            )
        ]
    },
    "arm/recorded_roleAssignments_list_subscription + roleDefinitions": lambda: {
        "roleAssignments": corpus("arm/recorded_roleAssignments_list_subscription.json"),
        "roleDefinitions": [
            corpus(f"arm/recorded_roleDefinition_{r}.json")
            for r in ("Owner", "Contributor", "Reader")
        ]
        + [_body(corpus("arm/authorization_GetRoleDefinitionById_2022-04-01.json"))],
    },
    "custodian/NetworkSecurityGroupTest.test_find_by_name": lambda: {
        "networkSecurityGroups": _cassette(
            "custodian/NetworkSecurityGroupTest.test_find_by_name.json", "networkSecurityGroups"
        )
    },
    "custodian/NetworkSecurityGroupTest.test_no_cidr_no_ports": lambda: {
        "networkSecurityGroups": _cassette(
            "custodian/NetworkSecurityGroupTest.test_no_cidr_no_ports.json", "networkSecurityGroups"
        )
    },
    "custodian/AccessControlTest.test_find_assignments_by_resources": lambda: {
        "roleAssignments": _cassette(
            "custodian/AccessControlTest.test_find_assignments_by_resources.json", "roleAssignments"
        )
    },
    "custodian/AccessControlTest.test_find_definition_by_name": lambda: {
        "roleDefinitions": _cassette(
            "custodian/AccessControlTest.test_find_definition_by_name.json", "roleDefinitions"
        )
    },
    "graph/conditionalAccess_policies_list": lambda: {
        "conditionalAccessPolicies": corpus("graph/conditionalAccess_policies_list_v1.0.json")
    },
    "graph/conditionalAccess_policy_get": lambda: {
        "conditionalAccessPolicies": [corpus("graph/conditionalAccess_policy_get_v1.0.json")]
    },
    "graph/entra_ca_policy_audit_modifiedProperty_newValue": lambda: {
        "conditionalAccessPolicies": [
            corpus("graph/entra_ca_policy_audit_modifiedProperty_newValue.json")
        ]
    },
    "graph/roleManagement_directory_roleAssignments_expand_principal_GA": lambda: {
        "directoryRoleAssignments": corpus(
            "graph/roleManagement_directory_roleAssignments_v1.0_expand_principal_GA.json"
        )
    },
    "graph/roleManagement_directory_roleAssignments_filter_principalId": lambda: {
        "directoryRoleAssignments": corpus(
            "graph/roleManagement_directory_roleAssignments_v1.0_filter_principalId.json"
        )
    },
    "graph/policies_identitySecurityDefaultsEnforcementPolicy_get": lambda: {
        "securityDefaults": corpus(
            "graph/policies_identitySecurityDefaultsEnforcementPolicy_get_v1.0.json"
        )
    },
    "graph/policies_identitySecurityDefaultsEnforcementPolicy_PATCH_request": lambda: {
        "securityDefaults": corpus(
            "graph/policies_identitySecurityDefaultsEnforcementPolicy_PATCH_request_disable.json"
        )
    },
    "graph/policies_authenticationMethodsPolicy_get": lambda: {
        "authenticationMethodsPolicy": corpus(
            "graph/policies_authenticationMethodsPolicy_get_v1.0.json"
        )
    },
}


# An empty NSG list, and role definitions alone (labels for role assignments), hold no setting.
NO_SETTINGS = {
    "custodian/NetworkSecurityGroupTest.test_no_cidr_no_ports",
    "custodian/AccessControlTest.test_find_definition_by_name",
}


@pytest.mark.parametrize(("name", "sections"), SAMPLES.items(), ids=SAMPLES.keys())
def test_sample_parses_captures_and_scans_clean(name: str, sections: Any) -> None:
    doc = document(**sections())
    snapshot = Snapshot.from_dict(copy.deepcopy(doc))
    baselines = baselines_of(doc)
    assert bool(baselines.baselines) == (name not in NO_SETTINGS)
    report = scan(snapshot, baselines)
    assert report.errors == 0
    assert [f for f in report.findings if not f.rule.startswith("guard:")] == []


def test_ca_audit_old_to_new_value_is_drift_on_terms_of_use_only() -> None:
    old = document(
        conditionalAccessPolicies=[
            corpus("graph/entra_ca_policy_audit_modifiedProperty_oldValue.json")
        ]
    )
    new = document(
        conditionalAccessPolicies=[
            corpus("graph/entra_ca_policy_audit_modifiedProperty_newValue.json")
        ]
    )
    [finding] = scan(Snapshot.from_dict(new), baselines_of(old), guards="none").findings
    assert [(c.path, c.expected, c.actual) for c in finding.changes] == [
        ("grantControls.termsOfUse", ["a0d3eb5b-6cbe-472b-a960-0baacbd02b51"], None)
    ]


def test_recorded_nsg_before_to_after_is_drift_with_the_opened_rules() -> None:
    before = document(networkSecurityGroups=corpus("arm/recorded_nsg_list_before_open_ports.json"))
    after = document(networkSecurityGroups=corpus("arm/recorded_nsg_list_after_open_ports.json"))
    [finding] = scan(Snapshot.from_dict(after), baselines_of(before), guards="none").findings
    added = sorted(c.path for c in finding.changes if c.expected is None)
    assert added == [
        "rules[c7n-policy-baea42b8-85e7-11eb-b168-00155d1e47af]",
        "rules[test1]",
        "rules[test2]",
        "rules[test3]",
    ]
