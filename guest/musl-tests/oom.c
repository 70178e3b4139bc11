/* Running out of guest memory: the OOM killer ends the process using the most memory with
 * SIGKILL. A child touching 200 MiB (the test machine has 64 MiB) is killed itself; when a
 * larger process holds memory, that one is killed and the process that ran out goes on.
 * qemu-riscv32 runs with the host's memory, where these allocations simply succeed, so this
 * program's expected output is Linux's documented behaviour (run-qemu.sh skips it). */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define MiB (1024 * 1024)

static void touch(size_t bytes)
{
	char *p = mmap(0, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) _exit(2);
	for (size_t i = 0; i < bytes; i += 4096) p[i] = 1;
}

int main(void)
{
	int st;
	pid_t hog = fork();
	if (hog == 0) {
		touch((size_t)200 * MiB);
		_exit(0);
	}
	waitpid(hog, &st, 0);
	printf("child that touches 200 MiB: killed by signal %d\n", WIFSIGNALED(st) ? WTERMSIG(st) : 0);

	int ready[2];
	pipe(ready);
	pid_t big = fork();
	if (big == 0) {
		touch((size_t)36 * MiB);
		write(ready[1], "r", 1);
		for (;;) pause();
	}
	char c;
	read(ready[0], &c, 1);
	pid_t small = fork();
	if (small == 0) {
		touch((size_t)30 * MiB);
		_exit(0);
	}
	int sst, bst;
	waitpid(small, &sst, 0);
	/* The OOM killer should have ended it; if not, SIGALRM ends the test instead of a hang. */
	alarm(20);
	waitpid(big, &bst, 0);
	alarm(0);
	printf("with a larger process holding memory: the larger one was killed by signal %d, the one that ran out exited %d\n",
	       WIFSIGNALED(bst) ? WTERMSIG(bst) : 0, WIFEXITED(sst) ? WEXITSTATUS(sst) : -1);
	printf("parent survived: yes\n");
	return 0;
}
