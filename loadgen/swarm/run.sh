#!/bin/sh
# make load-swarm: the distributed load path, whole, on this machine. AGENTS `iolab load` agents run as a Docker swarm service
# (load.stack.yml, next to this script) against a native server on
# 127.0.0.1:PORT, over loopback; their JSON files are merged by
# `iolab merge` into one table.
#
# A single-node swarm is made for the run (advertised and listening on
# 127.0.0.1 only) if this engine is not in one, and left again at the end.
# The stack, its containers and the server go at the end too, on failure
# and on Ctrl-C as well. Everything is bounded in time: the agents must be
# done within WAIT seconds.
#
# Environment (make load-swarm sets it from its own variables):
#   BIN       the iolab binary (bin/iolab)         IMAGE   iolab:local
#   MODEL     the server's model (epoll)           PROTO   echo
#   AGENTS    agents (3)                           PORT    18000
#   CLIENTS   client levels of each agent (2,8)
#   DURATION, WARMUP  of each level (3s, 1s)
#   RESULTS   folder for the agents' JSON and the merged JSON (results/swarm)
#   WAIT      seconds the agents may take, all together (default: worked out
#             from CLIENTS, DURATION and WARMUP, plus 30)
#   STACK     the stack's name (iolab-load)
set -eu

BIN=${BIN:-bin/iolab}
IMAGE=${IMAGE:-iolab:local}
MODEL=${MODEL:-epoll}
PROTO=${PROTO:-echo}
AGENTS=${AGENTS:-3}
PORT=${PORT:-18000}
CLIENTS=${CLIENTS:-2,8}
DURATION=${DURATION:-3s}
WARMUP=${WARMUP:-1s}
RESULTS=${RESULTS:-results/swarm}
STACK=${STACK:-iolab-load}
STACK_FILE=$(dirname "$0")/load.stack.yml
SERVICE=${STACK}_agent

say() { echo "load-swarm: $*" >&2; }
fail() {
	say "$*"
	exit 1
}

# Whole seconds in a Go duration of the simple kinds (3s, 1500ms, 2m);
# 10 for anything else, which only makes the default WAIT longer.
secs() {
	case $1 in
	*ms) n=${1%ms} unit=ms ;;
	*s) n=${1%s} unit=s ;;
	*m) n=${1%m} unit=m ;;
	*) n=x unit= ;;
	esac
	case $n in
	'' | *[!0-9]*) echo 10 ;;
	*) case $unit in
		ms) echo $((n / 1000 + 1)) ;;
		s) echo "$n" ;;
		m) echo $((n * 60)) ;;
		esac ;;
	esac
}

case $AGENTS in '' | *[!0-9]* | 0) fail "AGENTS=$AGENTS: want a number, 1 or more" ;; esac
[ -x "$BIN" ] || fail "$BIN not found: make build"
levels=$(echo "$CLIENTS" | tr ',' '\n' | grep -c .) || true
WAIT=${WAIT:-$((levels * ($(secs "$DURATION") + $(secs "$WARMUP") + 2) + 30))}

# What the cleanup must undo, set as each thing is made.
swarm_made= gwbridge_was= server= deployed=

cleanup() {
	status=$?
	trap - EXIT INT TERM
	set +e
	if [ -n "$deployed" ]; then
		docker stack rm "$STACK" >/dev/null 2>&1
		# The task containers go after the service, asynchronously.
		i=0
		while [ -n "$(docker ps -aq --filter "label=com.docker.swarm.service.name=$SERVICE")" ]; do
			i=$((i + 1))
			if [ "$i" -gt 30 ]; then
				say "containers of $SERVICE still there after 30 s: docker ps -a"
				status=1
				break
			fi
			sleep 1
		done
	fi
	if [ -n "$server" ]; then
		kill -TERM "$server" 2>/dev/null
		wait "$server" 2>/dev/null
	fi
	if [ -n "$swarm_made" ]; then
		docker swarm leave --force >/dev/null || status=1
		# swarm init makes the bridge docker_gwbridge and leaving keeps it.
		if [ -z "$gwbridge_was" ]; then
			docker network rm docker_gwbridge >/dev/null || status=1
		fi
	fi
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A swarm of this one node: made here, unless the engine is in one already.
state=$(docker info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null) ||
	fail "no Docker engine answers (start dockerd: (dockerd >/tmp/dockerd.log 2>&1 &))"
case $state in
inactive)
	gwbridge_was=$(docker network ls -q --filter name=^docker_gwbridge$)
	docker swarm init --advertise-addr 127.0.0.1 --listen-addr 127.0.0.1:2377 >/dev/null
	swarm_made=1
	say "single-node swarm made for this run (127.0.0.1; left at the end)"
	;;
