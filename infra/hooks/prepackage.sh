#!/bin/sh
# azd prepackage: validate every baseline file and write the compiled bundle that ships in the
# package (.funcignore keeps baselines/, bundle included), so the app never parses YAML cold;
# then compile the app's bytecode into the package (.funcignore keeps driftkeeper/'s and
# handlers/' __pycache__): the package is mounted read-only, so an app without it compiles
# every module it imports from source at each cold start (~0.3 s for the whole package).
# checked-hash: Python uses a .pyc only while its source's hash matches, whatever the
# timestamps the package keeps. It helps only when this Python's minor version is the
# Function App's (infra/modules/function-app.bicep, pythonVersion); otherwise it is ignored.
set -eu
. infra/hooks/_python.sh
want=$(sed -n "s/^param pythonVersion string = '\(.*\)'/\1/p" infra/modules/function-app.bicep 2>/dev/null || true)
have=$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
if [ -n "$want" ] && [ "$want" != "$have" ]; then
  echo "warning: packaging with Python $have, the Function App runs $want: its cold starts will" \
    "ignore the bundle (compiled for $have) and the bytecode; use a $want venv" >&2
fi
"$PY" -m driftkeeper.cli baseline compile --baselines "${DRIFTKEEPER_BASELINES_DIR:-baselines}"
# a fresh __pycache__: no .pyc of a deleted module ships, and none a developer's run left
# (timestamp-checked: a zip keeps times to 2 s without a time zone, so those fail their check)
find driftkeeper handlers -name __pycache__ -type d -prune -exec rm -rf {} +
rm -rf __pycache__
"$PY" -m compileall -q -f --invalidation-mode checked-hash driftkeeper handlers function_app.py
