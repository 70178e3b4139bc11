/**
 * The `membarrier` workload: threads call membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) in a
 * loop, one op per call — an IPI from the caller's CPU to every other CPU running the process,
 * with no page-table change at all: the cost of the cross-CPU call machinery alone.
 *
 * By default every thread calls it (IPI bursts in all directions). With `senders` = N, only the
 * first N threads do; the others keep running a loop over their own memory (polling for
 * interrupts at every access, as a busy CPU does), so each call measures one clean IPI round
 * trip to running targets. Guest code: runs on the vCPU worker of each task.
 */
import { MEMBARRIER_CMD_PRIVATE_EXPEDITED, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED } from '../uapi/membarrier.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '../uapi/mman.js';
import type { WorkloadContext } from './context.js';
import type { Sys } from './sys.js';
import { PREEMPT, type GuestThread, type Workload } from './workload.js';

/** Shared word: senders that have finished their loop. */
const W_SENDERS_DONE = 0;

export const membarrierWorkload: Workload = Object.freeze({
  name: 'membarrier',
  description: 'threads call membarrier(PRIVATE_EXPEDITED): IPIs to every CPU running the process',
  params: Object.freeze([
    Object.freeze({ name: 'senders', description: 'threads that call membarrier (0: all); the rest stay busy', default: 0, min: 0, max: 64 }),
  ]),

  *setup(sys: Sys, ctx: WorkloadContext): GuestThread {
    // Linux refuses PRIVATE_EXPEDITED (EPERM) from a process that has not registered.
    const r = sys.membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED);
    if (r !== 0) ctx.fail(`membarrier: setup: MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED returned ${r}`);
    return 0;
  },

  *thread(sys: Sys, ctx: WorkloadContext, index: number): GuestThread {
    const senders = ctx.param('senders') === 0 ? ctx.threads : Math.min(ctx.param('senders'), ctx.threads);
    if (index >= senders) return yield* busy(sys, ctx, senders);
    while (ctx.running()) {
      const r = sys.membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED);
      if (r !== 0) {
        ctx.fail(`membarrier: thread ${index}: MEMBARRIER_CMD_PRIVATE_EXPEDITED returned ${r}`);
        break;
      }
      ctx.opDone(1);
      yield PREEMPT;
    }
    sys.atomicAdd32(ctx.word(W_SENDERS_DONE), 1);
    return 0;
  },
});

/** A non-sending thread: keep this CPU running user code until every sender is done. */
function* busy(sys: Sys, ctx: WorkloadContext, senders: number): GuestThread {
  const page = sys.mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  if (page < 0) {
    ctx.fail(`membarrier: busy thread: mmap failed (${page})`);
    return 1;
  }
  let sum = 0;
  while (sys.atomicLoad32(ctx.word(W_SENDERS_DONE)) < senders && !sys.meter.stopRequested()) {
    for (let i = 0; i < 1024; i += 4) {
      sys.store32(page + i * 4, sum);
      sum = (sum + sys.load32(page + i * 4) + 1) | 0;
    }
    yield PREEMPT;
  }
  return 0;
}
