"""The CLI reads the Function App's settings (driftkeeper.config) and says what it cannot do."""

from __future__ import annotations

import io
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from driftkeeper import Snapshot
from driftkeeper._progress import NO_PROGRESS
from driftkeeper.cli import main

ROOT = Path(__file__).resolve().parents[1]
GOOD = ROOT / "examples/tenant-known-good.json"
EVENTS = ROOT / "examples/events-burst.json"
SUB = "6f1c2a3b-4d5e-4f60-8a91-b2c3d4e5f607"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No driftkeeper setting but those a test sets."""
    for name in list(os.environ):
        if name.startswith("DRIFTKEEPER_") or name in ("AZURE_SUBSCRIPTION_ID", "AZURE_TENANT_ID"):
            monkeypatch.delenv(name)
    return monkeypatch


def run(*argv: str, **kwargs: Any) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out, **kwargs), out.getvalue()


@pytest.fixture
def asking(tmp_path: Path) -> tuple[Path, list[str]]:
    """The bundled baselines, two of them asking for ``response: approve``."""
    shutil.copytree(ROOT / "baselines", tmp_path / "baselines")
    files = sorted((tmp_path / "baselines").rglob("*.yaml"))[:2]
    for path in files:
        path.write_text(path.read_text().replace("response: alert", "response: auto"))
    return tmp_path / "baselines", [str(p) for p in files]


def test_scan_says_what_the_kill_switch_holds_back(
    env: pytest.MonkeyPatch, asking: tuple[Path, list[str]]
) -> None:
    baselines, files = asking
    notice = (
        "rollback is approve-only (DRIFTKEEPER_ROLLBACK): 2 baseline(s) with response auto "
        f"wait for approval instead: {', '.join(files)}"
    )

    code, out = run("scan", "--baselines", str(baselines), "--state", str(GOOD), "--format", "json")
    assert code == 0
    assert notice in json.loads(out)["summary"]["skipped"]

    code, out = run("scan", "--baselines", str(baselines), "--state", str(GOOD))
    assert code == 0
    assert "rollback is approve-only (DRIFTKEEPER_ROLLBACK): 2 baseline(s)" in out.replace(
        "\n", " "
    )


def test_scan_finds_its_baselines_where_the_function_app_does(
    env: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "broken.yaml").write_text("kind: nsg\n")
    env.setenv("DRIFTKEEPER_BASELINES_DIR", str(tmp_path))
    code, _ = run("scan", "--state", str(GOOD))
    assert code == 2
    assert str(tmp_path / "broken.yaml") in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "variable", "value"),
    [
        (["scan", "--state", str(GOOD)], "DRIFTKEEPER_COALESCE_SECONDS", "soon"),
        (["events"], "DRIFTKEEPER_EVENTS_TABLE", "drift-events"),
        (["events"], "DRIFTKEEPER_STORAGE_CONNECTION", "not a connection string"),
        (["replay", "--events", str(EVENTS), "--state", str(GOOD)], "DRIFTKEEPER_SELF_IDS", "me"),
    ],
)
def test_a_bad_setting_exits_2_naming_the_variable(
    env: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    variable: str,
    value: str,
) -> None:
    env.setenv(variable, value)
    code, _ = run(*argv)
    assert code == 2
    assert f"driftkeeper: error: {variable}" in capsys.readouterr().err


def test_events_needs_a_table(env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = run("events")
    assert code == 2
    assert "DRIFTKEEPER_TABLE_ENDPOINT" in capsys.readouterr().err


def test_the_cli_ignores_the_alert_settings(env: pytest.MonkeyPatch) -> None:
    env.setenv("DRIFTKEEPER_TEAMS_WEBHOOK_URL", "not a URL")
    env.setenv("DRIFTKEEPER_BASELINES_DIR", str(ROOT / "baselines"))
    code, _ = run("scan", "--state", str(GOOD))
    assert code == 0


def test_live_reads_use_the_configured_endpoints(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import azure.identity
    import azure.identity.aio

    import driftkeeper.live

    calls: list[dict[str, Any]] = []

    def read_snapshot(credential: Any, **kwargs: Any) -> Snapshot:
        calls.append(kwargs)
        return Snapshot.from_file(GOOD)

    env.setattr(driftkeeper.live, "read_snapshot", read_snapshot)
    env.setattr(azure.identity, "DefaultAzureCredential", lambda: "sync")
    env.setattr(azure.identity.aio, "DefaultAzureCredential", lambda: "async")
    env.setenv("DRIFTKEEPER_ARM_ENDPOINT", "https://management.usgovcloudapi.net")
    env.setenv("DRIFTKEEPER_GRAPH_ENDPOINT", "https://graph.microsoft.us/v1.0")
    env.setenv("DRIFTKEEPER_CA_BUNDLE", str(GOOD))
    env.setenv("AZURE_SUBSCRIPTION_ID", SUB)
    env.setenv("AZURE_TENANT_ID", "contoso.onmicrosoft.us")

    code, _ = run("snapshot", "--out", str(tmp_path / "s.json"))

    assert code == 0
    (kwargs,) = calls
    assert kwargs == {
        "async_credential": "async",
        "subscriptions": [SUB],
        "tenant_id": "contoso.onmicrosoft.us",
        "arm_endpoint": "https://management.usgovcloudapi.net",
        "graph_endpoint": "https://graph.microsoft.us/v1.0",
        "connection_verify": str(GOOD),
        "include_arm": True,
        "source": "arm",  # one subscription: not above DRIFTKEEPER_RESOURCE_GRAPH_MIN_SUBSCRIPTIONS
        "on_read": NO_PROGRESS.request_read,  # stdout is not a terminal: no progress
        "on_page": NO_PROGRESS.page_read,
    }


@pytest.mark.parametrize(
    ("subscriptions", "minimum", "argv", "source"),
    [
        (11, "", (), "graph"),  # more than the default 10
        (10, "", (), "arm"),
        (3, "2", (), "graph"),
        (3, "2", ("--source", "arm"), "arm"),
        (1, "", ("--source", "graph"), "graph"),
    ],
)
def test_live_reads_go_through_resource_graph_above_the_threshold(
    env: pytest.MonkeyPatch,
    tmp_path: Path,
    subscriptions: int,
    minimum: str,
    argv: tuple[str, ...],
    source: str,
) -> None:
    import uuid

    import azure.identity
    import azure.identity.aio

    import driftkeeper.live

    calls: list[dict[str, Any]] = []

    def read_snapshot(credential: Any, **kwargs: Any) -> Snapshot:
        calls.append(kwargs)
        return Snapshot.from_file(GOOD)

    env.setattr(driftkeeper.live, "read_snapshot", read_snapshot)
    env.setattr(azure.identity, "DefaultAzureCredential", lambda: "sync")
    env.setattr(azure.identity.aio, "DefaultAzureCredential", lambda: "async")
    subs = [str(uuid.UUID(int=i + 1)) for i in range(subscriptions)]
    env.setenv("AZURE_SUBSCRIPTION_ID", ",".join(subs))
    env.setenv("DRIFTKEEPER_RESOURCE_GRAPH_MIN_SUBSCRIPTIONS", minimum)

    code, _ = run("snapshot", "--out", str(tmp_path / "s.json"), *argv)

    assert code == 0
    assert [c["source"] for c in calls] == [source]
