# Entitle's two everyday commands:
#   make run    the portal with demo data on http://localhost:8080
#   make test   every test: unit, integration on real PostgreSQL, e2e in Chromium
# Both install what they need (PostgreSQL or a private cluster, Node's
# packages, Chromium) on a fresh Debian machine.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
GO ?= go
ADDR ?= localhost:8080
DEMO_IDP_ADDR ?= 127.0.0.1:8099
# A count, not a duration: with a duration Go's fuzzing coordinator (1.26)
# can fail a target with "context deadline exceeded" as the time runs out on
# a busy machine (go.dev/issue/75804). 50,000 runs is a few seconds a target.
FUZZTIME ?= 50000x

.PHONY: run test build static tools db check unit e2e fuzz bench soak stop-db clean screenshots

run: static build
	@export DATABASE_URL="$$(scripts/ensure-db.sh entitle)"; \
	bin/entitle demo seed; \
	echo "Portal: http://$(ADDR)  (Ctrl-C stops it)"; \
	ADDR="$(ADDR)" DEMO_IDP_ADDR="$(DEMO_IDP_ADDR)" exec bin/entitle serve

build:
	$(GO) build -o bin/entitle ./cmd/entitle

# htmx comes from npm (pinned by package-lock.json) and is copied into
# static/vendor, which the binary embeds. axe-core (also pinned) goes to
# e2e/vendor: the browser tests inject it; the portal never serves it.
static: node_modules/.package-lock.json
	@mkdir -p static/vendor e2e/vendor
	@cp node_modules/htmx.org/dist/htmx.min.js static/vendor/htmx.min.js
	@cp node_modules/htmx-ext-sse/dist/sse.min.js static/vendor/htmx-ext-sse.min.js
	@cp node_modules/axe-core/axe.min.js e2e/vendor/axe.min.js

node_modules/.package-lock.json: package.json package-lock.json
	@scripts/ensure-node.sh
	npm ci --no-audit --no-fund --loglevel=error

# Most unit and integration tests wait on PostgreSQL, so six run at once per
# package (each with a small pool: see storetest), not one per core.
test: static check
	@export DATABASE_URL="$$(scripts/ensure-db.sh entitle)"; \
	export CHROMIUM_PATH="$$(scripts/ensure-chromium.sh)"; \
	mkdir -p .test-output; \
	echo "== unit and integration tests (PostgreSQL: $${DATABASE_URL%%\?*})"; \
	$(GO) test -count=1 -timeout=30m -parallel=6 $$($(GO) list ./... | grep -v /e2e); \
	echo "== e2e tests in $$CHROMIUM_PATH"; \
	GO="$(GO)" scripts/e2e.sh
	@$(MAKE) --no-print-directory fuzz

# Static checks: formatting, vet, go.mod tidy, generated templ code fresh.
check:
	@unformatted="$$(gofmt -l $$($(GO) list -f '{{.Dir}}' ./...))"; test -z "$$unformatted" || { echo "gofmt needed: $$unformatted"; exit 1; }
	$(GO) vet ./...
	$(GO) mod tidy -diff
	@scripts/check-templ.sh

# Every fuzz target runs briefly, so that a regression that panics shows up.
# Targets are found in the sources (listing them with `go test -list` would
# build every package's test binary, which took longer than the fuzzing).
fuzz:
	@mkdir -p .test-output; \
	for dir in $$(grep -rl --include='*_test.go' --exclude-dir=node_modules --exclude-dir=.data '^func Fuzz' . | xargs -n1 dirname | sort -u); do \
	  for target in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$dir/*_test.go); do \
	    echo "== fuzz $$dir $$target ($(FUZZTIME))"; \
	    $(GO) test -run='^$$' -fuzz="^$$target\$$" -fuzztime=$(FUZZTIME) $$dir > .test-output/fuzz.log 2>&1 || { cat .test-output/fuzz.log; exit 1; }; \
	  done; \
	done

# README's three screenshots (overview, seats, billing), taken by the browser
# journey that visits them; ordinary test runs never rewrite them.
screenshots: static
	@export DATABASE_URL="$$(scripts/ensure-db.sh entitle)"; \
	export CHROMIUM_PATH="$$(scripts/ensure-chromium.sh)"; \
	README_SCREENSHOTS="$(CURDIR)/docs/screenshots" $(GO) test -count=1 -run '^TestOwnerToursOverviewSeatsAndBilling$$' ./e2e
	@ls docs/screenshots/*.png

stop-db:
	scripts/stop-db.sh

clean:
	rm -rf bin .test-output e2e/screenshots

# Benchmarks: every scripts/bench-*.sh runs a load generator on loopback
# against a freshly seeded server and prints each figure beside a bare
# net/http /healthz (scripts/barehealthz) and the portal's own /healthz
# measured in the same run, as ratios, with its target and whether the run
# met it. A few seconds per target; PPROF=true serves the profiler on
# METRICS_ADDR for finding where the time goes.
bench: static build
	@export DATABASE_URL="$$(scripts/ensure-db.sh entitle)"; \
	for b in scripts/bench-*.sh; do [ -e "$$b" ] || continue; echo "== $$b"; "$$b"; done

# Memory: SOAK_DURATION (default 10m) of mixed traffic — pages, checks, usage
# reports, Stripe webhooks — with the server's resident memory sampled.
soak: build
	scripts/soak.sh
