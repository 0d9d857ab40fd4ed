# iolab: thread against event loop, measured.
#   make help                           every target, one line each
#   make bench                          every model side by side, about 7 minutes (the main job)
#   make test                           everything CI runs (the reliability suite's short form among it)
#   make run-epoll                      serve the epoll model on :8000, console logs at info level
#   LOG_LEVEL=debug make run-epoll      the same, logging every connection (slower: not for measuring)
#   PROTO=echo WORK=sleep:10ms make run-epoll
#   make load                           measure it: 1, 2, 5 and 10 clients
#
# Each target has one line "## TARGET: what it does" above its rule: make
# help prints them, in this file's order, and make lint (help-check) fails
# if a .PHONY target has none. Options come from the environment or the
# command line (PROTO=echo make run-epoll, make logs-demo MODEL=threads).
GO      ?= go
BIN     := bin/iolab
MODELS  := sequential fork prefork threads pool goroutine epoll uring workers reuseport gnet

# Options for run-MODEL, taken from the environment or the command line.
ADDR      ?= :8000
PROTO     ?= greeting
WORK      ?= none
BACKLOG   ?= 0
WORKERS   ?= 0
SERVE_FLAGS ?=
# info: debug logs every connection to the console, which slows the server
# being measured; LOG_LEVEL=debug make run-MODEL to see them.
LOG_LEVEL ?= info
LOG_FORMAT ?= console
# Options for load.
LOAD_ADDR ?= localhost:8000
CLIENTS   ?= 1,2,5,10
LOAD_FLAGS ?=

.PHONY: help build test reliability lint vet fmt-check cross-vet no-binaries help-check clean load logs-demo bench bench-tutorial bench-full bench-c100k bench-docker bench-tutorial-docker million docker-image docker-run $(addprefix run-,$(MODELS))

## help: list every target, one line each
help:
	@awk '/^## [^ :]+:/ { name = $$2; sub(/:$$/, "", name); line = $$0; sub(/^## [^ :]+: */, "", line); \
		printf "  make %-15s %s\n", name, line }' $(firstword $(MAKEFILE_LIST))

# A static binary (no cgo): it runs on any Linux, and alone in a FROM
# scratch container image. -buildvcs=auto stamps the commit that iolab
# version prints, even where the environment turns it off.
## build: build bin/iolab, static (no cgo)
build:
	CGO_ENABLED=0 $(GO) build -buildvcs=auto -o $(BIN) ./cmd/iolab

# go test -race needs cgo; CGO_ENABLED=1 makes that explicit. The
# models package takes about 5 minutes alone on 2 cores, and twice
# that on a machine doing other things: -timeout is a guard against a
# hang, not a speed limit, so it leaves room (go test's default is 10m).
## test: everything CI checks: lint, then go test -race ./...
test: lint
	CGO_ENABLED=1 $(GO) test -race -count=1 -timeout 30m ./...

# The reliability suite at full size is iolab check over every model:
# each model in a process of its own through every kind of abuse, with
# 10,000 clients and megabytes in flight (make test runs its quick form,
# under the race detector). The table, check by model, goes to
# RELIABILITY_TABLE; the exit status is 1 if a check failed.
RELIABILITY_TABLE ?= results/reliability.md
## reliability: every model through every abuse at full size, ~12 min
reliability: build
	@mkdir -p $(dir $(RELIABILITY_TABLE))
	./$(BIN) check -model all -table $(RELIABILITY_TABLE) $(RELIABILITY_FLAGS)
	@echo "the table, check by model: $(RELIABILITY_TABLE)"

## lint: fmt-check, vet, cross-vet, no-binaries, help-check
lint: fmt-check vet cross-vet no-binaries help-check

## fmt-check: fail if gofmt would change a file
fmt-check:
	@out=$$(gofmt -l .); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

## vet: go vet ./...
vet:
	$(GO) vet ./...

# The module must still build and vet on a student's Mac.
## cross-vet: go vet ./... as for macOS (darwin/arm64)
cross-vet:
	GOOS=darwin GOARCH=arm64 $(GO) vet ./...

# The repository holds sources only: a binary (a file with a NUL byte) over
# 1 MiB among the files git tracks fails, named. Outside a git checkout (a
# tarball) there is nothing to ask, and the check says so and passes.
BINARY_LIMIT := 1048576
## no-binaries: fail, naming it, if git tracks a binary over 1 MiB
no-binaries:
	@if ! command -v git >/dev/null 2>&1 || ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
		echo "no-binaries: not a git checkout; skipped"; exit 0; fi; \
	git -c core.quotePath=false ls-files | { bad=0; while IFS= read -r f; do \
		[ -f "$$f" ] || continue; \
		size=$$(wc -c < "$$f" | tr -d ' '); \
		[ "$$size" -gt $(BINARY_LIMIT) ] || continue; \
		text=$$(tr -d '\000' < "$$f" | wc -c | tr -d ' '); \
		[ "$$text" -eq "$$size" ] && continue; \
		echo "no-binaries: $$f is a binary of $$size bytes tracked by git; git rm --cached it (build it instead)"; bad=1; \
	done; exit $$bad; }

