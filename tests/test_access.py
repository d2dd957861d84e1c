"""The one access check of the HTTP routes: 503 without trusted authentication, 401 without
a principal, 403 for a caller not named, the principal otherwise."""

from __future__ import annotations

import pytest

from driftkeeper.access import Refusal, caller
from driftkeeper.config import Settings
from tests.rollback.builders import ALICE, BOB, EVE, principal_header

READERS = ("bob@contoso.example",)
APPROVERS = (ALICE.object_id,)
ON = Settings(auth_enabled=True, readers=READERS, approvers=APPROVERS)


@pytest.mark.parametrize(
    ("settings", "who", "role", "status"),
    [
        (Settings(readers=READERS, approvers=APPROVERS), ALICE, "read", 503),
        (ON, None, "read", 401),
        (ON, EVE, "read", 403),
        (ON, EVE, "approve", 403),
        (ON, BOB, "approve", 403),
        (ON, BOB, "read", None),
        (ON, ALICE, "read", None),
        (ON, ALICE, "approve", None),
        (Settings(local_auth="trust-header", approvers=APPROVERS), ALICE, "approve", None),
    ],
    ids=[
        "authentication off",
        "no principal",
        "not a reader",
        "not an approver",
        "a reader cannot approve",
        "a reader reads",
        "an approver reads",
        "an approver approves",
        "local development",
    ],
)
def test_caller(settings: Settings, who: object, role: str, status: int | None) -> None:
    headers = {} if who is None else {"x-ms-client-principal": principal_header(who)}  # type: ignore[arg-type]
    got = caller(headers, settings, role)  # type: ignore[arg-type]
    if status is None:
        assert not isinstance(got, Refusal)
        assert got.object_id == who.object_id  # type: ignore[attr-defined]
    else:
        assert isinstance(got, Refusal)
        assert got.status_code == status
