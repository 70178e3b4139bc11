/**
 * What a workload is: guest programs written in TypeScript against the guest kernel's system
 * calls (through `Sys`), run as threads on the vCPUs. Any thread (every vCPU worker loads the
 * same workload module and starts the threads the kernel schedules on it).
 *
 * A guest thread is a generator: it yields PREEMPT at points where the scheduler may switch
 * tasks (cond_resched) and BLOCK when a system call put it to sleep; the value it is resumed
 * with is that system call's result. Its return value is its exit status.
 */
import type { Sys } from './sys.js';
import type { WorkloadContext } from './context.js';
import type { WorkloadParam } from './params.js';

import type { GuestThread } from '../uapi/program.js';

export { BLOCK, PREEMPT, type GuestThread } from '../uapi/program.js';
export type { WorkloadParam } from './params.js';

export interface Workload {
  readonly name: string;
  /** One line for `pvemu list`. */
  readonly description: string;
  readonly params: readonly WorkloadParam[];
  /** Threads to start for `cpus` vCPUs (default: one per vCPU). */
  threads?(cpus: number, ctx: WorkloadContext): number;
  /** Runs in the init task before any worker thread starts (map shared memory, fill it). */
  setup?(sys: Sys, ctx: WorkloadContext): GuestThread;
  /** The body of worker thread `index`: loop while ctx.running(), count ops, check results. */
  thread(sys: Sys, ctx: WorkloadContext, index: number): GuestThread;
  /** Runs in the init task after every thread has exited; record failures with ctx.fail. */
  check?(sys: Sys, ctx: WorkloadContext): GuestThread;
  /**
   * Entry points for the processes and extra threads the workload starts itself
   * (`sys.fork(ENTRY_CHILD + i, ctx.base, arg)`): entry i runs `entries[i]`.
   */
  readonly entries?: readonly ChildEntry[];
}

export type ChildEntry = (sys: Sys, ctx: WorkloadContext, arg: number) => GuestThread;
