#!/usr/bin/env bash
# check-commands.sh: run every command of the lab notes, as written, and say
# which passed: every command in the notes has been run as written.
#
# The commands are read from the notes themselves, so the notes and the
# check cannot drift: every line of every fenced block opened with ```sh or
# ```bash in notes/*.md (a block with "$ " prompts runs only its prompted
# lines; a line ending in \, |, && or & continues on the next). Words after the
# language on the fence line are tags for this script; GitHub shows them as
# nothing:
#   ```sh skip         the block is not run (illustrations, placeholders)
#   ```sh timeout=N    each command of the block may take N seconds
#   ```sh server       each command of the block is a server (see below)
#   ```sh interrupt=N  each command runs N seconds, then gets Ctrl-C (SIGINT);
#                      it passes if it exits 0 or 130 after it
#
# How a command runs:
# - A server (make run-MODEL, make docker-run, iolab serve, the tutorial's
#   python3 notes/tutorial/servidor_*.py, or a block tagged server) starts in
#   the background, as in terminal 1, and must listen on port 8000 within
#   90 s (docker-run: 300 s, it builds the image). It stays up while the
#   commands after it run, as in terminal 2, until the next server, the
#   next "## " section or the end of the file; then it gets SIGINT (Ctrl-C),
#   and SIGKILL 10 s later. A tutorial server that cannot bind because of
#   TIME_WAIT (Errno 98) is retried for 75 s.
# - Any other command runs in the foreground with its own time bound
#   (120 s; 3,600 s for benches, make test and make reliability), then
#   SIGINT, then SIGKILL. It passes if it exits 0.
# - Everything runs in its own process group, with standard input from
#   /dev/null, in a scratch copy of the repository (git's tracked and
#   untracked files, results/fresh and results/c100k linked read-only), so
#   the benches' folders never land in the repository's results/; what the
#   commands wrote there is kept in the --out folder's results/.
# - Loopback only: ADDR=127.0.0.1:8000 is exported, so make run-MODEL
#   listens on 127.0.0.1 only; an "iolab serve" without -addr gets
#   -addr 127.0.0.1:8000 added (the listing says so). The benches' servers
#   listen on 127.0.0.1 by themselves; the tutorial's Python servers bind
#   every interface, as the tutorial writes them.
# - A command that appears again (the Portuguese and English twins share
#   their blocks) with the same server before it runs once; the second is
#   reported as the same.
# - Docker commands are skipped, and said so, where no Docker engine
#   answers. Commands with a placeholder (NAME, PID, FILE, HOST, ...) are
#   skipped.
#
# Usage: notes/check-commands.sh [--list] [--quick] [--only REGEX] [--out DIR] [FILE.md ...]
#   --list       print the commands, how each would run, and an estimate of
#                the time; run nothing
#   --quick      shorter measurements: LOAD_FLAGS and BENCH_FLAGS in the
#                environment get "-duration 1s -warmup 200ms" (benches
#                "-duration 300ms -warmup 100ms") where a command does not
#                set them itself. Without it, everything runs as written.
#   --only RE    only the commands matching the extended regex RE (with the
#                server commands they need)
#   --out DIR    logs and the summary (default: results/notes-check-TIMESTAMP)
# Exit status: 0 if every command run passed, 1 otherwise, 2 on bad usage.
set -u

here=$(cd "$(dirname "$0")/.." && pwd)
list=0 quick=0 only='' out='' files=()
while [ $# -gt 0 ]; do
	case "$1" in
	--list) list=1 ;;
	--quick) quick=1 ;;
	--only) only=${2:?--only needs a regex}; shift ;;
	--out) out=${2:?--out needs a folder}; shift ;;
	-h|--help) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	-*) echo "check-commands: unknown flag $1 (see --help)" >&2; exit 2 ;;
	*) files+=("$1") ;;
	esac
	shift