# Every .PHONY target has its line in make help.
## help-check: fail if a .PHONY target has no line in make help
help-check:
	@awk '/^\.PHONY:/ { line = $$0; gsub(/\$$\(addprefix run-,\$$\(MODELS\)\)/, "run-MODEL", line); \
			n = split(line, w, " "); for (i = 2; i <= n; i++) phony[w[i]] = 1 } \
		/^## [^ :]+:/ { t = $$2; sub(/:$$/, "", t); help[t] = 1 } \
		END { for (t in phony) if (!(t in help)) { print "help-check: the target " t " has no \"## " t ":\" line in the Makefile"; bad = 1 } exit bad }' \
		$(firstword $(MAKEFILE_LIST))

## run-MODEL: serve MODEL on :8000 (PROTO, WORK, LOG_LEVEL...)
$(addprefix run-,$(MODELS)): run-%: build
	./$(BIN) serve -model $* -addr $(ADDR) -proto $(PROTO) -work $(WORK) \
		-backlog $(BACKLOG) -workers $(WORKERS) -log-level $(LOG_LEVEL) -log-format $(LOG_FORMAT) $(SERVE_FLAGS)

# Measure the server that make run-MODEL started (same PROTO).
## load: measure localhost:8000, 1 to 10 clients (PROTO, CLIENTS)
load: build
	./$(BIN) load -addr $(LOAD_ADDR) -proto $(PROTO) -clients $(CLIENTS) $(LOAD_FLAGS)

# Logs: serve MODEL at debug level on a free port of 127.0.0.1, drive it
# with iolab load (PROTO, CLIENTS), stop it, and analyse its log. The log
# stays in results/logs-demo/MODEL.jsonl for jq.
DEMO_DIR ?= results/logs-demo
## logs-demo: serve MODEL at debug level, load it, run iolab logs
logs-demo: build
	@mkdir -p $(DEMO_DIR)
	@rm -f $(DEMO_DIR)/$(MODEL).jsonl
	@./$(BIN) serve -model $(MODEL) -addr 127.0.0.1:0 -proto $(PROTO) -work $(WORK) -log-level debug 2> $(DEMO_DIR)/$(MODEL).jsonl & \
	pid=$$!; \
	for i in $$(seq 1 100); do grep -q '"event":"start"' $(DEMO_DIR)/$(MODEL).jsonl 2>/dev/null && break; sleep 0.05; done; \
	addr=$$(grep -o '"addr":"[^"]*"' $(DEMO_DIR)/$(MODEL).jsonl | head -1 | cut -d'"' -f4); \
	./$(BIN) load -addr $$addr -proto $(PROTO) -clients $(CLIENTS) -duration 2s -warmup 0s; \
	kill -TERM $$pid; wait $$pid
	./$(BIN) logs $(DEMO_DIR)/$(MODEL).jsonl

# The main job: all models over seed, io-bound and cpu-bound.
BENCH_FLAGS ?=
## bench: the main job: every model side by side, ~7 min
bench: build
	./$(BIN) bench -scenario seed,io-bound,cpu-bound -duration 1500ms -warmup 500ms $(BENCH_FLAGS)

# The tutorial's own Python servers (notes/tutorial, as the tutorial writes
# them: port 8000, listen(1) and listen(5)) beside the Go models that
# re-create them, on the tutorial's load (seed: 1, 2, 5, 10 clients); then
# the tutorial's client itself, 1, 2, 5 and 10 at once, against iolab's
# sequential model on :8000. Needs Python 3, standard library only.
TUTORIAL := notes/tutorial
NEED_PYTHON3 = command -v python3 >/dev/null 2>&1 || { echo "make $@: python3 not found. The tutorial's servers and client are Python 3 programs (standard library only): install it (apt install python3) and try again." >&2; exit 1; }
# The tutorial's two servers differ in two things, threads and the
# backlog (listen(1) against listen(5)); tutorial-sem-thread-5, the server
# without threads at listen(5), tells the two effects apart.
## bench-tutorial: the tutorial's Python servers beside 3 models
bench-tutorial: build
	@$(NEED_PYTHON3)
	./$(BIN) bench -scenario seed -models sequential,threads,epoll \
		-server 'tutorial-sem-thread:8000=python3 $(TUTORIAL)/servidor_sem_thread.py' \
		-server 'tutorial-sem-thread-5:8000=python3 $(TUTORIAL)/servidor_sem_thread_listen5.py' \
		-server 'tutorial-com-thread:8000=python3 $(TUTORIAL)/servidor_com_thread.py' \
		-duration 1500ms -warmup 500ms -out results/tutorial $(BENCH_FLAGS)
	@echo; echo "The tutorial's client (notes/tutorial/cliente.py), as written, against iolab's sequential model on 127.0.0.1:8000:"
	@./$(BIN) serve -model sequential -addr 127.0.0.1:8000 -log-level warn & srv=$$!; \
		for i in $$(seq 50); do python3 -c 'import socket; socket.create_connection(("127.0.0.1", 8000)).close()' 2>/dev/null && break; sleep 0.1; done; \
		sh $(TUTORIAL)/experimento1.sh; status=$$?; kill $$srv; wait $$srv; exit $$status

