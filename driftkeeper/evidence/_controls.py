"""Which control each watched kind evidences, and where that control sits in SOC 2 and
ISO/IEC 27001:2022 (the table in ``docs/evidence.md``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = ["CONTROLS", "FRAMEWORK_CLAUSES", "Control", "control_of"]

FRAMEWORK_CLAUSES: Mapping[str, str] = MappingProxyType(
    {
        "SOC 2 CC7.1": "detection and monitoring of configuration changes that introduce "
        "vulnerabilities",
        "SOC 2 CC8.1": "changes to infrastructure are authorized, tested, approved and "
        "implemented (change management)",
        "ISO/IEC 27001:2022 A.5.15": "access control: rules to control access to information "
        "and other associated assets",
        "ISO/IEC 27001:2022 A.8.15": "logging: logs that record activities and events are "
        "produced, stored, protected and analysed",
        "ISO/IEC 27001:2022 A.8.32": "change management: changes to information processing "
        "facilities are subject to change management procedures",
    }
)
"""Every clause the pack maps to, with what it asks for (paraphrased)."""


@dataclass(frozen=True)
class Control:
    """A group of watched kinds the report shows together."""

    name: str
    kinds: tuple[str, ...]
    clauses: tuple[str, ...]
    why: str


CONTROLS: tuple[Control, ...] = (
    Control(
        "Privileged roles",
        ("role-assignments", "directory-role"),
        (
            "SOC 2 CC7.1",
            "SOC 2 CC8.1",
            "ISO/IEC 27001:2022 A.5.15",
            "ISO/IEC 27001:2022 A.8.15",
            "ISO/IEC 27001:2022 A.8.32",
        ),
        "who holds privileged Azure RBAC and Entra directory roles: every grant or removal "
        "detected, attributed and answered",
    ),
    Control(
        "MFA and Conditional Access",
        ("conditional-access-policy", "security-defaults", "authentication-methods"),
        (
            "SOC 2 CC7.1",
            "SOC 2 CC8.1",
            "ISO/IEC 27001:2022 A.5.15",
            "ISO/IEC 27001:2022 A.8.15",
            "ISO/IEC 27001:2022 A.8.32",
        ),
        "sign-in requirements (Conditional Access policies, security defaults, "
        "authentication methods): weakening detected and answered",
    ),
    Control(
        "Network rules",
        ("nsg",),
        (
            "SOC 2 CC7.1",
            "SOC 2 CC8.1",
            "ISO/IEC 27001:2022 A.5.15",
            "ISO/IEC 27001:2022 A.8.15",
            "ISO/IEC 27001:2022 A.8.32",
        ),
        "network security group rules: openings detected, attributed and answered",
    ),
)
"""The controls of the report, in the order it shows them."""

_BY_KIND: Mapping[str, Control] = MappingProxyType(
    {kind: control for control in CONTROLS for kind in control.kinds}
)


def control_of(kind: str) -> Control | None:
    """The control ``kind`` belongs to (None: not one the report covers)."""
    return _BY_KIND.get(kind)
