"""The Function App: creates the app and registers the blueprints in handlers/. Nothing else."""

from __future__ import annotations

import azure.functions as func

from handlers.approvals import bp as approvals
from handlers.compliance_api import bp as compliance
from handlers.dashboard import bp as dashboard
from handlers.event_hub import bp as event_hub
from handlers.events_api import bp as events_api
from handlers.health import bp as health
from handlers.resource_events import bp as resource_events
from handlers.timers import bp as timers

app = func.FunctionApp()
for blueprint in (
    approvals,
    compliance,
    dashboard,
    event_hub,
    events_api,
    health,
    resource_events,
    timers,
):
    app.register_functions(blueprint)
