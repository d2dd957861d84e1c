"""Storage on Azure Table Storage: the event table, incident state and cursors.

Every class wraps an injected ``azure.data.tables.TableClient`` (never one built here), and
``import driftkeeper.store`` does not import the Azure SDK: it is imported inside the methods.

- :class:`Ledger`    the event table (``driftevents``): one row per (signal, setting, rule);
- :class:`Incidents` one row per (resource, rule): its drift and read-error incidents
  (``incidents``), changed as :mod:`driftkeeper.incident_policy` decides;
- :class:`Cursors`   named watermarks such as the audit-poll cursor (``cursors``);
- :class:`Approvals` rollback approval requests and their tokens (``approvals``);
- :class:`Brakes`    the rollback brakes' shared state and run-once claims (``brakes``).

Service failures (connection refused, timeouts, 5xx, 503 ServerBusy) are not wrapped: they
propagate as azure-core exceptions (``ServiceRequestError``, ``ServiceResponseError``,
``HttpResponseError``), so the Function trigger fails and the platform retries. Every write
is keyed by the event alone (upsert) or conditional (ETag), so a retry never duplicates.
The schema is in ``docs/event-table.md``.
"""

from __future__ import annotations

from ..incident_policy import RECENT_SIGNALS, Incident, IncidentRow, IncidentStatus, Transition
from ._approvals import APPROVAL_TABLE, Approvals, request_keys
from ._brakes import BRAKES_TABLE, Brakes
from ._cursors import CURSOR_TABLE, Cursors
from ._incidents import INCIDENT_TABLE, Incidents, incident_keys
from ._keys import encode_key
from ._ledger import EVENT_TABLE, OUTCOMES, Ledger, record_entities, record_keys

__all__ = [
    "APPROVAL_TABLE",
    "BRAKES_TABLE",
    "CURSOR_TABLE",
    "EVENT_TABLE",
    "INCIDENT_TABLE",
    "OUTCOMES",
    "RECENT_SIGNALS",
    "TABLES",
    "Approvals",
    "Brakes",
    "Cursors",
    "Incident",
    "IncidentRow",
    "IncidentStatus",
    "Incidents",
    "Ledger",
    "Transition",
    "encode_key",
    "incident_keys",
    "record_entities",
    "record_keys",
    "request_keys",
]

TABLES: tuple[str, ...] = (
    EVENT_TABLE,
    INCIDENT_TABLE,
    CURSOR_TABLE,
    APPROVAL_TABLE,
    BRAKES_TABLE,
    "drifteventsseals",
    "summaries",
    "summariescounts",
    "drifteventsoutbox",
)
"""Every table driftkeeper uses, by its default name: this package's, the event table's day
seals (:func:`driftkeeper.evidence.seals_table_name`), the compliance summaries
(:data:`driftkeeper.compliance.SUMMARY_TABLE`) and their count rows (the same + ``counts``)
and, with the Log Analytics sink on, its outbox
(:func:`driftkeeper.loganalytics.outbox_table_name`); a test keeps these names in step.
``infra/modules/storage.bicep`` creates them in Azure; the runtime creates a missing one on
first use."""
