/* getrusage, uname, sched_getaffinity, getrlimit/setrlimit (prlimit64),
 * sysconf, ids, environment, getcwd/chdir. Prints only what does not
 * depend on the machine. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sched.h>
#include <errno.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>

int main(void)
{
	struct rusage ru;
	volatile unsigned long spin = 0;
	for (unsigned long i = 0; i < 2000000; i++) spin += i;
	int r = getrusage(RUSAGE_SELF, &ru);
	printf("getrusage(SELF): %d, utime sane %s, maxrss > 0 %s\n", r,
	       ru.ru_utime.tv_sec >= 0 && ru.ru_utime.tv_usec >= 0 && ru.ru_utime.tv_usec < 1000000 ? "yes" : "no",
	       ru.ru_maxrss > 0 ? "yes" : "no");
	pid_t c = fork();
	if (c == 0) _exit(0);
	int st;
	struct rusage cru;
	printf("wait4 with rusage: matched %s\n", wait4(c, &st, 0, &cru) == c ? "yes" : "no");
	printf("getrusage(CHILDREN): %d\n", getrusage(RUSAGE_CHILDREN, &ru));

	struct utsname u;
	uname(&u);
	printf("uname: sysname %s, machine starts with riscv32: %s\n", u.sysname,
	       strncmp(u.machine, "riscv32", 7) == 0 ? "yes" : "no");

	cpu_set_t set;
	CPU_ZERO(&set);
	r = sched_getaffinity(0, sizeof set, &set);
	printf("sched_getaffinity: %d, at least one CPU %s\n", r, CPU_COUNT(&set) >= 1 ? "yes" : "no");
	printf("sysconf(_SC_NPROCESSORS_ONLN) >= 1: %s\n", sysconf(_SC_NPROCESSORS_ONLN) >= 1 ? "yes" : "no");
	printf("sysconf(_SC_PAGESIZE): %ld\n", sysconf(_SC_PAGESIZE));
	printf("sched_yield: %d\n", sched_yield());

	struct rlimit rl;
	r = getrlimit(RLIMIT_NOFILE, &rl);
	printf("getrlimit(NOFILE): %d, cur <= max %s\n", r, rl.rlim_cur <= rl.rlim_max ? "yes" : "no");
	rl.rlim_cur = 64;
	printf("setrlimit(NOFILE, 64): %d\n", setrlimit(RLIMIT_NOFILE, &rl));
	getrlimit(RLIMIT_NOFILE, &rl);
	printf("now cur %llu\n", (unsigned long long)rl.rlim_cur);
	r = getrlimit(RLIMIT_STACK, &rl);
	printf("getrlimit(STACK): %d\n", r);

	/* getppid's own value depends on what started the program (a shell, or
	 * nothing: init's parent is 0); a child's getppid is its parent's pid. */
	pid_t self = getpid();
	pid_t k = fork();
	if (k == 0) _exit(getppid() == self ? 0 : 1);
	int kst = -1;
	waitpid(k, &kst, 0);
	printf("getpid > 0 %s, child's getppid == getpid %s, gettid == getpid %s\n", self > 0 ? "yes" : "no",
	       WIFEXITED(kst) && WEXITSTATUS(kst) == 0 ? "yes" : "no", gettid() == getpid() ? "yes" : "no");
	printf("uid/euid consistent %s, gid/egid consistent %s\n", getuid() == geteuid() ? "yes" : "no",
	       getgid() == getegid() ? "yes" : "no");

	setenv("MUSL_TEST_VAR", "value1", 1);
	printf("getenv after setenv: %s\n", getenv("MUSL_TEST_VAR"));
	unsetenv("MUSL_TEST_VAR");
	printf("getenv after unsetenv: %s\n", getenv("MUSL_TEST_VAR") ? "set" : "(null)");

	char cwd[256];
	chdir("/tmp");
	printf("getcwd after chdir(/tmp): %s\n", getcwd(cwd, sizeof cwd));
	errno = 0;
	printf("chdir to missing dir: %d ENOENT %s\n", chdir("/nonexistent-musl-dir"), errno == ENOENT ? "yes" : "no");
	return 0;
}
