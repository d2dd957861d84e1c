"""Hostile baseline files: refused quickly, with a BaselineError naming the file and field.

A file costs at most what its size, nesting and alias budget allow, before anything is built
from it; a value quoted in an error is cut short; a scope is a plain ARM/Graph path.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from driftkeeper import BaselineError
from driftkeeper.baseline import (
    MAX_ALIAS_NODES,
    MAX_DEPTH,
    MAX_FILE_BYTES,
    MAX_QUOTED,
    load_baselines,
)

from .test_baseline import GOOD_RULE, NSG, nsg_doc, write

REPO = Path(__file__).resolve().parent.parent
Dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # the pure one takes seconds here


def billion_laughs(levels: int = 9) -> str:
    lines = ['a0: &a0 "lol"']
    for i in range(1, levels + 1):
        refs = ", ".join([f"*a{i - 1}"] * 9)
        lines.append(f"a{i}: &a{i} [{refs}]")
    return "kind: nsg\nscope: " + NSG + "\nexpected:\n" + "".join(f"  {x}\n" for x in lines)


def alias_chain(levels: int) -> str:
    """Each anchor nests the previous one a level deeper: few nodes, great depth."""
    lines = ["a0: &a0 [x]"] + [f"a{i}: &a{i} [*a{i - 1}]" for i in range(1, levels + 1)]
    return "kind: nsg\nexpected:\n" + "".join(f"  {x}\n" for x in lines)


HOSTILE: dict[str, tuple[str, str, str]] = {
    # name: (file text, field, what the problem says)
    "billion laughs": (
        billion_laughs(),
        "expected.a",
        f"aliases expand to more than {MAX_ALIAS_NODES} nodes",
    ),
    "alias into itself": ("kind: nsg\nexpected: &e {rules: *e}\n", "expected.rules", "holding it"),
    "5000-deep flow list": ("[" * 5000 + "]" * 5000, "[0]" * (MAX_DEPTH - 1), "nested deeper"),
    "deep block mapping": (
        "".join(f"{'  ' * i}k{i}:\n" for i in range(200)) + "  " * 200 + "x\n",
        ".".join(f"k{i}" for i in range(MAX_DEPTH - 1)),
        f"nested deeper than {MAX_DEPTH} levels",
    ),
    "depth through aliases": (alias_chain(MAX_DEPTH + 5), "expected.a", "through an alias"),
    "file over the size limit": (
        "kind: nsg\n" + "# padding\n" * (MAX_FILE_BYTES // 10 + 1),
        "(document)",
        f"larger than {MAX_FILE_BYTES} bytes",
    ),
}


def _seconds(action: Callable[[], object], runs: int = 3) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - start)
    return best


def _refusal(directory: Path) -> BaselineError:
    with pytest.raises(BaselineError) as caught:
        load_baselines(directory)
    return caught.value


@pytest.mark.parametrize(("text", "field", "problem"), HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_file_is_refused_before_it_is_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, field: str, problem: str
) -> None:
    tiny = tmp_path / "tiny"
    write(tiny, "web.yaml", nsg_doc())
    tiny_seconds = _seconds(lambda: load_baselines(tiny))
    hostile = tmp_path / "hostile"
    path = write(hostile, "bomb.yaml", text)

    def never(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the hostile file reached the YAML composer")

    monkeypatch.setattr(yaml, "load", never)
    monkeypatch.setattr(yaml, "compose", never)
    error = _refusal(hostile)
    hostile_seconds = _seconds(lambda: _refusal(hostile))

    assert error.file == str(path)
    assert error.field.startswith(field[: MAX_QUOTED - 1])
    assert problem in error.problem
    assert len(str(error)) < len(str(path)) + 3 * MAX_QUOTED + 100
    # refused at the cost of a small file, not of the bomb (which takes a minute of CPU)
    assert hostile_seconds < 50 * tiny_seconds


def test_anchors_within_the_budget_still_load(tmp_path: Path) -> None:
    rule = yaml.safe_dump(GOOD_RULE, default_flow_style=True).strip()
    text = f"kind: nsg\nscope: {NSG}\nexpected:\n  rules:\n    - &rule {rule}\n"
    write(tmp_path, "web.yaml", text + "    - {<<: *rule, name: r2, priority: 200}\n")
    [baseline] = load_baselines(tmp_path).baselines
    assert [r["name"] for r in baseline.expected["rules"]] == ["r", "r2"]


HUGE = "x" * 500_000
LONG_VALUES: dict[str, tuple[dict[str, Any], str]] = {
    "enum": (nsg_doc(severity=HUGE), "severity"),
    "type": (nsg_doc(owners=HUGE), "owners"),
    "unknown field": (nsg_doc(**{HUGE: 1}), "(document)"),
    "scope": (nsg_doc(scope=f"{NSG}/{HUGE}?"), "scope"),
    "expected value": (
        nsg_doc(expected={"rules": [{**GOOD_RULE, "protocol": HUGE}]}),
        "expected.rules[0].protocol",
    ),
    "kind's own check": (
        nsg_doc(expected={"rules": [{**GOOD_RULE, "destinationPortRanges": [HUGE]}]}),
        "expected.rules[0].destinationPortRanges",
    ),
}


@pytest.mark.parametrize(("doc", "field"), LONG_VALUES.values(), ids=LONG_VALUES.keys())
def test_a_long_value_is_quoted_cut_short(tmp_path: Path, doc: dict[str, Any], field: str) -> None:
    path = write(tmp_path, "long.yaml", yaml.dump(doc, Dumper=Dumper))
    error = _refusal(tmp_path)
    assert (error.file, error.field) == (str(path), field)
    assert len(error.problem) < 3 * MAX_QUOTED + 100
    assert "…" in error.problem


BAD_SCOPES = [
    f"/subscriptions/../../{NSG}",
    "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/..",
    "/subscriptions/./s",
    "//subscriptions/s",
    "/subscriptions/s/",
    "",
    "subscriptions/s",
    "/subscriptions/%2e%2e/s",
    "/subscriptions/s?api-version=1",
    "/subscriptions/s#x",
    "/subscriptions/a b",
    "/subscriptions/s\\..\\t",
    "/subscriptions/s\n/x",
    " /subscriptions/s",
]


@pytest.mark.parametrize("scope", BAD_SCOPES)
@pytest.mark.parametrize("kind", ["nsg", "role-assignments"])
def test_a_scope_that_is_not_a_plain_path_is_refused(tmp_path: Path, kind: str, scope: str) -> None:
    doc: dict[str, object] = nsg_doc(scope=scope) if kind == "nsg" else {"kind": kind}
    doc["scope"] = scope
    doc.setdefault("expected", {"assignments": []})
    path = write(tmp_path, "bad.yaml", doc)
    error = _refusal(tmp_path)
    assert (error.file, error.field) == (str(path), "scope")


@pytest.mark.parametrize(
    "scope",
    [
        "/subscriptions/6f1c2a3b-4d5e-4f60-8a91-b2c3d4e5f607",
        "/",
        "/subscriptions/s/resourceGroups/rg.web_(prod)-1",
        "/providers/Microsoft.Management/managementGroups/custodian-test",
        "/subscriptions/s/resourceGroups/röntgen",
    ],
)
def test_plain_scopes_load(tmp_path: Path, scope: str) -> None:
    write(
        tmp_path,
        "ok.yaml",
        {"kind": "role-assignments", "scope": scope, "expected": {"assignments": []}},
    )
    assert [b.scope for b in load_baselines(tmp_path).baselines] == [scope]


def test_every_bundled_baseline_loads() -> None:
    assert len(load_baselines(REPO / "baselines").baselines) >= 20


scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
documents = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)
fields = st.sampled_from(["kind", "scope", "expected", "owners", "severity", "response", "name"])
mutated = st.builds(lambda k, v: yaml.safe_dump(nsg_doc(**{k: v})), fields, documents)
yaml_ish = st.lists(
    st.sampled_from(
        [
            "kind: nsg\n",
            "scope: ",
            NSG,
            "\n",
            "&a ",
            "*a",
            "[",
            "]",
            "{",
            "}",
            ": ",
            "- ",
            "  ",
            "!!",
            "2024-02-30",
            "? ",
            ",",
            "'",
            '"',
            "\\ud800",
            "%",
            "#",
        ]
    ),
    max_size=30,
).map("".join)
texts = st.text() | yaml_ish | mutated | documents.map(yaml.safe_dump)


@given(texts)
def test_any_text_is_loaded_or_refused_with_a_baseline_error(text: str) -> None:
    with tempfile.TemporaryDirectory() as directory:
        Path(directory, "any.yaml").write_text(text, encoding="utf-8", errors="surrogatepass")
        refused: list[BaselineError] = []
        try:
            load_baselines(directory)
        except BaselineError as error:
            refused.append(error)
        assert all(e.file == str(Path(directory, "any.yaml")) for e in refused)
