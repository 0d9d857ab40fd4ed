/*
 * echo.c: iolab's C epoll echo server, the yardstick of iolab bench -pair
 * (the server named c-epoll). It does what the epoll model does, and no
 * more: one thread, one level-triggered epoll instance, non-blocking
 * sockets, and the echo protocol of models/proto.go. A model measured
 * against it (iolab bench -pair epoll,c-epoll) shows what Go, the
 * model's bookkeeping and its logs cost beside plain C.
 *
 * Usage: echo PORT. It listens on 127.0.0.1:PORT and serves until
 * SIGTERM or SIGINT, then exits with status 0.
 *
 * The protocol, as models/proto.go writes it: each line ending in '\n' is
 * answered with the same line, in order, on a connection that stays open.
 * A line longer than MAX_LINE bytes, newline included, is answered with
 * "ERR line too long\n" and a close. What the models do besides, this
 * server leaves out, since iolab load's measurement does not reach it: no
 * work per request, no idle or request timeout, no limit on connections,
 * no graceful drain and no log.
 *
 * The bench builds it with cc -O2 (loadgen/bench/cserver.go).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

/* MAX_LINE is models.DefaultMaxLine: the longest line, newline included. */
#define MAX_LINE (64 * 1024)

/* ERR_REPLY is models.ErrLineReply. */
static const char ERR_REPLY[] = "ERR line too long\n";

/* EVENTS is how many ready descriptors one epoll_wait may return. */
#define EVENTS 256

/* ACCEPT_PAUSE_MS is how long the server stops accepting after accept4
 * fails for want of descriptors or memory: a level-triggered listener
 * would report the same queued connection again at once, in a spin. */
#define ACCEPT_PAUSE_MS 100

/*
 * conn is one client. Its one buffer holds, in order, the answers not yet
 * written (buf[sent, answered): complete lines, which are their own
 * answers) and the start of the next line (buf[answered, len)). While
 * answers wait to be written the server does not read from the client, so
 * a client that does not read its answers cannot make the server hold more
 * than one buffer for it.
 */
struct conn {
	int fd;
	char *buf;       /* MAX_LINE bytes; only the pages written to are resident */
	size_t len;      /* bytes in buf */
	size_t answered; /* buf[0, answered) are complete lines, to be sent back */
	size_t sent;     /* of those, how many the socket has taken */
	int too_long;    /* ERR_REPLY is queued instead: close once it is sent */
	uint32_t events; /* what epoll watches for now: EPOLLIN or EPOLLOUT */
};

static int epfd, lfd, sigfd;

/* paused is set while the listener is out of epoll, after accept4 failed
 * for want of descriptors or memory; the main loop adds it back
 * ACCEPT_PAUSE_MS later. */
static int paused;

/* watch sets what epoll reports for c, derived from its state in one
 * place: room to write while answers wait, else input. It calls
 * epoll_ctl only when that changes: a request answered at once, the usual
 * case, costs no system call but its read and its write. */
static void watch(struct conn *c, int op) {
	uint32_t want = c->sent < c->answered ? EPOLLOUT : EPOLLIN;
	if (op == EPOLL_CTL_MOD && want == c->events)
		return;
	struct epoll_event ev = {.events = want, .data.ptr = c};
	if (epoll_ctl(epfd, op, c->fd, &ev) < 0)
		perror("epoll_ctl");
	c->events = want;
}

static void closeConn(struct conn *c) {
	close(c->fd); /* which also takes it out of epoll: no other process holds it */
	free(c->buf);
	free(c);
}

/* flush writes what waits. It returns 0 when all is written, 1 when the
 * socket is full, -1 when the client is gone. */
static int flush(struct conn *c) {
	const char *out = c->too_long ? ERR_REPLY : c->buf;
	while (c->sent < c->answered) {
		ssize_t n = write(c->fd, out + c->sent, c->answered - c->sent);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 1;
		if (n < 0)
			return -1; /* EPIPE, ECONNRESET */
		c->sent += (size_t)n;
	}
	return 0;
}

/* settle writes c's answers, then closes it, or watches it for room to
 * write, or moves the start of the next line to the front of its buffer
 * and watches it for input again. */
static void settle(struct conn *c) {
	int r = flush(c);
	if (r < 0 || (r == 0 && c->too_long)) {
		closeConn(c);
		return;
	}
	if (r == 0) {
		memmove(c->buf, c->buf + c->answered, c->len - c->answered);
		c->len -= c->answered;
		c->answered = c->sent = 0;
	}
	watch(c, EPOLL_CTL_MOD);
}

