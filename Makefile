# Two commands a newcomer needs: `make demo` and `make test`. Both set themselves up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

NODE_STAMP := node_modules/.package-lock.json

.PHONY: demo test fuzz lint typecheck bench lock clean infra-check

$(STAMP): requirements.txt requirements-dev.txt constraints.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

# Azurite (the local Table Storage) from npm, into node_modules; no global install.
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

demo: $(STAMP) $(NODE_STAMP)
	$(BIN)/python examples/demo.py

test: $(STAMP) $(NODE_STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -n 2

# The fuzz tests of `make test`, at 10,000 hostile items per path (docs/fuzzing.md); the
# figures of each path go to build/fuzz-report.jsonl.
FUZZ_ITEMS ?= 10000
fuzz: $(STAMP) $(NODE_STAMP)
	rm -f build/fuzz-report.jsonl
	DRIFTKEEPER_FUZZ_ITEMS=$(FUZZ_ITEMS) DRIFTKEEPER_FUZZ_REPORT=build/fuzz-report.jsonl \
		$(BIN)/python -m pytest -q -n 2 --timeout=7200 tests/fuzz
	cat build/fuzz-report.jsonl

bench: $(STAMP) $(NODE_STAMP)
	$(BIN)/python bench/scan.py
	$(BIN)/python bench/events.py
	$(BIN)/python bench/cold_start.py
	$(BIN)/python bench/table_writes.py
	$(BIN)/python bench/table_ops.py
	$(BIN)/python bench/rollback.py
	$(BIN)/python bench/dashboard.py --events 100000

# Checkov (the IaC scanner) over infra/ with its Bicep framework, in a venv of its own: its
# dependency tree is large and must not touch .venv. 0 failed checks is the bar; a check that
# does not apply is skipped with its reason next to the resource (`// checkov:skip=...`).
CHECKOV_VENV := .venv-checkov
CHECKOV_VERSION := 3.3.30
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION)

$(CHECKOV_STAMP):
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check checkov==$(CHECKOV_VERSION)
	touch $(CHECKOV_STAMP)

infra-check: $(CHECKOV_STAMP)
	$(CHECKOV_VENV)/bin/checkov --config-file .checkov.yaml --directory infra

lock: $(STAMP)
	$(BIN)/python -m pip freeze --exclude-editable > constraints.txt

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) node_modules build .mypy_cache .pytest_cache .ruff_cache .hypothesis
