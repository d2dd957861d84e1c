"""driftkeeper: find drift in the customer-owned security settings of an Azure tenant."""

from __future__ import annotations

from ._errors import (
    AlertConfigError,
    BadNextLinkError,
    BaselineError,
    DeliveryError,
    DriftkeeperError,
    FieldError,
    InputError,
    PluginError,
    ReadError,
    SettingsError,
    SnapshotError,
    TimeFormatError,
    TransientReadError,
)
from .snapshot import Snapshot

__all__ = [
    "AlertConfigError",
    "BadNextLinkError",
    "BaselineError",
    "DeliveryError",
    "DriftkeeperError",
    "FieldError",
    "InputError",
    "PluginError",
    "ReadError",
    "SettingsError",
    "Snapshot",
    "SnapshotError",
    "TimeFormatError",
    "TransientReadError",
]
__version__ = "0.1.0"
