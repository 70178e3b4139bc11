/*
 * will-it-scale's tlb_flush1, tlb_flush2 and tlb_flush3 as a guest program, mirroring
 * src/workloads/tlb-flush.ts: every thread walks its own anonymous region a page at a time —
 * store one byte, madvise(page, 4096, MADV_DONTNEED), load the byte back — and every so often
 * unmaps and maps the region again. The threads share one mm, so each DONTNEED is a one-page
 * shootdown to every other CPU running a thread, and each remap a full-region one.
 *
 *   tlb_flush1  MAP_PRIVATE, -r MiB (128), remapped at its end, reads back 0
 *   tlb_flush2  MAP_PRIVATE, -r KiB (1024), remapped every 256 pages, reads back 0
 *   tlb_flush3  MAP_SHARED,  -r MiB (16), remapped at its end, reads back the byte written
 *
 * One op per page. A stale TLB entry that survived the DONTNEED would read the old frame (the
 * byte written, or whatever the freed frame was reused for), so the private variants catch a
 * broken flush; a shared page keeps its data in the shared object.
 *
 * Usage: tlb_flushN [-t threads] [-n ops per thread | -s seconds] [-r region] [-b budget MiB]
 */
#include "run.h"

#define PAGE 4096u
#define KIB 1024u
#define MIB (1024u * 1024u)
/* User address space all threads' regions may take together (tlb-flush.ts ADDRESS_BUDGET_MB). */
#define ADDRESS_BUDGET_MB 2048u

#if TLB_FLUSH_VARIANT == 1
#define NAME "tlb_flush1"
#define MAP_TYPE MAP_PRIVATE
#define KEEPS_DATA 0
#define REMAP_PAGES 0
#define REGION_NAME "region MiB per thread, remapped at its end"
#define REGION_DEFAULT 128u
#define REGION_MIN 1u
#define REGION_MAX ADDRESS_BUDGET_MB
#elif TLB_FLUSH_VARIANT == 2
#define NAME "tlb_flush2"
#define MAP_TYPE MAP_PRIVATE
#define KEEPS_DATA 0
/* munmap/mmap period in pages (will-it-scale: one 1 MiB region per mapping). */
#define REMAP_PAGES 256u
#define REGION_NAME "region KiB per thread"
#define REGION_DEFAULT 1024u
#define REGION_MIN 4u
#define REGION_MAX 65536u
#elif TLB_FLUSH_VARIANT == 3
#define NAME "tlb_flush3"
#define MAP_TYPE MAP_SHARED
#define KEEPS_DATA 1
#define REMAP_PAGES 0
#define REGION_NAME "region MiB per thread, remapped at its end"
/* Shared pages stay resident until the remap: 16 MiB x 4 threads fits 256 MiB of RAM. */
#define REGION_DEFAULT 16u
#define REGION_MIN 1u
/* The kernel's largest shared-memory object (tlb-flush.ts SHMEM_MAX_MB). */
#define REGION_MAX 256u
#else
#error "TLB_FLUSH_VARIANT must be 1, 2 or 3"
#endif

static struct run run = { .name = NAME, .threads = 2, .ops = 10000 };
static uint32_t region = REGION_DEFAULT;
/* tlb_flush3: guest RAM in MiB all threads' regions may hold together. */
static uint32_t budget_mb = 128;

/* Region size in bytes for `threads` threads: capped so every thread's region fits. */
static uint32_t region_bytes(uint32_t threads)
{
#if TLB_FLUSH_VARIANT == 2
	uint32_t cap_kb = ADDRESS_BUDGET_MB * KIB / threads;
	uint32_t kb = region < cap_kb ? region : cap_kb;
	uint32_t bytes = kb * KIB / PAGE * PAGE;
	return bytes < PAGE ? PAGE : bytes;
#else
	uint32_t cap_mb = TLB_FLUSH_VARIANT == 3 ? (budget_mb < ADDRESS_BUDGET_MB ? budget_mb : ADDRESS_BUDGET_MB)
						 : ADDRESS_BUDGET_MB;
	uint32_t mb = cap_mb / threads;
	if (region < mb)
		mb = region;
	return (mb < 1 ? 1 : mb) * MIB;
#endif
}

