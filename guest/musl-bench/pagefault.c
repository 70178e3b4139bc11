/* will-it-scale's page_fault1 in one thread: map 1 MiB, write one byte of every page (a
 * demand-zero fault each), unmap it (a flush and the frames freed). One op is one page. */
#include <sys/mman.h>
#include "bench.h"

#define BYTES (1 << 20)

int main(int argc, char **argv)
{
	long n = bench_iterations(argc, argv, 40);
	long long t0 = bench_now();
	for (long i = 0; i < n; i++) {
		char *p = mmap(0, BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) return 1;
		for (long off = 0; off < BYTES; off += 4096) p[off] = 1;
		munmap(p, BYTES);
	}
	bench_report("pagefault", n * (BYTES / 4096), bench_now() - t0);
	return 0;
}
