#!/bin/sh
# azd postprovision: the sign-in app registration sends users back to this app.
set -eu
client_id="${DRIFTKEEPER_AUTH_CLIENT_ID:-}"
host="${AZURE_FUNCTION_APP_HOSTNAME:-}"
if [ -n "$client_id" ] && [ "$client_id" != "none" ] && [ -n "$host" ]; then
  az ad app update --id "$client_id" \
    --web-redirect-uris "https://$host/.auth/login/aad/callback"
fi
