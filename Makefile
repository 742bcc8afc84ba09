# The README's commands. `make test` is what CI runs (.ci/run).

JS_CLIENT := test/clients/js

.PHONY: run test deps build bench burst fuzz hostile async-soak

run:
	go run ./cmd/sluice serve

# bin/sluice, its version (`sluice version`) from git describe when there is a git checkout.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null)

build:
	go build -ldflags "-X main.version=$(VERSION)" -o bin/sluice ./cmd/sluice

# Test dependencies that are not Go modules: the AWS SDK for JavaScript v3.
deps: $(JS_CLIENT)/node_modules/.package-lock.json

$(JS_CLIENT)/node_modules/.package-lock.json: $(JS_CLIENT)/package.json $(JS_CLIENT)/package-lock.json
	npm ci --prefix $(JS_CLIENT) --no-audit --no-fund

# -parallel 4: the end-to-end tests of cmd/sluice mostly wait (for pauses,
# timeouts, child processes), so four at a time on CI's two cores finish
# sooner than the default of one per core.
test: deps
	go vet ./...
	go test -race -count=1 -timeout 30m -parallel 4 ./...

bench:
	go run ./cmd/sluicebench

# A storm of cold starts (issue 9 item 6): 1,000 streams of one function opened 5-90 ms apart, each held
# 60 s, on a sandboxed sluice with its limits raised to 1,200. Prints the completion rate (byte-exact),
# time to first byte (p50, p99, max) and sluice's peak RSS. Needs root and bubblewrap to sandbox; a few
# minutes. `make test` runs a short version (TestE2EColdStartStorm, 150 streams).
burst:
	go run ./cmd/sluicebench -burst 1000 -burst-gap 5ms-90ms -burst-hold 60s

# Event invocations (issue 12) with a backlog of 100,000 queued events of one function: another function's
# event still runs while the backlog is worked off; prints the acceptance rate beside the synchronous one
# and the heap with the backlog queued. `make test` runs it with 1,500 (TestE2EAsyncFairness).
async-soak: deps
	SLUICE_ASYNC_BACKLOG=100000 go test -count=1 -v -timeout 30m -run 'TestE2EAsyncFairness' ./cmd/sluice/

# Every attack of issue 9 with the figure it measures: the attack scripts of test/hostile against a
# real `sluice serve`, the hostile Go tests (also in `make test`) with -v, and the 1,000-stream burst.
hostile: deps
	test/hostile/run

# Each fuzz target for a short while (go test runs their seeds in `make test`).
fuzz:
	go test -run '^$$' -fuzz FuzzRoundTrip -fuzztime 30s ./internal/eventstream/
	go test -run '^$$' -fuzz FuzzParse -fuzztime 30s ./internal/lineage/
	go test -run '^$$' -fuzz FuzzDecode -fuzztime 30s ./internal/eventstream/
	go test -run '^$$' -fuzz FuzzParseFunctionName -fuzztime 30s .
	go test -run '^$$' -fuzz FuzzRouter -fuzztime 30s ./internal/runtimeapi/
	go test -run '^$$' -fuzz FuzzVerify -fuzztime 30s ./internal/sigv4/
	go test -run '^$$' -fuzz FuzzPut -fuzztime 30s ./internal/artifacts/
	go test -run '^$$' -fuzz FuzzRequestJSON -fuzztime 30s ./internal/api/
	go test -run '^$$' -fuzz FuzzAppendRecord -fuzztime 30s ./internal/logstore/
	go test -run '^$$' -fuzz '^FuzzEvent$$' -fuzztime 30s ./internal/furl/
	go test -run '^$$' -fuzz '^FuzzMapBuffered$$' -fuzztime 30s ./internal/furl/
	go test -run '^$$' -fuzz '^FuzzSplitPrelude$$' -fuzztime 30s ./internal/furl/
