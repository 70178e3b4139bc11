/**
 * The `vmalloc` workload: kernel mappings created and freed, flushed on all CPUs. Every task's
 * kernel stack is vmalloc'd (mapped with global 4 KiB pages in the shared vmalloc area) and
 * its exit vfree's it — a kernel-range flush on every CPU, idle ones included, with no user
 * mapping involved. Each worker thread churns threads: one op = create a thread that does a
 * system call (touching its kernel stack) and exits, and join it. Guest code.
 *
 * Self-check: every child ran and reported its argument back; joins complete (a kernel-flush
 * protocol that lost an acknowledgement would hang the exit and trip the watchdog).
 */
import { CLONE_CHILD_CLEARTID, CLONE_FILES, CLONE_FS, CLONE_PARENT_SETTID, CLONE_SIGHAND, CLONE_SYSVSEM, CLONE_THREAD, CLONE_VM } from '../uapi/sched.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '../uapi/mman.js';
import type { WorkloadContext } from './context.js';
import { ENTRY_CHILD } from './harness.js';
import type { Sys } from './sys.js';
import { PREEMPT, type GuestThread, type Workload } from './workload.js';

const THREAD_FLAGS = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM
  | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;

export const vmallocWorkload: Workload = Object.freeze({
  name: 'vmalloc',
  description: 'threads create and join short-lived threads: vmalloc\'d kernel stacks freed with a flush on all CPUs',
  params: Object.freeze([]),

  *thread(sys: Sys, ctx: WorkloadContext, index: number): GuestThread {
    // Per thread: [0] the child's tid word (CLONE_CHILD_CLEARTID), [1] what the child reports;
    // and one stack page every child in turn uses (each is joined before the next starts).
    const slot = sys.mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    const stack = sys.mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    if (slot < 0 || stack < 0) {
      ctx.fail(`vmalloc: thread ${index}: mmap failed (${slot})`);
      return 1;
    }
    let n = 0;
    while (ctx.running()) {
      const token = (index << 20) | (n++ & 0xfffff);
      sys.store32(slot + 4, 0);
      sys.store32(slot + 8, token);
      const tid = sys.clone(ENTRY_CHILD, ctx.base, slot, THREAD_FLAGS, slot, slot, stack);
      if (tid < 0) {
        ctx.fail(`vmalloc: thread ${index}: clone failed (${tid})`);
        break;
      }
      for (let t = sys.atomicLoad32(slot); t !== 0; t = sys.atomicLoad32(slot)) yield* sys.futexWait(slot, t);
      const seen = sys.atomicLoad32(slot + 4);
      if (seen !== token) ctx.fail(`vmalloc: thread ${index}: child ${tid} reported ${seen}, expected ${token}`);
      ctx.opDone(1);
      yield PREEMPT;
    }
    return 0;
  },

  entries: Object.freeze([
    /** The short-lived thread: one system call on its fresh kernel stack, report, exit. */
    function* child(sys: Sys, _ctx: WorkloadContext, slot: number): GuestThread {
      sys.gettid();
      sys.atomicStore32(slot + 4, sys.load32(slot + 8));
      return 0;
    },
  ]),
});
