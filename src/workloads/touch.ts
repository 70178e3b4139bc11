/**
 * The `touch` workload: the scaling baseline with no shootdowns at all. Each thread maps its own
 * private region, faults every page in, then walks it forever reading and rewriting one word per
 * page — TLB hits (or misses, when the region outgrows the TLB) and nothing else. Guest code:
 * runs on the vCPU worker of each task.
 *
 * The word of page k holds stamp(pass, k) after pass `pass` wrote it (pass 0 is the pre-fault),
 * so every read checks the previous pass's write, and the thread checks the whole region once
 * more when it stops.
 */
import { PAGE_SIZE } from '../hw/paging.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '../uapi/mman.js';
import type { WorkloadContext } from './context.js';
import type { Sys } from './sys.js';
import { PREEMPT, type GuestThread, type Workload } from './workload.js';

/** User address space all threads' regions may take together (2 GiB), in pages. */
const ADDRESS_BUDGET_PAGES = (2048 * 1024 * 1024) / PAGE_SIZE;

const hex = (va: number): string => `0x${(va >>> 0).toString(16)}`;

/** The word's place in page k: a different cache line per page (64 lines per page, cycled). */
const wordOffset = (k: number): number => (k & 63) * 64;

/** The 32-bit value page k's word holds after pass `pass` (signed, as load32 may return it). */
const stamp = (pass: number, k: number): number => (Math.imul(pass, 0x9e3779b1) ^ k) | 0;

export const touchWorkload: Workload = Object.freeze({
  name: 'touch',
  description: 'per-thread private region: read and rewrite one word per page, no shootdowns (the baseline)',
  params: Object.freeze([
    {
      name: 'pages',
      description: 'pages per thread; at most 2 GiB/threads of address space',
      // 64 pages: within a typical TLB's reach, so the baseline measures hits, not walks.
      default: 64,
      min: 1,
      max: 65536,
    },
  ]),

  *thread(sys: Sys, ctx: WorkloadContext, index: number): GuestThread {
    const pages = Math.max(1, Math.min(ctx.param('pages'), Math.floor(ADDRESS_BUDGET_PAGES / Math.max(1, ctx.threads))));
    const len = pages * PAGE_SIZE;
    const region = sys.mmap(0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    if (region < 0) {
      ctx.fail(`touch: thread ${index}: mmap of ${len} bytes failed (${region})`);
      return 1;
    }
    // Pre-fault: pass 0 writes every page.
    for (let k = 0; k < pages; k++) sys.store32(region + k * PAGE_SIZE + wordOffset(k), stamp(0, k));

    // Pages [0, k) hold stamp(pass, ·); pages [k, pages) still hold stamp(pass - 1, ·).
    let pass = 1;
    let k = 0;
    while (ctx.running()) {
      const va = region + k * PAGE_SIZE + wordOffset(k);
      const v = sys.load32(va) | 0;
      const want = stamp(pass - 1, k);
      if (v !== want) ctx.fail(`touch: thread ${index}: ${hex(va)} read ${hex(v)}, expected ${hex(want)}`);
      sys.store32(va, stamp(pass, k));
      ctx.opDone(1);
      if (++k === pages) {
        k = 0;
        pass++;
      }
      yield PREEMPT;
    }

    for (let p = 0; p < pages; p++) {
      const va = region + p * PAGE_SIZE + wordOffset(p);
      const v = sys.load32(va) | 0;
      const want = stamp(p < k ? pass : pass - 1, p);
      if (v !== want) ctx.fail(`touch: thread ${index}: ${hex(va)} holds ${hex(v)} at the end, expected ${hex(want)} (last written)`);
    }
    sys.munmap(region, len);
    return 0;
  },
});