done
if [ ${#files[@]} -eq 0 ]; then
	# Portuguese first, as the notes are written; every page of notes/.
	for f in "$here"/notes/*.md; do files+=("$f"); done
fi

# The port the notes' servers listen on (CHECK_PORT only for testing this script).
PORT=${CHECK_PORT:-8000}
SEP=$'\x1f'

# extract FILE...: one record per command: file, line, section, tags, command.
extract() {
	awk -v SEP="$SEP" '
	function flush_block(   i, c, n, prompted) {
		prompted = 0
		for (i = 1; i <= nb; i++) if (bl[i] ~ /^\$ /) prompted = 1
		c = ""; n = 0
		for (i = 1; i <= nb; i++) {
			l = bl[i]
			if (prompted) {
				if (c == "" && l !~ /^\$ /) continue
				if (c == "") sub(/^\$ /, "", l)
			}
			if (c == "") {
				t = l; sub(/^[ \t]+/, "", t)
				if (t == "" || t ~ /^#/) continue
				start = bln[i]
			}
			c = (c == "") ? l : c "\n" l
			# a line that continues: ends in \ or | or && (comments aside)
			t = l; sub(/[ \t]+#[^"\x27]*$/, "", t); sub(/[ \t]+$/, "", t)
			# (a line ending in a lone & runs in the background while the
			# next one runs: both belong to one command)
			if (t ~ /\\$/ || t ~ /\|$/ || t ~ /&$/) continue
			printf "%s\x1e", FILENAME SEP start SEP section SEP tags SEP c
			c = ""
		}
		if (c != "") printf "%s\x1e", FILENAME SEP start SEP section SEP tags SEP c
		nb = 0
	}
	FNR == 1 { inb = 0; nb = 0; section = "" }
	/^```/ {
		if (inb) { flush_block(); inb = 0; next }
		if ($0 ~ /^```(sh|bash|shell)([ \t]|$)/) {
			inb = 1; tags = $0; sub(/^```[a-z]+[ \t]*/, "", tags); nb = 0; next
		}
		inb = 2; next
	}
	inb == 1 { bl[++nb] = $0; bln[nb] = FNR; next }
	inb == 2 { next }
	/^## / { section = $0 }
	' "$@"
}

one_line() { printf '%s' "$1" | tr '\n' ' ' | sed 's/[[:space:]]\{1,\}/ /g'; }
strip_comment() { printf '%s\n' "$1" | sed 's/[[:space:]]#[^"'\'']*$//' | tr '\n' ' ' | sed 's/[[:space:]]\{1,\}/ /g; s/ $//; s/^ //'; }

# kind TAGS COMMAND: skip, server, long, docker-long, docker, or plain.
kind() {
	local tags=$1 c
	c=$(strip_comment "$2")
	case " $tags " in *" skip "*) echo skip; return ;; esac
	case " $tags " in *" server "*) echo server; return ;; esac
	if printf '%s' "$c" | grep -Eq '(^|[ =])(NAME|PID|FILE|HOST|COMMAND|LIST|PATTERN|CONTAINER|MODEL=NAME)([ .:]|$)|<[a-z]+>|Ctrl-C'; then
		echo skip; return
	fi
	local d=''
	if printf '%s' "$c" | grep -Eq 'docker|bench-docker|-env [a-z,-]*docker'; then d=docker; fi
	if printf '%s' "$c" | grep -Eq 'make( [^ ]+)* (bench(-[a-z0-9]+)*|test|reliability|notes-check|million)( |$)|iolab bench( |$)'; then
		echo "${d:+docker-}long"; return
	fi
	if printf '%s' "$c" | grep -Eq '(^|[ ;&])make( [^ ]+)* (run-[a-z]+|docker-run)( |$)' ||
		{ printf '%s' "$c" | grep -Eq '(^|[ /])iolab serve( |$)' && ! printf '%s' "$c" | grep -q '|'; } ||
		printf '%s' "$c" | grep -Eq 'python3 [^ ]*servidor_[a-z_]*\.py *$'; then
		echo server; return
	fi
	echo "${d:-plain}"
}

