"""``report.pdf``: the report printed by headless Chromium (no network, a throwaway
profile, its own process group, killed when it overruns)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
from pathlib import Path

__all__ = ["FLAGS", "print_pdf"]

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-pdf-header-footer",
)


def print_pdf(chromium: str, html_file: Path, pdf_file: Path, *, timeout: float = 120.0) -> str:
    """Print ``html_file`` to ``pdf_file``; ``""`` when written, else why not.

    Chromium prints into a fresh file of the directory, which then replaces ``pdf_file``
    (a symlink there is replaced itself, its target never written); a result that is not a
    PDF (``%PDF-``) is discarded."""
    with contextlib.suppress(FileNotFoundError):
        pdf_file.unlink()
    with tempfile.TemporaryDirectory(prefix=".dk-pdf-", dir=pdf_file.parent) as printed:
        skipped = _print(chromium, html_file, Path(printed) / "report.pdf", timeout)
        if not skipped:
            os.replace(Path(printed) / "report.pdf", pdf_file)
    return skipped


def _print(chromium: str, html_file: Path, pdf_file: Path, timeout: float) -> str:
    with tempfile.TemporaryDirectory(prefix="dk-pdf-") as profile:
        command = [
            chromium,
            *FLAGS,
            f"--user-data-dir={profile}",
            f"--print-to-pdf={pdf_file.resolve()}",
            html_file.resolve().as_uri(),
        ]
        try:
            process = subprocess.Popen(  # noqa: S603 - our own argument list, no shell
                command,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                env={**os.environ, "HOME": profile},
            )
        except OSError as exc:
            return f"chromium could not start: {exc}"
        try:
            _, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill(process)
            process.communicate()
            return f"chromium did not finish within {timeout:g} s"
        finally:
            _kill(process)
    if process.returncode != 0 or not pdf_file.is_file() or pdf_file.stat().st_size == 0:
        tail = err.decode("utf-8", "replace").strip().splitlines()[-3:]
        return f"chromium exited with {process.returncode}: {' / '.join(tail)}"
    if pdf_file.is_symlink():
        return "chromium left a symlink, not a PDF"
    with pdf_file.open("rb") as handle:
        if handle.read(5) != b"%PDF-":
            return "chromium's output is not a PDF (it does not start with %PDF-)"
    return ""


def _kill(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    if process.returncode is None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)
