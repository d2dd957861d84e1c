"""The compiled baseline bundle: loads give what the YAML gives, and a stale or tampered
bundle is never used (given a compiled directory, when its files change, then the files win).
"""

from __future__ import annotations

import io
import json
import logging
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from driftkeeper import BaselineError
from driftkeeper._bundle import BUNDLE_NAME, content_key, is_plain, read_bundle, write_bundle
from driftkeeper.baseline import BaselineSet, compile_bundle, load_baselines
from driftkeeper.cli import main

from .test_baseline import GOOD_RULE, NSG, nsg_doc, write

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def compiled(tmp_path: Path) -> Path:
    """A copy of the repository's baselines, compiled."""
    root = tmp_path / "baselines"
    shutil.copytree(REPO / "baselines", root)
    report = compile_bundle(root)
    assert report.path == root / BUNDLE_NAME
    assert report.files == report.bundled >= 20
    return root


def reference(root: Path) -> BaselineSet:
    return load_baselines(root, use_bundle=False)


def test_a_compiled_directory_loads_what_its_yaml_gives(compiled: Path) -> None:
    seen: list[tuple[int, int]] = []
    loaded = load_baselines(compiled, progress=lambda done, total: seen.append((done, total)))
    assert loaded == reference(compiled)
    total = len(loaded.baselines) + len(loaded.guards)
    assert seen == [(i, total) for i in range(1, total + 1)]


