"""The Function App's runtime: built from its Settings alone, lazily; says what it cannot do."""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from driftkeeper import SettingsError, Snapshot
from driftkeeper.config import AlertSettings, Settings
from driftkeeper.live import snapshot_reader
from driftkeeper.runtime import Runtime, build_alerts

ROOT = Path(__file__).resolve().parents[1]
SECRET = "s3cr3t-do-not-show"


@dataclass
class FakeTables:
    """Stands in for a TableServiceClient: the pipeline's stores only keep their client."""

    created: list[str] = field(default_factory=list)

    def create_table_if_not_exists(self, name: str) -> None:
        self.created.append(name)

    def get_table_client(self, name: str) -> Any:
        return object()


def runtime_for(baselines: Path) -> Runtime:
    return Runtime(
        Settings(baselines_dir=str(baselines)),
        table_service=FakeTables(),
        reader=snapshot_reader(Snapshot.from_file(ROOT / "examples/tenant-known-good.json")),
    )


def test_unusable_alert_settings_turn_alerts_off_but_not_the_recording(
    caplog: pytest.LogCaptureFixture,
) -> None:
    env = {
        "DRIFTKEEPER_EVENTS_TABLE": "ev2",
        "DRIFTKEEPER_TEAMS_WEBHOOK_URL": f"http://hooks.example/{SECRET}",
    }
    caplog.set_level(logging.ERROR, logger="driftkeeper.runtime")

    rt = Runtime.from_env(env)

    assert rt.settings.events_table == "ev2"
    assert rt.settings.alerts == AlertSettings()
    assert "DRIFTKEEPER_TEAMS_WEBHOOK_URL" in caplog.text
    assert SECRET not in caplog.text


def test_any_other_unusable_setting_stops_the_runtime() -> None:
    with pytest.raises(SettingsError) as info:
        Runtime.from_env({"DRIFTKEEPER_SETTLE_SECONDS": "-1"})
    assert info.value.variable == "DRIFTKEEPER_SETTLE_SECONDS"


def test_no_table_location_is_named_before_a_client_is_built() -> None:
    with pytest.raises(SettingsError) as info:
        Runtime(Settings()).table("driftevents")
    assert info.value.variable == "DRIFTKEEPER_TABLE_ENDPOINT"


@pytest.mark.parametrize(("asking", "warnings"), [(0, 0), (3, 1)])
def test_the_pipeline_warns_once_that_rollback_is_not_available(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, asking: int, warnings: int
) -> None:
    shutil.copytree(ROOT / "baselines", tmp_path / "baselines")
    files = sorted((tmp_path / "baselines").rglob("*.yaml"))[:asking]
    for path in files:
        path.write_text(path.read_text().replace("response: alert", "response: auto"))
    rt = runtime_for(tmp_path / "baselines")
    caplog.set_level(logging.WARNING, logger="driftkeeper.runtime")

    rt.pipeline()
    rt.pipeline()

    notices = [r.getMessage() for r in caplog.records if "rollback is" in r.message]
    assert len(notices) == warnings
    if warnings:
        assert notices[0].startswith(f"rollback is approve-only (DRIFTKEEPER_ROLLBACK): {asking} ")
        assert all(str(path) in notices[0] for path in files)


def test_channels_are_built_from_the_alert_settings() -> None:
    from driftkeeper.alerts import SmtpEmailChannel
    from driftkeeper.respond import Responder

    settings = Settings.from_env(
        {
            "DRIFTKEEPER_SMTP_HOST": "smtp.contoso.example",
            "DRIFTKEEPER_SMTP_PORT": "2525",
            "DRIFTKEEPER_SMTP_FROM": "dk@contoso.com",
            "DRIFTKEEPER_SMTP_USER": "dk",
            "DRIFTKEEPER_SMTP_PASSWORD": SECRET,
            "DRIFTKEEPER_ALERT_EMAIL_TO": "soc@contoso.com",
        }
    )

    sink = build_alerts(settings)

    assert isinstance(sink, Responder)
    (channel,) = sink.notifier.channels
    assert isinstance(channel, SmtpEmailChannel)
    assert (channel.host, channel.port) == ("smtp.contoso.example", 2525)
    assert SECRET not in repr(channel)


def test_live_reads_share_one_graph_session_and_close_releases_it() -> None:
    from driftkeeper.live import CoalescingReader, ResourceReader
    from tests.fakes.credentials import StaticTokenCredential

    rt = Runtime(Settings(), credential=StaticTokenCredential())
    reader = rt._reader()
    assert isinstance(reader, CoalescingReader)
    inner = reader.inner
    assert isinstance(inner, ResourceReader)
    audit_session = rt._live_clients().graph
    assert inner._clients is rt._live_clients()  # the pipeline's reads and the audit poll's
    rt.close()
    assert rt.reader is None  # built again, with new clients, on next use
    assert rt._live_clients() is not inner._clients
    rt.close()
    assert callable(audit_session)
