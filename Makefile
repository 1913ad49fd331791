# ViralSpot. `make run` brings the whole system up locally; `make test` runs every test.
PY := .venv/bin/python
VENV_STAMP := .venv/.installed

.PHONY: install run test test-fast fuzz lint bench migrate services browser tools contracts up clean

install: $(VENV_STAMP)

$(VENV_STAMP): requirements.lock pyproject.toml
	test -x $(PY) || python3 -m venv .venv
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.lock
	$(PY) -m pip install -q --no-deps -e .
	touch $(VENV_STAMP)

services:
	bash infra/scripts/ensure-services.sh

# Debian's Chromium for the web page test (installed once, only when missing).
browser:
	bash infra/scripts/ensure-browser.sh

# promtool for the alert-rule tests (taken from Debian's prometheus package into .tools/bin), and
# HAProxy for the cluster test (Debian's package).
tools:
	bash infra/scripts/ensure-promtool.sh
	bash infra/scripts/ensure-bench-tools.sh haproxy

migrate: install services
	$(PY) -m libs.events.migrate

run: install services
	bash infra/scripts/run-local.sh

test: install services browser tools
	$(PY) -m pytest -q

test-fast: install
	$(PY) -m pytest -q -m "not slow"

# The contract fuzzing of `make test` (tests/fuzz/, 25 examples per operation), longer; what it tried and
# found goes to test-output/fuzz/report.json.
fuzz: install services
	FUZZ_MAX_EXAMPLES=$${FUZZ_MAX_EXAMPLES:-500} $(PY) -m pytest -q --timeout=3600 tests/fuzz

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy libs

bench: install services
	bash infra/scripts/ensure-bench-tools.sh || true
	$(PY) -m bench

contracts: install
	$(PY) -m contracts.generate
	$(PY) -m infra.docker.runtime_lock

# Needs a container engine; ADMIN_TOKEN must be set.
up:
	docker compose up --build -d

clean:
	rm -rf .venv .run .tools test-output .pytest_cache .mypy_cache .ruff_cache