def test_the_bundle_is_used_and_not_the_yaml(
    compiled: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # given a bundle whose entries the loader takes (shown by a label only the bundle has)
    bundle = compiled / BUNDLE_NAME
    entries = unpack(bundle)
    nsg_file = next(compiled.glob("nsg/*.yaml"))
    entries[content_key(nsg_file.read_bytes())]["parts"]["labels"] = {"from": "bundle"}
    write_bundle(bundle, entries)
    loaded = load_baselines(compiled)
    [nsg] = [b for b in loaded.baselines if b.file == str(nsg_file)]
    assert nsg.labels == {"from": "bundle"}
    assert "ignored" not in caplog.text


def unpack(bundle: Path) -> dict[str, Any]:
    """A bundle's entries with their parts' values, as :func:`write_bundle` takes them (a
    forger who rewrites a bundle with digests that match)."""
    opened = read_bundle(bundle)
    assert opened is not None
    entries: dict[str, Any] = {}
    for key, entry in opened.entries.items():
        entries[key] = dict(entry)
        if "parts" in entry:
            entries[key]["parts"] = {n: opened.part(s) for n, s in entry["parts"].items()}
    return entries


def test_a_changed_file_is_read_from_its_yaml(
    compiled: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = next(compiled.glob("nsg/*.yaml"))
    path.write_text(path.read_text(encoding="utf-8").replace("severity: high", "severity: low"))
    with caplog.at_level(logging.WARNING):
        loaded = load_baselines(compiled)
    assert loaded == reference(compiled)
    assert next(b for b in loaded.baselines if b.file == str(path)).severity == "low"
    assert "1 of" in caplog.text
    assert "baseline compile" in caplog.text


def test_an_added_file_is_loaded_and_a_removed_one_is_gone(compiled: Path) -> None:
    added = write(compiled, "nsg/new.yaml", nsg_doc(scope=NSG + "-new"))
    removed = next(compiled.glob("role-assignments/*.yaml"))
    removed.unlink()
    loaded = load_baselines(compiled)
    files = {b.file for b in loaded.baselines}
    assert str(added) in files
    assert str(removed) not in files
    assert loaded == reference(compiled)


def test_a_renamed_file_takes_its_new_name(compiled: Path) -> None:
    old = compiled / "nsg" / "renamed-from.yaml"
    write(compiled, old.relative_to(compiled).as_posix(), nsg_doc(scope=NSG + "-r"))
    compile_bundle(compiled)
    new = old.with_name("renamed-to.yaml")
    old.rename(new)
    loaded = load_baselines(compiled)
    [moved] = [b for b in loaded.baselines if b.scope == NSG + "-r"]
    assert (moved.file, moved.name) == (str(new), "renamed-to")
    assert loaded == reference(compiled)


def test_a_hostile_file_added_after_the_compile_is_still_refused(compiled: Path) -> None:
    path = write(compiled, "nsg/bomb.yaml", "[" * 5000 + "]" * 5000)
    with pytest.raises(BaselineError, match="nested deeper") as caught:
        load_baselines(compiled)
    assert caught.value.file == str(path)


@pytest.mark.parametrize(
    ("tamper", "why"),
    [
        (lambda data: data.replace(b'"severity":"high"', b'"severity":"HIGH"', 1), "digest"),
        (lambda data: data[: len(data) // 2], "truncated"),
        (lambda data: data[:-1], "truncated"),
        (lambda data: data + b" ", "appended"),
        (lambda data: b"not json\n" + data, "not a driftkeeper baseline bundle"),
        (lambda data: data.replace(b'"fingerprint":"', b'"fingerprint":"0', 1), "another version"),
        (lambda data: data.replace(b'"index":', b'"index":-', 1), "header is not what"),
        (lambda data: b"", "not a driftkeeper baseline bundle"),
    ],
    ids=[
        "edited index",
        "truncated",
        "one byte short",
        "appended to",
        "no header",
        "other version",
        "bad header",
        "empty",
    ],
)
def test_a_tampered_bundle_is_refused(
    compiled: Path, caplog: pytest.LogCaptureFixture, tamper: object, why: str
) -> None:
    bundle = compiled / BUNDLE_NAME
    data = bundle.read_bytes()
    bundle.write_bytes(tamper(data))  # type: ignore[operator]
    with caplog.at_level(logging.WARNING):
        loaded = load_baselines(compiled)
    assert loaded == reference(compiled)
    assert "ignored" in caplog.text
    assert why in caplog.text


def test_an_edited_part_is_read_from_the_yaml_when_asked_for(
    compiled: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # given a bundle whose index is intact but whose parts were edited in place (same
    # length), when the baselines are loaded, then the index is used, and each edited part
    # is refused when it is read: the value comes from the file's YAML
    bundle = compiled / BUNDLE_NAME
    data = bundle.read_bytes()
    header, index, parts = data.split(b"\n", 2)
    edited = parts.replace(b'"priority":', b'"priority": ', 1)[:-1]
    assert len(edited) == len(parts)
    assert edited != parts
    bundle.write_bytes(header + b"\n" + index + b"\n" + edited)
    with caplog.at_level(logging.WARNING):
        loaded = load_baselines(compiled)
        assert "ignored" not in caplog.text
        assert loaded == reference(compiled)
    assert "changed since it was opened" in caplog.text


@pytest.mark.parametrize(
    "forged",
    [
        {"doc": {"kind": "nsg", "scope": "../../etc"}, "parts": {}},
        {"doc": {"kind": "nsg", "scope": NSG}},
        {"doc": {"kind": "nsg", "scope": NSG}, "parts": []},
        {"doc": {"kind": "no-such-kind", "scope": NSG}, "parts": {"expected": [0, 1, "x"]}},
        {"doc": ["kind", "nsg"]},
    ],
    ids=["bad scope", "no parts", "parts not a map", "unknown kind", "doc not a map"],
)
def test_a_forged_entry_that_is_not_a_baseline_is_read_from_yaml(
    compiled: Path, caplog: pytest.LogCaptureFixture, forged: dict[str, Any]
) -> None:
    def forge(entries: dict[str, Any], parts: bytes) -> bytes:
        for key in [k for k, e in entries.items() if "parts" in e][:3]:
            entries[key] = forged
        return parts

    reindex(compiled / BUNDLE_NAME, forge)
    with caplog.at_level(logging.WARNING):
        loaded = load_baselines(compiled)
    assert loaded == reference(compiled)
    assert "bundle entry ignored" in caplog.text


def reindex(bundle: Path, forge: Any) -> None:
    """Rewrite a bundle's index (and parts) with ``forge(entries, parts) -> parts``, under a
    header that matches them: a forger's bundle, every digest right."""
    header, index, parts = bundle.read_bytes().split(b"\n", 2)
    entries = json.loads(index)
    parts = forge(entries, parts)
    index = json.dumps(entries).encode()
    fields = {"index": len(index), "parts": len(parts), "digest": content_key(index)}
    head = json.loads(header) | fields
    bundle.write_bytes(json.dumps(head).encode() + b"\n" + index + b"\n" + parts)


NOT_JSON = b"[" * 100_000


@pytest.mark.parametrize(
    "span",
    [
        lambda parts: [0, 10**12, "0" * 64],
        lambda parts: [len(parts), 1, "0" * 64],
        lambda parts: [-1, 5, "0" * 64],
        lambda parts: ["0", 5, "0" * 64],
        lambda parts: [True, 5, "0" * 64],
        lambda parts: [0, 5],
        lambda parts: {"offset": 0},
        lambda parts: [len(parts), len(NOT_JSON), content_key(NOT_JSON)],
    ],
    ids=[
        "a terabyte",
        "past the end",
        "negative",
        "a string",
        "a boolean",
        "no digest",
        "not a list",
        "not JSON, digest right",
    ],
)
@pytest.mark.parametrize("part", ["expected", "state", "labels"])
def test_a_forged_span_is_read_from_yaml(
    compiled: Path, caplog: pytest.LogCaptureFixture, span: Any, part: str
) -> None:
    # given a forger's index whose parts point anywhere (every digest of the file right),
    # when the baselines are loaded and read, then nothing is read past the bundle, nothing
    # is allocated for a length it does not have, and each value comes from the YAML
    def forge(entries: dict[str, Any], parts: bytes) -> bytes:
        for entry in entries.values():
            if "parts" in entry:
                entry["parts"][part] = span(parts)
        return parts + NOT_JSON

    reindex(compiled / BUNDLE_NAME, forge)
    with caplog.at_level(logging.WARNING):
        assert load_baselines(compiled) == reference(compiled)
    assert "baseline bundle" in caplog.text


@pytest.mark.parametrize(
    ("part", "value"),
    [("expected", ["not", "a", "map"]), ("labels", "not a map"), ("expected", None)],
)
def test_a_forged_part_of_the_wrong_shape_is_read_from_yaml(
    compiled: Path, part: str, value: object
) -> None:
    bundle = compiled / BUNDLE_NAME
    entries = unpack(bundle)
    for entry in entries.values():
        if "parts" in entry:
            entry["parts"][part] = value
    write_bundle(bundle, entries)
    assert load_baselines(compiled) == reference(compiled)


def test_a_part_is_read_only_when_asked_for(
    compiled: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # given baselines loaded from the bundle, when the bundle's parts are then overwritten
    # in place (index intact), then every field asked for afterwards is still right: it is
    # read then (not at the load), refused by its digest, and taken from the file's YAML
    with caplog.at_level(logging.WARNING):
        loaded = load_baselines(compiled)
    assert not caplog.text
    bundle = compiled / BUNDLE_NAME
    header, index, parts = bundle.read_bytes().split(b"\n", 2)
    with bundle.open("r+b") as out:
        out.seek(len(header) + len(index) + 2)
        out.write(b" " * len(parts))
    with caplog.at_level(logging.WARNING):
        assert loaded == reference(compiled)
    assert "changed since it was opened" in caplog.text


def test_loaded_baselines_keep_reading_the_bundle_they_were_loaded_from(compiled: Path) -> None:
    # given baselines loaded from a bundle, when a file changes and the bundle is compiled
    # again (written beside, renamed over), then the loaded baselines still give what they
    # were loaded with, and a new load gives the new content
    loaded = load_baselines(compiled)
    before = reference(compiled)
    path = next(compiled.glob("nsg/*.yaml"))
    path.write_text(path.read_text(encoding="utf-8").replace("priority: 100", "priority: 101"))
    compile_bundle(compiled)
    assert loaded == before
    assert load_baselines(compiled) == reference(compiled) != before


def test_a_field_that_can_no_longer_be_read_names_its_file(compiled: Path) -> None:
    # given baselines loaded from a bundle, when both the bundle's parts and a file change
    # under them, then asking for that file's state is an error naming the file: never a
    # value from other content
    loaded = load_baselines(compiled)
    path = next(compiled.glob("nsg/*.yaml"))
    path.write_text(path.read_text(encoding="utf-8") + "\n# edited\n")
    bundle = compiled / BUNDLE_NAME
    header, index, parts = bundle.read_bytes().split(b"\n", 2)
    bundle.write_bytes(header + b"\n" + index + b"\n" + b" " * len(parts))
    [nsg] = [b for b in loaded.baselines if b.file == str(path)]
    with pytest.raises(BaselineError, match="changed on disk") as caught:
        _ = nsg.state
    assert caught.value.file == str(path)


def test_many_threads_read_the_same_bundled_fields(compiled: Path) -> None:
    # given baselines just loaded from the bundle (nothing read yet), when 8 threads read
    # every field at once, then each sees what the YAML gives
    loaded = load_baselines(compiled)
    want = {b.file: (b.expected, b.state, b.labels) for b in reference(compiled).baselines}
    barrier = threading.Barrier(8)

    def read_all() -> dict[str, tuple[Any, Any, Any]]:
        barrier.wait()
        return {b.file: (b.expected, b.state, b.labels) for b in loaded.baselines}

    with ThreadPoolExecutor(8) as pool:
        seen = list(pool.map(lambda _: read_all(), range(8)))
    assert all(s == want for s in seen)


def test_compile_refuses_a_bad_file_and_writes_nothing(tmp_path: Path) -> None:
    write(tmp_path, "web.yaml", nsg_doc(severity="urgent"))
    with pytest.raises(BaselineError, match="severity"):
        compile_bundle(tmp_path)
    assert not (tmp_path / BUNDLE_NAME).exists()


def test_the_cli_compiles_to_the_default_place_or_to_out(tmp_path: Path) -> None:
    write(tmp_path, "nsg/web.yaml", nsg_doc())
    out = io.StringIO()
    assert main(["baseline", "compile", "--baselines", str(tmp_path)], out=out) == 0
    assert f"{tmp_path / BUNDLE_NAME} (1 of 1 files compiled)" in out.getvalue()
    elsewhere = tmp_path.parent / "bundle.json"
    assert main(["baseline", "compile", "--baselines", str(tmp_path), "--out", str(elsewhere)]) == 0
    assert load_baselines(tmp_path, bundle=elsewhere) == reference(tmp_path)


def test_the_cli_names_the_bad_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(
        tmp_path, "nsg/web.yaml", nsg_doc(expected={"rules": [dict(GOOD_RULE, priority=5)]})
    )
    assert main(["baseline", "compile", "--baselines", str(tmp_path)], out=io.StringIO()) == 2
    assert str(path) in capsys.readouterr().err


def test_a_file_json_cannot_hold_is_read_from_yaml_without_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write(tmp_path, "nsg/web.yaml", nsg_doc(description="plain"))
    # a YAML date where any value may go: kept exactly only by reading the YAML
    scope = "/identity/conditionalAccess/policies/c0ffee00-1111-4222-8333-444455556666"
    text = f"kind: conditional-access-policy\nscope: {scope}\n"
    write(tmp_path, "ca.yaml", text + "expected: {state: enabled, conditions: {x: 2024-01-02}}\n")
    report = compile_bundle(tmp_path)
    assert (report.files, report.bundled) == (2, 1)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        assert load_baselines(tmp_path) == reference(tmp_path)
    assert "not in the compiled bundle" not in caplog.text


@pytest.mark.parametrize(
    ("value", "plain"),
    [
        ({"a": [1, 2.5, "x", None, True]}, True),
        ({1: "x"}, False),
        ((1, 2), False),
        ({"a": float("nan")}, False),
        ({"a": {"b": {1, 2}}}, False),
    ],
)
def test_only_what_json_gives_back_exactly_is_plain(value: object, plain: bool) -> None:
    assert is_plain(value) is plain


def test_without_a_bundle_the_load_says_so_and_reads_the_yaml(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # given baselines never compiled, when they are loaded, then the log says where no bundle
    # was found (a package shipped without one costs a slow cold start, never silently)
    shutil.copytree(REPO / "baselines", tmp_path / "b")
    with caplog.at_level(logging.INFO, logger="driftkeeper._bundle"):
        loaded = load_baselines(tmp_path / "b")
    assert loaded.baselines
    assert "no compiled baseline bundle at" in caplog.text


@pytest.mark.parametrize(
    ("where", "value"),
    [
        ("yaml.__version__", "0.0-elsewhere"),
        ("driftkeeper._bundle._runtime", lambda: "CPython 3.99 unicode 99.0.0"),
    ],
    ids=["another PyYAML", "another Python"],
)
def test_a_bundle_compiled_elsewhere_is_refused(
    compiled: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    where: str,
    value: object,
) -> None:
    # given a bundle compiled where PyYAML was another version (libyaml and the pure-Python
    # loader do not accept quite the same documents), or by another Python minor version
    # (prepackage runs on the developer's Python, the app on the Function App's: str.casefold
    # follows its Unicode database, and ipaddress's spelling of IPv4-mapped IPv6 addresses
    # changed, gh-87799), when it is loaded here, it is refused
    from driftkeeper import _bundle

    monkeypatch.setattr(_bundle, "_fingerprint", None)
    monkeypatch.setattr(where, value)
    compile_bundle(compiled)
    monkeypatch.undo()
    monkeypatch.setattr(_bundle, "_fingerprint", None)
    with caplog.at_level(logging.WARNING):
        loaded = load_baselines(compiled)
    assert loaded == reference(compiled)
    assert "compiled by another version" in caplog.text


@pytest.mark.parametrize("part", ["state", "labels"])
def test_a_part_the_bundle_does_not_hold_is_derived_from_the_expected_block(
    compiled: Path, part: str
) -> None:
    # given entries without a state (or labels) part, as compile writes when a kind's value
    # is not plain JSON, when they are read, then each is derived from the bundled
    # expected block by the kind, as from the YAML
    entries = unpack(compiled / BUNDLE_NAME)
    for entry in entries.values():
        entry.get("parts", {}).pop(part, None)
    write_bundle(compiled / BUNDLE_NAME, entries)
    loaded = load_baselines(compiled)
    assert [getattr(b, part) for b in loaded.baselines] == [
        getattr(b, part) for b in reference(compiled).baselines
    ]
