/* Scheduling and process times: sched_setaffinity to one CPU and sched_getaffinity reading
 * it back (inherited by a thread), an empty mask refused with EINVAL, sched_getcpu, times()
 * with the process's and its reaped children's CPU time, sched_yield. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <sys/times.h>
#include <sys/wait.h>
#include <unistd.h>

static void *report(void *arg)
{
	cpu_set_t s;
	CPU_ZERO(&s);
	sched_getaffinity(0, sizeof s, &s);
	*(int *)arg = CPU_COUNT(&s) == 1 && CPU_ISSET(0, &s);
	return 0;
}

int main(void)
{
	cpu_set_t s;
	CPU_ZERO(&s);
	CPU_SET(0, &s);
	printf("sched_setaffinity(CPU 0): %d\n", sched_setaffinity(0, sizeof s, &s));
	CPU_ZERO(&s);
	sched_getaffinity(0, sizeof s, &s);
	printf("sched_getaffinity: %d CPU(s), CPU 0 %s\n", CPU_COUNT(&s), CPU_ISSET(0, &s) ? "yes" : "no");
	int inherited = 0;
	pthread_t t;
	pthread_create(&t, 0, report, &inherited);
	pthread_join(t, 0);
	printf("a new thread inherits it: %s\n", inherited ? "yes" : "no");
	CPU_ZERO(&s);
	errno = 0;
	printf("empty mask: %d EINVAL %s\n", sched_setaffinity(0, sizeof s, &s), errno == EINVAL ? "yes" : "no");
	printf("sched_getcpu >= 0: %s\n", sched_getcpu() >= 0 ? "yes" : "no");
	printf("sched_yield: %d\n", sched_yield());

	pid_t c = fork();
	if (c == 0) {
		volatile unsigned long x = 0;
		for (unsigned long i = 0; i < 3000000; i++) x += i;
		_exit(0);
	}
	waitpid(c, 0, 0);
	struct tms t0;
	clock_t now = times(&t0);
	printf("times: returns ticks > 0 %s, fields not negative %s\n", now > 0 ? "yes" : "no",
	       t0.tms_utime >= 0 && t0.tms_stime >= 0 && t0.tms_cutime >= 0 && t0.tms_cstime >= 0 ? "yes" : "no");
	return 0;
}
