/* forkcost: how long a process per connection costs to start, the C way
 * and the iolab way. Each round makes a child and waits for it:
 *   fork   the child is a copy of this process and exits at once
 *   exec   the child is PROG started anew (fork + execve), and exits when
 *          it has started: what the fork model's parent pays per client
 * Usage: forkcost N [PROG [ARG...]]  (prints microseconds per child)
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

static double now(void) {
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

int main(int argc, char **argv) {
	int n = argc > 1 ? atoi(argv[1]) : 1000;
	double t0 = now();
	for (int i = 0; i < n; i++) {
		pid_t p = fork();
		if (p == 0) _exit(0);
		waitpid(p, NULL, 0);
	}
	printf("fork+exit+wait: %.1f us per child\n", (now() - t0) / n);
	if (argc > 2) {
		t0 = now();
		for (int i = 0; i < n; i++) {
			pid_t p = fork();
			if (p == 0) { execv(argv[2], argv + 2); _exit(127); }
			int st;
			waitpid(p, &st, 0);
		}
		printf("fork+exec %s+wait: %.1f us per child\n", argv[2], (now() - t0) / n);
	}
	return 0;
}
