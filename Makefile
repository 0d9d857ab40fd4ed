# iolab: thread against event loop, measured.
#   make run-epoll                      serve the epoll model on :8000, console logs at debug level
#   PROTO=echo WORK=sleep:10ms make run-epoll
#   make load                           measure it: 1, 2, 5 and 10 clients
#   make bench                          every model side by side, about 3 minutes (the main job)
#   make bench-full                     every scenario, longer runs, about 11 minutes
#   make test                           everything CI runs
GO      ?= go
BIN     := bin/iolab
MODELS  := sequential threads goroutine epoll gnet

# Options for run-MODEL, taken from the environment or the command line.
ADDR      ?= :8000
PROTO     ?= greeting
WORK      ?= none
BACKLOG   ?= 0
LOG_LEVEL ?= debug
LOG_FORMAT ?= console
# Options for load.
LOAD_ADDR ?= localhost:8000
CLIENTS   ?= 1,2,5,10
LOAD_FLAGS ?=

.PHONY: build test lint vet fmt-check cross-vet clean load bench bench-full $(addprefix run-,$(MODELS))

build:
	$(GO) build -o $(BIN) ./cmd/iolab

# go test -race needs cgo; CGO_ENABLED=1 makes that explicit.
test: lint
	CGO_ENABLED=1 $(GO) test -race -count=1 ./...

lint: fmt-check vet cross-vet

fmt-check:
	@out=$$(gofmt -l .); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

# The module must still build and vet on a student's Mac.
cross-vet:
	GOOS=darwin GOARCH=arm64 $(GO) vet ./...

$(addprefix run-,$(MODELS)): run-%: build
	./$(BIN) serve -model $* -addr $(ADDR) -proto $(PROTO) -work $(WORK) \
		-backlog $(BACKLOG) -log-level $(LOG_LEVEL) -log-format $(LOG_FORMAT)

# Measure the server that make run-MODEL started (same PROTO).
load: build
	./$(BIN) load -addr $(LOAD_ADDR) -proto $(PROTO) -clients $(CLIENTS) $(LOAD_FLAGS)

# The main job: all models over seed, io-bound and cpu-bound.
BENCH_FLAGS ?=
bench: build
	./$(BIN) bench -scenario seed,io-bound,cpu-bound -duration 1500ms -warmup 500ms $(BENCH_FLAGS)

bench-full: build
	./$(BIN) bench -scenario all -duration 5s -warmup 1s $(BENCH_FLAGS)

clean:
	rm -rf bin
