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
  # Kept at once, so a failure below and a rerun never create a second registration.
  azd env set DRIFTKEEPER_AUTH_CLIENT_ID "$app_id"
fi
app_id="${app_id:-$DRIFTKEEPER_AUTH_CLIENT_ID}"
if [ "$app_id" != "none" ]; then
  # Idempotent, so a rerun finishes what a failed run left (Entra replication lag).
  az ad app update --id "$app_id" --identifier-uris "api://$app_id"
  # Approvers and readers may be named by group object id: tokens must carry the user's
  # security groups (Entra leaves the claim out for users in more than 200 groups), and
  # the upn claim, which v2.0 tokens carry only as an optional claim (without it driftkeeper
  # falls back to preferred_username, which the user can change).
  claims='{"idToken":[{"name":"upn","essential":false}],"accessToken":[{"name":"upn","essential":false}]}'
  az ad app update --id "$app_id" --set groupMembershipClaims=SecurityGroup \
    --optional-claims "$claims"
  if ! az ad sp show --id "$app_id" >/dev/null 2>&1; then
    az ad sp create --id "$app_id" >/dev/null
  fi
fi
