/**
 * The `ebizzy` workload, after the benchmark the PV TLB-flush work was measured with: threads
 * copy a random chunk of memory into a scratch buffer and binary-search it, one record per op.
 * With `mmap_each` (ebizzy -m) the scratch buffer is mmap'd for each record and munmap'd after,
 * so every record is a multi-page shootdown; without it the buffer is allocated once and reused.
 * Guest code.
 *
 * Each thread owns `chunks` chunks of `chunk_kb` KiB, each a sorted array of 32-bit keys. The
 * self-check: a key taken from the chunk must be found in the copy, at the index it came from;
 * a stale translation of the scratch buffer (its old, freed frames) would break the copy.
 */
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '../uapi/mman.js';
import type { WorkloadContext } from './context.js';
import type { Sys } from './sys.js';
import { PREEMPT, type GuestThread, type Workload } from './workload.js';

/** Searches per record (ebizzy searches the copied chunk repeatedly). */
const SEARCHES = 8;

/** The key at index i of chunk c of thread t: strictly increasing in i. */
const key = (t: number, c: number, i: number): number => ((t << 26) | (c << 18)) + i * 3 + 1;

export const ebizzyWorkload: Workload = Object.freeze({
  name: 'ebizzy',
  description: 'threads copy random chunks into a scratch buffer and binary-search them; mmap_each=1 maps it per record (ebizzy -m)',
  params: Object.freeze([
    Object.freeze({ name: 'chunks', description: 'chunks per thread', default: 8, min: 1, max: 255 }),
    Object.freeze({ name: 'chunk_kb', description: 'KiB per chunk (and per scratch buffer)', default: 64, min: 4, max: 1024 }),
    Object.freeze({ name: 'mmap_each', description: '1: mmap and munmap the scratch buffer for every record (ebizzy -m); 0: reuse one', default: 1, min: 0, max: 1 }),
  ]),

  *thread(sys: Sys, ctx: WorkloadContext, index: number): GuestThread {
    const chunks = ctx.param('chunks');
    const bytes = ctx.param('chunk_kb') * 1024;
    const words = bytes / 4;
    const mmapEach = ctx.param('mmap_each') === 1;
    const base = sys.mmap(0, chunks * bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    let scratch = mmapEach ? 0 : sys.mmap(0, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    if (base < 0 || scratch < 0) {
      ctx.fail(`ebizzy: thread ${index}: mmap failed (${base}, ${scratch})`);
      return 1;
    }
    for (let c = 0; c < chunks; c++) {
      for (let i = 0; i < words; i++) sys.store32(base + c * bytes + i * 4, key(index, c, i));
      yield PREEMPT;
    }
    const random = ctx.random(index);
    while (ctx.running()) {
      const c = random.next() % chunks;
      if (mmapEach) {
        scratch = sys.mmap(0, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
        if (scratch < 0) {
          ctx.fail(`ebizzy: thread ${index}: mmap of the scratch buffer failed (${scratch})`);
          break;
        }
      }
      const src = base + c * bytes;
      for (let i = 0; i < words; i++) sys.store32(scratch + i * 4, sys.load32(src + i * 4));
      for (let s = 0; s < SEARCHES; s++) {
        const want = random.next() % words;
        const found = search(sys, scratch, words, key(index, c, want));
        if (found !== want) {
          ctx.fail(`ebizzy: thread ${index}: key ${key(index, c, want)} of chunk ${c} found at ${found}, expected ${want} (scratch 0x${(scratch >>> 0).toString(16)})`);
          break;
        }
      }
      if (mmapEach) sys.munmap(scratch, bytes);
      ctx.opDone(1);
      yield PREEMPT;
    }
    return 0;
  },
});

/** Binary search of a sorted word array in guest memory; the index, or -1. */
function search(sys: Sys, base: number, words: number, k: number): number {
  let lo = 0;
  let hi = words - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = sys.load32(base + mid * 4);
    if (v === k) return mid;
    if (v < k) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

