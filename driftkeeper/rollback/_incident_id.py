"""The short id an operator names an incident by: ``driftkeeper incidents`` shows it,
``driftkeeper rollback approve|reject|accept INCIDENT`` takes it back.

It is the first :data:`LENGTH` hex digits of SHA-256 of ``resource|rule|generation``, the
resource lower-cased as the incident's key is (ARM ids compare case-insensitively): stable
across runs and machines, distinct for every generation of an incident, so an id printed
before a drift reopened does not decide the new one.
"""

from __future__ import annotations

import hashlib
import re

__all__ = ["LENGTH", "incident_id", "is_incident_id"]

LENGTH = 12
_ID = re.compile(rf"[0-9a-f]{{{LENGTH}}}")


def incident_id(resource: str, rule: str, generation: int) -> str:
    """The id of generation ``generation`` of the incident of ``resource`` and ``rule``."""
    text = f"{resource.lower()}|{rule}|{generation}"
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:LENGTH]


def is_incident_id(text: str) -> bool:
    """Whether ``text`` has the shape of an id (:data:`LENGTH` lower-case hex digits)."""
    return bool(_ID.fullmatch(text))
