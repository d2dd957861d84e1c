"""One-off set-up commands run by an administrator (``driftkeeper setup ...``).

- :func:`grant_graph_permissions`: the Microsoft Graph application permissions of a mode
  (:func:`driftkeeper.permissions.graph_permissions`), granted to driftkeeper's identity.
"""

from __future__ import annotations

from ._graph_grants import ALREADY_EXISTS, GrantReport, grant_graph_permissions

__all__ = ["ALREADY_EXISTS", "GrantReport", "grant_graph_permissions"]
