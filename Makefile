# iolab: thread against event loop, measured.
#   make run-epoll                      serve the epoll model on :8000, console logs at debug level
#   PROTO=echo WORK=sleep:10ms make run-epoll
#   make load                           measure it: 1, 2, 5 and 10 clients
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

.PHONY: build test lint vet fmt-check cross-vet clean load $(addprefix run-,$(MODELS))

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

clean:
	rm -rf bin
