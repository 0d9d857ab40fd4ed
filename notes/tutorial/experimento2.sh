#!/bin/sh
# Experimento 2 do tutorial, passos 3 e 4: roda o servidor do tutorial num
# container, com a porta publicada só em 127.0.0.1:8000, e o cliente do
# tutorial (cliente.py) uma vez de fora (do host) e uma vez de dentro do
# container (docker exec). A imagem vem de iolab image (make
# bench-tutorial-docker); o container é removido no fim, e no Ctrl-C.
# The tutorial's Experiment 2, steps 3 and 4: its server in a container,
# published on 127.0.0.1:8000 only, and its client once from the host and
# once inside the container. The container is removed at the end, and on
# Ctrl-C.
#   sh notes/tutorial/experimento2.sh [IMAGE]
dir=$(dirname "$0")
img=${1:-iolab-tutorial:servidor_sem_thread}
name=iolab-experimento2-$$
trap 'docker rm -f "$name" >/dev/null 2>&1' EXIT
trap 'exit 130' INT TERM
# --init: o servidor não é o PID 1 do container, e morre com SIGTERM como fora dele.
timeout 30 docker run -d --rm --init --name "$name" --label iolab.bench=experimento2 \
	-p 127.0.0.1:8000:8000 "$img" >/dev/null || exit 1
# Espera o servidor escutar, perguntando de dentro: de fora, o docker-proxy
# aceita a conexão antes que o servidor exista.
ok=no
for i in $(seq 50); do
	timeout 5 docker exec "$name" python3 -c 'import socket; socket.create_connection(("127.0.0.1", 8000)).close()' 2>/dev/null && ok=yes && break
	sleep 0.1
done
[ "$ok" = yes ] || { echo "experimento2: $img did not listen on port 8000 within 5 s" >&2; exit 1; }
echo "Image $img: $(timeout 10 docker exec "$name" python3 --version)"
echo "From outside (the host), to 127.0.0.1:8000: docker-proxy accepts and opens a second connection to the container's namespace, over docker0 and a veth pair:"
ps -eo args | grep '[d]ocker-proxy.*-host-port 8000 ' | sed 's/^/  /'
timeout 10 python3 "$dir/cliente.py" || exit 1
echo "From inside (docker exec $name python), to localhost:8000 on the container's own loopback:"
timeout 10 docker exec -i "$name" python - <"$dir/cliente.py"
