"""The Function App: creates the app and registers the blueprints in handlers/. Nothing else."""

from __future__ import annotations

import azure.functions as func

from handlers.health import bp as health

app = func.FunctionApp()
app.register_functions(health)
