#!/bin/sh
# azd prepackage: validate every baseline file and write the compiled bundle that ships in the
# package (.funcignore keeps baselines/, bundle included), so the app never parses YAML cold.
set -eu
. infra/hooks/_python.sh
"$PY" -m driftkeeper.cli baseline compile --baselines "${DRIFTKEEPER_BASELINES_DIR:-baselines}"
