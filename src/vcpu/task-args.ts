/**
 * The piscina task that is one vCPU: what the main thread hands it, and what it hands back.
 * SharedArrayBuffers travel in the arguments (never a transfer list); the MessagePort for
 * comlink control is the only transferred object.
 */
import type { MessagePort } from 'node:worker_threads';
import type { VcpuStatsSnapshot } from '../stats/snapshot.js';
import type { CostTable } from '../hw/cost.js';
import type { WaitPolicy } from '../hw/wait.js';
import type { CoherenceViolation } from '../hw/mmu.js';
import type { VcpuTrace } from '../stats/trace-buffer.js';
import type { SyscallCost } from '../kernel/syscalls.js';

export interface VcpuTaskArgs {
  cpu: number;
  cpus: number;
  ram: SharedArrayBuffer;
  machine: SharedArrayBuffer;
  /** The backend's hypervisor state (Backend.stateBytes), shared by all vCPUs. */
  hvState: SharedArrayBuffer;
  /** Cost table for modelled cycles. */
  costs: CostTable;
  /** Physical CPUs the overcommit scheduler gives the vCPUs (cpus when not overcommitted). */
  pcpus: number;
  backend: string;
  workload: string;
  params: Record<string, number>;
  /** Total workload operations, 0 = until the stop request. */
  ops: number;
  hz: number;
  /** The run's seed (src/lib/prng.ts), or null: guest entropy from the host's CSPRNG. */
  seed: number | null;
  /** How every wait of the run behaves (--watchdog-ms, overcommit): computed once by the machine. */
  wait: WaitPolicy;
  /** Deliberate faults for tests (MachineConfig.inject); empty: none. */
  inject: FaultInjection;
  /** MachineConfig.check: the TLB coherence checker off, stopping the run at the first violation, or counting them. */
  check: 'off' | 'stop' | 'count';
  /** With the checker: the machine's change log (src/vcpu/change-log.ts), shared by every vCPU. */
  checkLog?: SharedArrayBuffer;
  /**
   * --trace: the flow-slot block (src/stats/trace-buffer.ts) and the events each vCPU may
   * record; absent: not tracing.
   */
  trace?: { flowSlots: SharedArrayBuffer; events: number };
  /**
   * MachineConfig.program, and the RISC-V block (src/riscv/layout.ts) every vCPU's RvCore
   * shares; absent: the workload runs.
   */
  program?: { image: ProgramImage; riscvShared: SharedArrayBuffer; timeLimited: boolean };
  /**
   * --clock virtual: the turn-order block (src/hw/vtime.ts: one party per vCPU, then the main
   * thread's timekeeper, party `cpus`), the quantum and the sync slack (VtimeOptions), and the
   * run's length after boot in cycles (0: the workload stops itself); absent: host time.
   */
  vtime?: { sab: SharedArrayBuffer; quantum: number; syncSlack: number; runCycles: number };
  control: MessagePort;
}

/** A line the guest wrote to its console, with the guest time it was written. */
export interface ConsoleChunk {
  atNs: number;
  text: string;
  /** The write system call's fd (1: the program's stdout); absent for kernel messages. */
  fd?: number;
}

/** Why a vCPU stopped with an error: enough to name the culprit. */
export interface VcpuFailure {
  cpu: number;
  /** The error class name (WatchdogError, InternalError, ...). */
  name: string;
  message: string;
  /** Task running when it failed (0: none), its last system call (-1: none). */
  tid: number;
  lastSyscall: number;
  stack?: string;
}

/** A --check violation (src/hw/mmu.ts CoherenceViolation) with the vCPU and mm it happened on. */
export interface CoherenceViolationReport extends CoherenceViolation {
  cpu: number;
  /** MM.id of the mm loaded (0: none). */
  mmId: number;
}

export interface VcpuExit {
  stats: VcpuStatsSnapshot;
  console: ConsoleChunk[];
  /** --check: the first violations this vCPU found (the count is counters.coherenceViolations). */
  violations?: CoherenceViolationReport[];
  failure?: VcpuFailure;
  /** System calls this vCPU answered -ENOSYS and operations it lacked, as ["220" or "futex op 7", count] pairs (absent: none). */
  unknownSyscalls?: [string, number][];
  /** Syscalls.costs: what each system call number cost this vCPU (absent: no calls). */
  syscallCosts?: [number, SyscallCost][];
  /** --trace: what this vCPU recorded. */
  trace?: VcpuTrace;
}

/** What the main thread may ask a running vCPU over comlink (never on a hot path). */
export interface VcpuControl {
  /** Counts and histograms so far. */
  snapshot(): VcpuStatsSnapshot;
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
 * Where an injected bug in shared code is: one vCPU (its id), or every vCPU ('all'), as a bug
 * in the kernel's or the hypervisor's code would be.
 */
export type InjectedCpus = number | 'all';

/** Whether the injection `at` acts on vCPU `cpu`. */
export function injectedOn(at: InjectedCpus | undefined, cpu: number): boolean {
  return at === 'all' || at === cpu;
}

/**
 * Deliberate faults, for testing that pvemu reports them instead of hanging (docs/architecture.md, "Correctness").
 * Each names a vCPU id, 0..cpus-1; the ones typed InjectedCpus may also say 'all'.
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
  /**
   * This vCPU's APIC loses every call-function and TLB-invalidate IPI it takes (the IRR bit
   * dropped): a lost IPI, which the watchdog must name. For testing the watchdog.
   */
  dropIpisCpu?: number;
  /** Such IPIs that vCPU still takes before it starts losing them (default 0). */
  dropIpisAfter?: number;
  /** kvm: as this vCPU is loaded again, KVM takes a FLUSH_TLB request but does not flush (BackendFaults.skipFlushOnLoad). */
  kvmSkipFlushOnLoadCpu?: InjectedCpus;
  /** xen: this vCPU never serves its flush mailbox (BackendFaults.ignoreFlushMailbox). */
  xenIgnoreMailboxCpu?: number;
  /**
   * This vCPU acknowledges each TLB flush request as it takes it and does the flush when it next
   * enters the kernel from its task, at a system call or page fault (src/kernel/smp.ts
   * ackBeforeFlush): the initiator goes on while the task still runs on the old entries. Backends whose remote flush is the kernel's call queues.
   */
  ackBeforeFlushCpu?: InjectedCpus;
  /**
   * This vCPU, switching back from lazy TLB mode to its mm, does not compare the mm's tlb_gen
   * with its own (src/kernel/tlbflush.ts lazySwitchSkipsGenCheck): the shootdowns that skipped it
   * while it was lazy are never made up for.
   */
  lazyNoGenCheckCpu?: InjectedCpus;
  /**
   * Every flush of a range longer than a page this vCPU makes — asked of others, or done by its
   * flush_tlb_func — covers only the first page (src/kernel/tlbflush.ts firstPageOnly), where
   * the range, or a full flush, was needed.
   */
  firstPageFlushCpu?: InjectedCpus;
  /** xen: as this vCPU is scheduled again, the flushes posted while it was descheduled are acknowledged, not done (BackendFaults.skipFlushOnResume). */
  xenSkipFlushOnResumeCpu?: InjectedCpus;
  /** shadow: this vCPU's guest PTE stores trap but do not resync the shadow (BackendFaults.skipShadowSync). */
  shadowSkipSyncCpu?: InjectedCpus;
}

/**
 * How the console line of a program's kill at the stop request ends (its --seconds limit, or
 * the run interrupted); the machine's self-check looks for it.
 */
export const STOP_REQUEST_KILL = 'at the stop request';
