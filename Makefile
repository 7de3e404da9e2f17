# autonf — two commands on a fresh machine:
#   make demo   runs the main job on built-in data
#   make test   runs the test suite
GO ?= go

.PHONY: build demo test bench toy-study

build:
	$(GO) build -o bin/autonf ./cmd/autonf

demo: build
	./scripts/demo.sh

test:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 15m ./...
	$(GO) test -count=1 -race ./flow ./train ./tensor

bench:
	./scripts/bench.sh

toy-study:
	$(GO) test -count=1 -run 'TestToyStudy' -v ./search
