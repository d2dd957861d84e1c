#!/bin/sh
# azd preprovision: refuse to provision stale generated files, and make sure App Service
# Authentication has an Entra app registration to sign users in with.
set -eu
. infra/hooks/_python.sh

# infra/eventgrid-filter.json and infra/logs-ingestion-columns.json are generated from the code.
"$PY" -m driftkeeper.infra_files --check

# The sign-in app registration: created once per environment unless one is given
# (azd env set DRIFTKEEPER_AUTH_CLIENT_ID <client id>) or authentication is declined
# (azd env set DRIFTKEEPER_AUTH_CLIENT_ID none: the HTTP routes then answer 503).
if [ -z "${DRIFTKEEPER_AUTH_CLIENT_ID:-}" ]; then
  name="driftkeeper-${AZURE_ENV_NAME}"
  echo "preprovision: creating the Entra app registration '$name' for App Service Authentication"
  app_id=$(az ad app create --display-name "$name" --sign-in-audience AzureADMyOrg \
    --enable-id-token-issuance true --query appId -o tsv)
  az ad app update --id "$app_id" --identifier-uris "api://$app_id"
  az ad sp create --id "$app_id" >/dev/null 2>&1 || true   # exists already: fine
  azd env set DRIFTKEEPER_AUTH_CLIENT_ID "$app_id"
fi
