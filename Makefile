# autonf — two commands on a fresh machine:
#   make demo   runs the main job on built-in data
#   make test   runs the test suite
#   make bench  AutoNF against exhaustive ground truth on ../shared/data (resumable;
#               writes docs/bench/ and the bench section of BENCHMARKS.md)
#   make speed  the peer speed benchmarks (scripts/bench.sh)
GO ?= go

.PHONY: build demo test bench bench-quick speed toy-study

build:
	$(GO) build -o bin/autonf ./cmd/autonf

demo: build
	./scripts/demo.sh

test:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 15m ./...
	$(GO) test -count=1 -race ./flow ./train ./tensor

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
