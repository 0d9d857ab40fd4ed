# O servidor sem thread do tutorial com listen(5), o backlog do servidor
# com thread: o mesmo código de servidor_sem_thread.py, só o backlog muda.
# O par do tutorial muda duas coisas de uma vez (threads, e backlog 1 → 5);
# este servidor separa as duas. iolab bench o mede com
#   make bench-tutorial
# The tutorial's server without threads, with the backlog of its thread
# server, listen(5): servidor_sem_thread.py with only the backlog changed,
# so that the effect of the threads and that of the backlog separate.
import socket

HOST = ""  # Endereço IP do servidor (vazio para aceitar conexões de qualquer endereço)
PORT = 8000  # Porta do servidor

# Criando o socket do servidor
servidor = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
servidor.bind((HOST, PORT))
servidor.listen(5)

print(f"Servidor TCP rodando na porta {PORT}...")

while True:
    conexao, endereco = servidor.accept()
    print(f"Conexão estabelecida com {endereco}")
    mensagem = "Olá, cliente! Você está conectado ao servidor TCP."
    conexao.sendall(mensagem.encode("utf-8"))
    conexao.close()
