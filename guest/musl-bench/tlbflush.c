/* will-it-scale's tlb_flush1 in one thread: store to a private page, MADV_DONTNEED it, load it
 * back (a zero page now). Each round is a page fault, a madvise and a TLB flush. */
#include <string.h>
#include <sys/mman.h>
#include "bench.h"

int main(int argc, char **argv)
{
	long n = bench_iterations(argc, argv, 20000);
	volatile char *p = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) return 1;
	long long t0 = bench_now();
	for (long i = 0; i < n; i++) {
		p[0] = 1;
		madvise((void *)p, 4096, MADV_DONTNEED);
		if (p[0] != 0) return 2;
	}
	bench_report("tlbflush", n, bench_now() - t0);
	return 0;
}
