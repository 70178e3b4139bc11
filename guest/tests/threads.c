/*
 * Threads on clone: -t threads each add 1 to shared counters -n times with amoadd.w and with
 * an lr.w/sc.w loop (lost updates would show in the totals), report their own tid, and return
 * a value the joiner must see; then two threads hand a token back and forth through a futex
 * -r times. Output is the same on every run.
 */
#include "rt.h"

#define MAX_THREADS 64

static uint32_t nthreads = 4, iterations = 10000, rounds = 200;
static volatile uint32_t amo_counter, lrsc_counter;

struct worker {
	struct rt_thread t;
	int index;
	int tid_seen;
	int pid_seen;
};
static struct worker workers[MAX_THREADS];

static int add_worker(void *arg)
{
	struct worker *w = arg;
	w->tid_seen = (int)sys_gettid();
	w->pid_seen = (int)sys_getpid();
	for (uint32_t i = 0; i < iterations; i++) {
		__atomic_fetch_add(&amo_counter, 1, __ATOMIC_RELAXED); /* amoadd.w */
		__asm__ volatile("1:\n\t"
				 "lr.w t0, (%0)\n\t"
				 "addi t0, t0, 1\n\t"
				 "sc.w t1, t0, (%0)\n\t"
				 "bnez t1, 1b"
				 :
				 : "r"(&lrsc_counter)
				 : "t0", "t1", "memory");
	}
	return 1000 + w->index;
}

/* The futex ping-pong: `turn` says whose move it is (0 or 1). */
static volatile int turn;
static volatile uint32_t moves;

static int pingpong(void *arg)
{
	int me = (int)(uintptr_t)arg;
	for (uint32_t r = 0; r < rounds; r++) {
		for (;;) {
			/* Acquire pairs with the other side's release store of `turn`. */
			int t = __atomic_load_n(&turn, __ATOMIC_ACQUIRE);
			if (t == me)
				break;
			long e = sys_futex(&turn, FUTEX_WAIT | FUTEX_PRIVATE_FLAG, t, 0);
			if (e != 0 && e != -EAGAIN && e != -EINTR) {
				rt_printf("threads: futex wait returned %ld\n", e);
				rt_exit(3);
			}
		}
		moves++; /* only the side holding the token touches it */
		__atomic_store_n(&turn, 1 - me, __ATOMIC_RELEASE);
		sys_futex(&turn, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 1, 0);
	}
	return 0;
}

int main(int argc, char **argv, char **envp)
{
	(void)envp;
	struct rt_opt opts[] = {
		{ 't', "threads", 1, MAX_THREADS, &nthreads },
		{ 'n', "increments per thread", 1, 10000000, &iterations },
		{ 'r', "ping-pong rounds per side", 1, 1000000, &rounds },
	};
	rt_parse_opts("threads", argc, argv, opts, 3);

	long pid = sys_getpid();
	for (uint32_t i = 0; i < nthreads; i++) {
		workers[i].index = (int)i;
		int r = rt_thread_start(&workers[i].t, add_worker, &workers[i]);
		if (r != 0) {
			rt_printf("threads: starting thread %u failed (%d)\n", (unsigned)i, r);
			return 1;
		}
	}
	for (uint32_t i = 0; i < nthreads; i++) {
		int tid = workers[i].t.tid; /* read before join clears it */
		int ret = rt_thread_join(&workers[i].t);
		RT_CHECK(ret == 1000 + (int)i, "thread %u returned %d", (unsigned)i, ret);
		RT_CHECK(workers[i].pid_seen == pid, "thread %u: getpid %d, process %ld", (unsigned)i,
			 workers[i].pid_seen, pid);
		RT_CHECK(workers[i].tid_seen != pid && workers[i].tid_seen > 0,
			 "thread %u: gettid %d", (unsigned)i, workers[i].tid_seen);
		RT_CHECK(tid == 0 || tid == workers[i].tid_seen,
			 "thread %u: CLONE_PARENT_SETTID stored %d, gettid said %d", (unsigned)i, tid,
			 workers[i].tid_seen);
		for (uint32_t k = 0; k < i; k++)
			RT_CHECK(workers[k].tid_seen != workers[i].tid_seen, "threads %u and %u share tid %d",
				 (unsigned)k, (unsigned)i, workers[i].tid_seen);
	}
	uint32_t want = nthreads * iterations;
	RT_CHECK(amo_counter == want, "amoadd.w counter %u, expected %u", (unsigned)amo_counter,
		 (unsigned)want);
	RT_CHECK(lrsc_counter == want, "lr/sc counter %u, expected %u", (unsigned)lrsc_counter,
		 (unsigned)want);
	rt_printf("threads: %u threads x %u increments: amoadd.w %u, lr.w/sc.w %u\n",
		  (unsigned)nthreads, (unsigned)iterations, (unsigned)amo_counter,
		  (unsigned)lrsc_counter);

	struct rt_thread a, b;
	if (rt_thread_start(&a, pingpong, (void *)0) != 0 || rt_thread_start(&b, pingpong, (void *)1) != 0) {
		rt_printf("threads: starting the ping-pong threads failed\n");
		return 1;
	}
	rt_thread_join(&a);
	rt_thread_join(&b);
	RT_CHECK(moves == 2 * rounds, "ping-pong made %u moves, expected %u", (unsigned)moves,
		 (unsigned)(2 * rounds));
	rt_printf("threads: futex ping-pong, %u moves\n", (unsigned)moves);
	return rt_report("threads");
}
