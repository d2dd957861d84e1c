"""docs/adding-a-kind.md's worked example, dropped into a copy of the package as its one new
file, is listed, in the schema, captured, judged, read live and routed, with no other change."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "adding-a-kind.md"
_FILE = re.compile(r"<!-- file: (?P<path>[\w/.]+) -->\s*```python\n(?P<code>.*?)```", re.S)
_BLOCK = r"```{}\n(.*?)```"


def worked_example() -> tuple[str, str, dict[str, Any], str]:
    """(module path, module source, snapshot document, captured baseline YAML) of the doc."""
    text = DOC.read_text(encoding="utf-8")
    module = _FILE.search(text)
    assert module is not None, "the doc has no <!-- file: ... --> python block"
    rest = text[module.end() :]
    snapshot = re.search(_BLOCK.format("json"), rest, re.S)
    baseline = re.search(_BLOCK.format("yaml"), rest, re.S)
    assert snapshot is not None
    assert baseline is not None
    return module["path"], module["code"], json.loads(snapshot[1]), baseline[1]


@pytest.fixture(scope="module")
def package_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the driftkeeper package with the doc's module as its only new file."""
    root = tmp_path_factory.mktemp("with-kind")
    path, code, _, _ = worked_example()
    assert path.startswith("driftkeeper/kinds/")
    assert path.endswith(".py")
    # the package as it is, without the example (someone may have added it already)
    shutil.copytree(
        ROOT / "driftkeeper",
        root / "driftkeeper",
        ignore=shutil.ignore_patterns("__pycache__", Path(path).name),
    )
    (root / path).write_text(code, encoding="utf-8")
    return root


def driftkeeper(root: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the CLI of the package copy under ``root``."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    code = "import sys; from driftkeeper.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
        check=False,
    )


def test_the_copy_is_the_one_imported(package_copy: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(package_copy)}
    done = subprocess.run(
        [sys.executable, "-c", "import driftkeeper; print(driftkeeper.__file__)"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=True,
    )
    assert done.stdout.strip().startswith(str(package_copy))


def test_the_kind_is_listed_with_its_section_and_signals(
    package_copy: Path, tmp_path: Path
) -> None:
    done = driftkeeper(package_copy, "kinds", "--format", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    kinds = {k["name"]: k for k in json.loads(done.stdout)}
    vault = kinds["keyvault-network"]
    assert [s["name"] for s in vault["sections"]] == ["arm.keyVaults"]
    assert vault["sections"][0]["apiVersion"] == "2023-07-01"
    assert vault["signals"]["resourceTypes"] == ["Microsoft.KeyVault/vaults"]


def test_the_kind_is_in_the_schema(package_copy: Path, tmp_path: Path) -> None:
    done = driftkeeper(package_copy, "schema", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert '"keyvault-network"' in done.stdout


def test_the_kind_is_captured_as_the_doc_shows_and_judged(
    package_copy: Path, tmp_path: Path
) -> None:
    _, _, snapshot, baseline_yaml = worked_example()
    good = tmp_path / "tenant.json"
    good.write_text(json.dumps(snapshot), encoding="utf-8")

    captured = driftkeeper(
        package_copy, "baseline", "capture", "--state", str(good), "--out", "b", cwd=tmp_path
    )
    assert captured.returncode == 0, captured.stderr
    written = tmp_path / "b" / "keyvault-network" / "kv-prod.yaml"
    assert written.read_text(encoding="utf-8") == baseline_yaml

    same = driftkeeper(package_copy, "scan", "--baselines", "b", "--state", str(good), cwd=tmp_path)
    assert same.returncode == 0, same.stdout + same.stderr

    vault = snapshot["arm"]["keyVaults"][0]["properties"]
    vault["networkAcls"]["defaultAction"] = "Allow"
    vault["networkAcls"]["ipRules"] = [{"value": "203.0.113.7/32"}]  # the same rule, as a /32
    drifted = tmp_path / "drifted.json"
    drifted.write_text(json.dumps(snapshot), encoding="utf-8")
    scan = driftkeeper(
        package_copy,
        "scan",
        "--baselines",
        "b",
        "--state",
        str(drifted),
        "--format",
        "json",
        cwd=tmp_path,
    )
    assert scan.returncode == 1, scan.stdout + scan.stderr
    [finding] = [f for f in json.loads(scan.stdout)["findings"] if f["status"] != "compliant"]
    assert finding["kind"] == "keyvault-network"
    assert [c["path"] for c in finding["changes"]] == ["defaultAction"]
    assert "defaultAction changed from deny to allow" in finding["message"]


_LIVE_AND_ROUTED = """
import json, sys, tempfile
from pathlib import Path
from driftkeeper.intake import parse_event
from driftkeeper.kinds import all_kinds
from driftkeeper.live import ResourceReader, read_snapshot
from tests.fakes.azure_rest import AzureRestServer, make_tls_files
from tests.fakes.credentials import StaticTokenCredential

doc = json.loads(sys.argv[1])
vault = doc["arm"]["keyVaults"][0]
tls = make_tls_files(Path(tempfile.mkdtemp()))
with AzureRestServer(tls, data={"arm.keyVaults": [vault]}) as server:
    credential = StaticTokenCredential()
    options = dict(arm_endpoint=server.arm_endpoint, graph_endpoint=server.graph_endpoint,
                   connection_verify=str(server.ca_file))
    tenant = read_snapshot(credential, subscriptions=doc["subscriptions"], include_graph=False,
                           **options)
    with ResourceReader(credential, **options) as reader:
        one = reader.read("keyvault-network", vault["id"])
event = {"id": "e1", "eventType": "Microsoft.Resources.ResourceWriteSuccess",
         "subject": vault["id"], "eventTime": "2026-11-30T09:00:00Z", "dataVersion": "2",
         "topic": "/subscriptions/" + doc["subscriptions"][0],
         "data": {"resourceUri": vault["id"], "operationName": "Microsoft.KeyVault/vaults/write",
                  "status": "Succeeded"}}
touches = all_kinds()["keyvault-network"].route(parse_event(event), {})
print(json.dumps({"tenant": tenant.items("arm.keyVaults"), "one": one.items("arm.keyVaults"),
                  "touches": [t.scope for t in touches]}))
"""


def test_the_kind_is_read_live_and_routed(package_copy: Path) -> None:
    _, _, snapshot, _ = worked_example()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(package_copy), str(ROOT)])}
    done = subprocess.run(
        [sys.executable, "-c", _LIVE_AND_ROUTED, json.dumps(snapshot)],
        capture_output=True,
        text=True,
        env=env,
        cwd=package_copy,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    got = json.loads(done.stdout)
    vault = snapshot["arm"]["keyVaults"][0]
    assert got["tenant"] == [vault]  # listed per subscription by the stand-in, as ARM would
    assert got["one"] == [vault]  # one GET of the vault
    assert got["touches"] == [vault["id"]]


def test_the_example_is_clean_code(package_copy: Path) -> None:
    path, _, _, _ = worked_example()
    ruff = Path(sys.executable).parent / "ruff"
    done = subprocess.run(
        [str(ruff), "check", "--config", str(ROOT / "pyproject.toml"), str(package_copy / path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout
