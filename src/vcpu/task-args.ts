/**
 * The piscina task that is one vCPU: what the main thread hands it, and what it hands back.
 * SharedArrayBuffers travel in the arguments (never a transfer list); the MessagePort for
 * comlink control is the only transferred object.
 */
import type { MessagePort } from 'node:worker_threads';
import type { VcpuStatsSnapshot } from '../stats/snapshot.js';
import type { CostTable } from '../hv/cost.js';
import type { FaultInjection, ProgramImage } from '../machine/config.js';
import type { CoherenceViolation } from '../hw/mmu.js';
import type { VcpuTrace } from '../stats/trace-buffer.js';

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
  watchdogMs: number;
  /** Deliberate faults for tests (MachineConfig.inject); empty: none. */
  inject: FaultInjection;
  /** MachineConfig.check: run the TLB coherence checker. */
  check: boolean;
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
  /** System calls this vCPU answered -ENOSYS, as [number, count] pairs (absent: none). */
  unknownSyscalls?: [number, number][];
  /** --trace: what this vCPU recorded. */
  trace?: VcpuTrace;
}

/** What the main thread may ask a running vCPU over comlink (never on a hot path). */
export interface VcpuControl {
  /** Counts and histograms so far. */
  snapshot(): VcpuStatsSnapshot;
}
