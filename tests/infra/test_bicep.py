"""Every Bicep file parses (pycep-parser: no Bicep compiler runs here), every module it calls
exists, and main.parameters.json feeds only parameters main.bicep declares."""

from __future__ import annotations

from pathlib import Path

import pytest

from ._bicep import INFRA, PENDING_MODULES, ROOT, bicep_files, load_json, parse, relative


@pytest.mark.parametrize("path", bicep_files(), ids=relative)
def test_every_bicep_file_parses(path: Path) -> None:
    parsed = parse(path)
    # pycep gives {} keys as dicts, never None: a file that parses must declare something to deploy
    assert parsed.get("resources") or parsed.get("modules"), "declares no resource or module"


def test_infra_has_the_modules_the_issue_asks_for() -> None:
    names = {p.name for p in bicep_files()}
    for needed in (
        "main.bicep",
        "eventgrid.bicep",
        "eventgrid-topic.bicep",
        "watched-subscription.bicep",
        "eventhubs.bicep",
        "entra-diagnostics.bicep",
        "graph-partner-topic.bicep",
        "logs-ingestion.bicep",
        "function-auth.bicep",
        "keyvault.bicep",
    ):
        assert needed in names


@pytest.mark.parametrize("path", bicep_files(), ids=relative)
def test_every_module_a_file_calls_exists(path: Path) -> None:
    for name, module in (parse(path).get("modules") or {}).items():
        target = module["detail"]["path"]
        if relative(path.parent / target).removeprefix("infra/") in PENDING_MODULES:
            continue
        assert (path.parent / target).is_file(), f"{relative(path)}: module {name} -> {target}"


def test_parameters_file_names_only_declared_parameters() -> None:
    declared = set(parse(INFRA / "main.bicep")["parameters"])
    given = set(load_json("infra/main.parameters.json")["parameters"])
    assert given <= declared, given - declared
    # the ones main.bicep cannot do without have no default: azd must give them
    required = {
        name
        for name, param in parse(INFRA / "main.bicep")["parameters"].items()
        if "default" not in param
    }
    assert required <= given


def test_the_bicep_loads_the_generated_files() -> None:
    eventgrid = (INFRA / "modules" / "eventgrid.bicep").read_text(encoding="utf-8")
    assert "loadJsonContent('../eventgrid-filter.json')" in eventgrid
    assert "Microsoft.Network/" not in eventgrid, "no hand-kept operation list"
    logs = (INFRA / "modules" / "logs-ingestion.bicep").read_text(encoding="utf-8")
    assert "loadJsonContent('../logs-ingestion-columns.json')" in logs


def test_azure_yaml_hooks_exist_and_run_in_one_azd_up() -> None:
    import yaml

    project = yaml.safe_load((ROOT / "azure.yaml").read_text(encoding="utf-8"))
    hooks = project["hooks"]
    assert set(hooks) == {"preprovision", "postprovision", "prepackage", "postdeploy"}
    for hook in hooks.values():
        script = ROOT / hook["run"]
        assert script.is_file(), hook["run"]
        assert script.stat().st_mode & 0o111, f"{hook['run']} is not executable"
    postdeploy = (ROOT / hooks["postdeploy"]["run"]).read_text(encoding="utf-8")
    assert "azd env set DRIFTKEEPER_ENABLE_EVENT_GRID true" in postdeploy
    assert "azd provision" in postdeploy
    prepackage = (ROOT / hooks["prepackage"]["run"]).read_text(encoding="utf-8")
    assert "baseline compile" in prepackage
    assert "compileall -q -f --invalidation-mode checked-hash driftkeeper handlers" in prepackage
    assert project["services"]["driftkeeper"]["host"] == "function"