## bench-full: every scenario but c100k, 5 s per level, ~27 min
bench-full: build
	./$(BIN) bench -scenario all -duration 5s -warmup 1s $(BENCH_FLAGS)

# C100K (not in bench-full): 10,000 then 100,000 echo connections held
# at once, every model, 10 s measured after a 15 s warm-up in which the
# clients connect; the load runs in several processes, each under the
# limit of open files. About 11 minutes; the kernel's slab and TCP
# buffers grow by some 340 MB at 100,000 clients (3,373 bytes a
# connection, both ends: notes/models.md, Table K).
# conntrack_check,N warns when conntrack (loaded by Docker's rules) would
# track loopback in a table of fewer than N entries: a full table drops
# SYNs, and connects time out (see notes/reference/c100k.md).
conntrack_check = @max=$$(cat /proc/sys/net/netfilter/nf_conntrack_max 2>/dev/null); \
	if [ -n "$$max" ] && [ "$$max" -lt $(1) ] && ! iptables -t raw -S OUTPUT 2>/dev/null | grep -q NOTRACK; then \
		echo "conntrack tracks loopback in a table of $$max: add 'iptables -t raw -I OUTPUT -o lo -j NOTRACK' (and PREROUTING -i lo), see notes/reference/c100k.md"; fi

## bench-c100k: 10,000 then 100,000 connections held at once, ~11 min
bench-c100k: build
	$(call conntrack_check,400000)
	./$(BIN) bench -scenario c100k -duration 10s $(BENCH_FLAGS)

# A million echo connections held at once on loopback: reuseport as 70
# loop processes (each under the limit of open files), the load in 67
# processes from 120 source addresses (under 14,000 connections each, see
# notes/reference/c100k.md), connecting at 5,000 a second, then 2,000
# lines a second in all (each connection one every 500 s) for 60 s. About
# 6 minutes, both CPUs, and 9 GB of kernel memory (fs.file-max must pass
# 2,000,000). Where conntrack is loaded (Docker's rules load it), its
# table must hold the connections too, or loopback must not be tracked.
MILLION_FLAGS ?=
## million: a million connections held at once, ~6 min, ~9 GB
million: build
	$(call conntrack_check,2100000)
	@./$(BIN) serve -model reuseport -procs -workers 70 -proto echo -addr 127.0.0.1:9100 -cpus 1 \
		-idle-timeout 30m -request-timeout 30m -log-level warn & srv=$$!; \
	for i in $$(seq 100); do ss -ltn '( sport = :9100 )' | grep -q LISTEN && break; sleep 0.2; done; \
	./$(BIN) load -addr 127.0.0.1:9100 -proto echo -clients 1000000 -agents 67 -source 127.0.0.2-127.0.0.121 \
		-connect-rate 5000 -rate 2000 -warmup 240s -duration 60s -timeout 10s -cpus 0 $(MILLION_FLAGS); \
	status=$$?; kill $$srv; wait $$srv; exit $$status

# Containers (the tutorial's Experiment 2). The image builds offline: FROM
# scratch pulls nothing. DOCKER_BUILDKIT=0 uses the classic builder, which
# needs no buildx plugin.
IMAGE ?= iolab:local
MODEL ?= epoll
## docker-image: build the iolab:local image, offline (IMAGE)
docker-image: build
	DOCKER_BUILDKIT=0 docker build -t $(IMAGE) .

# Serve MODEL in a container, its port published on 127.0.0.1:8000 only.
## docker-run: serve MODEL in a container on 127.0.0.1:8000
docker-run: docker-image
	docker run --rm -p 127.0.0.1:8000:8000 -e IOLAB_MODEL=$(MODEL) -e IOLAB_PROTO=$(PROTO) -e IOLAB_WORK=$(WORK) $(IMAGE)

