/*
 * The system calls the runtime and workloads use, with the riscv32 numbers and argument
 * conventions: identity (getpid, gettid, set_tid_address), sched_yield, the time64 clock and
 * sleep, mmap2/munmap/mprotect/madvise, brk, futex_time64 wait/wake/timeout, write, and
 * -ENOSYS for a number nobody implements. Prints only what is the same on every run.
 */
#include "rt.h"

#define PAGE 4096u

static volatile int futex_word;

static void identity(void)
{
	long pid = sys_getpid(), tid = sys_gettid();
	RT_CHECK(pid > 0, "getpid returned %ld", pid);
	RT_CHECK(tid == pid, "main thread: gettid %ld != getpid %ld", tid, pid);
	RT_CHECK(rt_thread_self()->tid == tid, "set_tid_address at start-up returned %d, gettid %ld",
		 rt_thread_self()->tid, tid);
	volatile int dummy = 0;
	RT_CHECK(sys_set_tid_address(&dummy) == tid, "set_tid_address does not return the tid");
	sys_set_tid_address(&rt_thread_self()->tid);
	RT_CHECK(sys_sched_yield() == 0, "sched_yield failed");
	rt_printf("getpid, gettid, set_tid_address, sched_yield: ok\n");
}

static void clocks(void)
{
	struct kernel_timespec a, b;
	RT_CHECK(sys_clock_gettime(CLOCK_MONOTONIC, &a) == 0, "clock_gettime64(MONOTONIC) failed");
	RT_CHECK(sys_clock_gettime(CLOCK_MONOTONIC, &b) == 0, "clock_gettime64(MONOTONIC) failed");
	RT_CHECK(a.tv_nsec >= 0 && a.tv_nsec < 1000000000, "tv_nsec %lld out of range",
		 (long long)a.tv_nsec);
	RT_CHECK(b.tv_sec > a.tv_sec || (b.tv_sec == a.tv_sec && b.tv_nsec >= a.tv_nsec),
		 "CLOCK_MONOTONIC went backwards");
	RT_CHECK(sys_clock_gettime(CLOCK_REALTIME, &a) == 0, "clock_gettime64(REALTIME) failed");
	uint64_t t0 = rt_monotonic_ns();
	RT_CHECK(rt_sleep_ns(3000000) == 0, "clock_nanosleep_time64 of 3 ms failed");
	uint64_t t1 = rt_monotonic_ns();
	RT_CHECK(t1 - t0 >= 3000000, "a 3 ms sleep took %llu ns", (unsigned long long)(t1 - t0));
	rt_printf("clock_gettime64, clock_nanosleep_time64: ok\n");
}

