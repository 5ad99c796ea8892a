# Skiff: build, run and test targets. `make help` lists them.

GO      ?= go
BIN     := bin
FUZZTIME ?= 30s
QUERY_RECORDS ?= 10000000

.PHONY: help build run test unit wabt lint fuzz crash conformance bench bench-device bench-map bench-query udf-examples clean

help:
	@echo "make run          build the node and its plugins; start it with the embedded default config (127.0.0.1:3000)"
	@echo "make test         lint, unit and integration tests (race detector), conformance run"
	@echo "make unit         unit and integration tests only"
	@echo "make lint         go vet and gofmt"
	@echo "make fuzz         run each fuzz target for FUZZTIME ($(FUZZTIME))"
	@echo "make crash        the crash tests' long forms: device writers and plugins killed 20 times, memory plugins 300"
	@echo "make conformance  the official Go client's specs against a node"
	@echo "make bench        Skiff vs redis-server, side by side (installs redis if missing)"
	@echo "make bench-device the device backend vs fio on one file of the root disk: node reads/writes,"
	@echo "                  skiff device-test, DRAM per record, cold start (installs fio and jq if missing)"
	@echo "make bench-map    counters in map bins vs Redis hashes (HGET/HINCRBY), side by side (installs redis if missing)"
	@echo "make bench-query  index build, equality queries and full scans over QUERY_RECORDS ($(QUERY_RECORDS)) records"
	@echo "make udf-examples build each WebAssembly UDF module of examples/udf into $(BIN)/udf/ (the .wat one needs wabt)"

# The node finds its plugin binaries (storage backends, xdr transports)
# beside its own.
build:
	$(GO) build -o $(BIN)/ ./cmd/skiffd ./cmd/skiff ./plugins/storage-memory/cmd/skiff-storage-memory ./plugins/storage-nvme/cmd/skiff-storage-nvme \
		./plugins/xdr-nats/cmd/skiff-xdr-nats

run: build
	$(BIN)/skiffd

test: lint unit conformance

# The UDF tests assemble WebAssembly text with wabt's wat2wasm; with it
# installed they must not skip.
unit: wabt
	SKIFF_REQUIRE_WABT=$$(command -v wat2wasm >/dev/null && echo 1) $(GO) test -race -timeout 15m ./...

wabt:
	@command -v wat2wasm >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wabt; } \
		|| echo "warning: wabt not installed (apt-get install wabt): the tests of .wat UDF modules will skip"

lint:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./core/proto
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./core/config
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./core/internal/bins
	$(GO) test -run '^$$' -fuzz '^FuzzCompile$$' -fuzztime $(FUZZTIME) ./core/internal/expr
	$(GO) test -run '^$$' -fuzz '^FuzzCompare$$' -fuzztime $(FUZZTIME) ./core/internal/msgpack
	$(GO) test -run '^$$' -fuzz '^FuzzListApply$$' -fuzztime $(FUZZTIME) ./core/internal/cdt
	$(GO) test -run '^$$' -fuzz '^FuzzMapApply$$' -fuzztime $(FUZZTIME) ./core/internal/cdt
	$(GO) test -run '^$$' -fuzz '^FuzzFastPaths$$' -fuzztime $(FUZZTIME) ./core/internal/cdt
	$(GO) test -run '^$$' -fuzz '^FuzzStored$$' -fuzztime $(FUZZTIME) ./core/internal/cdt
	$(GO) test -run '^$$' -fuzz '^FuzzApply$$' -fuzztime $(FUZZTIME) ./core/internal/bitop
	$(GO) test -run '^$$' -fuzz '^FuzzApply$$' -fuzztime $(FUZZTIME) ./core/internal/hll
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./core/internal/geo
	$(GO) test -run '^$$' -fuzz '^FuzzGeo$$' -fuzztime $(FUZZTIME) ./core/internal/geo
	$(GO) test -run '^$$' -fuzz '^FuzzKeys$$' -fuzztime $(FUZZTIME) ./core/internal/sindex
	$(GO) test -run '^$$' -fuzz '^FuzzParseCreate$$' -fuzztime $(FUZZTIME) ./core/internal/sindex
	$(GO) test -run '^$$' -fuzz '^FuzzGeo$$' -fuzztime $(FUZZTIME) ./core/internal/sindex
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./sdk/udf
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeChange$$' -fuzztime $(FUZZTIME) ./sdk/xdr
	$(GO) test -run '^$$' -fuzz '^FuzzInfo$$' -fuzztime $(FUZZTIME) ./core/internal/server
	$(GO) test -run '^$$' -fuzz '^FuzzMessage$$' -fuzztime $(FUZZTIME) ./core/internal/server
	$(GO) test -run '^$$' -fuzz '^FuzzWalkBlock$$' -fuzztime $(FUZZTIME) ./plugins/storage-nvme
	$(GO) test -run '^$$' -fuzz '^FuzzLeftBuffers$$' -fuzztime $(FUZZTIME) ./plugins/storage-nvme

# The unit run kills each once or a few times; these kill them until the
# rare cases (a kill while a partition changes) come up.
crash:
	NVME_LONG=1 $(GO) test -count=1 -run 'Crash|PluginKilled' ./plugins/storage-nvme
	MEMORY_KILL_ROUNDS=300 $(GO) test -count=1 -run 'TestResumeAfterKill' ./plugins/storage-memory

# Built, not `go run`, so that a signal to make reaches the tool, which
# stops the node and the suite it started.
conformance:
	$(GO) build -o .cache/conformance/conformance ./tools/conformance
	.cache/conformance/conformance

bench:
	bash bench/run.sh

bench-device:
	bash bench/device.sh

bench-map:
	bash bench/map.sh

# Loads QUERY_RECORDS records through the official client first (about a
# minute at 10M), then runs each benchmark; see bench/README.md.
bench-query:
	SKIFF_BENCH_RECORDS=$(QUERY_RECORDS) $(GO) test ./core -run '^$$' -bench '^BenchmarkQuery$$' -benchtime 2s -timeout 60m

# Each directory is one module, built by skiff udf build: Go with
# GOOS=wasip1 GOARCH=wasm -buildmode=c-shared, a .wat file with wat2wasm.
udf-examples:
	$(GO) build -o $(BIN)/ ./cmd/skiff
	@mkdir -p $(BIN)/udf
	@for d in examples/udf/*/; do \
		m=$$(basename $$d); \
		$(BIN)/skiff udf build $$d -o $(BIN)/udf/$$m.wasm || exit 1; \
	done

clean:
	rm -rf $(BIN) .cache