/* The byte stored into page `page`: non-zero, so a stale frame cannot pass for a zero page. */
static inline uint8_t page_byte(uint32_t page)
{
	return (uint8_t)(1 + (page & 0x7f));
}

static long map_region(uint32_t len)
{
	return sys_mmap2(0, len, PROT_READ | PROT_WRITE, MAP_TYPE | MAP_ANONYMOUS, -1, 0);
}

static int tlb_flush_thread(struct run *r, int index)
{
	uint32_t len = region_bytes(r->threads);
	uint32_t pages = len / PAGE;
	uint32_t remap = REMAP_PAGES == 0 ? pages : REMAP_PAGES;
	long base = map_region(len);
	if (sys_is_error(base)) {
		RUN_FAIL(r, NAME ": thread %d: mmap of %u bytes failed (%ld)", index, (unsigned)len, base);
		return 1;
	}
	uint32_t page = 0, since_remap = 0, done = 0;
	while (run_more(r, done)) {
		volatile uint8_t *va = (uint8_t *)base + page * PAGE;
		uint8_t written = page_byte(page);
		*va = written;
		long e = sys_madvise((void *)va, PAGE, MADV_DONTNEED);
		if (e != 0) {
			RUN_FAIL(r, NAME ": thread %d: madvise(%p, MADV_DONTNEED) returned %ld", index, va, e);
			break;
		}
		uint8_t got = *va;
		uint8_t want = KEEPS_DATA ? written : 0;
		if (got != want) {
			RUN_FAIL(r, NAME ": thread %d: %p read %u after MADV_DONTNEED, expected %u", index,
				 va, got, want);
			break;
		}
		done++;
		if (++page == pages)
			page = 0;
		if (++since_remap == remap) {
			since_remap = 0;
			e = sys_munmap((void *)base, len);
			if (e != 0) {
				RUN_FAIL(r, NAME ": thread %d: munmap(0x%lx, %u) returned %ld", index,
					 (unsigned long)base, (unsigned)len, e);
				base = 0;
				break;
			}
			base = map_region(len);
			if (sys_is_error(base)) {
				RUN_FAIL(r, NAME ": thread %d: remapping %u bytes failed (%ld)", index,
					 (unsigned)len, base);
				base = 0;
				break;
			}
		}
	}
	if (base)
		sys_munmap((void *)base, len);
	r->done[index] = done;
	return 0;
}

int main(int argc, char **argv, char **envp)
{
	(void)envp;
	struct rt_opt opts[] = {
		{ 't', "threads", 1, RUN_MAX_THREADS, &run.threads },
		{ 'n', "ops (pages) per thread", 1, 100000000, &run.ops },
		{ 's', "seconds to run instead of -n (0: use -n)", 0, 86400, &run.seconds },
		{ 'r', REGION_NAME, REGION_MIN, REGION_MAX, &region },
		{ 'b', "MiB all threads' regions may take together (tlb_flush3)", 1, ADDRESS_BUDGET_MB, &budget_mb },
	};
	rt_parse_opts(NAME, argc, argv, opts, TLB_FLUSH_VARIANT == 3 ? 5 : 4);
	int64_t total = run_threads(&run, tlb_flush_thread);
	char detail[32];
	uint32_t len = region_bytes(run.threads);
	if (len >= MIB)
		rt_snprintf(detail, sizeof(detail), "region %u MiB", (unsigned)(len / MIB));
	else
		rt_snprintf(detail, sizeof(detail), "region %u KiB", (unsigned)(len / KIB));
	return run_report(&run, total, detail);
}
