/**
 * The `fork_cow` workload: processes fork and write, taking copy-on-write faults. Guest code:
 * runs on the vCPU worker of each task.
 *
 * Each worker thread owns a private region filled with its own pattern. One op: fork a child
 * process; the child checks it inherited the parent's pattern, writes its own pattern over every
 * page (one copy-on-write fault each), checks it reads its own values, and exits with 0 (or the
 * number of bad pages, capped). The parent waits for it and checks its own pages still hold the
 * parent's pattern — isolation the copy-on-write and the TLB flush after write-protecting the
 * parent must both provide. Every fork pins a new address space under Xen and every exit
 * unpins it; every fork write-protects the parent, a flush of the parent's mm.
 */
import { PAGE_SIZE } from '../hw/paging.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '../uapi/mman.js';
import type { WorkloadContext } from './context.js';
import { ENTRY_CHILD } from './harness.js';
import type { Sys } from './sys.js';
import { PREEMPT, type GuestThread, type Workload } from './workload.js';

const hex = (v: number): string => `0x${(v >>> 0).toString(16)}`;
/** The word page k holds for owner `who` (parent thread index or child generation). */
const stamp = (who: number, k: number): number => (Math.imul(who + 1, 0x9e3779b1) ^ (k * 0x10001)) | 0;
/** Bits telling a child's stamps apart from its parent's. */
const CHILD = 0x40000000;

export const forkCowWorkload: Workload = Object.freeze({
  name: 'fork_cow',
  description: 'threads fork children that write every page of an inherited region (copy-on-write faults, mm pinning)',
  params: Object.freeze([
    Object.freeze({ name: 'pages', description: 'pages in each thread\'s region (each a COW fault in every child)', default: 16, min: 1, max: 1024 }),
  ]),

  *thread(sys: Sys, ctx: WorkloadContext, index: number): GuestThread {
    const pages = ctx.param('pages');
    const region = sys.mmap(0, pages * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    if (region < 0) {
      ctx.fail(`fork_cow: thread ${index}: mmap failed (${region})`);
      return 1;
    }
    for (let k = 0; k < pages; k++) sys.store32(region + k * PAGE_SIZE, stamp(index, k));
    // The child's argument: the region, its size and the parent's index, packed in a page.
    const args = sys.mmap(0, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    sys.store32(args, region);
    sys.store32(args + 4, pages);
    sys.store32(args + 8, index);
    while (ctx.running()) {
      const pid = sys.fork(ENTRY_CHILD, ctx.base, args);
      if (pid < 0) {
        ctx.fail(`fork_cow: thread ${index}: fork failed (${pid})`);
        break;
      }
      const reaped = yield* sys.wait4(pid);
      const status = sys.lastWaitStatus >> 8;
      if (reaped !== pid) ctx.fail(`fork_cow: thread ${index}: wait4(${pid}) returned ${reaped}`);
      else if (status !== 0) ctx.fail(`fork_cow: thread ${index}: child ${pid} found ${status} bad pages`);
      for (let k = 0; k < pages; k++) {
        const v = sys.load32(region + k * PAGE_SIZE);
        if (v !== stamp(index, k)) {
          ctx.fail(`fork_cow: thread ${index}: page ${k} at ${hex(region + k * PAGE_SIZE)} reads ${hex(v)} after the child wrote its copy, expected ${hex(stamp(index, k))}`);
          break;
        }
      }
      ctx.opDone(1);
      yield PREEMPT;
    }
    return 0;
  },

  entries: Object.freeze([
    /** The child process: check the inherited pattern, overwrite it (COW), check its own. */
    function* child(sys: Sys, _ctx: WorkloadContext, args: number): GuestThread {
      const region = sys.load32(args);
      const pages = sys.load32(args + 4);
      const parent = sys.load32(args + 8);
      let bad = 0;
      for (let k = 0; k < pages; k++) {
        const va = region + k * PAGE_SIZE;
        if (sys.load32(va) !== stamp(parent, k)) bad++;
        sys.store32(va, stamp(parent, k) ^ CHILD);
        if (sys.load32(va) !== (stamp(parent, k) ^ CHILD)) bad++;
      }
      return yield* sys.exitGroup(Math.min(bad, 255));
    },
  ]),
});
