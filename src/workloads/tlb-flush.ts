/**
 * will-it-scale's tlb_flush1, tlb_flush2 and tlb_flush3 as guest workloads: every thread walks
 * its own anonymous region a page at a time — store one byte, madvise(page, 4096, MADV_DONTNEED),
 * load the byte back — and every so often unmaps and maps the region again. The threads share one
 * mm, so each DONTNEED is a one-page shootdown to every other CPU running a thread, and each
 * remap a full-region one. Guest code: runs on the vCPU worker of each task.
 *
 *   tlb_flush1  MAP_PRIVATE, region_mb (128 MiB), remapped at its end, reads back 0
 *   tlb_flush2  MAP_PRIVATE, region_kb (1 MiB), remapped every 256 pages, reads back 0
 *   tlb_flush3  MAP_SHARED,  region_mb (16 MiB), remapped at its end, reads back the byte written
 *
 * A private page read after DONTNEED is a fresh zero page; a shared one comes back from the
 * shared object with its data. A stale TLB entry that survived the DONTNEED would read the old
 * frame instead (the byte written, or whatever the freed frame was reused for), so the private
 * variants catch a broken local flush; the shootdowns to other CPUs are checked by `--check`.
 */
import { PAGE_SIZE } from '../hw/paging.js';
import { MADV_DONTNEED, MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED, PROT_READ, PROT_WRITE } from '../uapi/mman.js';
import type { WorkloadContext } from './context.js';
import type { Sys } from './sys.js';
import { PREEMPT, type GuestThread, type Workload, type WorkloadParam } from './workload.js';

/**
 * User address space all threads' regions may take together, in MiB: the mmap area is
 * 0x10000000..0xc0000000 (2.75 GiB); 2 GiB leaves room for stacks and the control block.
 */
const ADDRESS_BUDGET_MB = 2048;
const KIB = 1024;
const MIB = 1024 * 1024;

interface TlbFlushSpec {
  readonly name: string;
  readonly description: string;
  readonly params: readonly WorkloadParam[];
  /** MAP_PRIVATE or MAP_SHARED (always with MAP_ANONYMOUS). */
  readonly mapType: number;
  /** Shared pages keep their data over DONTNEED: the read-back is the byte written, not 0. */
  readonly keepsData: boolean;
  /** Remap after this many pages; 0: when the walk reaches the region's end. */
  readonly remapPages: number;
  /** Region size in bytes (a whole number of pages) for `threads` threads. */
  regionBytes(ctx: WorkloadContext, threads: number): number;
}

const hex = (va: number): string => `0x${(va >>> 0).toString(16)}`;

/** The byte stored into page `page` of the walk: non-zero, so a stale frame cannot pass for a zero page. */
const pageByte = (page: number): number => 1 + (page & 0x7f);

function mapRegion(sys: Sys, len: number, mapType: number): number {
  return sys.mmap(0, len, PROT_READ | PROT_WRITE, mapType | MAP_ANONYMOUS);
}

/** The one loop of all three variants. One op per page. */
function* tlbFlushThread(spec: TlbFlushSpec, sys: Sys, ctx: WorkloadContext, index: number): GuestThread {
  const len = spec.regionBytes(ctx, ctx.threads);
  const pages = len / PAGE_SIZE;
  const remapPages = spec.remapPages === 0 ? pages : spec.remapPages;
  let region = mapRegion(sys, len, spec.mapType);
  if (region < 0) {
    ctx.fail(`${spec.name}: thread ${index}: mmap of ${len} bytes failed (${region})`);
    return 1;
  }
  let page = 0;
  let sinceRemap = 0;
  while (ctx.running()) {
    const va = region + page * PAGE_SIZE;
    const written = pageByte(page);
    sys.store8(va, written);
    const r = sys.madvise(va, PAGE_SIZE, MADV_DONTNEED);
    if (r !== 0) {
      ctx.fail(`${spec.name}: thread ${index}: madvise(${hex(va)}, MADV_DONTNEED) returned ${r}`);
      break;
    }
    const got = sys.load8(va);
    const want = spec.keepsData ? written : 0;
    if (got !== want) {
      ctx.fail(`${spec.name}: thread ${index}: ${hex(va)} read ${got} after MADV_DONTNEED, expected ${want}`);
    }
    ctx.opDone(1);
    if (++page === pages) page = 0;
    if (++sinceRemap === remapPages) {
      sinceRemap = 0;
      const u = sys.munmap(region, len);
      if (u !== 0) {
        ctx.fail(`${spec.name}: thread ${index}: munmap(${hex(region)}, ${len}) returned ${u}`);
        return 1;
      }
      region = mapRegion(sys, len, spec.mapType);
      if (region < 0) {
        ctx.fail(`${spec.name}: thread ${index}: remapping ${len} bytes failed (${region})`);
        return 1;
      }
    }
    yield PREEMPT;
  }
  sys.munmap(region, len);
  return 0;
}

