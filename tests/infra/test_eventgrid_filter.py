"""The Event Grid filter the Bicep deploys is exactly what the handlers evaluate: the committed
infra/eventgrid-filter.json equals the generator's output, and, as a predicate, accepts an ARM
event exactly when some kind's ``signals.may_touch`` does (Event Grid compares strings
case-insensitively, as ``may_touch`` does)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftkeeper import infra_files
from driftkeeper.kinds import ARM_CHANGES, Signals, all_kinds
from driftkeeper.signals import Signal

from ._bicep import ROOT, load_json


def test_committed_files_equal_the_generator() -> None:
    for path, text in (
        (infra_files.FILTER_PATH, infra_files.render()),
        (infra_files.COLUMNS_PATH, infra_files.render_columns()),
    ):
        committed = (ROOT / path).read_text(encoding="utf-8")
        assert committed == text, f"{path} is stale: python -m driftkeeper.infra_files --write"


def test_check_mode_reports_a_stale_file(tmp_path: Any) -> None:
    (tmp_path / "infra").mkdir()
    assert infra_files.main(["--root", str(tmp_path), "--check"]) == 1
    assert infra_files.main(["--root", str(tmp_path), "--write"]) == 0
    assert infra_files.main(["--root", str(tmp_path), "--check"]) == 0


def _accepts(arm: dict[str, Any], event_type: str, operation: str) -> bool:
    """Event Grid's evaluation of the ARM event subscription's filter."""
    if event_type.casefold() not in {t.casefold() for t in arm["includedEventTypes"]}:
        return False
    for flt in arm["advancedFilters"]:
        assert flt["operatorType"] == "StringBeginsWith"
        assert flt["key"] == "data.operationName"
        if not any(operation.casefold().startswith(v.casefold()) for v in flt["values"]):
            return False
    return True


def _handlers_take(event_type: str, operation: str) -> bool:
    signal = Signal(
        id="1",
        source="eventgrid",
        type=event_type,
        time="2026-01-01T00:00:00Z",
        resource="/subscriptions/x",
        operation=operation,
        category="arm",
    )
    return any(kind.signals.may_touch(signal) for kind in all_kinds().values())


_resource_types = sorted({t for k in all_kinds().values() for t in k.signals.resource_types})
_event_types = st.sampled_from(
    [
        *ARM_CHANGES,
        "Microsoft.Resources.ResourceWriteFailure",
        "Microsoft.Resources.ResourceDeleteCancel",
        "Microsoft.Storage.BlobCreated",
    ]
)
_operations = st.one_of(
    st.builds(
        lambda t, tail, upper: (t + tail).upper() if upper else t + tail,
        st.sampled_from(_resource_types),
        st.sampled_from(["/write", "/delete", "/x/action", "s/write", "", "/", "Rules/write"]),
        st.booleans(),
    ),
    st.text(max_size=60),
    st.sampled_from(
        [
            "Microsoft.Network/virtualNetworks/write",
            "Microsoft.Authorization/roleDefinitions/write",
            "Microsoft.Network/networkSecurityGroupsX/write",
        ]
    ),
)


@given(_event_types, _operations)
def test_the_arm_filter_accepts_exactly_what_the_handlers_evaluate(
    event_type: str, operation: str
) -> None:
    arm = load_json("infra/eventgrid-filter.json")["arm"]
    # Event Grid matches event types case-insensitively; the handlers take Azure's spelling
    assert _accepts(arm, event_type, operation) == _handlers_take(event_type, operation)


def test_every_watched_arm_operation_passes_the_filter() -> None:
    arm = load_json("infra/eventgrid-filter.json")["arm"]
    for resource_type in _resource_types:
        for verb in ("write", "delete"):
            assert _accepts(arm, ARM_CHANGES[0], f"{resource_type}/{verb}")


def test_the_graph_filter_lists_the_notification_types_the_kinds_take() -> None:
    graph = load_json("infra/eventgrid-filter.json")["graph"]["includedEventTypes"]
    wanted = {
        t
        for k in all_kinds().values()
        for t in k.signals.event_types
        if t.startswith("Microsoft.Graph.")
    }
    assert set(graph) == wanted
    assert wanted


def test_a_kind_with_an_undeliverable_event_type_is_refused() -> None:
    from driftkeeper._errors import PluginError

    odd = SimpleNamespace(signals=Signals(event_types=("Contoso.Thing.Changed",)))
    with pytest.raises(PluginError, match="no deployed topic"):
        infra_files.build({"odd": odd})  # type: ignore[dict-item]
    armless = SimpleNamespace(signals=Signals(event_types=ARM_CHANGES))
    with pytest.raises(PluginError, match="names no resource type"):
        infra_files.build({"armless": armless})  # type: ignore[dict-item]


def test_subsumed_prefixes_are_dropped() -> None:
    values = load_json("infra/eventgrid-filter.json")["arm"]["advancedFilters"][0]["values"]
    assert all(v.endswith("/") for v in values)
    assert not any(a != b and b.casefold().startswith(a.casefold()) for a in values for b in values)
    assert len(values) <= infra_files.MAX_ADVANCED_VALUES
