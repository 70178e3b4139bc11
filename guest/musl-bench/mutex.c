/* An uncontended pthread mutex lock/unlock loop (musl's lock is an atomic compare-and-swap,
 * its unlock an atomic swap; no system call unless contended), with a second thread alive so
 * the process is multi-threaded, as in a real program. */
#include <pthread.h>
#include "bench.h"

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static volatile long counter;

static void *idle(void *arg)
{
	(void)arg;
	return 0;
}

int main(int argc, char **argv)
{
	long n = bench_iterations(argc, argv, 2000000);
	pthread_t t;
	pthread_create(&t, 0, idle, 0);
	pthread_join(t, 0);
	long long t0 = bench_now();
	for (long i = 0; i < n; i++) {
		pthread_mutex_lock(&m);
		counter++;
		pthread_mutex_unlock(&m);
	}
	bench_report("mutex", n, bench_now() - t0);
	return counter == n ? 0 : 1;
}
