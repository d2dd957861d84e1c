"""driftkeeper: find drift in the customer-owned security settings of an Azure tenant."""

from __future__ import annotations

from ._errors import (
    BaselineError,
    DriftkeeperError,
    InputError,
    ReadError,
    SnapshotError,
    TransientReadError,
)
from .snapshot import Snapshot

__all__ = [
    "BaselineError",
    "DriftkeeperError",
    "InputError",
    "ReadError",
    "Snapshot",
    "SnapshotError",
    "TransientReadError",
]
__version__ = "0.1.0"
