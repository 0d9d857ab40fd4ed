# Gabarito (só para o professor): o servidor com thread do tutorial,
# corrigido até passar em iolab check. Só a biblioteca padrão.
#   iolab check -server 'python3 notes/key/servidor_robusto.py'
# Teacher's key only: the tutorial's threaded server, fixed until it
# passes iolab check. Standard library only.
#
# O que o tutorial não faz, e o que cada correção responde:
#  1. listen(5) -> listen(socket.SOMAXCONN): com 5, dez clientes de uma vez
#     já perdem handshakes, e o cliente espera segundos (protocol, storm).
#  2. Uma exceção por cliente não pode matar o servidor: um cliente que
#     manda RST antes da saudação faz sendall falhar (ConnectionResetError);
#     no servidor sem thread essa exceção encerra o laço de accept.
#  3. Threads limitadas: um pool fixo (ThreadPoolExecutor) em vez de uma
#     thread nova por cliente, sem limite. E só para o que pode bloquear:
#     a saudação quase sempre cabe inteira no buffer do socket, e então a
#     thread principal a envia e fecha sem esperar (send não bloqueante);
#     passar cada cliente a uma thread custaria mais que o próprio envio
#     (com 10.000 clientes, é o que faz o cliente esperar mais de 5 s).
#     Só o resto de um envio que não coube vai para o pool: a ideia do
#     servidor Flash (o modelo workers do iolab).
#  4. accept sem descritores (EMFILE): esperar e tentar de novo, em vez de
#     morrer com OSError.
#  5. SIGTERM: parar de aceitar, terminar o que está em andamento, sair 0.
#  6. SO_REUSEADDR: poder reiniciar na mesma porta logo em seguida.
#  7. Um tempo limite por conexão (settimeout): um cliente que não lê não
#     prende uma thread para sempre.
import concurrent.futures
import errno
import signal
import socket
import time

HOST = ""
PORT = 8000
TRABALHADORES = 64  # threads do pool
TEMPO_LIMITE = 5.0  # segundos, por conexão

mensagem = "Olá, cliente! Você está conectado ao servidor TCP multithread.".encode("utf-8")


class Encerrar(Exception):
    """Levantada pelo tratador de SIGTERM para sair do laço de accept."""


def ao_receber_sigterm(sinal, quadro):
    raise Encerrar()


def terminar_envio(conexao, resto):
    """No pool: o que não coube no buffer, com tempo limite."""
    try:
        conexao.settimeout(TEMPO_LIMITE)
        conexao.sendall(resto)
    except OSError:
        pass  # o cliente foi embora (RST, tempo esgotado): só ele perde
    finally:
        conexao.close()


def atender_cliente(conexao, pool):
    """Na thread principal: envia o que cabe sem bloquear."""
    try:
        conexao.setblocking(False)
        enviado = conexao.send(mensagem)
    except BlockingIOError:
        enviado = 0
    except OSError:
        conexao.close()  # RST antes da saudação: só este cliente perde
        return
    if enviado == len(mensagem):
        conexao.close()
        return
    pool.submit(terminar_envio, conexao, mensagem[enviado:])


def main():
    signal.signal(signal.SIGTERM, ao_receber_sigterm)
    servidor = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    servidor.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    servidor.bind((HOST, PORT))
    servidor.listen(socket.SOMAXCONN)
    print(f"Servidor TCP robusto na porta {PORT}...", flush=True)
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=TRABALHADORES)
    try:
        while True:
            try:
                conexao, _ = servidor.accept()
            except OSError as e:
                if e.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    time.sleep(0.05)  # sem descritores: esperar que alguém feche
                    continue
                if e.errno == errno.ECONNABORTED:
                    continue  # desistiu antes do accept
                raise
            atender_cliente(conexao, pool)
    except Encerrar:
        pass
    finally:
        servidor.close()  # ninguém novo entra
        pool.shutdown(wait=True)  # quem já entrou recebe a saudação
    print("Servidor encerrado.", flush=True)


if __name__ == "__main__":
    main()
