# autonf — two commands on a fresh machine:
#   make demo   runs the main job on built-in data
#   make test   runs the test suite
#   make bench  AutoNF against exhaustive ground truth on ../shared/data (resumable;
#               writes docs/bench/ and the bench section of BENCHMARKS.md)
#   make speed  the peer speed benchmarks (scripts/bench.sh)
GO ?= go

.PHONY: build demo test fuzz fuzz-run bench bench-quick speed toy-study

# Fuzz targets, as package:Target. `make test` runs each for FUZZTIME_TEST,
# `make fuzz` for FUZZTIME (seed corpora: PKG/testdata/fuzz/TARGET).
FUZZ_TARGETS = ./data:FuzzLoadCSV ./data:FuzzLoadCSVReference ./data:FuzzLoadNPY ./model:FuzzDecode ./internal/safetensors:FuzzRead \
	./flow:FuzzParseSpec ./train:FuzzDecodeCheckpoint
FUZZTIME_TEST ?= 3s
FUZZTIME ?= 2m

build:
	$(GO) build -o bin/autonf ./cmd/autonf

demo: build
	./scripts/demo.sh

test:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 15m ./...
	$(GO) test -count=1 -race ./flow ./train ./tensor
	$(MAKE) --no-print-directory fuzz-run FUZZTIME=$(FUZZTIME_TEST)

fuzz:
	$(MAKE) --no-print-directory fuzz-run FUZZTIME=$(FUZZTIME)

fuzz-run:
	@log=$$(mktemp); for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "fuzz $$name ($$pkg) for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $$pkg > $$log 2>&1 || { cat $$log; rm -f $$log; exit 1; }; \
		grep -E 'execs: [0-9]+' $$log | tail -1; \
	done; rm -f $$log

# BENCH_DATA is the folder of the real datasets; the bench resumes what
# docs/bench/results.json already holds (delete it to start afresh).
BENCH_DATA ?= ../shared/data

bench: build
	./bin/autonf bench --out docs/bench --data-dir $(BENCH_DATA) --resume --markdown BENCHMARKS.md

bench-quick: build
	./bin/autonf bench --out /tmp/autonf-bench-quick --quick --data-dir $(BENCH_DATA) --resume

speed:
	./scripts/bench.sh

toy-study:
	$(GO) test -count=1 -run 'TestToyStudy' -v ./search