# estimate KIND COMMAND: seconds it should take, as written (or --quick).
estimate() {
	local k=$1 c
	c=$(strip_comment "$2")
	local levels dur warm
	levels_of() { # CLIENTS=... or -clients ...; default 4 levels
		local v
		v=$(printf '%s' "$c" | grep -Eo '(CLIENTS=|-clients )[0-9,]+' | head -1 | sed 's/.*[= ]//')
		if [ -n "$v" ]; then echo $(( $(printf '%s' "$v" | tr -cd , | wc -c) + 1 )); else echo 4; fi
	}
	secs_of() { # -duration D → whole seconds (rounded up), default $1
		local v
		v=$(printf '%s' "$c" | grep -Eo -- "-$2 [0-9.]+(ms|s|m)" | head -1 | sed 's/.* //')
		case "$v" in
		'') echo "$1" ;;
		*ms) echo $(( (${v%ms} + 999) / 1000 )) ;;
		*m) echo $(( ${v%m} * 60 )) ;;
		*s) printf '%s' "${v%s}" | awk '{print int($1 + 0.999)}' ;;
		esac
	}
	case "$k" in
	skip) echo 0; return ;;
	server) case "$c" in *docker-run*) echo 60 ;; *) echo 3 ;; esac; return ;;
	esac
	if printf '%s' "$c" | grep -Eq 'make( [^ ]+)* load( |$)|iolab load'; then
		levels=$(levels_of)
		if [ $quick = 1 ] && ! printf '%s' "$c" | grep -q 'LOAD_FLAGS='; then dur=1 warm=1; else dur=$(secs_of 5 duration) warm=$(secs_of 1 warmup); fi
		echo $(( levels * (dur + warm) + 1 )); return
	fi
	case "$c" in
	*"make logs-demo"*|*" logs-demo "*) echo $(( $(levels_of) * 2 + 4 )); return ;;
	*experimento1.sh*) echo 5; return ;;
	*"make test"*) echo 300; return ;;
	*"make reliability"*) echo 540; return ;;
	*bench-tutorial*) [ $quick = 1 ] && echo 40 || echo 120; return ;;
	*bench-full*) [ $quick = 1 ] && echo 500 || echo 1800; return ;;
	*bench-docker*) # 4 environments × (seed + throughput: 8 levels) × models, ~4 s a run
		local m; m=$(printf '%s' "$c" | grep -Eo -- '-models [a-z,]+' | head -1 | sed 's/.* //')
		m=${m:+$(( $(printf '%s' "$m" | tr -cd , | wc -c) + 1 ))}
		echo $(( 4 * 8 * ${m:-11} * ($quick == 1 ? 2 : 4) + 20 )); return ;;
	*bench-c100k*) echo 900; return ;;  # 11 models × 2 levels × (15 s warm-up + 10 s + connecting)
	esac
	if printf '%s' "$c" | grep -Eq 'make( [^ ]+)* bench( |$)|iolab bench'; then
		# runs = models × levels × backlogs; each its duration + warm-up + ~1 s of start and stop
		local sc models nm nl=0 s
		sc=$(printf '%s' "$c" | grep -Eo -- '-scenario [a-z,-]+' | head -1 | sed 's/.* //')
		case "$c" in *"make"*bench*) [ -z "$sc" ] && sc=seed,io-bound,cpu-bound ;; esac
		[ -z "$sc" ] && sc=seed,io-bound,cpu-bound
		[ "$sc" = all ] && sc=seed,io-bound,cpu-bound,throughput,churn,backlog,cores
		models=$(printf '%s' "$c" | grep -Eo -- '-models [a-z,]+' | head -1 | sed 's/.* //')
		for s in $(printf '%s' "$sc" | tr , ' '); do
			case "$s" in
			backlog) nl=$((nl + 12)) ;;
			cores) nm=${models:+$(( $(printf '%s' "$models" | tr -cd , | wc -c) + 1 ))}; nl=$((nl + 3 * ${nm:-4})) ;;
			churn) nm=${models:+$(( $(printf '%s' "$models" | tr -cd , | wc -c) + 1 ))}; nl=$((nl + 3 * ${nm:-11})) ;;
			*) nm=${models:+$(( $(printf '%s' "$models" | tr -cd , | wc -c) + 1 ))}
			   if printf '%s' "$c" | grep -Eq -- '-clients [0-9,]+'; then nl=$((nl + $(levels_of) * ${nm:-11})); else nl=$((nl + 4 * ${nm:-11})); fi ;;
			esac
		done
		if [ $quick = 1 ]; then dur=1 warm=0
		elif printf '%s' "$c" | grep -Eq 'make( [^ ]+)* bench( |$)'; then dur=2 warm=0
		else dur=$(secs_of 3 duration) warm=$(secs_of 1 warmup); fi
		case "$c" in *-syscalls*) nl=$((nl * 3 / 2)) ;; esac
		echo $(( nl * (dur + warm + 1) )); return
	fi
	echo 2
}

