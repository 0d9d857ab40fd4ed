#!/bin/sh
# Experimento 1 do tutorial, como ele o descreve: N clientes (o cliente.py
# do tutorial) ao mesmo tempo contra o servidor em localhost:8000, para N
# = 1, 2, 5 e 10, com o tempo de cada rodada.
# The tutorial's Experiment 1 as it describes it: N copies of its client at
# once against the server on localhost:8000, for N = 1, 2, 5 and 10, timed.
#   sh notes/tutorial/experimento1.sh [N ...]
dir=$(dirname "$0")
for n in ${@:-1 2 5 10}; do
	start=$(date +%s%N)
	pids=""
	for i in $(seq "$n"); do
		python3 "$dir/cliente.py" >"/tmp/iolab-cliente-$$-$i.out" 2>&1 &
		pids="$pids $!"
	done
	ok=0
	for p in $pids; do wait "$p" && ok=$((ok + 1)); done
	ms=$((($(date +%s%N) - start) / 1000000))
	echo "$n cliente(s) ao mesmo tempo: $ok responderam, em $ms ms; o primeiro disse: $(head -c 120 "/tmp/iolab-cliente-$$-1.out")"
	rm -f /tmp/iolab-cliente-$$-*.out
done
