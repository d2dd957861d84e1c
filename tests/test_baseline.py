"""Baseline files: a bad file names the file, the field and what was expected."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from driftkeeper import BaselineError
from driftkeeper.baseline import GuardSettings, baseline_schema, load_baselines
from driftkeeper.kinds import all_kinds

NSG = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/n"
GOOD_RULE = {
    "name": "r",
    "priority": 100,
    "direction": "Inbound",
    "access": "Allow",
    "protocol": "Tcp",
    "destinationPortRanges": ["443"],
    "sourceAddressPrefixes": ["*"],
}


def write(tmp_path: Path, name: str, doc: object) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc), encoding="utf-8")
    return path


def nsg_doc(**overrides: object) -> dict[str, object]:
    return {"kind": "nsg", "scope": NSG, "expected": {"rules": [dict(GOOD_RULE)]}, **overrides}


def test_good_file_loads_with_defaults(tmp_path: Path) -> None:
    write(tmp_path, "nsg/web.yaml", nsg_doc())
    [baseline] = load_baselines(tmp_path).baselines
    assert (baseline.name, baseline.response, baseline.severity) == ("web", "alert", "high")
    assert baseline.key == NSG.casefold()


BAD = {
    "unknown kind": ({"kind": "nsgs", "scope": NSG, "expected": {}}, "kind", "expected one of"),
    "bad response": (
        nsg_doc(response="rollback"),
        "response",
        "expected one of alert, approve, auto",
    ),
    "bad severity": (
        nsg_doc(severity="urgent"),
        "severity",
        "expected one of low, medium, high, critical",
    ),
    "missing scope": ({"kind": "nsg", "expected": {"rules": []}}, "scope", "is required"),
    "missing expected": ({"kind": "nsg", "scope": NSG}, "expected", "is required"),
    "owners not a list": (nsg_doc(owners="ops@contoso.com"), "owners", "expected array"),
    "unknown top-level field": (nsg_doc(respnse="alert"), "(document)", "unknown field"),
    "priority not a number": (
        nsg_doc(expected={"rules": [{**GOOD_RULE, "priority": "high"}]}),
        "expected.rules[0].priority",
        "expected integer",
    ),
    "bad port": (
        nsg_doc(expected={"rules": [{**GOOD_RULE, "destinationPortRanges": ["ssh"]}]}),
        "expected.rules[0].destinationPortRanges",
        "expected a port",
    ),
    "port out of range": (
        nsg_doc(expected={"rules": [{**GOOD_RULE, "destinationPortRanges": ["70000"]}]}),
        "expected.rules[0].destinationPortRanges",
        "within 0-65535",
    ),
    "bad protocol": (
        nsg_doc(expected={"rules": [{**GOOD_RULE, "protocol": "http"}]}),
        "expected.rules[0].protocol",
        "expected a protocol",
    ),
    "duplicate rule": (
        nsg_doc(expected={"rules": [GOOD_RULE, GOOD_RULE]}),
        "expected.rules[1].name",
        "appears twice",
    ),
    "bad CA scope": (
        {
            "kind": "conditional-access-policy",
            "scope": "policy-1",
            "expected": {"state": "enabled"},
        },
        "scope",
        "pattern",
    ),
    "guard unknown": ({"kind": "guard", "guard": "no-such"}, "guard", "expected one of"),
    "guard param": (
        {"kind": "guard", "guard": "global-admin-count", "params": {"max": "four"}},
        "params.max",
        "expected integer",
    ),
    "not a mapping": (["kind", "nsg"], "(document)", "expected a mapping"),
}


@pytest.mark.parametrize(("doc", "field", "problem"), BAD.values(), ids=BAD.keys())
def test_bad_file_names_file_and_field(
    tmp_path: Path, doc: object, field: str, problem: str
) -> None:
    path = write(tmp_path, "bad.yaml", doc)
    with pytest.raises(BaselineError) as caught:
        load_baselines(tmp_path)
    assert caught.value.file == str(path)
    assert caught.value.field == field
    assert problem in caught.value.problem
    assert str(path) in str(caught.value)


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "broken.yaml", "kind: nsg\nscope: [unclosed\n")
    with pytest.raises(BaselineError) as caught:
        load_baselines(tmp_path)
    assert caught.value.file == str(path)
    assert caught.value.field.startswith("line ")
    assert "not valid YAML" in caught.value.problem


def test_two_files_for_one_scope_name_both(tmp_path: Path) -> None:
    first = write(tmp_path, "a.yaml", nsg_doc())
    second = write(tmp_path, "b.yml", nsg_doc(scope=NSG.upper()))
    with pytest.raises(BaselineError) as caught:
        load_baselines(tmp_path)
    assert caught.value.file == str(second)
    assert str(first) in caught.value.problem


def test_guard_settings_file(tmp_path: Path) -> None:
    write(
        tmp_path,
        "guards/ga.yaml",
        {
            "kind": "guard",
            "guard": "global-admin-count",
            "params": {"max": 5},
            "severity": "critical",
        },
    )
    loaded = load_baselines(tmp_path)
    assert loaded.guards["global-admin-count"] == GuardSettings(
        "global-admin-count",
        str(tmp_path / "guards/ga.yaml"),
        severity="critical",
        params={"max": 5},
    )


def test_missing_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(BaselineError, match="not a directory"):
        load_baselines(tmp_path / "nope")


def test_schema_is_assembled_from_every_kind_and_guard() -> None:
    schema = baseline_schema()
    kinds = set(schema["properties"]["kind"]["enum"])
    assert kinds == {*all_kinds(), "guard"}
    assert kinds >= {
        "nsg",
        "role-assignments",
        "conditional-access-policy",
        "directory-role",
        "security-defaults",
        "authentication-methods",
    }
    guard_branch = schema["allOf"][-1]["then"]
    assert "global-admin-count" in guard_branch["properties"]["guard"]["enum"]


@pytest.mark.parametrize(
    ("responses", "asking"),
    [
        ({"a.yaml": "alert", "b.yaml": "alert"}, []),
        ({"a.yaml": "alert", "b.yaml": "approve", "c.yaml": "auto"}, ["b.yaml", "c.yaml"]),
    ],
)
def test_rollback_notice_names_the_files_that_ask_for_a_rollback(
    tmp_path: Path, responses: dict[str, str], asking: list[str]
) -> None:
    for i, (name, response) in enumerate(responses.items()):
        write(tmp_path, f"nsg/{name}", nsg_doc(scope=f"{NSG}{i}", response=response))
    write(tmp_path, "guards/admins.yaml", {"kind": "guard", "guard": "global-admin-count"})

    loaded = load_baselines(tmp_path)

    assert loaded.awaiting_rollback("off") == [str(tmp_path / "nsg" / name) for name in asking]
    notice = loaded.rollback_notice("off")
    if not asking:
        assert notice is None
        return
    assert notice == (
        f"rollback is off (DRIFTKEEPER_ROLLBACK): {len(asking)} baseline(s) with response "
        "approve/auto are alerted only: "
        + ", ".join(str(tmp_path / "nsg" / name) for name in asking)
    )
    # the default (approve-only) names only what asks for auto; "on" names nothing
    auto = [str(tmp_path / "nsg" / n) for n in asking if responses[n] == "auto"]
    assert loaded.awaiting_rollback() == auto
    assert loaded.rollback_notice("on") is None


def test_a_guard_asking_for_a_rollback_is_named_too(tmp_path: Path) -> None:
    write(tmp_path, "nsg/web.yaml", nsg_doc())
    guard = write(
        tmp_path,
        "guards/admins.yaml",
        {"kind": "guard", "guard": "global-admin-count", "response": "auto"},
    )
    assert load_baselines(tmp_path).awaiting_rollback() == [str(guard)]
