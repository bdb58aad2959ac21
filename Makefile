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
FUZZTIME ?= 5s

.PHONY: run test build static tools db check unit e2e fuzz bench stop-db clean

run: static build
	@export DATABASE_URL="$$(scripts/ensure-db.sh entitle)"; \
	bin/entitle demo seed; \
	echo "Portal: http://$(ADDR)  (Ctrl-C stops it)"; \
	ADDR="$(ADDR)" DEMO_IDP_ADDR="$(DEMO_IDP_ADDR)" exec bin/entitle serve

build:
	$(GO) build -o bin/entitle ./cmd/entitle

# htmx comes from npm (pinned by package-lock.json) and is copied into
# static/vendor, which the binary embeds.
static: node_modules/.package-lock.json
	@mkdir -p static/vendor
	@cp node_modules/htmx.org/dist/htmx.min.js static/vendor/htmx.min.js
	@cp node_modules/htmx-ext-sse/dist/sse.min.js static/vendor/htmx-ext-sse.min.js

node_modules/.package-lock.json: package.json package-lock.json
	@scripts/ensure-node.sh
	npm ci --no-audit --no-fund --loglevel=error

test: static check
	@export DATABASE_URL="$$(scripts/ensure-db.sh entitle)"; \
	export CHROMIUM_PATH="$$(scripts/ensure-chromium.sh)"; \
	mkdir -p .test-output; \
	echo "== unit and integration tests (PostgreSQL: $${DATABASE_URL%%\?*})"; \
	$(GO) test -count=1 -timeout=30m $$($(GO) list ./... | grep -v /e2e); \
	echo "== e2e tests in $$CHROMIUM_PATH"; \
	$(GO) test -count=1 -timeout=30m -v ./e2e 2>&1 | tee .test-output/e2e.log | grep -E '^(=== RUN|--- |ok|FAIL|PASS|panic)' | grep -v '^=== RUN'; \
	passed=$$(grep -c '^--- PASS' .test-output/e2e.log || true); \
	failed=$$(grep -c '^--- FAIL' .test-output/e2e.log || true); \
	echo "e2e: $$passed tests drove Chromium and passed, $$failed failed (screenshots in e2e/screenshots/)"; \
	test "$$failed" = 0 && test "$$passed" -gt 0
	@$(MAKE) --no-print-directory fuzz

# Static checks: formatting, vet, go.mod tidy, generated templ code fresh.
check:
	@unformatted="$$(gofmt -l $$($(GO) list -f '{{.Dir}}' ./...))"; test -z "$$unformatted" || { echo "gofmt needed: $$unformatted"; exit 1; }
	$(GO) vet ./...
	$(GO) mod tidy -diff
	@scripts/check-templ.sh

# Every fuzz target runs briefly, so that a regression that panics shows up.
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for target in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== fuzz $$pkg $$target ($(FUZZTIME))"; \
	    $(GO) test -run='^$$' -fuzz="^$$target\$$" -fuzztime=$(FUZZTIME) $$pkg > .test-output/fuzz.log 2>&1 || { cat .test-output/fuzz.log; exit 1; }; \
	  done; \
	done

stop-db:
	scripts/stop-db.sh

clean:
	rm -rf bin .test-output e2e/screenshots

# Benchmarks: every scripts/bench-*.sh runs a load generator on loopback
# against a freshly seeded server and prints figures relative to /healthz.
bench: static build
	@export DATABASE_URL="$$(scripts/ensure-db.sh entitle)"; \
	for b in scripts/bench-*.sh; do [ -e "$$b" ] || continue; echo "== $$b"; "$$b"; done