active)
	[ "$(docker info --format '{{.Swarm.ControlAvailable}}')" = true ] ||
		fail "this engine is a swarm worker: run make load-swarm on a manager"
	nodes=$(docker node ls -q | grep -c .) || true
	[ "$nodes" -eq 1 ] ||
		fail "this swarm has $nodes nodes and the agents would leave this machine; on several machines deploy $STACK_FILE by hand (notes/reference/swarm.md)"
	;;
*) fail "this engine's swarm is $state" ;;
esac

# The results folder: one subfolder per agent slot, made before the agents
# start (a swarm bind mount is never created), and nothing of a former run.
mkdir -p "$RESULTS"
shown=$RESULTS
RESULTS=$(cd "$RESULTS" && pwd)
for d in "$RESULTS"/[0-9]*; do
	[ -d "$d" ] || continue
	rm -f "$d/load.json"
	rmdir "$d"
done
rm -f "$RESULTS/merged.json" "$RESULTS/server.log" "$RESULTS/deploy.log"
i=1
while [ "$i" -le "$AGENTS" ]; do
	mkdir "$RESULTS/$i"
	i=$((i + 1))
done

# The server, native, on loopback; ready once it logs its start event.
"$BIN" serve -model "$MODEL" -proto "$PROTO" -addr "127.0.0.1:$PORT" -log-level info 2>"$RESULTS/server.log" &
server=$!
i=0
until grep -q '"event":"start"' "$RESULTS/server.log" 2>/dev/null; do
	if ! kill -0 "$server" 2>/dev/null; then
		server=
		cat "$RESULTS/server.log" >&2
		fail "the server did not start (port $PORT taken? SWARM_PORT=N make load-swarm)"
	fi
	i=$((i + 1))
	[ "$i" -le 100 ] || fail "the server did not start within 5 s; its log: $RESULTS/server.log"
	sleep 0.05
done

say "$AGENTS agents x clients $CLIENTS ($PROTO, $WARMUP warm-up + $DURATION a level) against $MODEL on 127.0.0.1:$PORT"
deployed=1
SERVER=127.0.0.1:$PORT RESULTS=$RESULTS AGENTS=$AGENTS IMAGE=$IMAGE \
	PROTO=$PROTO CLIENTS=$CLIENTS DURATION=$DURATION WARMUP=$WARMUP \
	docker stack deploy --resolve-image never -c "$STACK_FILE" "$STACK" >"$RESULTS/deploy.log" 2>&1 ||
	{
		cat "$RESULTS/deploy.log" >&2
		fail "docker stack deploy failed"
	}

# Wait until every agent is Complete; a failed or rejected one, or the
# time bound, ends the run with the tasks' states and the agents' output.
deadline=$(($(date +%s) + WAIT))
while :; do
	states=$(docker service ps "$SERVICE" --format '{{.CurrentState}}' 2>/dev/null) || true
	complete=$(printf '%s\n' "$states" | grep -c '^Complete') || true
	failed=$(printf '%s\n' "$states" | grep -Ec '^(Failed|Rejected|Orphaned)') || true
	[ "$complete" -eq "$AGENTS" ] && break
	if [ "$failed" -gt 0 ] || [ "$(date +%s)" -ge "$deadline" ]; then
		docker service ps --no-trunc "$SERVICE" >&2 || true
		docker service logs --raw --tail 20 "$SERVICE" >&2 || true
		if [ "$failed" -gt 0 ]; then
			fail "$failed of $AGENTS agents failed (their tasks and output above)"
		fi
		fail "$complete of $AGENTS agents complete after $WAIT s (WAIT=N to allow more)"
	fi
	sleep 1
done

# How far apart the agents started, from their containers' start times
# (GNU date; skipped where date cannot read them).
starts=
for c in $(docker ps -aq --filter "label=com.docker.swarm.service.name=$SERVICE"); do
	t=$(docker inspect -f '{{.State.StartedAt}}' "$c")
	ns=$(date -d "$t" +%s%N 2>/dev/null) || {
		starts=
		break
	}
	starts="$starts $ns"
done
if [ -n "$starts" ]; then
	spread=$(echo "$starts" | tr ' ' '\n' | grep . | sort -n | sed -n '1p;$p' | tr '\n' ' ')
	set -- $spread
	say "the agents started within $((($2 - $1) / 1000000)) ms of each other"
fi

set --
i=1
while [ "$i" -le "$AGENTS" ]; do
	[ -s "$RESULTS/$i/load.json" ] || fail "agent $i wrote no $RESULTS/$i/load.json"
	set -- "$@" "$shown/$i/load.json"
	i=$((i + 1))
done
say "merged: $* (into $shown/merged.json)"
"$BIN" merge -json "$shown/merged.json" "$@"
