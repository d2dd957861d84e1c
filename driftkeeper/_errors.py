"""The exceptions driftkeeper raises.

Every error derives from :class:`DriftkeeperError`, so a caller that wants to stop on
anything of ours catches that one class::

    DriftkeeperError
     ├── InputError               bad input from a file or a user; exit code 2 in the CLI
     │    ├── BaselineError       a baseline file is unreadable or invalid (names file + field)
     │    ├── SnapshotError       a snapshot document is unreadable or invalid
     │    └── AlertConfigError    alert routing configuration is invalid (names the variable)
     ├── ReadError                reading live state from ARM or Graph failed
     │    └── TransientReadError  ... in a way a retry may fix (429, 5xx, timeouts)
     └── DeliveryError            an alert channel failed (the Notifier retries, then records)

``AlertConfigError`` and ``DeliveryError`` live in :mod:`driftkeeper.alerts`. Table Storage
failures are not wrapped: azure-core's exceptions propagate so the trigger fails and the
platform retries (every write is idempotent, see :mod:`driftkeeper.store`).

Only trigger boundaries (the CLI's ``main`` and the Function App handlers) catch broadly;
everything else lets these propagate. A failed read is never turned into "no drift": the
engine records it as a finding with status ``error``.
"""

from __future__ import annotations

__all__ = [
    "BaselineError",
    "DriftkeeperError",
    "InputError",
    "ReadError",
    "SnapshotError",
    "TransientReadError",
]


class DriftkeeperError(Exception):
    """Base class of every error raised by driftkeeper."""


class InputError(DriftkeeperError):
    """Input from a file or a user is unusable."""


class BaselineError(InputError):
    """A baseline file is unreadable or does not match the baseline schema.

    ``file`` and ``field`` say where; the message says what was expected.
    """

    def __init__(self, file: str, field: str, problem: str) -> None:
        self.file = file
        self.field = field
        self.problem = problem
        where = f"{file}: {field}" if field else file
        super().__init__(f"{where}: {problem}")


class SnapshotError(InputError):
    """A snapshot document is unreadable or does not match ``driftkeeper.snapshot/1``."""

    def __init__(self, source: str, field: str, problem: str) -> None:
        self.source = source
        self.field = field
        self.problem = problem
        where = f"{source}: {field}" if field else source
        super().__init__(f"{where}: {problem}")


class ReadError(DriftkeeperError):
    """Reading current state from ARM or Microsoft Graph failed."""


class TransientReadError(ReadError):
    """A read failed in a way a later retry may fix (throttling, 5xx, network)."""
