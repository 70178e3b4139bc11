/* A futex ping-pong between two threads: each round trip is two FUTEX_WAKEs and two
 * FUTEX_WAITs (plus the wake-ups), the handoff a condition variable or semaphore does. */
#include <limits.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "bench.h"

/* include/uapi/linux/futex.h (the sysroot carries no kernel headers). */
#define FUTEX_WAIT_PRIVATE 128
#define FUTEX_WAKE_PRIVATE 129

static volatile int turn;
static long rounds;

static void wait_for(int value)
{
	while (__atomic_load_n(&turn, __ATOMIC_ACQUIRE) != value)
		syscall(SYS_futex_time64, &turn, FUTEX_WAIT_PRIVATE, !value, 0, 0, 0);
}

static void hand_to(int value)
{
	__atomic_store_n(&turn, value, __ATOMIC_RELEASE);
	syscall(SYS_futex_time64, &turn, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0);
}

static void *pong(void *arg)
{
	(void)arg;
	for (long i = 0; i < rounds; i++) {
		wait_for(1);
		hand_to(0);
	}
	return 0;
}

int main(int argc, char **argv)
{
	rounds = bench_iterations(argc, argv, 20000);
	pthread_t t;
	pthread_create(&t, 0, pong, 0);
	long long t0 = bench_now();
	for (long i = 0; i < rounds; i++) {
		hand_to(1);
		wait_for(0);
	}
	long long ns = bench_now() - t0;
	pthread_join(t, 0);
	bench_report("futex", rounds, ns);
	return 0;
}