function makeTlbFlush(spec: TlbFlushSpec): Workload {
  return Object.freeze({
    name: spec.name,
    description: spec.description,
    params: spec.params,
    thread(sys: Sys, ctx: WorkloadContext, index: number): GuestThread {
      return tlbFlushThread(spec, sys, ctx, index);
    },
  });
}

/** region_mb, capped so that every thread's region fits the address-space budget. */
function regionMbCapped(ctx: WorkloadContext, threads: number, capMb: number): number {
  const mb = Math.min(ctx.param('region_mb'), Math.floor(capMb / Math.max(1, threads)));
  return Math.max(1, mb) * MIB;
}

export const tlbFlush1: Workload = makeTlbFlush({
  name: 'tlb_flush1',
  description: 'per-thread private region: write a page, MADV_DONTNEED it, read back 0 (one op per page)',
  params: Object.freeze([
    {
      name: 'region_mb',
      description: `MiB per thread, remapped at its end (will-it-scale: 128); at most ${ADDRESS_BUDGET_MB}/threads`,
      default: 128,
      min: 1,
      max: ADDRESS_BUDGET_MB,
    },
  ]),
  mapType: MAP_PRIVATE,
  keepsData: false,
  remapPages: 0,
  regionBytes: (ctx, threads) => regionMbCapped(ctx, threads, ADDRESS_BUDGET_MB),
});

/** tlb_flush2's munmap/mmap period in pages (will-it-scale: one 1 MiB region per mapping). */
const TLB_FLUSH2_REMAP_PAGES = 256;

export const tlbFlush2: Workload = makeTlbFlush({
  name: 'tlb_flush2',
  description: 'per-thread 1 MiB private region: write, MADV_DONTNEED, read back 0; munmap+mmap every 256 pages',
  params: Object.freeze([
    {
      name: 'region_kb',
      description: `KiB per thread (will-it-scale: 1024); at most ${ADDRESS_BUDGET_MB} MiB/threads`,
      default: 1024,
      min: 4,
      max: 65536,
    },
  ]),
  mapType: MAP_PRIVATE,
  keepsData: false,
  remapPages: TLB_FLUSH2_REMAP_PAGES,
  regionBytes: (ctx, threads) => {
    const capKb = Math.floor((ADDRESS_BUDGET_MB * KIB) / Math.max(1, threads));
    const kb = Math.min(ctx.param('region_kb'), capKb);
    // Whole pages, at least one.
    return Math.max(PAGE_SIZE, Math.floor((kb * KIB) / PAGE_SIZE) * PAGE_SIZE);
  },
});

/**
 * The kernel's largest shared-memory object (SHMEM_INDEX_FRAMES × 1024 pages), in MiB: a bigger
 * MAP_SHARED mapping fails with ENOMEM.
 */
const SHMEM_MAX_MB = 256;

export const tlbFlush3: Workload = makeTlbFlush({
  name: 'tlb_flush3',
  description: 'per-thread shared region: write a page, MADV_DONTNEED it, read back the byte written (one op per page)',
  params: Object.freeze([
    {
      name: 'region_mb',
      description: 'MiB per thread, remapped at its end; at most budget_mb/threads',
      // Shared pages stay resident until the remap (DONTNEED keeps them in the object), so a
      // region costs its full size in guest RAM: 16 MiB × 4 threads fits the default 256 MiB.
      default: 16,
      min: 1,
      max: SHMEM_MAX_MB,
    },
    {
      name: 'budget_mb',
      description: 'guest RAM in MiB all threads\' regions may hold together (raise it with --mem)',
      // Half the default 256 MiB of guest RAM: the rest is for page tables and the kernel.
      default: 128,
      min: 1,
      max: ADDRESS_BUDGET_MB,
    },
  ]),
  mapType: MAP_SHARED,
  keepsData: true,
  remapPages: 0,
  regionBytes: (ctx, threads) => regionMbCapped(ctx, threads, Math.min(ctx.param('budget_mb'), ADDRESS_BUDGET_MB)),
});