/* readable reads once (the descriptor is level-triggered: epoll reports
 * it again while input is left) and answers the complete lines. */
static void readable(struct conn *c) {
	ssize_t n = read(c->fd, c->buf + c->len, MAX_LINE - c->len);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) { /* EOF, or ECONNRESET */
		closeConn(c);
		return;
	}
	c->len += (size_t)n;
	/* Every line up to the last newline is complete, and its own answer.
	 * The rest, the start of a line, waits for more input. */
	char *last = memrchr(c->buf, '\n', c->len);
	if (last != NULL) {
		c->answered = (size_t)(last - c->buf) + 1;
	} else if (c->len == MAX_LINE) {
		/* MAX_LINE bytes and no newline: the line cannot end within
		 * the limit. As models.ScanLine: answer ERR, then close. */
		c->too_long = 1;
		c->answered = sizeof ERR_REPLY - 1;
	}
	if (c->answered > 0)
		settle(c);
}

/* acceptAll accepts every connection queued on the listener. */
static void acceptAll(void) {
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue; /* a signal, or a client that gave up while queued */
			if (errno != EAGAIN) {
				/* EMFILE, ENFILE, ENOBUFS, ENOMEM: the connection stays
				 * queued until the pause is over. */
				perror("accept4");
				epoll_ctl(epfd, EPOLL_CTL_DEL, lfd, NULL);
				paused = 1;
			}
			return;
		}
		/* As the models: an answer goes out at once, not held back by
		 * Nagle's algorithm until the client's ACK. */
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		struct conn *c = calloc(1, sizeof *c);
		char *buf = malloc(MAX_LINE);
		if (c == NULL || buf == NULL) {
			free(c);
			free(buf);
			close(fd);
			continue;
		}
		c->fd = fd;
		c->buf = buf;
		watch(c, EPOLL_CTL_ADD);
	}
}

/* listenOn returns a non-blocking socket listening on 127.0.0.1:port. */
static int listenOn(int port) {
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
	if (fd < 0)
		return -1;
	/* Connections left in TIME_WAIT by an earlier server on this port do
	 * not keep this one from binding it. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
	                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	/* INT_MAX: the kernel caps it at net.core.somaxconn, the system's
	 * maximum, which is what the models ask for by default (-backlog 0). */
	if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, INT_MAX) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int main(int argc, char **argv) {
	char *end = "";
	long port = argc == 2 ? strtol(argv[1], &end, 10) : 0;
	if (argc != 2 || *end != '\0' || port < 1 || port > 65535) {
		fprintf(stderr, "usage: %s PORT (1 to 65535)\n", argv[0]);
		return 2;
	}
	/* SIGTERM and SIGINT arrive as input on a descriptor that epoll
	 * watches, so that the loop ends between two events, not inside one. */
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigprocmask(SIG_BLOCK, &stop, NULL);
	/* A client gone while it is written to gives EPIPE, not a signal that
	 * would end the server. */
	signal(SIGPIPE, SIG_IGN);
	if ((sigfd = signalfd(-1, &stop, SFD_NONBLOCK | SFD_CLOEXEC)) < 0 ||
	    (epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		perror("signalfd, epoll_create1");
		return 1;
	}
	if ((lfd = listenOn((int)port)) < 0) {
		perror("listen");
		return 1;
	}
	/* The listener and the signals are told from connections by their
	 * data: NULL, and the address of sigfd. */
	struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
	struct epoll_event sev = {.events = EPOLLIN, .data.ptr = &sigfd};
	epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &lev);
	epoll_ctl(epfd, EPOLL_CTL_ADD, sigfd, &sev);

	struct epoll_event evs[EVENTS];
	for (;;) {
		int n = epoll_wait(epfd, evs, EVENTS, paused ? ACCEPT_PAUSE_MS : -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			perror("epoll_wait");
			return 1;
		}
		if (n == 0 && paused) { /* the pause is over */
			paused = 0;
			epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &lev);
			continue;
		}
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			if (c == (void *)&sigfd)
				return 0; /* the kernel closes every socket as the process exits */
			if (c == NULL)
				acceptAll();
			else if (c->sent < c->answered)
				settle(c); /* room to write: EPOLLOUT, or an error that write reports */
			else
				readable(c); /* input, EOF or an error, which read reports */
		}
	}
}