# Native against container, side by side.
## bench-docker: native against container: seed, throughput
bench-docker: docker-image
	./$(BIN) bench -env native,docker-bridge,docker-host,docker-inside -scenario seed,throughput -duration 1500ms -warmup 500ms -image $(IMAGE) $(BENCH_FLAGS)

# The tutorial's Experiment 2 as written: its two Python servers in
# containers of its Dockerfile (notes/tutorial/Dockerfile) FROM python:3.9,
# or, where that cannot be pulled, FROM an image of this machine's python3
# built offline (iolab image says which, and its Python version); measured
# native against container on the tutorial's load (seed), in the four
# environments of bench-docker; then the tutorial's client from the host
# and from inside the container (notes/tutorial/experimento2.sh).
TUTORIAL_IMAGE ?= iolab-tutorial
## bench-tutorial-docker: the tutorial's Python servers, native against container
bench-tutorial-docker: build
	@$(NEED_PYTHON3)
	./$(BIN) image -repo $(TUTORIAL_IMAGE) $(TUTORIAL)/servidor_sem_thread.py $(TUTORIAL)/servidor_com_thread.py
	./$(BIN) bench -models none -env native,docker-bridge,docker-host,docker-inside -scenario seed \
		-server 'tutorial-sem-thread:8000=python3 $(TUTORIAL)/servidor_sem_thread.py' -server-image tutorial-sem-thread=$(TUTORIAL_IMAGE):servidor_sem_thread \
		-server 'tutorial-com-thread:8000=python3 $(TUTORIAL)/servidor_com_thread.py' -server-image tutorial-com-thread=$(TUTORIAL_IMAGE):servidor_com_thread \
		-duration 1500ms -warmup 500ms -out results/tutorial-docker $(BENCH_FLAGS)
	@echo; sh $(TUTORIAL)/experimento2.sh $(TUTORIAL_IMAGE):servidor_sem_thread

# Every command in the notes' ```sh blocks, run as written (servers in the
# background, clients against them, bounded, loopback only), pass or fail
# each: notes/check-commands.sh --help.
.PHONY: notes-check
## notes-check: run the notes' sh commands as written, pass or fail
notes-check: build
	bash notes/check-commands.sh $(CHECK_FLAGS)

# The notes' figures (notes/img), drawn again from the two runs that
# notes/results.md quotes, without measuring: RUN, the bench-full run (its
# seed, io-bound, cpu-bound and backlog plots), and TUTORIAL_RUN, the
# bench-tutorial run (its seed throughput). Each in English (NAME.png, for
# results.md) and in Portuguese (NAME.pt.png, for resultados.md).
RUN          ?= results/fresh/full
TUTORIAL_RUN ?= results/fresh/tutorial
NOTES_IMG    := seed-throughput io-bound-throughput io-bound-threads cpu-bound-p99 backlog-connect
.PHONY: notes-img
## notes-img: redraw notes/img from RUN and TUTORIAL_RUN's results.json
notes-img: build
	./$(BIN) bench -replot $(RUN)
	./$(BIN) bench -replot $(TUTORIAL_RUN)
	@for lang in "" .pt; do \
		for f in $(NOTES_IMG); do cp $(RUN)/$$f$$lang.png notes/img/$$f$$lang.png || exit 1; done; \
		cp $(TUTORIAL_RUN)/seed-throughput$$lang.png notes/img/tutorial-seed-throughput$$lang.png || exit 1; \
	done
	@echo "notes/img: $(NOTES_IMG) tutorial-seed-throughput, .png and .pt.png, from $(RUN) and $(TUTORIAL_RUN)"

# Load from several machines, tried on this one: AGENTS iolab
# load agents as a Docker swarm service (loadgen/swarm/load.stack.yml) on a
# single-node swarm (made and left if there is none), against a native
# MODEL server on 127.0.0.1:SWARM_PORT, over loopback; their JSON merged
# into one table (results/swarm/merged.json). SWARM_CLIENTS is per agent.
AGENTS         ?= 3
SWARM_PORT     ?= 18000
SWARM_PROTO    ?= echo
SWARM_CLIENTS  ?= 2,8
SWARM_DURATION ?= 3s
SWARM_WARMUP   ?= 1s
SWARM_RESULTS  ?= results/swarm
.PHONY: load-swarm
## load-swarm: AGENTS load agents as a swarm service, merged
load-swarm: docker-image
	BIN=$(BIN) IMAGE=$(IMAGE) MODEL=$(MODEL) AGENTS=$(AGENTS) PORT=$(SWARM_PORT) PROTO=$(SWARM_PROTO) \
		CLIENTS=$(SWARM_CLIENTS) DURATION=$(SWARM_DURATION) WARMUP=$(SWARM_WARMUP) RESULTS=$(SWARM_RESULTS) \
		sh loadgen/swarm/run.sh

## clean: remove bin/
clean:
	rm -rf bin
