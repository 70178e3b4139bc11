/* Shared by the musl benchmark programs: the iteration count from argv[1], a monotonic clock,
 * and the one result line the `programs` bench case parses:
 *   NAME ops=N ns=T
 * T is the timed loop's CLOCK_MONOTONIC time (under pvemu, the guest's clock, which follows
 * the host's with --clock host). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static long bench_iterations(int argc, char **argv, long fallback)
{
	return argc > 1 ? atol(argv[1]) : fallback;
}

static long long bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void bench_report(const char *name, long ops, long long ns)
{
	printf("%s ops=%ld ns=%lld\n", name, ops, ns);
}
