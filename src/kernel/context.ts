/**
 * What every kernel subsystem on one CPU shares: this CPU's id, the pv ops, guest RAM (the
 * direct map), the kernel layout, counters and the spinner. One per vCPU worker.
 */
import type { ActivityPublisher } from '../hw/activity.js';
import type { GuestRam } from '../hw/memory.js';
import type { MmRef, PvOps } from '../pv/ops.js';
import type { VcpuCounters } from '../stats/counters.js';
import type { LatencyHistogram } from '../stats/histogram.js';
import type { KernelLayout } from './layout.js';
import type { CostTable } from '../hw/cost.js';
import type { VcpuWait } from '../hw/wait.js';
import type { UserAccess } from '../uapi/program.js';
import type { TraceBuffer } from '../stats/trace-buffer.js';
import type { Entropy } from '../lib/prng.js';

/** The machine's power switch and the run's stop condition, as the kernel sees them. */
export interface MachinePort {
  /** machine_power_off: the last task is gone; `status` is the machine's exit status. */
  powerOff(status: number): void;
  /**
   * Append to the console: the write system call on fd 1 or 2 passes its fd (a program's
   * stdout is what fd 1 wrote); kernel messages pass none.
   */
  console(text: string, fd?: number): void;
}

export interface KernelContext {
  readonly machine: MachinePort;
  readonly cpu: number;
  readonly cpus: number;
  readonly ops: PvOps;
  readonly ram: GuestRam;
  /** Guest RAM as words: the kernel's own data, by physical word index. */
  readonly i32: Int32Array;
  readonly layout: KernelLayout;
  readonly counters: VcpuCounters;
  /** This CPU's spin-waits (src/hw/wait.ts), at the kernel's sites (src/kernel/sync.ts). */
  readonly spinner: VcpuWait;
  readonly activity: ActivityPublisher;
  readonly user: UserAccess;
  readonly histograms: {
    readonly shootdown: LatencyHistogram;
    readonly flushHandler: LatencyHistogram;
    readonly smpCall: LatencyHistogram;
    /** Modelled cycles per shootdown (the histogram is unit-agnostic). */
    readonly shootdownCycles: LatencyHistogram;
  };
  /** Modelled cycles of this CPU's events so far, and the cost table (measurement only). */
  readonly cost: { readonly table: CostTable };
  /** --trace: this CPU's event recorder (src/stats/trace-buffer.ts), null when not tracing. */
  readonly trace: TraceBuffer | null;
  /**
   * The clock the latency histograms read, in ms: the host's performance.now(), or in virtual
   * time this CPU's modelled clock (src/hw/virtual-clock.ts).
   */
  readonly nowMs: () => number;
  /**
   * Kernel work that has a price in the cost table but is no hypervisor event (a system call's
   * entry and exit, a page fault's, a signal's delivery): in virtual time it advances this
   * CPU's clock; in host time it costs nothing (the work's own host time is what it takes).
   */
  readonly work: (key: 'syscall' | 'pageFault' | 'signal') => void;
  /** get_random_bytes: AT_RANDOM at exec, getrandom (src/lib/prng.ts: seeded, or the host's). */
  readonly entropy: Entropy;
  /** --check: where flush_tlb_mm_range tells the coherence checker's change log its flushes; null: off. */
  readonly flushRecorder: FlushRecorder | null;
}

/** The coherence checker's record of user flushes (src/vcpu/change-log.ts). */
export interface FlushRecorder {
  /** flush_tlb_mm_range(mm, start, end) begins, after its tlb_gen bump. Returns flushDone's token. */
  flushBegin(mm: MmRef, start: number, end: number): number;
  /** It returned: every CPU that could hold what it covers has dropped it, or will before it runs. */
  flushDone(mm: MmRef, token: number): void;
}
