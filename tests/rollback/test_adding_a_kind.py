"""docs/adding-a-kind.md's Key Vault kind declares its rollback in its own module: dropped
into a copy of the package, ``driftkeeper rollback plan`` plans its drift with no other
change."""

from __future__ import annotations

import json
from pathlib import Path

from tests.kinds.test_adding_a_kind import driftkeeper, package_copy, worked_example

__all__ = ["package_copy"]  # the fixture, shared with tests/kinds/test_adding_a_kind.py


def test_the_example_kind_plans_its_drift(package_copy: Path, tmp_path: Path) -> None:
    # given the doc's vault captured as its baseline
    _, _, snapshot, _ = worked_example()
    good = tmp_path / "tenant.json"
    good.write_text(json.dumps(snapshot), encoding="utf-8")
    captured = driftkeeper(
        package_copy, "baseline", "capture", "--state", str(good), "--out", "b", cwd=tmp_path
    )
    assert captured.returncode == 0, captured.stderr
    # when the vault is opened to every network
    vault = snapshot["arm"]["keyVaults"][0]
    vault["properties"]["networkAcls"]["defaultAction"] = "Allow"
    drifted = tmp_path / "drifted.json"
    drifted.write_text(json.dumps(snapshot), encoding="utf-8")
    done = driftkeeper(
        package_copy,
        "rollback",
        "plan",
        "--state",
        str(drifted),
        "--baselines",
        "b",
        "--format",
        "json",
        cwd=tmp_path,
    )
    # then its one plan PATCHes the vault back to the baseline's network rules
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    (plan,) = [p for p in doc["plans"] if p["kind"] == "keyvault-network"]
    (step,) = plan["steps"]
    assert step["method"] == "PATCH"
    assert step["url"] == f"https://management.azure.com{vault['id']}?api-version=2023-07-01"
    acls = step["body"]["properties"]["networkAcls"]
    assert acls["defaultAction"] == "Deny"
    assert acls["ipRules"] == [{"value": "203.0.113.7"}]
    assert step["body"]["properties"]["publicNetworkAccess"] == "Enabled"
    assert plan["permissions"] == ["Microsoft.KeyVault/vaults/write"]
