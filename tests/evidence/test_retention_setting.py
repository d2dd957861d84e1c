"""DRIFTKEEPER_RETENTION_DAYS: whole days, or unset to keep every day forever."""

from __future__ import annotations

import pytest

from driftkeeper import SettingsError
from driftkeeper.config import Settings


def test_unset_or_empty_keeps_forever() -> None:
    assert Settings.from_env({}).retention_days is None
    assert Settings.from_env({"DRIFTKEEPER_RETENTION_DAYS": " "}).retention_days is None


def test_whole_days_are_read() -> None:
    assert Settings.from_env({"DRIFTKEEPER_RETENTION_DAYS": " 400 "}).retention_days == 400


@pytest.mark.parametrize("value", ["0", "-1", "1.5", "36501", "abc", "٣", "1e3", "+5"])
def test_anything_else_is_refused_naming_the_variable(value: str) -> None:
    with pytest.raises(SettingsError) as info:
        Settings.from_env({"DRIFTKEEPER_RETENTION_DAYS": value})
    assert info.value.variable == "DRIFTKEEPER_RETENTION_DAYS"
