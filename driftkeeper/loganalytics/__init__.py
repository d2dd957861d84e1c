"""Optional: every event-table row also goes to a Log Analytics custom table.

Through the Logs Ingestion API (``azure-monitor-ingestion``, a data collection rule), so
Azure Workbooks, Microsoft Sentinel and KQL query the same rows as the dashboard. On when
``DRIFTKEEPER_LOGS_INGESTION_ENDPOINT``, ``_RULE_ID`` and ``_STREAM`` are set.

- :mod:`._rows`   the stream's columns (:data:`STREAM_COLUMNS`) and calls under 1 MB;
- :mod:`._outbox` the markers of rows still owed (table ``<events table>outbox``);
- :mod:`._sink`   the marker before each table write, the upload after it, and the
  reconcile timer's resend.

A failure to ingest never loses the table row and never fails the trigger: see
:mod:`driftkeeper.loganalytics._sink` for the order of writes and the dedupe key.
"""

from __future__ import annotations

from ._outbox import OUTBOX_TABLE_SUFFIX, Marker, Outbox, outbox_table_name
from ._rows import MAX_CALL_BYTES, MAX_VALUE_BYTES, STREAM_COLUMNS, calls, log_row, record_row
from ._sink import GRACE, LogsSink, MirroredLedger, Pending, Sent, logs_client

__all__ = [
    "GRACE",
    "MAX_CALL_BYTES",
    "MAX_VALUE_BYTES",
    "OUTBOX_TABLE_SUFFIX",
    "STREAM_COLUMNS",
    "LogsSink",
    "Marker",
    "MirroredLedger",
    "Outbox",
    "Pending",
    "Sent",
    "calls",
    "log_row",
    "logs_client",
    "outbox_table_name",
    "record_row",
]
