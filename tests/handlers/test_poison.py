"""The Event Grid functions and a poison event: only a transient failure fails the trigger
(Event Grid retries it); anything else is recorded ``invalid`` with the reason and
acknowledged, so Event Grid never retries a message that cannot succeed."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ServiceRequestError

import driftkeeper.intake
from driftkeeper import SettingsError, TransientReadError, runtime
from driftkeeper.runtime import Runtime
from tests.handlers.test_resource_events import app, burst, grid_event, rows, store

__all__ = ["app", "store"]  # the fixtures of the resource-event tests, shared


def _status(status: int) -> HttpResponseError:
    error = HttpResponseError(message=f"{status} from the service")
    error.status_code = status
    return error


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (ValueError("cannot happen"), "not processed: ValueError: cannot happen"),
        (RecursionError(), "not processed: RecursionError"),
        (_status(400), "not processed: HttpResponseError: 400 from the service"),
    ],
    ids=["bug", "recursion", "http-400"],
)
def test_a_poison_event_is_recorded_invalid_and_acknowledged(
    functions: dict[str, Any],
    app: Runtime,
    monkeypatch: pytest.MonkeyPatch,
    error: Exception,
    reason: str,
) -> None:
    # given an event whose processing raises something a retry cannot fix
    def poisoned(event: Any) -> Any:
        raise error

    monkeypatch.setattr(driftkeeper.intake, "parse_trigger", poisoned)
    doc = burst()[0]
    # when the host calls the function, then it returns: Event Grid does not retry
    functions["arm_events"].get_user_function()(grid_event(doc))
    # and the event's row is invalid, with the reason
    [row] = rows(app)
    assert (row.signal_id, row.outcome, row.message) == (doc["id"], "invalid", reason)
    assert row.source == "eventgrid"


@pytest.mark.parametrize(
    "error",
    [TransientReadError("graph: 503"), ServiceRequestError("refused"), _status(503)],
    ids=["read", "store", "http-503"],
)
def test_a_transient_failure_fails_the_trigger_and_records_nothing(
    functions: dict[str, Any],
    app: Runtime,
    monkeypatch: pytest.MonkeyPatch,
    error: Exception,
) -> None:
    def unavailable(event: Any) -> Any:
        raise error

    monkeypatch.setattr(driftkeeper.intake, "parse_trigger", unavailable)
    with pytest.raises(type(error)):
        functions["arm_events"].get_user_function()(grid_event(burst()[0]))
    assert rows(app) == []


def test_unusable_settings_fail_the_trigger(
    functions: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # not about the event: once the setting is fixed, Event Grid's retry succeeds
    def misconfigured() -> Runtime:
        raise SettingsError("DRIFTKEEPER_STORAGE_CONNECTION", "is not set")

    monkeypatch.setattr(runtime, "current", misconfigured)
    with pytest.raises(SettingsError):
        functions["arm_events"].get_user_function()(grid_event(burst()[0]))
