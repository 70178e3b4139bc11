/**
 * The program every workload runs as: an init task that sets the workload up, clones its worker
 * threads (sharing the address space, joined through CLONE_CHILD_CLEARTID futexes), waits for
 * them, runs the workload's check and calls exit_group with 0 (passed) or 1 (failed). Runs on
 * the vCPU worker that schedules each task.
 */
import { CLONE_CHILD_CLEARTID, CLONE_FILES, CLONE_PARENT_SETTID, CLONE_FS, CLONE_SIGHAND, CLONE_SYSVSEM, CLONE_THREAD, CLONE_VM } from '../uapi/sched.js';
import { MAP_ANONYMOUS, MAP_SHARED, PROT_READ, PROT_WRITE } from '../uapi/mman.js';
import {
  CTL_BYTES, CTL_QUOTA, CTL_STARTED, CTL_THREADS, CTL_TIDS, MAX_THREADS, WorkloadContext,
} from './context.js';
import type { Sys } from './sys.js';
import { PREEMPT, type GuestThread, type Workload } from './workload.js';

export const ENTRY_INIT = 0;
export const ENTRY_THREAD = 1;
/** Entry `ENTRY_CHILD + i` starts the workload's `entries[i]` (its processes or extra threads). */
export const ENTRY_CHILD = 16;

/** pthread_create's flags. */
const THREAD_FLAGS = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;

export interface HarnessConfig {
  workload: Workload;
  cpus: number;
  params: Readonly<Record<string, number>>;
  /** Total operations to run (split over threads), or 0 to run until stopped. */
  ops: number;
  /** The run's seed: the workload's random streams (WorkloadContext.random). */
  seed: number;
}

/** Program start-up: the kernel starts a task with its user stack; entry and argument are there. */
export function startProgram(sys: Sys, userSp: number, cfg: HarnessConfig): GuestThread {
  if (userSp === 0) return initMain(sys, cfg);
  const entry = sys.load32(userSp);
  const ctl = sys.load32(userSp + 4);
  const arg = sys.load32(userSp + 8);
  if (entry === ENTRY_THREAD) return threadMain(sys, ctl, cfg);
  const child = cfg.workload.entries?.[entry - ENTRY_CHILD];
  if (child === undefined) return badEntry(sys, entry);
  return child(sys, new WorkloadContext(sys, ctl, cfg), arg);
}

function* badEntry(sys: Sys, entry: number): GuestThread {
  sys.print(`unknown program entry ${entry}\n`);
  return 127;
}

function* initMain(sys: Sys, cfg: HarnessConfig): GuestThread {
  // Shared, so processes the workload forks see the same control block as its threads.
  const base = sys.mmap(0, CTL_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS);
  if (base < 0) {
    sys.print(`init: cannot map the control block (${base})\n`);
    return yield* sys.exitGroup(1);
  }
  const bootstrap = new WorkloadContext(sys, base, cfg);
  const threads = Math.min(MAX_THREADS, cfg.workload.threads?.(cfg.cpus, bootstrap) ?? cfg.cpus);
  sys.store32(base + CTL_THREADS * 4, threads);
  if (cfg.ops > 0) sys.store32(base + CTL_QUOTA * 4, cfg.ops);
  const ctx = new WorkloadContext(sys, base, cfg);
  if (cfg.workload.setup) yield* cfg.workload.setup(sys, ctx);
  for (let i = 0; i < threads; i++) {
    const tidAddr = base + (CTL_TIDS + i) * 4;
    // CLONE_PARENT_SETTID: the kernel stores the tid before the child can run (and exit, and
    // clear it), so the join below cannot miss a fast child.
    const tid = sys.clone(ENTRY_THREAD, base | 0, i, THREAD_FLAGS, tidAddr, tidAddr);
    if (tid < 0) {
      ctx.fail(`clone of thread ${i} failed (${tid})`);
      break;
    }
  }
  for (let i = 0; i < threads; i++) {
    const tidAddr = base + (CTL_TIDS + i) * 4;
    for (let tid = sys.atomicLoad32(tidAddr); tid !== 0; tid = sys.atomicLoad32(tidAddr)) {
      yield* sys.futexWait(tidAddr, tid);
    }
  }
  if (cfg.workload.check) yield* cfg.workload.check(sys, ctx);
  return yield* sys.exitGroup(ctx.failures() === 0 ? 0 : 1);
}

function* threadMain(sys: Sys, base: number, cfg: HarnessConfig): GuestThread {
  const ctx = new WorkloadContext(sys, base, cfg);
  const threads = ctx.threads;
  // The thread's index is its arrival order at the start barrier.
  const index = sys.atomicAdd32(base + CTL_STARTED * 4, 1);
  while (sys.atomicLoad32(base + CTL_STARTED * 4) < threads) yield PREEMPT;
  sys.meter.markWorkStart();
  const status = yield* cfg.workload.thread(sys, ctx, index);
  sys.meter.markWorkEnd();
  return status;
}
