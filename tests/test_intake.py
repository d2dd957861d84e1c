"""Parsing events and audit records into signals; anything else is invalid, never a crash."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftkeeper.intake import Invalid, parse_event, parse_events
from driftkeeper.signals import Signal
from tests.builders import corpus

RESOURCE_EVENTS = [
    "eventgrid/egschema_resource_write_success.json",
    "eventgrid/egschema_resource_delete_success.json",
    "eventgrid/egschema_resource_action_success.json",
    "eventgrid/egschema_resource_write_failure.json",
    "eventgrid/cloudevents_resource_write_success.json",
    "eventgrid/cloudevents_resource_write_failure.json",  # specVersion spelling
    "eventgrid/cloudevents_resource_delete_success.json",  # specVersion spelling
    "eventgrid/cloudevents_resource_action_success.json",
    "eventgrid/docs_subscription_topic_resource_write_success.json",
    "eventgrid/sdkjava_ResourceWriteSuccessEvent.json",
    "eventgrid/sdkjava_ResourceDeleteSuccessEvent_stringified_fields.json",
    "custodian/test_policy_mode.get_sample_event.json",
]


@pytest.mark.parametrize("path", RESOURCE_EVENTS)
def test_resource_events_parse(path: str) -> None:
    [signal] = parse_events(corpus(path))
    assert isinstance(signal, Signal)
    assert signal.type.startswith("Microsoft.Resources.Resource")
    assert signal.resource.startswith("/subscriptions/")
    assert signal.status == ("failed" if "Failure" in signal.type else "succeeded")


def test_actor_comes_from_claims_and_http_request() -> None:
    [signal] = parse_events(corpus("eventgrid/egschema_resource_write_success.json"))
    assert isinstance(signal, Signal)
    assert signal.actor.upn == "{user-name}"
    assert signal.actor.app_id == "{ID}"
    assert signal.actor.ip == "{IP-address}"
    assert signal.operation == "Microsoft.Storage/storageAccounts/write"
    assert signal.correlation_id


def test_data_as_a_json_string_parses() -> None:
    event = corpus("eventgrid/egschema_resource_write_success.json")
    event["data"] = json.dumps(event["data"])
    [signal] = parse_events(event)
    assert isinstance(signal, Signal)
    assert signal.actor.upn == "{user-name}"


def test_stringified_claims_and_authorization() -> None:
    [signal] = parse_events(
        corpus("eventgrid/sdkjava_ResourceDeleteSuccessEvent_stringified_fields.json")
    )
    assert isinstance(signal, Signal)
    assert signal.actor.ip == "ipAddressValue"


def test_graph_notifications_name_the_user_or_group() -> None:
    [user] = parse_events(corpus("eventgrid/graph_partner_microsoft_graph_user_deleted.json"))
    [group] = parse_events(corpus("eventgrid/graph_partner_microsoft_graph_group_updated.json"))
    assert isinstance(user, Signal)
    assert isinstance(group, Signal)
    assert (user.source, user.targets) == ("graph-notification", ("user:<user-id>",))
    assert group.targets[0].startswith("group:")


@pytest.mark.parametrize(
    "path",
    [
        "graph/directoryAudits_list_v1.0_example1_add_member_to_group.json",
        "graph/directoryAudits_list_v1.0_example2_filter_initiatedBy.json",
        "graph/directoryAudit_get_v1.0_targetResource_singular.json",
    ],
)
def test_audit_list_responses_parse(path: str) -> None:
    parsed = parse_events(corpus(path))
    assert parsed
    assert all(isinstance(p, Signal) and p.source == "audit" for p in parsed)


def test_audit_record_targets_and_actor() -> None:
    [signal] = parse_events(corpus("graph/directoryAudit_beta_update_user_modifiedProperties.json"))
    assert isinstance(signal, Signal)
    assert signal.category == "UserManagement"
    assert signal.targets == ("user:2c940657-1026-4386-bcfd-3176637ba01f",)
    assert signal.actor.upn


def test_role_template_ids_come_from_modified_properties() -> None:
    record = {
        "id": "Directory_1",
        "category": "RoleManagement",
        "activityDisplayName": "Add member to role",
        "activityDateTime": "2026-11-22T10:00:00Z",
        "result": "success",
        "initiatedBy": {
            "user": {
                "id": "u1",
                "userPrincipalName": "eve@contoso.com",
                "ipAddress": "198.51.100.7",
            }
        },
        "targetResources": [
            {
                "id": "victim",
                "type": "User",
                "modifiedProperties": [
                    {
                        "displayName": "Role.TemplateId",
                        "oldValue": None,
                        "newValue": '"62E90394-69F5-4237-9190-012177145E10"',
                    },
                ],
            },
        ],
    }
    signal = parse_event(record)
    assert isinstance(signal, Signal)
    assert signal.targets_of("roletemplate") == ["62e90394-69f5-4237-9190-012177145e10"]
    assert signal.targets_of("user") == ["victim"]


INVALID = {
    "not an object": ["a", "list"],
    "unknown shape": {"hello": "world"},
    "event grid without data": {
        "id": "x",
        "eventType": "Microsoft.Resources.ResourceWriteSuccess",
        "subject": "/s",
    },
    "cloudevent without source": {"id": "x", "specversion": "1.0", "type": "t"},
    "cloudevent with upper-case extension": corpus(
        "eventgrid/cloudevents_resource_delete_failure_tsp_example.json"
    ),
    "audit without time": {"id": "a", "activityDisplayName": "Add member to role"},
}


@pytest.mark.parametrize("item", INVALID.values(), ids=INVALID.keys())
def test_malformed_items_are_invalid_with_a_reason(item: Any) -> None:
    parsed = parse_event(item)
    assert isinstance(parsed, Invalid)
    assert parsed.reason


def test_items_without_id_get_a_stable_id() -> None:
    first, second = parse_event({"hello": 1}), parse_event({"hello": 1})
    assert first.id == second.id
    assert first.id.startswith("sha256:")


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=20,
)
KEYS = st.sampled_from(
    [
        "id",
        "eventType",
        "subject",
        "eventTime",
        "data",
        "dataVersion",
        "specversion",
        "specVersion",
        "type",
        "source",
        "time",
        "activityDisplayName",
        "activityDateTime",
        "targetResources",
        "initiatedBy",
        "category",
    ]
)


@given(st.dictionaries(KEYS, JSON, max_size=10))
def test_arbitrary_input_never_raises(item: dict[str, Any]) -> None:
    parsed = parse_event(item)
    assert isinstance(parsed, Signal | Invalid)
    assert parsed.id
