"""Parsing events and audit records into signals; anything else is invalid, never a crash."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import azure.functions as func
import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftkeeper.intake import Invalid, parse_event, parse_events, parse_trigger, unreadable
from driftkeeper.signals import Signal
from driftkeeper.store._keys import event_time
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


# --- the trigger's own objects (parsed once, from their attributes) ---------------------------
GRID_EVENTS = [p for p in RESOURCE_EVENTS if "cloudevents" not in p and "custodian" not in p]
CLOUD_EVENTS = [
    *(p for p in RESOURCE_EVENTS if "cloudevents" in p),
    "eventgrid/graph_partner_microsoft_graph_user_deleted.json",
    "eventgrid/graph_partner_microsoft_graph_group_updated.json",
]


def _trigger_time(text: str) -> datetime:
    """What the Functions worker makes of an event time (seven digits cut to six)."""
    return datetime.fromisoformat(text[:26].rstrip("Z")).replace(tzinfo=UTC)


def grid_trigger(doc: dict[str, Any]) -> func.EventGridEvent:
    return func.EventGridEvent(
        id=doc.get("id"),
        data=doc.get("data"),
        topic=doc.get("topic"),
        subject=doc.get("subject"),
        event_type=doc.get("eventType"),
        event_time=_trigger_time(doc["eventTime"]) if doc.get("eventTime") else None,
        data_version=doc.get("dataVersion"),
    )


def cloud_trigger(doc: dict[str, Any]) -> func.CloudEvent:
    return func.CloudEvent(
        id=doc.get("id"),
        source=doc.get("source"),
        type=doc.get("type"),
        specversion=doc.get("specversion") or doc.get("specVersion"),
        data=doc.get("data"),
        time=_trigger_time(doc["time"]) if doc.get("time") else None,
        subject=doc.get("subject"),
    )


@pytest.mark.parametrize(
    ("path", "trigger"),
    [*((p, grid_trigger) for p in GRID_EVENTS), *((p, cloud_trigger) for p in CLOUD_EVENTS)],
)
def test_a_trigger_event_gives_the_signal_its_document_gives(path: str, trigger: Any) -> None:
    doc = corpus(path)
    doc = doc[0] if isinstance(doc, list) else doc  # a delivery (array) of one event
    from_doc, from_trigger = parse_event(doc), parse_trigger(trigger(doc))
    assert isinstance(from_doc, Signal)
    assert isinstance(from_trigger, Signal)
    # the worker hands over a parsed time: the same moment, to the microsecond
    assert event_time(from_trigger.time) == event_time(from_doc.time)
    assert replace(from_trigger, time=from_doc.time) == from_doc


def test_a_naive_trigger_time_is_utc() -> None:
    doc = corpus("eventgrid/egschema_resource_write_success.json")
    event = grid_trigger(doc)
    naive = func.EventGridEvent(
        id=event.id,
        data=event.get_json(),
        topic=event.topic,
        subject=event.subject,
        event_type=event.event_type,
        event_time=datetime(2026, 11, 22, 3, 1, 12),
        data_version=event.data_version,
    )
    signal = parse_trigger(naive)
    assert isinstance(signal, Signal)
    assert signal.time == "2026-11-22T03:01:12Z"


def _grid(**fields: Any) -> func.EventGridEvent:
    doc = corpus("eventgrid/egschema_resource_write_success.json")
    values: dict[str, Any] = {
        "id": doc["id"],
        "data": doc["data"],
        "topic": doc["topic"],
        "subject": doc["subject"],
        "event_type": doc["eventType"],
        "event_time": datetime(2026, 11, 22, 3, 1, 12, tzinfo=UTC),
        "data_version": "2",
    }
    values.update(fields)
    return func.EventGridEvent(**values)


HOSTILE_TRIGGERS = {
    "id not a string": (_grid(id=12345), "id must be a string"),
    "id a list": (_grid(id=["a"]), "id must be a string"),
    "no id": (_grid(id=None), "missing id"),
    "huge id": (_grid(id="x" * 5000), "id longer than"),
    "huge subject": (_grid(subject="/subscriptions/" + "a" * 10_000), "subject longer than"),
    "no event type": (_grid(event_type=None), "missing eventType"),
    "event type not a string": (_grid(event_type=7), "eventType must be a string"),
    "no time": (_grid(event_time=None), "missing eventTime"),
    "time a number": (_grid(event_time=1_700_000_000), "eventTime must be a string"),
}


@pytest.mark.parametrize(
    ("event", "reason"), HOSTILE_TRIGGERS.values(), ids=HOSTILE_TRIGGERS.keys()
)
def test_hostile_trigger_events_are_invalid_not_exceptions(event: Any, reason: str) -> None:
    parsed = parse_trigger(event)
    assert isinstance(parsed, Invalid)
    assert reason in parsed.reason
    assert parsed.id
    assert parsed.source == "eventgrid"


def test_a_lone_surrogate_in_a_trigger_id_is_dropped_and_the_row_keeps_an_id() -> None:
    signal = parse_trigger(_grid(id="abc\ud800def"))
    assert isinstance(signal, Signal)
    assert signal.id == "abcdef"
    only = parse_trigger(_grid(id="\udfff"))
    assert isinstance(only, Signal)
    assert only.id.startswith("sha256:")
    assert only.id == parse_trigger(_grid(id="\udfff")).id  # stable: a redelivery, one row


def test_something_else_is_invalid() -> None:
    parsed = parse_trigger(object())
    assert isinstance(parsed, Invalid)
    assert "not an Event Grid event" in parsed.reason


T0 = "2026-01-01T00:00:00Z"


def grid_doc(**over: Any) -> dict[str, Any]:
    return {"id": "x", "eventType": "t", "subject": "/s", "eventTime": T0, "data": {}, **over}


def cloud_doc(**over: Any) -> dict[str, Any]:
    doc = {"specversion": "1.0", "id": "x", "source": "/s", "type": "t", "time": T0, **over}
    return {k: v for k, v in doc.items() if v is not ...}


def audit_doc(**over: Any) -> dict[str, Any]:
    return {"id": "a", "activityDisplayName": "Add member to role", "activityDateTime": T0, **over}


HOSTILE_DOCUMENTS = {
    "event grid id a number": (grid_doc(id=5), "id must be a string"),
    "event grid subject an object": (grid_doc(subject={}), "subject must be a string"),
    "event grid huge id": (grid_doc(id="i" * 2000), "id longer than"),
    "event grid huge time": (grid_doc(eventTime="2" * 100), "eventTime longer than"),
    "cloudevent without id": (cloud_doc(id=...), "missing id"),
    "cloudevent without time": (cloud_doc(time=...), "missing time"),
    "cloudevent with data and data_base64": (
        cloud_doc(data={}, data_base64="e30="),
        "both data and data_base64",
    ),
    "cloudevent type a number": (cloud_doc(type=3), "type must be a string"),
    "cloudevent empty source": (cloud_doc(source=""), "source is empty"),
    "audit id a number": (audit_doc(id=7), "without id or activityDateTime"),
    "audit time a number": (audit_doc(activityDateTime=20260101), "without id or activityDateTime"),
}


@pytest.mark.parametrize(
    ("item", "reason"), HOSTILE_DOCUMENTS.values(), ids=HOSTILE_DOCUMENTS.keys()
)
def test_hostile_documents_are_invalid_with_the_reason(item: Any, reason: str) -> None:
    parsed = parse_event(item)
    assert isinstance(parsed, Invalid)
    assert reason in parsed.reason
    assert parsed.id


ANY_TEXT = st.text(  # lone surrogates and control characters included, often
    st.characters(categories=("L", "N", "P", "S", "Z", "C"))
    | st.sampled_from(["\ud800", "\udfff", "\x00", "\u200b", "~"]),
    max_size=30,
)
WIRE = st.none() | st.booleans() | st.integers() | ANY_TEXT | st.lists(ANY_TEXT, max_size=2)


@given(
    ident=WIRE,
    subject=WIRE,
    event_type=WIRE,
    data=st.dictionaries(ANY_TEXT, WIRE, max_size=4) | WIRE,
    when=st.none() | st.datetimes() | ANY_TEXT,
)
def test_any_trigger_event_never_raises(
    ident: Any, subject: Any, event_type: Any, data: Any, when: Any
) -> None:
    grid = _grid(id=ident, subject=subject, event_type=event_type, data=data, event_time=when)
    cloud = func.CloudEvent(
        id=ident, source=subject, type=event_type, specversion="1.0", data=data, time=when,
        subject=subject,
    )  # fmt: skip
    for event in (grid, cloud):
        parsed = parse_trigger(event)
        assert isinstance(parsed, Signal | Invalid)
        assert parsed.id
        assert parsed.id.isprintable()


@given(st.dictionaries(KEYS, WIRE, max_size=10))
def test_surrogates_and_odd_types_in_documents_never_raise(item: dict[str, Any]) -> None:
    parsed = parse_event(item)
    assert isinstance(parsed, Signal | Invalid)
    assert parsed.id


def _nested(depth: int, as_list: bool) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = [value] if as_list else {"id": None, "a": value}
    return value


@pytest.mark.parametrize("as_list", [True, False], ids=["lists", "objects"])
@pytest.mark.parametrize("depth", [5_000, 20_000])
def test_an_item_nested_past_the_json_encoder_is_invalid_with_a_stable_id(
    depth: int, as_list: bool
) -> None:
    # given an item nested deeper than json.dumps can go (it raised RecursionError)
    item = _nested(depth, as_list)
    # when it is parsed, then it is invalid, keyed by a digest that a redelivery repeats
    [first] = parse_events([item])
    assert isinstance(first, Invalid)
    assert first.reason
    assert first.id.startswith("sha256:")
    assert parse_event(_nested(depth, as_list)).id == first.id
    assert parse_event(_nested(depth + 1, as_list)).id != first.id


class _NotAnEvent:
    def __init__(self, marker: str) -> None:
        self.marker = marker


def test_something_else_gets_the_same_id_on_every_delivery() -> None:
    # the object's default repr names its address: it must not be what the id is made of
    assert parse_trigger(_NotAnEvent("a")).id == parse_trigger(_NotAnEvent("a")).id


@pytest.mark.parametrize(
    ("event", "keyed_by_id"),
    [
        pytest.param(_grid(id="evt-1"), True, id="an-id"),
        pytest.param(_grid(id=["evt-1"]), False, id="a-list-id"),
        pytest.param(_grid(id="\ud800" * 3), False, id="nothing-printable"),
        pytest.param(_grid(id="x" * 5000), False, id="huge-id"),
    ],
)
def test_an_event_that_could_not_be_processed_is_invalid_with_the_reason(
    event: Any, keyed_by_id: bool
) -> None:
    # when a trigger's event could not be processed at all
    invalid = unreadable(event, "not processed: ValueError: boom")
    # then it is invalid with that reason, keyed by its id or by a stable digest
    assert (invalid.reason, invalid.source) == ("not processed: ValueError: boom", "eventgrid")
    assert (invalid.id == "evt-1") is keyed_by_id
    assert invalid.id == unreadable(event, "again").id
    if not keyed_by_id:
        assert invalid.id.startswith("sha256:")
