/**
 * What a run is asked to do, after the CLI or a library caller has validated it. Main thread.
 */

/** Timer frequency bounds for --hz: Linux offers 100..1000; 1 Hz is allowed for quiet runs. */
export const MIN_HZ = 1;
export const MAX_HZ = 1000;
/** Linux's common CONFIG_HZ_250 default. */
export const DEFAULT_HZ = 250;
/**
 * Most operations `ops` may ask for: 2^30, so the workload's shared count of them (an Int32 in
 * guest memory) never overflows, whatever the threads finish past the quota.
 */
export const MAX_OPS = 2 ** 30;
/** Longest run `seconds` allows: an hour; longer belongs in a soak bench, not one run. */
export const MAX_RUN_SECONDS = 3600;
/** watchdogMs bounds: under 100 ms a busy host trips it falsely; 10 minutes is plenty. */
export const MIN_WATCHDOG_MS = 100;
export const MAX_WATCHDOG_MS = 600_000;
/** Default wait limit before a watchdog names the stuck CPU: a few seconds, ample on a busy 2-core host. */
export const DEFAULT_WATCHDOG_MS = 5000;

import type { CostTable } from '../hw/cost.js';
import type { FaultInjection, ProgramImage } from '../vcpu/task-args.js';

export interface MachineConfig {
  /** Backend name, one of `backends` (native for now). */
  backend: string;
  /** Number of vCPUs, 1..MAX_CPUS. */
  cpus: number;
  /** Guest RAM in bytes. */
  memBytes: number;
  /** LAPIC timer interrupts per second per vCPU. */
  hz: number;
  /** Workload name, one of `workloads`. */
  workload: string;
  /** Stop condition: run for this many seconds ... */
  seconds?: number;
  /** ... or until this many operations in total have completed. */
  ops?: number;
  /** Watchdog limit in milliseconds for any cross-CPU wait. */
  watchdogMs: number;
  /** Physical CPUs for the overcommit scheduler; absent: every vCPU runs. */
  pcpus?: number;
  /** Cost table overrides for modelled cycles (src/hw/cost.ts); absent: the defaults. */
  costs?: Partial<CostTable>;
  /** Optional workload parameters (name=value), validated by the workload. */
  params?: Record<string, number>;
  /** Fault injection for tests of the watchdog and of crash handling; absent: none. */
  inject?: FaultInjection;
  /**
   * --check: the TLB coherence checker compares every TLB hit with the page tables and the
   * flush generations. true (--check): the first violation stops the run at once and run()
   * throws CoherenceError naming it; 'count' (--check=count): the run goes on, counting every
   * violation, and run() throws CoherenceError at its end (for studies of a broken protocol).
   * Absent or false: off.
   */
  check?: boolean | 'count';
  /**
   * --trace: record shootdowns, flush handlers, IPIs (with send-to-handling flows), hypercalls,
   * traps and VM exits per vCPU for a Chrome trace (src/report/trace.ts); Machine.trace() has
   * them after the run. Absent: off, at the cost of one null test per hook.
   */
  trace?: boolean;
  /**
   * --program: run this riscv32 ELF program as init instead of a registered workload (then
   * `workload` is the program's name). Absent: the workload runs.
   */
  program?: ProgramImage;
  /** --trace-events: events each vCPU may record before it drops the rest (default defaultTraceEvents(cpus), src/stats/trace-buffer.ts). */
  traceEvents?: number;
  /**
   * --clock: 'host' (the default) runs every vCPU as fast as the host lets it and measures in
   * host time; 'virtual' runs them one at a time in the order of their modelled clocks
   * (docs/virtual-time.md), so every count is a function of the configuration alone, and
   * `seconds` is modelled time.
   */
  clock?: ClockMode;
  /**
   * --seed: the run's randomness (src/lib/prng.ts): the workloads' random streams, and the guest
   * kernel's entropy (AT_RANDOM, getrandom), which without a seed comes from the host in host
   * time. Virtual time uses 0 when none is given, so its runs are reproducible by default.
   */
  seed?: number;
}

/** What the coherence checker does (VcpuTaskArgs.check): off, stop at the first violation, or count them all. */
export type CheckMode = 'off' | 'stop' | 'count';

/** The run's checker mode from MachineConfig.check. */
export function checkMode(cfg: Pick<MachineConfig, 'check'>): CheckMode {
  return cfg.check === 'count' ? 'count' : cfg.check === true ? 'stop' : 'off';
}

/** --seed bounds: any unsigned 32-bit integer. */
export const MAX_SEED = 0xffff_ffff;

/** The seed a run uses: the one given, 0 in virtual time, or null (host entropy for the guest). */
export function runSeed(cfg: Pick<MachineConfig, 'seed' | 'clock'>): number | null {
  return cfg.seed ?? (cfg.clock === 'virtual' ? 0 : null);
}

export type ClockMode = 'host' | 'virtual';
export const CLOCK_MODES: readonly ClockMode[] = ['host', 'virtual'];

/**
 * How far, in cycles, a vCPU may run past the next one in virtual time before it hands over
 * (src/hw/vtime.ts): 2,000 cycles, 1 µs at the nominal 2 GHz, about one IPI's delivery and
 * EOI. Smaller makes causality between CPUs tighter and hand-overs (a fraction of a µs to tens
 * of µs of host time each) more frequent.
 */
export const VIRTUAL_QUANTUM_CYCLES = 2000;
/**
 * How far a vCPU may run past the next one at an atomic access of a workload (its locks,
 * flags, futex words) before it hands over: 200 cycles, 100 ns, about a contended cache line's
 * transfer. Two vCPUs spinning on one flag then hand over every few looks, not at every one.
 */
export const VIRTUAL_SYNC_SLACK_CYCLES = 200;

export function defaultConfig(): MachineConfig {
  return {
    backend: 'native',
    cpus: 4,
    memBytes: 256 * 1024 * 1024,
    hz: DEFAULT_HZ,
    workload: 'tlb_flush1',
    seconds: 2,
    watchdogMs: DEFAULT_WATCHDOG_MS,
  };
}
