"""A hostile user or insider against the compiled bundle: what it must never do (hang on a
file that is not one, use an entry compile would not write, be used by another Python, give
baselines that behave differently from those the YAML gives)."""

from __future__ import annotations

import copy
import dataclasses
import logging
import os
import pickle
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from driftkeeper import _bundle
from driftkeeper._bundle import BUNDLE_NAME
from driftkeeper.baseline import Baseline, BaselineSet, compile_bundle, load_baselines

from .test_bundle import compiled, reference, reindex

__all__ = ["compiled"]


def _finishes(work: Callable[[], Any], fifo: Path) -> Any:
    """Run ``work`` in a thread; when it is still blocked (on opening ``fifo`` for reading)
    after a while, unblock it by opening the FIFO's other end, and fail."""
    done: list[Any] = []
    thread = threading.Thread(target=lambda: done.append(work()), daemon=True)
    thread.start()
    thread.join(20)
    if thread.is_alive():
        writer = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        os.close(writer)
        thread.join(20)
        pytest.fail(f"blocked on the FIFO {fifo}")
    assert done, "the load raised (see the thread's exception above)"
    return done[0]


def test_a_bundle_that_is_a_fifo_is_refused_without_waiting_for_a_writer(
    compiled: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # given a bundle path that is a named pipe nobody writes to (a symlink to one, or a
    # hostile mkfifo), when the baselines are loaded, the load does not block on it
    bundle = compiled / BUNDLE_NAME
    bundle.unlink()
    os.mkfifo(bundle)
    with caplog.at_level(logging.WARNING):
        loaded = _finishes(lambda: load_baselines(compiled), bundle)
    assert loaded == reference(compiled)
    assert "not a regular file" in caplog.text


def test_a_baseline_file_that_is_a_fifo_is_an_error_naming_it(tmp_path: Path) -> None:
    # given `evil.yaml`, a symlink git can carry, to a pipe nobody writes to (here a FIFO:
    # /dev/stdin of a worker is one), when the baselines are loaded or compiled, then the
    # file is refused by name instead of every cold start and /api/health hanging on it
    from driftkeeper import BaselineError

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    root = tmp_path / "b"
    root.mkdir()
    (root / "evil.yaml").symlink_to(fifo)

    def load() -> str:
        try:
            load_baselines(root)
        except BaselineError as exc:
            return str(exc)
        return "loaded"

    assert _finishes(load, fifo) == f"{root / 'evil.yaml'}: not a regular file"


def test_the_fingerprint_names_this_python_and_its_unicode_database() -> None:
    import sys
    import unicodedata

    runtime = _bundle._runtime()
    assert f"{sys.version_info[0]}.{sys.version_info[1]}" in runtime
    assert unicodedata.unidata_version in runtime


def _bundled(root: Path) -> BaselineSet:
    loaded = load_baselines(root)
    assert all("_source" in vars(b) for b in loaded.baselines)  # nothing read yet
    return loaded


@pytest.mark.parametrize(
    "twin",
    [copy.copy, copy.deepcopy, lambda b: pickle.loads(pickle.dumps(b))],
    ids=["copy", "deepcopy", "pickle"],
)
def test_a_bundled_baseline_copies_and_pickles_as_the_yaml_one_does(
    compiled: Path,
    twin: Callable[[Baseline], Baseline],
) -> None:
    for bundled, parsed in zip(
        _bundled(compiled).baselines, reference(compiled).baselines, strict=True
    ):
        made = twin(bundled)
        assert made == parsed == twin(parsed)
        assert "_source" not in vars(made)
        assert dataclasses.replace(made, response="alert").expected == parsed.expected


def test_a_copied_baseline_reads_its_fields_once(compiled: Path) -> None:
    # a copy holds the values, so the bundle it came from can go
    [first, *_] = _bundled(compiled).baselines
    made = copy.copy(first)
    (compiled / BUNDLE_NAME).unlink()
    assert vars(made).keys() >= {"expected", "state", "labels"}


@pytest.mark.parametrize(
    "forge",
    [
        {"response": "launch-missiles"},
        {"approvals": 0},
        {"approvals": True},
        {"severity": "none"},
        {"owners": "netops@contoso.com"},
        {"owners": [""]},
        {"expectedActors": [7]},
        {"name": ""},
        {"description": 5},
        {"unknown": 1},
    ],
    ids=repr,
)
def test_a_forged_entry_with_fields_the_schema_refuses_is_read_from_yaml(
    compiled: Path,
    caplog: pytest.LogCaptureFixture,
    forge: dict[str, Any],
) -> None:
    # given a forger's index (every digest right) whose entries hold small fields a YAML file
    # could never pass validation with (the bundle is a build artefact nobody reviews), when
    # loaded, then those entries are ignored and each file comes from its YAML
    def edit(entries: dict[str, Any], parts: bytes) -> bytes:
        for entry in entries.values():
            if "parts" in entry:
                entry["doc"].update(forge)
        return parts

    reindex(compiled / BUNDLE_NAME, edit)
    with caplog.at_level(logging.WARNING):
        loaded = load_baselines(compiled)
    assert loaded == reference(compiled)
    assert "bundle entry ignored" in caplog.text


@pytest.mark.parametrize(
    "forge",
    [{"params": ["ports"]}, {"guard": "no-such-guard"}, {"enabled": "yes"}, {"approvals": 3}],
    ids=repr,
)
def test_a_forged_guard_entry_the_schema_refuses_is_read_from_yaml(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, forge: dict[str, Any]
) -> None:
    from .test_baseline import write

    guard = {"kind": "guard", "guard": "nsg-internet-management-ports", "enabled": True}
    write(tmp_path, "guard.yaml", guard)
    compile_bundle(tmp_path)

    def edit(entries: dict[str, Any], parts: bytes) -> bytes:
        for entry in entries.values():
            entry["doc"].update(forge)
        return parts

    reindex(tmp_path / BUNDLE_NAME, edit)
    with caplog.at_level(logging.WARNING):
        loaded = load_baselines(tmp_path)
    assert loaded == load_baselines(tmp_path, use_bundle=False)
    assert "bundle entry ignored" in caplog.text


def test_loading_many_times_keeps_no_descriptor_open(compiled: Path) -> None:
    def descriptors() -> int:
        return len(os.listdir("/proc/self/fd"))

    before = descriptors()
    for _ in range(50):
        loaded = load_baselines(compiled)
        assert loaded.baselines[0].expected
    del loaded
    assert descriptors() <= before


def test_the_hand_check_of_an_entry_knows_every_field_the_schema_has() -> None:
    # _check_head stands for the schema (whose validator costs a cold start to compile):
    # a field added to the schema must be added there too
    from driftkeeper.baseline import _HEAD_TYPES, baseline_schema
    from driftkeeper.kinds import all_kinds

    json_types = {"string": str, "integer": int, "array": list, "boolean": bool, "object": dict}
    properties = baseline_schema()["properties"]
    assert set(_HEAD_TYPES) == set(properties) - {"expected"}
    for name, kind in _HEAD_TYPES.items():
        schema = properties[name]
        declared = schema.get("type") or type(schema["enum"][0]).__name__
        assert json_types.get(declared, kind) is kind or declared == kind.__name__, name
    for kind in all_kinds().values():
        assert set(kind.scope_schema) <= {"type", "const", "pattern", "minLength"}, kind.name


def test_a_forged_entry_with_another_kinds_scope_is_read_from_yaml(
    compiled: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def edit(entries: dict[str, Any], parts: bytes) -> bytes:
        for entry in entries.values():
            if entry.get("doc", {}).get("kind") in ("security-defaults", "directory-role"):
                entry["doc"]["scope"] = "/subscriptions/elsewhere"
        return parts

    reindex(compiled / BUNDLE_NAME, edit)
    with caplog.at_level(logging.WARNING):
        loaded = load_baselines(compiled)
    assert loaded == reference(compiled)
    assert "bundle entry ignored" in caplog.text


def test_compile_never_writes_through_a_symlink_planted_at_its_temporary_name(
    compiled: Path,
) -> None:
    # given a baselines directory others can write to, where one planted a symlink at the
    # name compile writes the bundle to first (it is predictable: the bundle's, the pid),
    # when compile runs, then the file the symlink points at is left as it was
    victim = compiled.parent / "victim.txt"
    victim.write_text("precious", encoding="utf-8")
    bundle = compiled / BUNDLE_NAME
    planted = bundle.with_name(f"{bundle.name}.{os.getpid()}.tmp")
    planted.symlink_to(victim)
    compile_bundle(compiled)
    assert victim.read_text(encoding="utf-8") == "precious"
    assert not bundle.is_symlink()
    assert load_baselines(compiled) == reference(compiled)