records=$(extract "${files[@]}")
if [ -z "$records" ]; then echo "check-commands: no \`\`\`sh blocks in ${files[*]}" >&2; exit 1; fi

# A plan: one line per command, with its server context and whether it is
# a repeat of an earlier one.
declare -a P_FILE P_LINE P_SEC P_TAGS P_CMD P_KIND P_SERVER P_SAME P_EST
n=0 cur_server='' cur_file='' cur_sec='' total=0
declare -A seen
while IFS=$SEP read -r -d $'\x1e' f l s t c; do
	rel=${f#"$here"/}
	if [ "$f" != "$cur_file" ] || [ "$s" != "$cur_sec" ]; then cur_server=''; cur_file=$f; cur_sec=$s; fi
	k=$(kind "$t" "$c")
	c1=$(strip_comment "$c")
	if [ "$k" = server ]; then cur_server=$c1; fi
	key="$cur_server${SEP}$c1"
	[ "$k" = server ] && key="server${SEP}$c1${SEP}$rel-$s"
	same=''
	if [ "$k" != server ] && [ -n "${seen[$key]+x}" ]; then same=${seen[$key]}; else seen[$key]="$rel:$l"; fi
	if [ -n "$only" ] && [ "$k" != server ] && ! printf '%s' "$c1" | grep -Eq -- "$only"; then continue; fi
	n=$((n + 1))
	P_FILE[$n]=$rel P_LINE[$n]=$l P_SEC[$n]=$s P_TAGS[$n]=$t P_CMD[$n]=$c P_KIND[$n]=$k P_SERVER[$n]=$cur_server P_SAME[$n]=$same
	if [ -n "$same" ]; then P_EST[$n]=0; else P_EST[$n]=$(estimate "$k" "$c"); fi
	total=$((total + P_EST[n]))
done < <(printf '%s' "$records")

# A server whose every command after it is a repeat (the twin page's) or
# skipped need not start.
for i in $(seq 1 $n); do
	[ "${P_KIND[$i]}" = server ] || continue
	needed=0
	for j in $(seq $((i + 1)) $n); do
		[ "${P_KIND[$j]}" = server ] && break
		[ "${P_FILE[$j]}" != "${P_FILE[$i]}" ] || [ "${P_SEC[$j]}" != "${P_SEC[$i]}" ] && break
		[ -z "${P_SAME[$j]}" ] && [ "${P_KIND[$j]}" != skip ] && { needed=1; break; }
	done
	if [ $needed = 0 ]; then P_SAME[$i]=unneeded P_EST[$i]=0; fi
done

fmt_t() { printf '%dm%02ds' $(( $1 / 60 )) $(( $1 % 60 )); }

if [ $list = 1 ]; then
	printf '%-6s %-12s %7s  %s\n' '#' kind estimate 'where: command'
	for i in $(seq 1 $n); do
		k=${P_KIND[$i]}
		[ -n "${P_SAME[$i]}" ] && k="same"
		note=''
		[ -n "${P_SAME[$i]}" ] && note=" (same as ${P_SAME[$i]})"
		[ "${P_SAME[$i]}" = unneeded ] && k=unneeded note=" (every command after it is a repeat)"
		if [ "${P_KIND[$i]}" = server ] && printf '%s' "${P_CMD[$i]}" | grep -Eq '(^|[ /])iolab serve( |$)' && ! printf '%s' "${P_CMD[$i]}" | grep -q -- '-addr'; then note="$note (-addr 127.0.0.1:$PORT added)"; fi
		[ "${P_KIND[$i]}" != server ] && [ -n "${P_SERVER[$i]}" ] && note="$note (against: ${P_SERVER[$i]})"
		printf '%-6s %-12s %7s  %s:%s: %s%s\n' "$i" "$k" "$(fmt_t "${P_EST[$i]}")" "${P_FILE[$i]}" "${P_LINE[$i]}" "$(one_line "${P_CMD[$i]}")" "$note"
	done
	echo
	echo "$n commands; estimated $(fmt_t $total) to run them$([ $quick = 1 ] && echo ' with --quick' || echo ' as written'), plus a build and the scratch copy"
	exit 0
fi

# ---- running ----
[ -z "$out" ] && out="$here/results/notes-check-$(date -u +%Y%m%d-%H%M%S)"
mkdir -p "$out/logs" || exit 1
out=$(cd "$out" && pwd)
work=$(mktemp -d /tmp/iolab-notes-check.XXXXXX) || exit 1
summary="$out/summary.txt"
: >"$summary"
say() { printf '%s\n' "$*" | tee -a "$summary"; }

cur_pgid='' srv_pgid='' srv_cmd='' srv_containers_before=''
# A background job of a script starts with SIGINT ignored, and a program
# cannot undo that through a shell: env --default-signal (coreutils 8.31)
# gives the commands a Ctrl-C that works.
defsig=''
env --default-signal=INT,QUIT true 2>/dev/null && defsig='env --default-signal=INT,QUIT'
port_busy() { [ -n "$(ss -Hltn "sport = :$PORT" 2>/dev/null)" ]; }
stop_group() { # PGID: SIGINT, then SIGKILL after 10 s
	local g=$1 i
	[ -z "$g" ] && return
	kill -INT -- "-$g" 2>/dev/null || return 0
	for i in $(seq 50); do kill -0 -- "-$g" 2>/dev/null || return 0; sleep 0.2; done
	kill -KILL -- "-$g" 2>/dev/null
	sleep 0.2
}
stop_server() {
	[ -z "$srv_pgid" ] && return
	stop_group "$srv_pgid"
	wait "$srv_pgid" 2>/dev/null
	if [ -n "$srv_containers_before" ] || [[ "$srv_cmd" == *docker* ]]; then
		# containers this server started (iolab's image or the tutorial's),
		# and only those: the ones running now that were not before it
		for id in $(docker ps -q 2>/dev/null); do
			case " $srv_containers_before " in *" $id "*) ;; *) docker rm -f "$id" >/dev/null 2>&1 ;; esac
		done
	fi
	srv_pgid='' srv_cmd='' srv_containers_before=''
}
cleanup() {
	stop_group "$cur_pgid"
	stop_server
	# what the commands wrote (bench reports, logs-demo logs) stays, beside the logs
	if [ -d "$work/results" ]; then
		mkdir -p "$out/results"
		find "$work/results" -mindepth 1 -maxdepth 1 ! -type l -exec mv -t "$out/results" {} + 2>/dev/null
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'echo; say "interrupted"; exit 1' INT TERM

# The scratch copy: the files git knows, and new ones it does not ignore.
(cd "$here" && git ls-files -z -c -o --exclude-standard | tar --null -T - -cf -) | tar -xf - -C "$work" || { echo "check-commands: cannot copy the repository" >&2; exit 1; }
mkdir -p "$work/results"
for d in fresh c100k; do [ -e "$here/results/$d" ] && ln -s "$here/results/$d" "$work/results/$d"; done
cd "$work" || exit 1
export ADDR="127.0.0.1:$PORT" PATH="$work/bin:$PATH"
if [ $quick = 1 ]; then
	export LOAD_FLAGS="${LOAD_FLAGS:--duration 1s -warmup 200ms}" BENCH_FLAGS="${BENCH_FLAGS:--duration 300ms -warmup 100ms}"
fi
docker_ok=0
docker info >/dev/null 2>&1 && docker_ok=1
if [ -z "${CHECK_SKIP_BUILD:-}" ]; then
	make build >"$out/logs/build.log" 2>&1 || { say "FAIL make build (see $out/logs/build.log)"; exit 1; }
fi

say "notes-check $(date -u '+%Y-%m-%d %H:%M UTC'), $(git -C "$here" rev-parse --short HEAD 2>/dev/null), $([ $quick = 1 ] && echo quick || echo 'as written'); $n commands, estimated $(fmt_t $total); logs in $out/logs"
pass=0 fail=0 skipped=0

# run_bounded LOG SECONDS INTERRUPT COMMAND: in its own process group; status.
run_bounded() {
	local log=$1 limit=$2 intr=$3 cmd=$4 start now rc
	timed_out=0
	setsid $defsig bash -c "$cmd" </dev/null >"$log" 2>&1 &
	cur_pgid=$!
	start=$(date +%s)
	while kill -0 "$cur_pgid" 2>/dev/null; do
		now=$(date +%s)
		if [ $((now - start)) -ge "$limit" ]; then
			[ "$intr" = 0 ] && { echo "check-commands: stopped after ${limit}s" >>"$log"; timed_out=1; }
			stop_group "$cur_pgid"
			break
		fi
		sleep 0.2
	done
	wait "$cur_pgid" 2>/dev/null; rc=$?
	cur_pgid=''
	[ $timed_out = 1 ] && return 124
	return $rc
}

start_server() { # COMMAND LOG: 0 once port 8000 listens
	local cmd=$1 log=$2 limit=60 start
	case "$cmd" in *docker*) limit=300; srv_containers_before=$(docker ps -q 2>/dev/null | tr '\n' ' ') ;; esac
	# the tutorial's servers set no SO_REUSEADDR: their connections' TIME_WAIT
	# (60 s) holds the port against the next server, whatever it sets, and
	# the retries below wait up to 75 s for it
	[ "$limit" -lt 90 ] && limit=90
	if printf '%s' "$cmd" | grep -Eq '(^|[ /])iolab serve( |$)' && ! printf '%s' "$cmd" | grep -q -- '-addr'; then
		cmd="$cmd -addr 127.0.0.1:$PORT"
	fi
	if port_busy; then
		echo "check-commands: port $PORT is taken before the server starts:" >"$log"
		ss -Hltnp "sport = :$PORT" >>"$log" 2>&1
		return 1
	fi
	start=$(date +%s)
	while :; do
		setsid $defsig bash -c "$cmd" </dev/null >>"$log" 2>&1 &
		srv_pgid=$! srv_cmd=$cmd
		while kill -0 "$srv_pgid" 2>/dev/null; do
			if port_busy; then
				# docker-proxy listens before the server in the container does
				case "$cmd" in *docker*) sleep 2 ;; esac
				return 0
			fi
			[ $(($(date +%s) - start)) -ge $limit ] && { echo "check-commands: nothing listened on $PORT in ${limit}s" >>"$log"; stop_server; return 1; }
			sleep 0.2
		done
		wait "$srv_pgid" 2>/dev/null; srv_pgid=''
		# a server cannot bind while the last one's connections hold the port
		# (TIME_WAIT for Python, FIN_WAIT and the like even with SO_REUSEADDR)
		if grep -qi 'address already in use' "$log" && [ $(($(date +%s) - start)) -lt 75 ]; then
			echo "check-commands: port in TIME_WAIT; trying again in 5 s" >>"$log"; sleep 5; continue
		fi
		echo "check-commands: the server exited before it listened" >>"$log"
		return 1
	done
}

