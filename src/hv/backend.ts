/**
 * What a hypervisor backend is: a name, a one-line description, and a function that, on one
 * vCPU, returns the pv ops it overrides. Everything it does not override falls back to native
 * (src/hv/bind.ts). Any thread; `create` runs on the vCPU's worker at boot.
 */
import type { VcpuHardware } from '../hw/cpu.js';
import type { WaitPolicy } from '../hw/wait.js';
import type { GuestServices, PvGroupKey, PvOps } from '../pv/ops.js';
import type { CounterSnapshot } from '../stats/counters.js';

export interface BackendContext {
  /** This vCPU's hardware. */
  hw: VcpuHardware;
  /** Kernel code the native ops call (native_flush_tlb_others). */
  guest: GuestServices;
  /**
   * The hypervisor's own shared state (frame tables, shadow tables, flush mailboxes): one
   * SharedArrayBuffer of `stateBytes` bytes, zeroed, shared by every vCPU of the machine.
   */
  hvState: SharedArrayBuffer;
  /**
   * How this run's vCPUs wait (src/hw/wait.ts): --watchdog-ms, and whether vCPUs outnumber the
   * physical CPUs they may use (--pcpus). Computed once by the machine; a backend's own waits
   * (locks, remote-flush acknowledgements) build their VcpuWait from it.
   */
  wait: WaitPolicy;
  /** Injected faults in this vCPU's hypervisor half (MachineConfig.inject); absent: none. */
  faults?: BackendFaults;
}

/**
 * Protocol steps a backend leaves out on one vCPU when a test injects the fault: bugs the
 * coherence checker or the watchdog must catch.
 */
export interface BackendFaults {
  /** KVM: as the vCPU is loaded again, take a FLUSH_TLB request from the steal-time record but do not flush. */
  readonly skipFlushOnLoad?: boolean;
  /** Xen: never serve the flush requests other vCPUs post to this vCPU's mailbox. */
  readonly ignoreFlushMailbox?: boolean;
  /**
   * Xen: as the vCPU is scheduled again, take the flush requests posted while it was
   * descheduled and acknowledge them without flushing.
   */
  readonly skipFlushOnResume?: boolean;
  /** Shadow paging: a guest PTE store traps, and the shadow entry is not resynced. */
  readonly skipShadowSync?: boolean;
}

/** Partial overrides, group by group. */
export type PvOverrides = { readonly [K in PvGroupKey]?: Partial<PvOps[K]> };

export interface Backend {
  readonly name: string;
  /** One line for `pvemu list`. */
  readonly description: string;
  /** Build this backend's overrides for one vCPU. `native` is the complete native table, to wrap. */
  create(ctx: BackendContext, native: PvOps): PvOverrides;
  /** Bytes of hypervisor state the backend needs for this machine (0 or absent: none). */
  stateBytes?(ramBytes: number, cpus: number): number;
  /**
   * The hypervisor's own conservation laws, checked on the main thread once every vCPU has
   * stopped and every address space is gone (docs/architecture.md, "Correctness"): `hvState` as the vCPUs left
   * it and the counters summed over them. A law that fails fails the run.
   */
  audit?(hvState: SharedArrayBuffer, ramBytes: number, cpus: number, totals: CounterSnapshot): HypervisorLaw[];
}

/** One of a backend's end-of-run laws: its figures as one phrase, and whether it held. */
export interface HypervisorLaw {
  text: string;
  ok: boolean;
}
