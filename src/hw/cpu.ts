/**
 * One virtual CPU's hardware: control registers, EFLAGS.IF, the IDT, the MMU and TLB, the local
 * APIC and the pvclock reader. Lives in the vCPU's worker; only that worker touches it (the TLB
 * and the control registers are worker-local memory, so no other thread can even reach them).
 *
 * Interrupts are taken at boundaries: every MMU access polls the APIC pending word, and the
 * kernel polls at system-call and scheduling boundaries. Taking one: accept the vector, clear IF,
 * call the IDT entry (which EOIs), set IF again (iret).
 */
import { ActivityPublisher } from './activity.js';
import { ApicBus, LocalApic } from './apic.js';
import { GuestRam } from './memory.js';
import { Mmu } from './mmu.js';
import { PvclockReader } from './pvclock.js';
import { Tlb, DEFAULT_TLB, type TlbGeometry } from './tlb.js';
import { InternalError } from '../lib/errors.js';
import type { VcpuCounters } from '../stats/counters.js';
import { CostMeter, defaultCostTable, type CostTable } from './cost.js';
import { VirtualClock } from './virtual-clock.js';
import type { PartyClock } from './vtime.js';
import { FLOW_HV_SLOT, TraceKind, type TraceBuffer } from '../stats/trace-buffer.js';

export const X86_CR0_PE = 1 << 0;
export const X86_CR0_WP = 1 << 16;
export const X86_CR0_PG = 1 << 31;
export const X86_CR4_PSE = 1 << 4;
export const X86_CR4_PGE = 1 << 7;
export const X86_CR4_PCIDE = 1 << 17;

/** Exception vector of a page fault. */
export const PAGE_FAULT_VECTOR = 14;

/** Hypervisor request bits (ApicBus.kick): the overcommit scheduler wants the vCPU parked. */
export const HV_PARK = 1 << 0;
/** A backend's remote TLB flush request (its own data says what to flush). */
export const HV_FLUSH = 1 << 1;
/** A backend's shadow resynchronisation request. */
export const HV_SYNC = 1 << 2;
const HV_BITS = 3;

export type HypervisorHandler = () => void;

export interface VcpuHardwareOptions {
  cpu: number;
  cpus: number;
  ram: GuestRam;
  /** The machine block (src/hw/layout.ts). */
  machineWords: Int32Array;
  counters: VcpuCounters;
  tlb?: TlbGeometry;
  /** The cost table for modelled cycles (src/hw/cost.ts: each default names its source). */
  costs?: CostTable;
  /** --trace: this vCPU's recorder; absent or null: not tracing. */
  trace?: TraceBuffer | null;
  /**
   * --clock virtual: this vCPU's party in the turn order (src/hw/vtime.ts), how long the run
   * lasts once booted, in cycles (0: the workload stops itself), and the timekeeper's party
   * number; absent: host time.
   */
  virtualTime?: { party: PartyClock; runCycles: number; keeper: number };
}

/** An IDT entry: exceptions pass their error code (page fault: PF_* bits; CR2 holds the address). */
export type InterruptHandler = (vector: number, errorCode: number) => void;

export class VcpuHardware {
  readonly cpu: number;
  readonly cpus: number;
  readonly ram: GuestRam;
  readonly machineWords: Int32Array;
  readonly counters: VcpuCounters;
  readonly bus: ApicBus;
  readonly apic: LocalApic;
  readonly tlb: Tlb;
  readonly mmu: Mmu;
  readonly pvclock: PvclockReader;
  /** What this vCPU is doing, published for other threads' diagnostics (src/hw/activity.ts). */
  readonly activity: ActivityPublisher;
  /** Exact counts and modelled cycles of hypervisor and hardware events. */
  readonly cost: CostMeter;
  /** --trace: this vCPU's event recorder, null when not tracing (each hook tests it once). */
  readonly trace: TraceBuffer | null;
  /** --clock virtual: this vCPU's clock (src/hw/virtual-clock.ts); null in host time. */
  readonly vclock: VirtualClock | null;
  private readonly hvHandlers: (HypervisorHandler | undefined)[] = new Array<HypervisorHandler | undefined>(HV_BITS);
  /**
   * The hypervisor sees a page fault before the guest does (shadow paging): return true when it
   * resolved the fault itself (a hidden fault; the access is retried), false to deliver it.
   */
  pageFaultFilter: ((va: number, errorCode: number) => boolean) | null = null;
  /** Run, on this vCPU's thread, each time the overcommit scheduler lets it run again. */
  private readonly resumeHooks: (() => void)[] = [];

  cr0 = X86_CR0_PE | X86_CR0_PG | X86_CR0_WP;
  cr4 = X86_CR4_PSE | X86_CR4_PGE;
  /** Faulting address of the last page fault. */
  cr2 = 0;
  /** EFLAGS.IF. Interrupts start disabled until the kernel's init_IRQ. */
  interruptsEnabled = false;
  private idt: ReadonlyArray<InterruptHandler | undefined> = [];
  /** Depth of interrupt handlers running (nesting is not allowed: IF is clear inside one). */
  private inInterrupt = 0;

