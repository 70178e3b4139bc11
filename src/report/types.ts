import type { ClockMode } from '../machine/config.js';
import type { SyscallCost } from '../kernel/syscalls.js';
import type { ConservationReport } from '../machine/conservation.js';
import type { CoherenceViolationReport } from '../vcpu/task-args.js';
import type { CounterSnapshot } from '../stats/counters.js';
import type { CostTable } from '../hw/cost.js';
import type { PvemuVersion } from '../lib/version.js';
/**
 * The report of one run: the same plain object the CLI prints as a table and writes as JSON,
 * and the library hands back from `runReport(config)`; and what `pvemu compare` holds per
 * backend. Types only. Main thread (the JSON is anyone's).
 */
/** Latency percentiles in whole host ns (0 when nothing was recorded). */
export interface LatencySummaryNs {
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** The host a run measured on: latencies mean little without it. */
export interface HostInfo {
  /** Node version, as `process.version` gives it ("v20.20.2"). */
  node: string;
  platform: string;
  arch: string;
  /** Host CPUs available to this process (os.availableParallelism). */
  cores: number;
  /** os.cpus()[0].model ("unknown" when the platform does not say). */
  cpuModel: string;
}

/**
 * How much of the host a run got, boot to power-off, and whether its host-time figures (elapsed,
 * ops/s, latencies in µs) can be trusted. The modelled cycles and the counts do not depend on it.
 */
export interface HostUsageReport {
  /** The host's 1-minute load average as the run began and as it ended. */
  loadBefore: number;
  loadAfter: number;
  /** Wall time of the whole run, boot included, s. */
  wallSeconds: number;
  /** CPU time of the whole process (every thread) over it, s. */
  cpuSeconds: number;
  /**
   * Host cores' worth of CPU every other process used meanwhile (their CPU time over the wall
   * time; absent without /proc/stat): the load this run competed with, without its own.
   */
  othersCores?: number;
  /**
   * The vCPU threads' time on a host core, and runnable but waiting for one, summed, s (Linux
   * schedstat; absent where the host kernel does not say).
   */
  vcpuThreads?: { onCpuSeconds: number; runqueueSeconds: number };
  /**
   * Why host-time figures are unreliable on this run, one reason each (absent: none seen):
   * src/report/host-usage.ts says when.
   */
  unreliable?: string[];
}

export interface CpuReport {
  cpu: number;
  ops: number;
  shootdowns: number;
  ipisSent: number;
  ipisHandled: number;
  flushRequestsHandled: number;
  tlbHits: number;
  tlbMisses: number;
  faults: number;
  halts: number;
  contextSwitches: number;
  shootdownLatencyNs: { p50: number; p99: number };
}

/** Modelled cycles of each shootdown: the initiator's own plus its slowest target's handling. */
export interface CyclesSummary {
  p50: number;
  p99: number;
  /** Rounded to whole cycles. */
  mean: number;
}

/** What the hypervisor did, all vCPUs (exact counts: docs/architecture.md, "Measurement"); all 0 on native. */
export interface HypervisorReport {
  /** Trapping operations (privileged ops, write-protected page-table stores). */
  traps: number;
  hypercalls: number;
  /** Entries (PTE updates, flush targets) those hypercalls carried. */
  hypercallEntries: number;
  /** VM exits by reason; traps and hypercalls are among them. */
  vmexits: {
    hypercall: number;
    cr3: number;
    invlpg: number;
    apic: number;
    ptWrite: number;
    hiddenFault: number;
    halt: number;
    preemption: number;
  };
  /** Requests the hypervisor refused (validation). */
  rejected: number;
  /** Flushes owed to a vCPU that was not running, done when it next ran. */
  deferredFlushes: number;
  shadowSyncs: number;
  /** Shadow misses filled from the guest tables without the guest seeing a fault. */
  hiddenFaults: number;
}

export interface Report {
  /** Which pvemu ran it: version, and the commit when it ran from a git checkout. */
  pvemu: PvemuVersion;
  /** When the run began, ISO 8601 (UTC). */
  date: string;
  backend: string;
  cpus: number;
  workload: string;
  /** Elapsed host time of the workload, in seconds (from RunResult.elapsedNs). */
  seconds: number;
  /** Workload operations completed, all CPUs. */
  ops: number;
  /** ops / seconds; 0 when no time elapsed. */
  opsPerSec: number;
  shootdowns: {
    /** Calls of flushTlbOthers. */
    count: number;
    /** CPUs named in those calls' masks, summed. */
    targets: number;
    /** IPIs sent for them. */
    ipis: number;
    /** Targets left to flush at their next switch-in (lazy or preempted). */
    deferred: number;
    /** Initiator critical path, flushTlbOthers entry to return. */
    latencyNs: LatencySummaryNs;
    /** Modelled cycles per shootdown (cost table x events; 0 when there were none). */
    modeledCycles: CyclesSummary;
  };
  /** Modelled cycles of the whole run, all vCPUs (cost table x events). */
  modeledCycles: number;
  hv: HypervisorReport;
  /** Target side: one remote flush request from dequeue to acknowledgement. */
  flushHandlerNs: LatencySummaryNs;
  /** smp_call_function_many round trips (queue, IPI, handle, acknowledge), host ns. */
  smpCallNs: LatencySummaryNs;
  /** --clock virtual: IPI (and kick) delivery, from send to the target's take, modelled ns. */
  ipiDeliveryNs?: LatencySummaryNs;
  /** Steal time of all vCPUs (runnable but descheduled under --pcpus), ns. */
  stealNs: number;
  tlb: { hits: number; misses: number; walks: number; flushesFull: number; flushesSingle: number; flushesGlobal: number };
  /** IPIs sent and handled; `refused`: addressed to no CPU (APIC send errors), never sent. */
  ipis: { sent: number; handled: number; coalesced: number; refused: number };
  /**
   * The conservation laws checked at the end of the run (src/machine/conservation.ts). Every
   * report from Machine.run() carries it (a run that violates one throws instead); absent only on
   * reports built from results without guest memory (unit tests, hand-made results).
   */
  conservation?: ConservationReport;
  /**
   * --check: the TLB coherence checker ran (absent when it did not). A run with violations
   * throws CoherenceError instead of reporting, so violations is 0 on a returned report.
   */
  check?: { enabled: boolean; violations: number; first: CoherenceViolationReport[] };
  /** Page faults of every kind. */
  faults: number;
  /**
   * `machineChecks`: user accesses to memory outside guest RAM (SIGBUS); `sigbus`: faults on a
   * file mapping past the end of its file (SIGBUS).
   */
  faultsDetail: { demandZero: number; segv: number; machineChecks: number; sigbus: number };
  syscalls: number;
  contextSwitches: number;
  timerInterrupts: number;
  /** The run was stopped early (Ctrl-C, SIGTERM): by which signal; the figures cover the run until then. */
  interrupted?: { signal: string };
  selfCheck: { passed: boolean; message: string };
  exitStatus: number;
  /**
   * A --program run: ops are the instructions the program's harts retired (ops/s is guest
   * instructions per host second), `stdout` is what it wrote to fd 1 and `stderr` to fd 2.
   */
  program?: { stdout: string; stderr: string };
  /** System calls answered -ENOSYS (by number) and unknown operations of known calls ("futex op 7"), with counts (absent: none). */
  unknownSyscalls?: Record<string, number>;
  /**
   * What each system call cost over the run, summed over the vCPUs, by number ("215"), with
   * its name: calls, hypercalls, their entries, traps and modelled cycles, everything the CPU
   * did while in the call. Absent when no call was made.
   */
  bySyscall?: Record<string, SyscallCost & { name: string }>;
  perCpu: CpuReport[];
  /** Every counter summed over all CPUs, including those without a field above. */
  counters: CounterSnapshot;
  host: HostInfo;
  /** How much of the host the run got (absent on reports built from hand-made results). */
  hostUsage?: HostUsageReport;
  /** The whole configuration the run had, defaults filled in: enough to run it again. */
  config: {
    memBytes: number;
    hz: number;
    watchdogMs: number;
    /** Physical CPUs of the overcommit scheduler, when given (absent: every vCPU runs). */
    pcpus?: number;
    /** The cost table the run was priced with, every entry. */
    costs: CostTable;
    /** The user gave the cost table (--cost, MachineConfig.costs); false: the defaults. */
    costsGiven: boolean;
    seconds?: number;
    ops?: number;
    /** The workload's parameters, each given or its default (empty for a program). */
    params: Record<string, number>;
    /** --check: the TLB coherence checker ran. */
    check: boolean;
    /** --check=count: it counted every violation instead of stopping the run at the first (absent: it stopped). */
    checkCount?: boolean;
    /** --trace: events were recorded (they cost a null test per hook when off). */
    trace: boolean;
    /** Events each vCPU could record, with trace. */
    traceEvents?: number;
    /**
     * Whose time the figures are in: 'host', or 'virtual' (--clock virtual), where elapsed time,
     * ops/s and the latency percentiles are modelled and only hostUsage is host time.
     */
    clock: ClockMode;
    /**
     * The seed of the run's randomness (--seed; 0 in virtual time when none was given); absent:
     * the guest's entropy came from the host (src/lib/prng.ts).
     */
    seed?: number;
    /** --program: the file's name and SHA-256, its argv and envp (absent: a workload ran). */
    program?: { name: string; sha256: string; argv: string[]; envp: string[] };
  };
}

/** A backend's run that failed with a PvemuError: what `pvemu compare` reports in its place. */
export interface RunFailure {
  backend: string;
  /** The error class's name (WatchdogError, InternalError, ...) and its message. */
  error: { name: string; message: string };
}

/** One backend's outcome in a comparison. */
export type ComparisonEntry =
  | { kind: 'report'; report: Report }
  | { kind: 'failed'; failure: RunFailure };
