# Two commands on a fresh machine: `make up` runs the pipeline, `make test` runs the tests.
SHELL := /bin/bash
.DEFAULT_GOAL := help
# The project venv first, then Debian's AWS CLI v2 (/usr/bin/aws) ahead of any PyPI awscli v1.
export PATH := $(CURDIR)/.venv/bin:$(CURDIR)/.tools/bin:/usr/bin:$(PATH)
RUN := uv run --frozen --no-sync

.PHONY: help setup setup-python up test unit integration e2e fuzz lint format bench clean package package-localstack soak init-scripts load sdk

help:  ## list targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

setup:  ## install uv, Debian's AWS CLI v2 and the locked Python dependencies (idempotent)
	@devtools/setup.sh

setup-python:  ## install uv and the locked Python dependencies only (any Linux or macOS; no apt-get)
	@devtools/setup.sh --python

up: setup  ## start the embedded local stack in the foreground (Ctrl-C stops it)
	$(RUN) triggers up

package: setup-python  ## one zip per function: build/lambda/ (LocalStack, this machine's arch; ARCH= to override) and build/aws/ (sam deploy, template's arch)
	$(RUN) triggers package $(if $(ARCH),--arch $(ARCH))

package-localstack: setup-python  ## build/lambda/ only (LocalStack), this machine's arch (ARCH=arm64|x86_64 to override); build/aws/ is left alone
	$(RUN) triggers package --for localstack $(if $(ARCH),--arch $(ARCH))

init-scripts: setup-python  ## regenerate localstack/init/ready.d/*.sh from template.yaml (a unit test fails when they drift)
	$(RUN) triggers init-scripts

sdk: setup  ## regenerate the API clients sdk/python and sdk/typescript from docs/openapi.json (tests fail when they drift)
	$(RUN) triggers sdk

# The stack-bound suites wait more than they compute: four workers, each with its own embedded stack
# on ephemeral ports, whole files per worker, the longest files handed out first.
SLOW_TESTS := tests/e2e/test_readme.py tests/integration/test_bench_quick.py \
	tests/integration/test_init_scripts_moto.py tests/e2e/test_faults_soak.py tests/integration/test_load_smoke.py \
	tests/e2e/test_smoke.py
test: setup  ## run every suite: unit (2 workers, in the background, report last) beside integration + e2e (4 workers)
	@mkdir -p .triggers; started=$$(date +%s); \
	$(RUN) pytest tests/unit -p no:cacheprovider -n 2 > .triggers/unit-tests.log 2>&1 & unit=$$!; \
	$(RUN) pytest -n 4 --dist loadfile --durations=10 $(SLOW_TESTS) tests/e2e tests/integration; others=$$?; \
	wait $$unit; units=$$?; \
	echo; echo "== unit tests (ran alongside; full log .triggers/unit-tests.log)"; \
	grep -vE '^\{' .triggers/unit-tests.log | tail -n 200; \
	echo "make test took $$(( $$(date +%s) - started )) s"; \
	exit $$(( others != 0 || units != 0 ))

unit: setup  ## unit tests only (moto in-process)
	$(RUN) pytest tests/unit

integration: setup  ## integration tests against the embedded stack over HTTP
	$(RUN) pytest tests/integration

e2e: setup  ## producer -> webhook / OpenSearch / DLQ end-to-end tests
	$(RUN) pytest tests/e2e

fuzz: setup  ## long fuzz: schemathesis on the API (FUZZ_EXAMPLES=500) + property tests; random seed unless FUZZ_SEED
	@seed=$${FUZZ_SEED:-$$RANDOM$$RANDOM}; echo "fuzz seed $$seed (reproduce: make fuzz FUZZ_SEED=$$seed)"; \
	FUZZ_SEED=$$seed FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-500} $(RUN) pytest tests/integration/test_fuzz_api.py \
		tests/unit/test_properties_*.py --hypothesis-seed=$$seed --timeout=1800

lint: setup  ## ruff (check + format check), mypy, cfn-lint, the SAM transform and checkov of template.yaml
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy ingest processors devtools localstack/healthcheck.py
	$(RUN) cfn-lint template.yaml
	$(RUN) python -m devtools.sam_transform
	@# checkov has its own locked environment (devtools/checkov): its exact boto3 pin stays out of uv.lock.
	UV_PROJECT_ENVIRONMENT=$(CURDIR)/.tools/checkov uv sync --frozen --quiet --project devtools/checkov
	$(RUN) python -m devtools.checkov_gate

format: setup  ## apply ruff fixes and formatting
	$(RUN) ruff check --fix .
	$(RUN) ruff format .

bench: setup  ## benchmark suite -> docs/benchmarks.md + bench/results.json, each ratio checked against main's (QUICK=1: smoke mode, outputs in .triggers/; ONLY="7 fan-out": some scenarios, outputs in .triggers/)
	$(RUN) triggers bench $(if $(QUICK),--quick) $(if $(ONLY),--only $(ONLY))

soak: setup  ## 10 min of ingest + fan-out (10 ev/s x 3 subscribers) on an embedded stack, then the no-loss check (RATE= DURATION= DRAIN=)
	$(RUN) triggers soak $(if $(RATE),--rate $(RATE)) $(if $(DURATION),--duration $(DURATION)) $(if $(DRAIN),--drain-timeout $(DRAIN))

load: setup  ## locust load test: SCENARIO=ingestion|inbox|mixed|stress|fanout STAGE=local|smoke|up|staging|prod (tests/load/config.yaml) -> build/load/; non-zero when a threshold is missed
	$(if $(SCENARIO),,$(error SCENARIO= is one of ingestion, inbox, mixed, stress, fanout (tests/load/config.yaml)))
	$(RUN) triggers load $(SCENARIO) --stage $(or $(STAGE),local) $(if $(CONFIRM),--confirm $(CONFIRM))

clean:  ## remove the local stack's state and caches
	rm -rf .triggers .pytest_cache .mypy_cache .ruff_cache .hypothesis
