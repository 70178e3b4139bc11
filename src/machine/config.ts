/**
 * What a run is asked to do, after the CLI or a library caller has validated it. Main thread.
 */

/** Timer frequency bounds for --hz: Linux offers 100..1000; 1 Hz is allowed for quiet runs. */
export const MIN_HZ = 1;
export const MAX_HZ = 1000;
/** Linux's common CONFIG_HZ_250 default. */
export const DEFAULT_HZ = 250;
/** Default wait limit before a watchdog names the stuck CPU: a few seconds, ample on a busy 2-core host. */
export const DEFAULT_WATCHDOG_MS = 5000;

import type { CostTable } from '../hv/cost.js';

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
  /** Cost table overrides for modelled cycles (src/hv/cost.ts); absent: the defaults. */
  costs?: CostTable;
  /** Optional workload parameters (name=value), validated by the workload. */
  params?: Record<string, number>;
  /** Fault injection for tests of the watchdog and of crash handling; absent: none. */
  inject?: FaultInjection;
  /**
   * --check: the TLB coherence checker compares every TLB hit with the page tables and the
   * flush generations; any violation makes run() throw CoherenceError. Absent: off.
   */
  check?: boolean;
  /**
   * --trace: record shootdowns, flush handlers, IPIs (with send-to-handling flows), hypercalls,
   * traps and VM exits per vCPU for a Chrome trace (src/stats/trace.ts); Machine.trace() has
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
}

/**
 * A riscv32 static ELF executable to run as init, read and validated on the main thread
 * (parseElf) and handed to every vCPU worker (structured clone copies the bytes).
 */
export interface ProgramImage {
  /** The file's base name: the report's workload name and the kernel's messages use it. */
  name: string;
  bytes: Uint8Array;
  /** argv[0] first (the path as given), then the arguments after `--`. */
  argv: string[];
  /** NAME=VALUE strings, in order: the CLI's --env (empty without it). */
  envp: string[];
}

/**
 * Deliberate faults, for testing that pvemu reports them instead of hanging (DESIGN.md section 9).
 * Each names a vCPU id, 0..cpus-1.
 */
export interface FaultInjection {
  /** This vCPU runs the call-function requests queued to it but never acknowledges them. */
  noAckCpu?: number;
  /** This vCPU's system-call entry throws after `throwAfterSyscalls` system calls. */
  throwOnSyscallCpu?: number;
  /** System calls that vCPU completes before the one that throws (default 0: the first throws). */
  throwAfterSyscalls?: number;
  /** 'internal': an InternalError (an emulator bug pvemu knows to name); 'plain': a bare Error (an unforeseen bug). Default 'internal'. */
  throwKind?: 'internal' | 'plain';
  /**
   * This vCPU's TLB ignores every flush (INVLPG, full, PCID, global) except CR3 writes: a target
   * that acknowledges shootdowns without flushing. For testing --check.
   */
  dropFlushesCpu?: number;
  /** Flushes that vCPU still does before it starts dropping them (default 0). */
  dropFlushesAfter?: number;
}

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
