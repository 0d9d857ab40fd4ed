# O servidor TCP com thread do tutorial (Experimento 1), como o tutorial o
# escreve: listen(5), uma thread por conexão. iolab bench o mede com
#   make bench-tutorial
# The tutorial's server with a thread per connection (Experiment 1), as the
# tutorial writes it.
import socket
import threading

HOST = ""
PORT = 8000

# Criando o socket do servidor
servidor = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
servidor.bind((HOST, PORT))
servidor.listen(5)

print(f"Servidor TCP multithread rodando na porta {PORT}...")

def atender_cliente(conexao, endereco):
    print(f"Conexão estabelecida com {endereco}")
    mensagem = "Olá, cliente! Você está conectado ao servidor TCP multithread."
    conexao.sendall(mensagem.encode("utf-8"))
    conexao.close()

while True:
    conexao, endereco = servidor.accept()
    thread = threading.Thread(target=atender_cliente, args=(conexao, endereco))
    thread.start()