declare -A result_of
for i in $(seq 1 $n); do
	k=${P_KIND[$i]} c=${P_CMD[$i]} where="${P_FILE[$i]}:${P_LINE[$i]}" line1=$(one_line "${P_CMD[$i]}")
	log="$out/logs/$(printf '%03d' "$i")-$(printf '%s' "${P_FILE[$i]##*/}" | sed 's/\.md$//')-${P_LINE[$i]}.log"
	# a new section or file, or a new server: the old server stops
	if [ -z "${P_SERVER[$i]}" ]; then stop_server; fi
	if [ "${P_SAME[$i]}" = unneeded ]; then
		stop_server
		say "$(printf '%-5s %7s  %s: %s (not started: every command after it is a repeat)' SKIP - "$where" "$line1")"; skipped=$((skipped + 1)); continue
	fi
	if [ -n "${P_SAME[$i]}" ]; then
		say "$(printf '%-5s %7s  %s: %s (same as %s)' "${result_of[${P_SAME[$i]}]:-same}" - "$where" "$line1" "${P_SAME[$i]}")"
		case "${result_of[${P_SAME[$i]}]:-}" in PASS) pass=$((pass + 1)) ;; FAIL) fail=$((fail + 1)) ;; *) skipped=$((skipped + 1)) ;; esac
		continue
	fi
	why=''
	case "$k" in
	skip) why='skipped (tag or placeholder)' ;;
	docker*) [ $docker_ok = 0 ] && why='skipped: no Docker engine answers' ;;
	esac
	if [ "$k" = server ] && [[ "$c" == *docker* ]] && [ $docker_ok = 0 ]; then why='skipped: no Docker engine answers'; fi
	if [ -n "$why" ]; then
		say "$(printf '%-5s %7s  %s: %s (%s)' SKIP - "$where" "$line1" "$why")"; skipped=$((skipped + 1)); result_of[$where]=SKIP; continue
	fi
	t0=$(date +%s)
	if [ "$k" = server ]; then
		stop_server
		if start_server "$c" "$log"; then r=PASS; else r=FAIL; fi
	else
		limit=120 intr=0
		# a bench needs no server of ours, and bench-tutorial needs port 8000
		case "$k" in *long) limit=3600; stop_server ;; esac
		tl=$(printf '%s' " ${P_TAGS[$i]} " | grep -Eo ' timeout=[0-9]+ ' | tr -dc 0-9)
		[ -n "$tl" ] && limit=$tl
		ti=$(printf '%s' " ${P_TAGS[$i]} " | grep -Eo ' interrupt=[0-9]+ ' | tr -dc 0-9)
		[ -n "$ti" ] && limit=$ti intr=1
		if [ -n "${P_SERVER[$i]}" ] && [ -z "$srv_pgid" ]; then echo "check-commands: its server (${P_SERVER[$i]}) is not running" >"$log"; fi
		run_bounded "$log" "$limit" "$intr" "$c"; rc=$?
		if [ $rc = 0 ] || { [ $intr = 1 ] && [ $rc = 130 ]; }; then r=PASS; else r=FAIL; fi
	fi
	dt=$(( $(date +%s) - t0 ))
	result_of[$where]=$r
	say "$(printf '%-5s %7s  %s: %s' "$r" "$(fmt_t $dt)" "$where" "$line1")"
	if [ $r = PASS ]; then pass=$((pass + 1)); else
		fail=$((fail + 1))
		tail -n 5 "$log" | sed 's/^/        | /' | tee -a "$summary"
		echo "        log: $log" | tee -a "$summary"
	fi
done
stop_server
say ""
say "passed $pass, failed $fail, skipped $skipped (of $n); summary: $summary"
[ $fail = 0 ]
