/* Spawning: posix_spawn (clone with CLONE_VM|CLONE_VFORK: the parent waits until the child
 * has exec'd or exited) of a missing program fails with ENOENT, as execve does; vfork then
 * _exit. */
#define _GNU_SOURCE
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int main(void)
{
	pid_t pid;
	char *argv[] = { "missing", 0 };
	int r = posix_spawn(&pid, "/nonexistent/missing", 0, 0, argv, environ);
	printf("posix_spawn of a missing program: %s\n", r == ENOENT ? "ENOENT" : strerror(r));

	errno = 0;
	r = execve("/nonexistent/missing", argv, environ);
	printf("execve of a missing program: %d ENOENT %s\n", r, errno == ENOENT ? "yes" : "no");

	pid_t c = vfork();
	if (c == 0) _exit(3);
	int st;
	printf("vfork child: reaped %s, status %d\n", waitpid(c, &st, 0) == c ? "yes" : "no", WEXITSTATUS(st));
	return 0;
}
