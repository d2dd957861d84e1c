"""The repository stands alone: no file points outside it, and every sample the tests, examples
and benchmarks name is in tests/corpus, listed with its origin in tests/corpus/SOURCES.md.

(`.ci/run` proves the rest: a clone into an empty folder passes ``make test`` and ``make demo``.)
"""

from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

import pytest

from tests.corpus import SAMPLES, sample

ROOT = Path(__file__).resolve().parents[1]
# The folder that sat beside the repository once. This file spells it so that no line of
# its own matches: ``git grep`` for the old paths must find nothing anywhere.
SHARED = "shared"
OUTSIDE = re.compile(r"\.\.[/\\]shared(?![\w-])|(?<![\w-])shared[/\\]")
SAMPLE_PATH = re.compile(r"(?:arm|eventgrid|graph|custodian)/[\w.-]+\.json")
MARKDOWN_LINK = re.compile(r"\]\(([^)\s]+)\)")


def tracked_text_files() -> dict[str, str]:
    """Every file git tracks that reads as UTF-8 text, by its path in the repository."""
    listing = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    texts = {}
    for name in filter(None, listing.split("\0")):
        try:
            texts[name] = (ROOT / name).read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError):  # binary, or deleted in the work tree
            continue
    return texts


def test_no_tracked_file_names_a_folder_outside_the_repository() -> None:
    texts = tracked_text_files()
    assert "README.md" in texts
    hits = [
        f"{name}:{number}: {line.strip()}"
        for name, text in texts.items()
        for number, line in enumerate(text.splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert hits == []


@pytest.mark.parametrize(
    ("line", "outside"),
    [
        (f"Design: [`../{SHARED}/DESIGN.md`](../{SHARED}/DESIGN.md).", True),
        (f'CORPUS = ROOT.parent / "{SHARED}/corpus"', True),
        (f"see `..\\{SHARED}`", True),
        ("the customer's side of the shared-responsibility model", False),
        ("[SOURCES](tests/corpus/SOURCES.md)", False),
    ],
)
def test_the_outside_pattern_tells_paths_from_prose(line: str, outside: bool) -> None:
    assert bool(OUTSIDE.search(line)) is outside


def test_markdown_links_stay_inside_the_repository() -> None:
    escaping = []
    for name, text in tracked_text_files().items():
        if not name.endswith(".md"):
            continue
        for target in MARKDOWN_LINK.findall(text):
            if "://" in target or target.startswith(("#", "mailto:")):
                continue
            resolved = ((ROOT / name).parent / target.split("#")[0]).resolve()
            if not resolved.is_relative_to(ROOT):
                escaping.append(f"{name}: {target}")
    assert escaping == []


def named_samples() -> tuple[set[str], set[str]]:
    """The sample paths named in the Python of tests/, examples/ and bench/ (but this file,
    which names missing ones on purpose): plain strings, and f-strings as glob patterns
    (``arm/recorded_roleDefinition_{role}.json`` -> ``arm/recorded_roleDefinition_*.json``)."""
    plain: set[str] = set()
    patterns: set[str] = set()
    for folder in ("tests", "examples", "bench"):
        for file in (ROOT / folder).rglob("*.py"):
            if file == Path(__file__).resolve():
                continue
            for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    if SAMPLE_PATH.fullmatch(node.value):
                        plain.add(node.value)
                elif isinstance(node, ast.JoinedStr):
                    pattern = "".join(
                        part.value if isinstance(part, ast.Constant) else "*"
                        for part in node.values
                    )
                    if SAMPLE_PATH.fullmatch(pattern.replace("*", "x")):
                        patterns.add(pattern)
    return plain, patterns


def test_every_sample_the_code_names_is_in_the_corpus() -> None:
    plain, patterns = named_samples()
    # the scan sees both forms (else this test could not fail)
    assert "arm/recorded_nsg_list_after_open_ports.json" in plain
    assert "arm/recorded_roleDefinition_*.json" in patterns
    missing = sorted(p for p in plain if not (SAMPLES / p).is_file())
    missing += sorted(p for p in patterns if not any(SAMPLES.glob(p)))
    assert missing == []
    for path in plain:
        assert sample(path) is not None  # and each one is JSON


@pytest.mark.parametrize("path", ["arm/no-such-sample.json", "../../README.md"])
def test_the_loader_names_a_sample_that_is_not_in_the_corpus(path: str) -> None:
    with pytest.raises(FileNotFoundError, match=re.escape(repr(path))):
        sample(path)


def test_every_sample_is_listed_in_sources_with_its_origin() -> None:
    listed: set[str] = set()
    folder = ""
    for line in (SAMPLES / "SOURCES.md").read_text(encoding="utf-8").splitlines():
        if heading := re.fullmatch(r"## (\w+)/", line):
            folder = heading.group(1)
        elif row := re.match(r"\| ([^|\s]+\.json) \|", line):
            listed.add(f"{folder}/{row.group(1)}")
    on_disk = {p.relative_to(SAMPLES).as_posix() for p in SAMPLES.rglob("*.json")}
    assert len(on_disk) == 61
    assert listed == on_disk
