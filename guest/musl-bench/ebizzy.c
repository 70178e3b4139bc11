/* ebizzy's inner loop: copy a random chunk of a record set into a scratch buffer (memcpy) and
 * binary-search it for a random key. One op is one record searched. */
#include <stdlib.h>
#include <string.h>
#include "bench.h"

#define CHUNKS 16
#define WORDS (16 * 1024)

static unsigned *chunk[CHUNKS];
static unsigned scratch[WORDS];

static int cmp(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	long n = bench_iterations(argc, argv, 2000);
	unsigned seed = 1;
	for (int c = 0; c < CHUNKS; c++) {
		chunk[c] = malloc(WORDS * sizeof(unsigned));
		for (int w = 0; w < WORDS; w++) chunk[c][w] = (unsigned)(c * WORDS + w) * 2654435761u;
		qsort(chunk[c], WORDS, sizeof(unsigned), cmp);
	}
	long found = 0;
	long long t0 = bench_now();
	for (long i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		unsigned *src = chunk[(seed >> 16) % CHUNKS];
		memcpy(scratch, src, sizeof scratch);
		unsigned key = src[(seed >> 8) % WORDS];
		found += bsearch(&key, scratch, WORDS, sizeof(unsigned), cmp) != 0;
	}
	bench_report("ebizzy", n, bench_now() - t0);
	return found == n ? 0 : 1;
}
