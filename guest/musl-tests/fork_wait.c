/* fork + waitpid with exit statuses, wait(), WNOHANG, ECHILD. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <errno.h>
#include <sys/wait.h>

int main(void)
{
	pid_t kids[5];
	for (int i = 0; i < 5; i++) {
		pid_t p = fork();
		if (p < 0) { perror("fork"); return 1; }
		if (p == 0) {
			if (i == 4) _exit(255);
			exit(i * 10);
		}
		kids[i] = p;
	}
	/* reap in reverse order by pid */
	for (int i = 4; i >= 0; i--) {
		int st;
		pid_t r = waitpid(kids[i], &st, 0);
		printf("child %d: waitpid matched %s, exited %s, status %d\n", i,
		       r == kids[i] ? "yes" : "no", WIFEXITED(st) ? "yes" : "no", WEXITSTATUS(st));
	}
	int st;
	errno = 0;
	printf("waitpid with no children: %d errno ECHILD %s\n", (int)waitpid(-1, &st, WNOHANG),
	       errno == ECHILD ? "yes" : "no");

	/* a child that sleeps: WNOHANG returns 0 first, then wait() gets it */
	int pfd[2];
	pipe(pfd);
	pid_t p = fork();
	if (p == 0) {
		char c;
		close(pfd[1]);
		read(pfd[0], &c, 1);
		_exit(42);
	}
	close(pfd[0]);
	printf("WNOHANG while running: %d\n", (int)waitpid(p, &st, WNOHANG));
	write(pfd[1], "x", 1);
	close(pfd[1]);
	pid_t r = wait(&st);
	printf("wait(): matched %s, status %d\n", r == p ? "yes" : "no", WEXITSTATUS(st));

	/* the child's output and ours are ordered by the wait */
	fflush(stdout);
	p = fork();
	if (p == 0) {
		printf("child prints before parent continues\n");
		return 0;
	}
	waitpid(p, &st, 0);
	printf("parent after child, status %d\n", st);
	return 0;
}
