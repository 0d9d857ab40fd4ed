# O cliente TCP do tutorial, como o tutorial o escreve: uma conexão, uma
# resposta. make bench-tutorial o roda uma vez contra cada servidor do
# tutorial, antes de medi-los com iolab load.
# The tutorial's client, as the tutorial writes it.
import socket

def fazer_requisicao():
    cliente = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    cliente.connect(("localhost", 8000))
    resposta = cliente.recv(1024)
    print("Resposta do servidor:", resposta.decode("utf-8"))
    cliente.close()

fazer_requisicao()
