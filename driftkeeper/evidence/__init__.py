"""Evidence for auditors: sealed days of the event table, retention, the evidence pack.

- :func:`seal_closed_days` seals each closed day of the event table (a digest over its rows
  in key order, chained to the previous day's seal) in the seals table (:class:`Seals`);
- :func:`verify` recomputes the days of a period and walks the chain: each day ``ok``,
  ``changed``, ``added``, ``removed``, ``unsealed``, ``chain broken`` (or ``open``,
  ``pruned``);
- :func:`prune` deletes sealed days older than the retention, moving the chain's anchor
  (:func:`keep_evidence`: both, bounded, for the reconcile timer);
- :func:`write_pack` writes the evidence pack (report.html, report.pdf, events.csv,
  incidents.csv, manifest.json).

The design and its limits are in ``docs/evidence.md``. Like :mod:`driftkeeper.store`,
importing this package does not import the Azure SDK.
"""

from __future__ import annotations

from ._controls import CONTROLS, Control, control_of
from ._pack import Pack, write_pack
from ._retention import Pruned, prune
from ._sealing import TAMPERING, DayCheck, Verification, day_key, seal_closed_days, verify
from ._seals import Anchor, Seal, Seals, seals_table_name
from ._upkeep import Upkeep, keep_evidence

__all__ = [
    "CONTROLS",
    "TAMPERING",
    "Anchor",
    "Control",
    "DayCheck",
    "Pack",
    "Pruned",
    "Seal",
    "Seals",
    "Upkeep",
    "Verification",
    "control_of",
    "day_key",
    "keep_evidence",
    "prune",
    "seal_closed_days",
    "seals_table_name",
    "verify",
    "write_pack",
]
