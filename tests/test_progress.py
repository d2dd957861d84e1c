"""Progress of long CLI work: drawn on a (forced) terminal, nothing otherwise."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from driftkeeper._progress import NO_PROGRESS, RichProgress, progress_for
from driftkeeper.cli import main
from driftkeeper.live import read_snapshot
from tests.builders import healthy
from tests.fakes.azure_rest import AzureRestServer
from tests.fakes.credentials import StaticTokenCredential

SUB = "ea42f556-5106-4743-99b0-c129bfa71a47"


def terminal() -> tuple[Console, io.StringIO]:
    screen = io.StringIO()
    return Console(file=screen, force_terminal=True, width=120), screen


def not_a_terminal() -> tuple[Console, io.StringIO]:
    screen = io.StringIO()
    return Console(file=screen, force_terminal=False, width=120), screen


@pytest.fixture
def state(tmp_path: Path) -> str:
    path = tmp_path / "state.json"
    path.write_text(json.dumps(healthy()))
    return str(path)


@pytest.fixture
def baselines(tmp_path: Path, state: str) -> str:
    out = tmp_path / "baselines"
    assert (
        main(["baseline", "capture", "--state", state, "--out", str(out)], out=io.StringIO()) == 0
    )
    return str(out)


@pytest.mark.parametrize(
    "argv",
    [
        ["scan", "--state", "{state}", "--baselines", "{baselines}"],
        ["rollback", "plan", "--state", "{state}", "--baselines", "{baselines}"],
        ["baseline", "capture", "--state", "{state}", "--out", "{tmp}/again"],
    ],
    ids=["scan", "rollback plan", "baseline capture"],
)
def test_progress_is_drawn_on_a_terminal(
    argv: list[str], state: str, baselines: str, tmp_path: Path
) -> None:
    console, screen = terminal()
    out = io.StringIO()
    args = [a.format(state=state, baselines=baselines, tmp=tmp_path) for a in argv]

    code = main(args, out=out, console=console)

    assert code == 0
    drawn = screen.getvalue()
    assert "reading the snapshot" in drawn
    assert "\x1b[" in drawn  # drawn with terminal controls
    assert "reading the snapshot" not in out.getvalue()  # never on stdout


def test_scan_shows_its_steps(state: str, baselines: str) -> None:
    console, screen = terminal()

    main(["scan", "--state", state, "--baselines", baselines], out=io.StringIO(), console=console)

    drawn = screen.getvalue()
    assert "judging" in drawn
    files = len(list(Path(baselines).rglob("*.yaml")))
    assert f"loading files ({files}/{files})" in drawn  # the loader's callback, wired


@pytest.mark.parametrize(
    "argv",
    [
        ["scan", "--state", "{state}", "--baselines", "{baselines}", "--format", "json"],
        [
            "rollback",
            "plan",
            "--state",
            "{state}",
            "--baselines",
            "{baselines}",
            "--format",
            "json",
        ],
    ],
    ids=["scan", "rollback plan"],
)
def test_nothing_is_drawn_for_json_output(argv: list[str], state: str, baselines: str) -> None:
    console, screen = terminal()
    out = io.StringIO()

    main([a.format(state=state, baselines=baselines) for a in argv], out=out, console=console)

    assert screen.getvalue() == ""
    json.loads(out.getvalue())  # stdout is the JSON alone


def test_nothing_is_drawn_off_a_terminal(state: str, baselines: str) -> None:
    console, screen = not_a_terminal()

    main(["scan", "--state", state, "--baselines", baselines], out=io.StringIO(), console=console)

    assert screen.getvalue() == ""


def test_by_default_progress_needs_stdout_to_be_a_terminal() -> None:
    assert progress_for("table", stdout=io.StringIO()) is NO_PROGRESS
    assert progress_for("json", console=terminal()[0]) is NO_PROGRESS
    assert isinstance(progress_for("table", console=terminal()[0]), RichProgress)


def test_files_loaded_is_a_callback_for_a_loader() -> None:
    console, screen = terminal()
    with progress_for("table", console=console) as progress:
        for loaded in range(1, 4):
            progress.files(loaded, 3)
    assert "loading files (3/3)" in screen.getvalue()
    NO_PROGRESS.files(1, 3)  # the off switch takes the same calls


def test_a_live_read_reports_requests_and_pages(azure_rest_server: AzureRestServer) -> None:
    console, screen = terminal()
    subs = [SUB]
    with progress_for("table", console=console) as progress:
        read_snapshot(
            StaticTokenCredential("dk-test-token"),
            subscriptions=subs,
            arm_endpoint=azure_rest_server.arm_endpoint,
            graph_endpoint=azure_rest_server.graph_endpoint,
            connection_verify=str(azure_rest_server.ca_file),
            include_graph=False,
            source="graph",
            sleep=lambda seconds: None,
            on_read=progress.request_read,
            on_page=progress.page_read,
        )
    drawn = screen.getvalue()
    assert "requests" in drawn
    assert "arm.roleDefinitions" in drawn
