# Sourced by the hooks: $PY is the Python that has driftkeeper (the repository's .venv, made by
# `make`, or the one on PATH with `pip install -e .`).
if [ -x .venv/bin/python ]; then
  PY=.venv/bin/python
else
  PY=${PYTHON:-python3}
fi
