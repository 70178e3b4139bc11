/**
 * The `membarrier` workload: every thread calls membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) in
 * a loop, one op per call — an IPI from each CPU to every other CPU running the process, with
 * no page-table change at all: the cost of the cross-CPU call machinery alone. Guest code: runs
 * on the vCPU worker of each task.
 */
import { MEMBARRIER_CMD_PRIVATE_EXPEDITED, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED } from '../kernel/syscall-numbers.js';
import type { WorkloadContext } from './context.js';
import type { Sys } from './sys.js';
import { PREEMPT, type GuestThread, type Workload } from './workload.js';

export const membarrierWorkload: Workload = Object.freeze({
  name: 'membarrier',
  description: 'every thread calls membarrier(PRIVATE_EXPEDITED): IPI bursts to every CPU running the process',
  params: Object.freeze([]),

  *setup(sys: Sys, ctx: WorkloadContext): GuestThread {
    // Linux refuses PRIVATE_EXPEDITED (EPERM) from a process that has not registered.
    const r = sys.membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED);
    if (r !== 0) ctx.fail(`membarrier: setup: MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED returned ${r}`);
    return 0;
  },

  *thread(sys: Sys, ctx: WorkloadContext, index: number): GuestThread {
    while (ctx.running()) {
      const r = sys.membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED);
      if (r !== 0) {
        ctx.fail(`membarrier: thread ${index}: MEMBARRIER_CMD_PRIVATE_EXPEDITED returned ${r}`);
        break;
      }
      ctx.opDone(1);
      yield PREEMPT;
    }
    return 0;
  },
});
