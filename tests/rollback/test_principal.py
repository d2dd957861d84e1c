"""X-MS-CLIENT-PRINCIPAL: what App Service Authentication sends, and what it must not be."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftkeeper.rollback._principal import (
    MAX_HEADER_BYTES,
    Principal,
    canonical_id,
    is_approver,
    parse_client_principal,
)

OID = "6f1c2a3b-1111-4c55-9a51-0000000000a1"
GROUP = "0b0e5a5c-2222-4d66-8b62-0000000000b2"
OID_CLAIM = "http://schemas.microsoft.com/identity/claims/objectidentifier"
UPN_CLAIM = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"


def header(claims: list[dict[str, Any]], **extra: Any) -> str:
    doc = {"auth_typ": "aad", "name_typ": "name", "role_typ": "roles", "claims": claims, **extra}
    return base64.b64encode(json.dumps(doc).encode()).decode()


def claims(**values: str) -> list[dict[str, str]]:
    return [{"typ": typ, "val": val} for typ, val in values.items()]


def test_an_entra_principal_is_read_from_its_claims() -> None:
    # given the claims App Service sends for an Entra sign-in
    sent = header(
        [
            {"typ": OID_CLAIM, "val": OID.upper()},
            {"typ": "preferred_username", "val": "Alice@Contoso.example"},
            {"typ": "name", "val": "Alice Example"},
            {"typ": "groups", "val": GROUP},
            {"typ": "groups", "val": "not-a-guid"},
        ]
    )
    # when it is parsed
    principal = parse_client_principal(sent)
    # then the object id is canonical and groups keep only GUIDs
    assert principal == Principal(OID, "Alice@Contoso.example", "Alice Example", (GROUP,))


@pytest.mark.parametrize(
    ("upn_claim", "oid_claim"),
    [("upn", "oid"), (UPN_CLAIM, OID_CLAIM), ("preferred_username", "oid")],
)
def test_the_claim_spellings_are_all_read(upn_claim: str, oid_claim: str) -> None:
    principal = parse_client_principal(header(claims(**{oid_claim: OID, upn_claim: "a@b.example"})))
    assert principal is not None
    assert (principal.object_id, principal.upn) == (OID, "a@b.example")


def test_url_safe_base64_without_padding_is_read() -> None:
    doc = json.dumps({"claims": claims(oid=OID)}).encode()
    sent = base64.urlsafe_b64encode(doc).decode().rstrip("=")
    assert parse_client_principal(sent) == Principal(OID)


@pytest.mark.parametrize(
    "sent",
    [
        None,
        "",
        "%%%not-base64%%%",
        base64.b64encode(b"not json").decode(),
        base64.b64encode(b"[]").decode(),
        base64.b64encode(b'{"claims": {}}').decode(),
        base64.b64encode(b'{"claims": ["x"]}').decode(),
        base64.b64encode(b"\xff\xfe").decode(),
        header(claims(name="no object id")),
        header(claims(oid="not-a-guid")),
        header(claims(oid=OID + "\n")),
        header([{"typ": "oid", "val": 7}]),
    ],
    ids=[
        "missing",
        "empty",
        "not-base64",
        "not-json",
        "not-an-object",
        "claims-not-a-list",
        "claim-not-an-object",
        "not-utf8",
        "no-object-id",
        "object-id-not-a-guid",
        "control-character",
        "value-not-a-string",
    ],
)
def test_an_unusable_header_names_nobody(sent: str | None) -> None:
    assert parse_client_principal(sent) is None


def test_a_header_over_16_kib_is_refused_unread() -> None:
    # given a valid header padded past the limit with group claims
    groups = [{"typ": "groups", "val": GROUP}] * 400
    sent = header([*claims(oid=OID), *groups])
    assert len(sent) > MAX_HEADER_BYTES
    # then it is refused, while the same principal in a small header is read
    assert parse_client_principal(sent) is None
    assert parse_client_principal(header(claims(oid=OID))) == Principal(OID)


@given(st.text(max_size=300))
def test_any_text_parses_or_is_none_and_never_raises(text: str) -> None:
    result = parse_client_principal(text)
    assert result is None or canonical_id(result.object_id) == result.object_id


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
        max_leaves=20,
    )
)
def test_any_json_parses_or_is_none_and_never_raises(doc: Any) -> None:
    sent = base64.b64encode(json.dumps({"claims": doc}).encode()).decode()
    result = parse_client_principal(sent)
    assert result is None or canonical_id(result.object_id) == result.object_id


ALICE = Principal(OID, "Alice@Contoso.example", "Alice", (GROUP,))


@pytest.mark.parametrize(
    ("approvers", "expected"),
    [
        ([OID], True),
        ([OID.upper()], True),
        (["{" + OID + "}"], False),  # the settings canonicalize; the check compares canonical
        (["alice@contoso.example"], True),
        (["ALICE@CONTOSO.EXAMPLE"], True),
        ([GROUP.upper()], True),
        (["bob@contoso.example", "6f1c2a3b-1111-4c55-9a51-0000000000ff"], False),
        ([], False),
        (["Alice"], False),  # a display name is not an identity
    ],
)
def test_approvers_are_matched_by_id_upn_or_group(approvers: list[str], expected: bool) -> None:
    assert is_approver(ALICE, approvers) is expected


def test_a_principal_without_upn_never_matches_an_empty_entry() -> None:
    assert not is_approver(Principal(OID), ["", " "])
