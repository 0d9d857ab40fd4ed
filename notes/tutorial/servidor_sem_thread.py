# O servidor TCP sem thread do tutorial (seção 1), como o tutorial o escreve:
# listen(1), um cliente por vez. iolab bench o mede com
#   make bench-tutorial
# The tutorial's server without threads (section 1), as the tutorial writes it.
import socket

HOST = ""  # Endereço IP do servidor (vazio para aceitar conexões de qualquer endereço)
PORT = 8000  # Porta do servidor

# Criando o socket do servidor
servidor = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
servidor.bind((HOST, PORT))
servidor.listen(1)

print(f"Servidor TCP rodando na porta {PORT}...")

while True:
    conexao, endereco = servidor.accept()
    print(f"Conexão estabelecida com {endereco}")
    mensagem = "Olá, cliente! Você está conectado ao servidor TCP."
    conexao.sendall(mensagem.encode("utf-8"))
    conexao.close()
