/* A child killed by SIGTERM (raise in the child) and one by SIGKILL from
 * the parent: the parent sees WIFSIGNALED and the signal number. */
#include <stdio.h>
#include <signal.h>
#include <unistd.h>
#include <sys/wait.h>

int main(void)
{
	int st;
	fflush(stdout);
	pid_t p = fork();
	if (p == 0) {
		raise(SIGTERM);
		_exit(0); /* not reached */
	}
	waitpid(p, &st, 0);
	printf("raise(SIGTERM): signaled %s, signal %d, exited %s\n",
	       WIFSIGNALED(st) ? "yes" : "no", WTERMSIG(st), WIFEXITED(st) ? "yes" : "no");

	int pfd[2];
	pipe(pfd);
	p = fork();
	if (p == 0) {
		char c;
		close(pfd[1]);
		read(pfd[0], &c, 1); /* blocks until killed */
		_exit(0);
	}
	close(pfd[0]);
	kill(p, SIGKILL);
	waitpid(p, &st, 0);
	printf("kill(SIGKILL): signaled %s, signal %d\n", WIFSIGNALED(st) ? "yes" : "no", WTERMSIG(st));

	/* SIGTERM ignored in the child: it survives raise() and exits normally */
	p = fork();
	if (p == 0) {
		signal(SIGTERM, SIG_IGN);
		raise(SIGTERM);
		_exit(5);
	}
	waitpid(p, &st, 0);
	printf("ignored SIGTERM: exited %s, status %d\n", WIFEXITED(st) ? "yes" : "no", WEXITSTATUS(st));
	return 0;
}
