/*
 * What the SMP workloads share: -t threads run a per-thread loop either for -n operations each
 * (deterministic output: the differential tests use this) or, with -s, until the main thread
 * has slept that many seconds and raised the stop flag (the way src/workloads' ctx.running()
 * ends a timed run). The main thread only starts, times and joins; it does no operations.
 */
#ifndef GUEST_WORKLOADS_RUN_H
#define GUEST_WORKLOADS_RUN_H

#include "rt.h"

#define RUN_MAX_THREADS 64

struct run {
	const char *name;
	uint32_t threads;
	uint32_t ops;     /* per thread, when seconds == 0 */
	uint32_t seconds; /* 0: run -n ops per thread */
	/* Set to stop the workers: by the main thread at the deadline, or by a failing check. */
	volatile int stop;
	volatile int failed;
	uint32_t done[RUN_MAX_THREADS];
};

/* True while thread `index`, having done `done` operations, should do another. */
static inline int run_more(struct run *r, uint32_t done)
{
	/* Relaxed: the flag only ends the loop; results are published by the join. */
	if (__atomic_load_n(&r->stop, __ATOMIC_RELAXED))
		return 0;
	return r->seconds != 0 || done < r->ops;
}

/* A failed self-check: print it, and stop every thread. */
#define RUN_FAIL(r, ...)                                                                         \
	do {                                                                                     \
		rt_printf(__VA_ARGS__);                                                          \
		rt_printf("\n");                                                                 \
		(r)->failed = 1;                                                                 \
		__atomic_store_n(&(r)->stop, 1, __ATOMIC_RELAXED);                               \
	} while (0)

struct run_thread {
	struct rt_thread t;
	struct run *run;
	int index;
	int (*body)(struct run *, int);
};

static int run_thread_main(void *arg)
{
	struct run_thread *rt = arg;
	return rt->body(rt->run, rt->index);
}

/*
 * Starts the threads, waits for them (or for the deadline, then stops them), joins them.
 * Returns the total operation count, or -1 if a thread could not be started.
 */
static inline int64_t run_threads(struct run *r, int (*body)(struct run *, int))
{
	static struct run_thread threads[RUN_MAX_THREADS];
	uint32_t started = 0;
	for (; started < r->threads; started++) {
		threads[started].run = r;
		threads[started].index = (int)started;
		threads[started].body = body;
		int e = rt_thread_start(&threads[started].t, run_thread_main, &threads[started]);
		if (e != 0) {
			RUN_FAIL(r, "%s: starting thread %u failed (%d)", r->name, (unsigned)started, e);
			break;
		}
	}
	if (r->seconds != 0 && !r->failed) {
		/* Sleep in slices so a failed check ends the run early. */
		uint64_t end = rt_monotonic_ns() + (uint64_t)r->seconds * 1000000000u;
		while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
			uint64_t now = rt_monotonic_ns();
			if (now >= end)
				break;
			rt_sleep_ns(end - now < 100000000u ? end - now : 100000000u);
		}
		__atomic_store_n(&r->stop, 1, __ATOMIC_RELAXED);
	}
	int64_t total = 0;
	for (uint32_t i = 0; i < started; i++) {
		rt_thread_join(&threads[i].t);
		total += r->done[i];
	}
	return started == r->threads ? total : -1;
}

/* The closing line: op counts are exact with -n, so the line is the same on every such run. */
static inline int run_report(struct run *r, int64_t total, const char *detail)
{
	if (r->failed || total < 0) {
		rt_printf("%s: self-check FAILED\n", r->name);
		return 1;
	}
	if (r->seconds == 0)
		rt_printf("%s: %u threads x %u ops = %llu ops, %s, self-check passed\n", r->name,
			  (unsigned)r->threads, (unsigned)r->ops, (unsigned long long)total, detail);
	else
		rt_printf("%s: %u threads, %u s, %llu ops, %s, self-check passed\n", r->name,
			  (unsigned)r->threads, (unsigned)r->seconds, (unsigned long long)total, detail);
	return 0;
}

#endif
