#!/bin/sh
# azd postdeploy: the second phase of `azd up`. An Event Grid subscription whose destination is
# an Azure Function is validated against the deployed function, so the first provision runs
# without it; now that the code is deployed, turn it on and provision again (an incremental
# deployment: only the event subscriptions, and the Graph partner topic's if configured, are
# new). Later `azd up` runs provision with it on from the start, and this hook does nothing.
set -eu
if [ "${DRIFTKEEPER_ENABLE_EVENT_GRID:-false}" != "true" ]; then
  echo "postdeploy: the function is deployed; creating the Event Grid subscriptions"
  azd env set DRIFTKEEPER_ENABLE_EVENT_GRID true
  azd provision --no-prompt
fi