static void memory(void)
{
	/* mmap2: anonymous, page-aligned, zero-filled, above the NULL guard. */
	long r = sys_mmap2(0, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	RT_CHECK(!sys_is_error(r), "mmap2 of 4 pages failed (%ld)", r);
	if (sys_is_error(r))
		return;
	volatile uint8_t *p = (uint8_t *)r;
	RT_CHECK(((uintptr_t)p & (PAGE - 1)) == 0 && (uintptr_t)p >= 0x10000, "mmap2 returned %p", p);
	unsigned nonzero = 0;
	for (unsigned i = 0; i < 4 * PAGE; i++)
		nonzero |= p[i];
	RT_CHECK(nonzero == 0, "fresh anonymous memory is not zero");
	for (unsigned i = 0; i < 4; i++)
		p[i * PAGE] = (uint8_t)(i + 1);

	/* MADV_DONTNEED on private memory: the page reads back as zero, its neighbours keep data. */
	RT_CHECK(sys_madvise((void *)(p + PAGE), PAGE, MADV_DONTNEED) == 0, "madvise failed");
	RT_CHECK(p[PAGE] == 0, "private page after MADV_DONTNEED reads %u", p[PAGE]);
	RT_CHECK(p[0] == 1 && p[2 * PAGE] == 3, "MADV_DONTNEED touched the neighbouring pages");

	/* mprotect to read-only and back (a store in between would fault: not tested here). */
	RT_CHECK(sys_mprotect((void *)p, PAGE, PROT_READ) == 0, "mprotect(PROT_READ) failed");
	RT_CHECK(p[0] == 1, "read after mprotect(PROT_READ)");
	RT_CHECK(sys_mprotect((void *)p, PAGE, PROT_READ | PROT_WRITE) == 0, "mprotect(RW) failed");
	p[0] = 9;
	RT_CHECK(p[0] == 9, "write after mprotect(RW)");

	/* munmap the middle, then MAP_FIXED a fresh page into the hole: it is zero. */
	RT_CHECK(sys_munmap((void *)(p + 2 * PAGE), PAGE) == 0, "munmap of one page failed");
	long f = sys_mmap2((void *)(p + 2 * PAGE), PAGE, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	RT_CHECK(f == (long)(p + 2 * PAGE), "MAP_FIXED into the hole returned 0x%lx", (unsigned long)f);
	RT_CHECK(p[2 * PAGE] == 0, "MAP_FIXED page is not zero");
	RT_CHECK(p[3 * PAGE] == 4, "the page after the hole lost its data");
	RT_CHECK(sys_munmap((void *)p, 4 * PAGE) == 0, "munmap of the whole region failed");

	/* MAP_SHARED | MAP_ANONYMOUS: MADV_DONTNEED keeps the data (it lives in the shared object). */
	r = sys_mmap2(0, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	RT_CHECK(!sys_is_error(r), "shared mmap2 failed (%ld)", r);
	if (!sys_is_error(r)) {
		volatile uint8_t *s = (uint8_t *)r;
		s[100] = 77;
		RT_CHECK(sys_madvise((void *)s, PAGE, MADV_DONTNEED) == 0, "madvise (shared) failed");
		RT_CHECK(s[100] == 77, "shared page after MADV_DONTNEED reads %u", s[100]);
		sys_munmap((void *)s, PAGE);
	}

	/* Bad arguments. */
	RT_CHECK(sys_mmap2(0, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == -EINVAL,
		 "mmap2 of length 0 did not fail with EINVAL");
	RT_CHECK(sys_munmap((void *)0x10001, PAGE) == -EINVAL, "munmap of an unaligned address");
	rt_printf("mmap2, munmap, mprotect, madvise: ok\n");

	/* brk: query, grow by two pages, use them, shrink back. */
	long cur = sys_brk(0);
	RT_CHECK(cur > 0, "brk(0) returned %ld", cur);
	long grown = sys_brk((void *)(cur + 2 * PAGE));
	RT_CHECK(grown == cur + (long)(2 * PAGE), "brk grow returned 0x%lx, wanted 0x%lx",
		 (unsigned long)grown, (unsigned long)(cur + 2 * PAGE));
	if (grown == cur + (long)(2 * PAGE)) {
		volatile uint8_t *h = (uint8_t *)cur;
		h[0] = 1;
		h[2 * PAGE - 1] = 2;
		RT_CHECK(h[0] == 1 && h[2 * PAGE - 1] == 2, "heap memory did not keep its data");
	}
	RT_CHECK(sys_brk((void *)cur) == cur, "brk shrink did not return the old break");
	rt_printf("brk: ok\n");
}

static void futexes(void)
{
	futex_word = 5;
	RT_CHECK(sys_futex(&futex_word, FUTEX_WAIT, 4, 0) == -EAGAIN,
		 "FUTEX_WAIT on a changed word did not return -EAGAIN");
	struct kernel_timespec ts = { 0, 2000000 };
	RT_CHECK(sys_futex(&futex_word, FUTEX_WAIT, 5, &ts) == -ETIMEDOUT,
		 "FUTEX_WAIT with a 2 ms timeout did not return -ETIMEDOUT");
	RT_CHECK(sys_futex(&futex_word, FUTEX_WAIT | FUTEX_PRIVATE_FLAG, 5, &ts) == -ETIMEDOUT,
		 "FUTEX_WAIT_PRIVATE with a 2 ms timeout did not return -ETIMEDOUT");
	RT_CHECK(sys_futex(&futex_word, FUTEX_WAKE, 1, 0) == 0, "FUTEX_WAKE with no waiter");
	rt_printf("futex_time64 wait, timeout, wake: ok\n");
}

static void misc(void)
{
	static const char msg[] = "write: ok\n";
	RT_CHECK(sys_write(1, msg, sizeof(msg) - 1) == (long)(sizeof(msg) - 1),
		 "write did not return its length");
	/* 500 is past the last asm-generic number (465 in Linux 6.12); nobody implements it. */
	RT_CHECK(__syscall0(500) == -ENOSYS, "system call 500 did not return -ENOSYS");
	rt_printf("unknown system call: -ENOSYS\n");
}

int main(int argc, char **argv, char **envp)
{
	(void)argc;
	(void)argv;
	(void)envp;
	identity();
	clocks();
	memory();
	futexes();
	misc();
	return rt_report("syscalls");
}