  constructor(opts: VcpuHardwareOptions) {
    this.cpu = opts.cpu;
    this.cpus = opts.cpus;
    this.ram = opts.ram;
    this.machineWords = opts.machineWords;
    this.counters = opts.counters;
    this.trace = opts.trace ?? null;
    this.bus = new ApicBus(opts.machineWords, opts.cpus, this.trace, opts.counters);
    this.apic = new LocalApic(opts.machineWords, opts.cpu, this.bus, this.counters);
    this.tlb = new Tlb(opts.tlb ?? DEFAULT_TLB, opts.counters);
    this.pvclock = new PvclockReader(opts.machineWords, opts.cpu);
    this.activity = new ActivityPublisher(opts.machineWords, opts.cpu);
    this.cost = new CostMeter(opts.costs ?? defaultCostTable(), opts.counters, this.trace);
    this.mmu = new Mmu(opts.ram, this.tlb, opts.counters, opts.machineWords, this.apic.pendingIndex, {
      onPendingWork: () => this.takeInterrupts(),
      onPageFault: (va, errorCode) => this.raisePageFault(va, errorCode),
    });
    this.setWalkReferences(2);
    const vt = opts.virtualTime;
    this.vclock = vt === undefined ? null : new VirtualClock(vt.party, {
      cpu: opts.cpu, costs: this.cost.table, counters: opts.counters, bus: this.bus, machineWords: opts.machineWords, runCycles: vt.runCycles,
      keeper: vt.keeper,
    });
    this.bus.vclock = this.vclock;
    this.apic.vclock = this.vclock;
    this.mmu.vclock = this.vclock;
  }

  loadIdt(table: ReadonlyArray<InterruptHandler | undefined>): void {
    this.idt = table;
  }

  /** Page walks cost this many memory references (2 natively; a backend may change it). */
  setWalkReferences(refs: number): void {
    this.mmu.walkCycles = refs * this.cost.table.walkRef;
  }

  /** Install the handler for hypervisor request `bit` (HV_*). */
  onHypervisorRequest(bit: number, handler: HypervisorHandler): void {
    this.hvHandlers[31 - Math.clz32(bit)] = handler;
  }

  /**
   * At a boundary: first the hypervisor's requests (whatever IF says: they are not the guest's
   * interrupts), then every deliverable pending interrupt if IF is set. Each interrupt handler
   * runs with IF clear and must EOI through pv_apic_ops.
   */
  takeInterrupts(): void {
    const apic = this.apic;
    // One load of the pending word per round, given to both takes.
    let pending = apic.pending();
    if (pending === 0) return;
    for (;;) {
      const requests = apic.takeHypervisorRequests(pending);
      if (requests !== 0) {
        this.serviceHypervisor(requests);
        // A park may have lasted a while: look again at what was posted meanwhile.
        pending = apic.pending();
      }
      if (!this.interruptsEnabled) return;
      const vector = apic.acceptHighest(pending);
      this.counters.ipisHandled = apic.ipisAccepted;
      if (vector < 0) return;
      this.cost.charge('ipiDeliver');
      const handler = this.idt[vector];
      if (handler === undefined) {
        throw new InternalError(`cpu ${this.cpu}: interrupt vector 0x${vector.toString(16)} has no IDT entry`);
      }
      this.interruptsEnabled = false;
      this.inInterrupt++;
      const trace = this.trace;
      // --trace: the handler as a span, paired with the latest send of this vector.
      const t0 = trace !== null ? trace.now() : 0;
      const flow = trace !== null ? trace.takeFlow(vector) : 0;
      try {
        handler(vector, 0);
      } finally {
        this.inInterrupt--;
        this.interruptsEnabled = true;
      }
      if (trace !== null) trace.span(TraceKind.Irq, t0, trace.now(), vector, 0, flow);
      pending = apic.pending();
    }
  }

  private serviceHypervisor(requests: number): void {
    for (let b = 0; b < HV_BITS; b++) {
      if ((requests & (1 << b)) === 0) continue;
      const handler = this.hvHandlers[b];
      if (handler === undefined) {
        throw new InternalError(`cpu ${this.cpu}: hypervisor request bit ${b} has no handler`);
      }
      const trace = this.trace;
      if (trace === null) {
        handler();
        continue;
      }
      // --trace: the service as a span (a remote flush, or the time parked), paired with its kick.
      const t0 = trace.now();
      const flow = trace.takeFlow(FLOW_HV_SLOT + b);
      handler();
      trace.span(TraceKind.HvService, t0, trace.now(), b, 0, flow);
    }
  }

  get handlingInterrupt(): boolean {
    return this.inInterrupt > 0;
  }

  /** Register work to do before this vCPU runs again after being descheduled (a deferred flush). */
  onResume(hook: () => void): void {
    this.resumeHooks.push(hook);
  }

  /** The scheduler let this vCPU run again: do what was owed to it first. */
  resumed(): void {
    for (const hook of this.resumeHooks) hook();
  }

  /** The MMU could not translate a user access: record CR2 and run the IDT's page-fault entry. */
  private raisePageFault(va: number, errorCode: number): void {
    if (this.pageFaultFilter !== null && this.pageFaultFilter(va, errorCode)) return;
    this.cr2 = va >>> 0;
    const handler = this.idt[PAGE_FAULT_VECTOR];
    if (handler === undefined) {
      throw new InternalError(`cpu ${this.cpu}: page fault at 0x${this.cr2.toString(16)} with no IDT entry`);
    }
    handler(PAGE_FAULT_VECTOR, errorCode);
  }
}
