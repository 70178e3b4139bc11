/*
 * ebizzy as a guest program, mirroring src/workloads/ebizzy.ts: threads copy a random chunk of
 * memory into a scratch buffer and binary-search it, one record per op. With -m 1 (ebizzy -m,
 * the default) the scratch buffer is mmap'd for each record and munmap'd after, so every record
 * is a multi-page shootdown; with -m 0 it is allocated once and reused.
 *
 * Each thread owns -c chunks of -k KiB, each a sorted array of 32-bit keys. The self-check: a
 * key taken from the chunk must be found in the copy, at the index it came from; a stale
 * translation of the scratch buffer (its old, freed frames) would break the copy.
 *
 * Usage: ebizzy [-t threads] [-n records per thread | -s seconds] [-c chunks] [-k chunk KiB]
 *               [-m 0|1]
 */
#include "run.h"

/* Searches per record (ebizzy searches the copied chunk repeatedly). */
#define SEARCHES 8
/*
 * Keys are ebizzy.ts's ((t << 26) | (c << 18)) + 3i + 1, strictly increasing in i; for t < 63
 * they stay below 2^32 at every chunk count and size, so -t stops at 62.
 */
#define EBIZZY_MAX_THREADS 62

static struct run run = { .name = "ebizzy", .threads = 2, .ops = 1000 };
static uint32_t chunks = 8, chunk_kb = 64, mmap_each = 1;

static inline uint32_t key(uint32_t t, uint32_t c, uint32_t i)
{
	return ((t << 26) | (c << 18)) + i * 3 + 1;
}

/* Binary search of a sorted word array; the index, or -1. */
static int32_t search(const volatile uint32_t *base, uint32_t words, uint32_t k)
{
	int32_t lo = 0, hi = (int32_t)words - 1;
	while (lo <= hi) {
		int32_t mid = (int32_t)((uint32_t)(lo + hi) >> 1);
		uint32_t v = base[mid];
		if (v == k)
			return mid;
		if (v < k)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

static long map_anon(uint32_t bytes)
{
	return sys_mmap2(0, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

static int ebizzy_thread(struct run *r, int index)
{
	uint32_t t = (uint32_t)index;
	uint32_t bytes = chunk_kb * 1024;
	uint32_t words = bytes / 4;
	long base = map_anon(chunks * bytes);
	long scratch = mmap_each ? 0 : map_anon(bytes);
	if (sys_is_error(base) || sys_is_error(scratch)) {
		RUN_FAIL(r, "ebizzy: thread %d: mmap failed (%ld, %ld)", index, base, scratch);
		return 1;
	}
	for (uint32_t c = 0; c < chunks; c++) {
		volatile uint32_t *chunk = (uint32_t *)(base + c * bytes);
		for (uint32_t i = 0; i < words; i++)
			chunk[i] = key(t, c, i);
	}
	/* xorshift32, seeded as ebizzy.ts seeds it, so both pick the same chunks and keys. */
	uint32_t seed = (t + 1) * 0x2545f491u;
	uint32_t done = 0;
	while (run_more(r, done)) {
		seed ^= seed << 13;
		seed ^= seed >> 17;
		seed ^= seed << 5;
		uint32_t c = seed % chunks;
		if (mmap_each) {
			scratch = map_anon(bytes);
			if (sys_is_error(scratch)) {
				RUN_FAIL(r, "ebizzy: thread %d: mmap of the scratch buffer failed (%ld)", index,
					 scratch);
				break;
			}
		}
		const volatile uint32_t *src = (uint32_t *)(base + c * bytes);
		volatile uint32_t *dst = (uint32_t *)scratch;
		for (uint32_t i = 0; i < words; i++)
			dst[i] = src[i];
		for (int s = 0; s < SEARCHES; s++) {
			seed ^= seed << 13;
			seed ^= seed >> 17;
			seed ^= seed << 5;
			uint32_t want = seed % words;
			int32_t found = search(dst, words, key(t, c, want));
			if (found != (int32_t)want) {
				RUN_FAIL(r, "ebizzy: thread %d: key 0x%x of chunk %u found at %d, expected %u (scratch 0x%lx)",
					 index, (unsigned)key(t, c, want), (unsigned)c, (int)found, (unsigned)want,
					 (unsigned long)scratch);
				break;
			}
		}
		if (mmap_each)
			sys_munmap((void *)scratch, bytes);
		done++;
	}
	sys_munmap((void *)base, chunks * bytes);
	if (!mmap_each)
		sys_munmap((void *)scratch, bytes);
	r->done[index] = done;
	return 0;
}

int main(int argc, char **argv, char **envp)
{
	(void)envp;
	struct rt_opt opts[] = {
		{ 't', "threads", 1, EBIZZY_MAX_THREADS, &run.threads },
		{ 'n', "records per thread", 1, 100000000, &run.ops },
		{ 's', "seconds to run instead of -n (0: use -n)", 0, 86400, &run.seconds },
		{ 'c', "chunks per thread", 1, 255, &chunks },
		{ 'k', "KiB per chunk (and per scratch buffer)", 4, 1024, &chunk_kb },
		{ 'm', "1: mmap and munmap the scratch buffer per record (ebizzy -m); 0: reuse one", 0, 1, &mmap_each },
	};
	rt_parse_opts("ebizzy", argc, argv, opts, 6);
	int64_t total = run_threads(&run, ebizzy_thread);
	char detail[64];
	rt_snprintf(detail, sizeof(detail), "%u chunks x %u KiB, mmap_each %u", (unsigned)chunks,
		    (unsigned)chunk_kb, (unsigned)mmap_each);
	return run_report(&run, total, detail);
}
