/**
 * What a vCPU worker hands to the main thread when asked (comlink) or when it finishes: its
 * exact counts and its latency histograms, in a form that survives structured clone.
 */
import type { CounterSnapshot } from './counters.js';
import type { ThreadSchedStat } from '../lib/host-usage.js';

/** An HDR histogram serialised with hdr-histogram-js's compressed base64 encoding. */
export type EncodedHistogram = string;

export interface VcpuStatsSnapshot {
  cpu: number;
  counters: CounterSnapshot;
  /** Initiator critical path of each shootdown: flushTlbOthers entry to return, host ns (modelled ns in virtual time). */
  shootdownLatency: EncodedHistogram;
  /** Target side: one remote flush request from dequeue to acknowledgement, host ns (modelled ns in virtual time). */
  flushHandlerLatency: EncodedHistogram;
  /** Modelled cycles of each shootdown: the initiator's own plus the slowest target's handling. */
  shootdownCycles: EncodedHistogram;
  /** smp_call_function_many round trips (queue, IPI, handle, acknowledge), host ns (modelled ns in virtual time). */
  smpCallLatency: EncodedHistogram;
  /** --clock virtual: from an IPI's (or kick's) send to its take, modelled ns (absent in host time). */
  ipiDeliveryLatency?: EncodedHistogram;
  /** Steal time in this vCPU's steal-time record: runnable but descheduled (--pcpus), ns. */
  stealNs: number;
  /** Host ns (modelled ns in virtual time) when the first workload thread on this vCPU started measured work (0: none). */
  workStartNs: number;
  /** Host ns (modelled ns in virtual time) when the last workload thread on this vCPU ended it (0: none). */
  workEndNs: number;
  /**
   * This vCPU's worker thread since its run began: time on a host core, and time runnable but
   * waiting for one (absent where the host kernel does not say: src/lib/host-usage.ts).
   */
  sched?: ThreadSchedStat;
}
