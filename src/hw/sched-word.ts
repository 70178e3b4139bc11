/**
 * VCPU_BLOCK.schedState, the overcommit scheduler's decision for one vCPU (SchedState): the
 * main-thread scheduler writes it, the vCPU reads it and sleeps on it while descheduled. Every
 * Atomics access to it lives here. Any thread; each function names who may call it.
 *
 *   scheduler (main thread)                     vCPU V (its worker)
 *   deschedule: store(Descheduled); kick(V)     HV_PARK at a boundary:
 *                                                 while load() == Descheduled:
 *                                                   wait(word, Descheduled, timeout)
 *   reschedule: store(Running); notify(word)
 *
 * No wakeup is lost: Atomics.wait compares the word with Descheduled atomically with going to
 * sleep, so a Running stored before the wait makes it return at once ("not-equal"), and one
 * stored after finds the vCPU asleep and notify wakes it. The timeout only bounds each sleep
 * so the vCPU can keep its heartbeat and see an aborted machine.
 */
import { SchedState, VCPU_BLOCK, VcpuActivity, vcpuBase } from './layout.js';
import type { VcpuWait } from './wait.js';

function schedIndex(cpu: number): number {
  return vcpuBase(cpu) + VCPU_BLOCK.schedState;
}

/** Any thread: the scheduler's current decision for cpu. */
export function loadSchedState(words: Int32Array, cpu: number): SchedState {
  // ORDERING: pairs with setSchedState's store; the vCPU acts on the newest decision it sees.
  return Atomics.load(words, schedIndex(cpu)) as SchedState;
}

/** Main thread (the scheduler): record a decision; a Running decision wakes the parked vCPU. */
export function setSchedState(words: Int32Array, cpu: number, state: SchedState): void {
  // ORDERING: the store precedes the notify; pairs with sleepWhileDescheduled's compare-and-sleep.
  Atomics.store(words, schedIndex(cpu), state);
  if (state === SchedState.Running) Atomics.notify(words, schedIndex(cpu));
}

/**
 * The vCPU cpu itself, parked: one sleep of its VcpuWait while the word says Descheduled, at
 * most `sliceMs`. The caller loads the word again after it.
 */
export function sleepWhileDescheduled(wait: VcpuWait, words: Int32Array, cpu: number, sliceMs: number): void {
  // ORDERING: Atomics.wait's compare-and-sleep (in VcpuWait.sleep) pairs with setSchedState's
  // store then notify.
  wait.sleep(words, schedIndex(cpu), SchedState.Descheduled, sliceMs);
}

/** The activity a parked vCPU publishes, so watchdog and crash reports say it is descheduled. */
export const PARKED_ACTIVITY = VcpuActivity.Descheduled;
