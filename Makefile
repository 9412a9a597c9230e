# From a fresh clone: `make dev` runs driftless on the local stack, `make test` runs the tests.
# Neither needs Docker: scripts/stack starts Redis, Elasticsearch and a Cosmos DB emulator.

SHELL := /bin/bash
.DEFAULT_GOAL := test
.DELETE_ON_ERROR:

# npm rewrites this file on every install, so it is older than package-lock.json exactly when
# the lock changed since the last install (or missing when node_modules is).
NPM_STAMP := node_modules/.package-lock.json
# Extra vitest arguments, e.g. make test VITEST_FLAGS="test/integration/stack.test.ts".
VITEST_FLAGS ?=

.PHONY: install build typecheck check-cycles lint test unit dev bench clean deps-dev deps-test figures

# The Debian packages each target needs (redis-server, a JDK, Maven, …), installed with apt-get
# when missing; a check of a few commands when nothing is. `test` needs Chromium as well.
deps-dev:
	@scripts/install-deps.sh dev

deps-test:
	@scripts/install-deps.sh test

install: $(NPM_STAMP)

$(NPM_STAMP): package-lock.json
	npm ci
	@touch $@

# npm run build: tsc, then the Lua scripts copied beside the compiled code (scripts/copy-lua.mjs).
build: install
	npm run build

typecheck: install
	npx tsc -p tsconfig.test.json --noEmit

# No module may import itself through others (madge over shared, functions, cli, bench, scripts
# and test; type-only imports count too). Seconds, like the typecheck.
check-cycles: install
	npm run --silent check:cycles

# Lint and formatting (Biome, biome.json): `npm run format` rewrites what it can.
lint: install
	npm run --silent lint

# Typecheck, the cycle check and lint first: they take seconds, the suite with its services takes minutes.
test: deps-test install
	npx tsc -p tsconfig.test.json --noEmit
	npm run --silent check:cycles
	npm run --silent lint
	npx vitest run $(VITEST_FLAGS)

# The unit tests alone, without Redis, Elasticsearch or the emulator (vitest.unit.config.ts has no
# global setup): seconds, for the edit-test loop, so no typecheck (`make typecheck`). `make test`
# runs them too, with everything else.
unit: install
	npx vitest run -c vitest.unit.config.ts $(VITEST_FLAGS)

# docs/guarantees-figures.md from a run of the fault tests: each records the figures it asserted
# in test/faults/.figures/ (cleared first, so no figure outlives the run), then the script renders them.
figures: deps-test install
	rm -rf test/faults/.figures
	npx vitest run test/faults
	node --import tsx scripts/figures.ts

# Stays in the foreground until interrupted; the API is at http://localhost:7071/api and the
# stack's endpoints are written to .driftless/local.env.
dev: deps-dev install build
	node dist/scripts/dev.js

# Throughput, latency and freshness on the local stack, apart from the tests (bench/README.md);
# QUICK=1 finishes within 3 minutes. Writes bench/results/latest.json and prints a table; a run of
# every phase also writes bench/results/latest.md and a row of bench/results/history.md.
QUICK ?=
bench: deps-dev install build
	QUICK="$(QUICK)" node --import tsx bench/run.ts

clean:
	rm -rf dist coverage
