"""A real browser for the tests: Debian's ``chromium``, headless, one process per page.

:func:`chromium_or_skip` finds the browser (``DRIFTKEEPER_CHROMIUM``, else ``chromium`` on
``PATH``) or skips the test saying why; with ``DRIFTKEEPER_REQUIRE_BROWSER=1`` (CI sets it) a
missing browser fails the test instead, so CI never skips silently.

:func:`open_page` loads a URL or an HTML file with the flags below plus a fresh
``--user-data-dir``, and returns what the page became once loaded: the serialised DOM
(``--dump-dom``: scripts that run while the page loads have run), the console messages
(``--enable-logging=stderr``), and, when asked, a PNG of the window (``--screenshot``). A page
that reports results writes them into its DOM (e.g. a ``<pre id="result">`` of JSON), read back
with :func:`element_text`. A browser that does not finish within ``timeout`` is killed with its
whole process group.

    chromium = chromium_or_skip()
    page = open_page(chromium, Path("page.html"), screenshot=Path("build/x.png"))
    data = json.loads(element_text(page.dom, "result"))
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest

__all__ = [
    "CHROMIUM_FLAGS",
    "REQUIRE_BROWSER",
    "BrowserError",
    "Page",
    "chromium_or_skip",
    "element_text",
    "find_chromium",
    "open_page",
]

REQUIRE_BROWSER = "DRIFTKEEPER_REQUIRE_BROWSER"
"""Set to ``1`` to make a missing browser a test failure rather than a skip (CI)."""

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
)

# [pid:tid:date:INFO:CONSOLE:12] "message", source: file:///x.html (12)   (also CONSOLE(12))
_CONSOLE = re.compile(r":CONSOLE(?::\d+|\(\d+\))\] \"(.*)\", source: (.*)$", re.MULTILINE)


class BrowserError(RuntimeError):
    """Chromium failed, or did not finish in time."""


@dataclass(frozen=True)
class Page:
    """A page as Chromium left it after loading."""

    dom: str
    """The serialised DOM after the load event."""
    console: tuple[str, ...]
    """Console messages (``console.log``, uncaught errors), ``message @ source`` each."""
    screenshot: Path | None
    """The PNG written, if one was asked for."""
    log: str
    """Chromium's whole stderr, for failure messages."""


def find_chromium() -> str | None:
    """The Chromium executable: ``DRIFTKEEPER_CHROMIUM`` if set, else ``chromium`` on PATH."""
    configured = os.environ.get("DRIFTKEEPER_CHROMIUM", "")
    if configured:
        return shutil.which(configured)
    return shutil.which("chromium")


def chromium_or_skip() -> str:
    """The Chromium executable; skips the test without one (fails under ``REQUIRE_BROWSER``)."""
    chromium = find_chromium()
    if chromium is not None:
        return chromium
    configured = os.environ.get("DRIFTKEEPER_CHROMIUM", "")
    missing = (
        f"DRIFTKEEPER_CHROMIUM={configured} is not a program"
        if configured
        else "Debian's chromium package was not found"
    )
    reason = f"needs a browser: {missing} (apt-get install chromium; .ci/run installs it)"
    if os.environ.get(REQUIRE_BROWSER, "") not in ("", "0"):
        pytest.fail(f"{reason}, and {REQUIRE_BROWSER} is set", pytrace=False)
    pytest.skip(reason)


def open_page(
    chromium: str,
    target: str | Path,
    *,
    screenshot: Path | None = None,
    window_size: tuple[int, int] = (1280, 800),
    timeout: float = 60.0,
    extra_flags: tuple[str, ...] = (),
) -> Page:
    """Load ``target`` (a URL, or an HTML file) headless, once; see the module docstring."""
    url = target.resolve().as_uri() if isinstance(target, Path) else target
    with tempfile.TemporaryDirectory(prefix="dk-chromium-") as profile:
        command = [
            chromium,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            "--v=0",
            f"--window-size={window_size[0]},{window_size[1]}",
            *extra_flags,
            "--dump-dom",
        ]
        if screenshot is not None:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileNotFoundError):
                screenshot.unlink()
            command.append(f"--screenshot={screenshot.resolve()}")
        command.append(url)
        process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group, killed as one
            env={**os.environ, "HOME": profile},
        )
        try:
            out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            out, err = process.communicate()
            raise BrowserError(
                f"chromium did not finish loading {url} within {timeout:g} s:\n"
                + _tail(err.decode("utf-8", "replace"))
            ) from None
        finally:
            _kill_group(process)  # helpers left behind by the browser
    log = err.decode("utf-8", "replace")
    dom = out.decode("utf-8", "replace")
    if process.returncode != 0 or not dom.strip():
        raise BrowserError(
            f"chromium exited with {process.returncode} on {url} and no page:\n{_tail(log)}"
        )
    if screenshot is not None and not screenshot.is_file():
        raise BrowserError(f"chromium wrote no screenshot for {url}:\n{_tail(log)}")
    console = tuple(f"{m.group(1)} @ {m.group(2)}" for m in _CONSOLE.finditer(log))
    return Page(dom=dom, console=console, screenshot=screenshot, log=log)


def element_text(dom: str, element_id: str) -> str:
    """The text of the element with ``id`` ``element_id`` in ``dom`` (``KeyError`` if none)."""
    finder = _TextOf(element_id)
    finder.feed(dom)
    finder.close()
    if finder.text is None:
        raise KeyError(f"no element with id {element_id!r} in the page")
    return "".join(finder.text)


_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)


class _TextOf(HTMLParser):
    def __init__(self, element_id: str) -> None:
        super().__init__(convert_charrefs=True)
        self._id = element_id
        self._depth = 0
        self.text: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID:
            return
        if self._depth:
            self._depth += 1
        elif self.text is None and (("id", self._id) in attrs):
            self.text = []
            self._depth = 1

    def handle_endtag(self, tag: str) -> None:
        if self._depth:
            self._depth -= 1

    def handle_data(self, data: str) -> None:
        if self._depth and self.text is not None:
            self.text.append(data)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    if process.returncode is None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)


def _tail(log: str, lines: int = 30) -> str:
    return "\n".join(log.splitlines()[-lines:])
