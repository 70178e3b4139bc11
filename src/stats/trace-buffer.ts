/**
 * The --trace recorder, worker side: one vCPU's events in preallocated typed arrays, so
 * recording allocates nothing on the hot path, and costs nothing when --trace is off (every hook
 * is one `trace !== null` test). Runs on the owning vCPU's worker only; the arrays go back to the
 * main thread with the vCPU's exit (src/vcpu/task-args.ts VcpuTrace), where src/report/trace.ts
 * turns them into Chrome trace-event JSON.
 *
 * Times are this worker's performance.now() in milliseconds (cheap, and allocation-free where
 * process.hrtime is not); the exit carries the offset from that clock to process.hrtime
 * (CLOCK_MONOTONIC, common to every thread), so the main thread puts every vCPU on one
 * timeline. Each worker's performance.timeOrigin would not do: measured here, workers' origins
 * disagree by up to milliseconds.
 *
 * The buffer fills and then stops (the start of a run is kept; the rest is counted in `dropped`).
 *
 * IPI flow pairing (the arrows from a send to its handling) needs an id both sides know: the
 * flow-slot block, one SharedArrayBuffer the machine allocates only when tracing:
 *
 *   flow slots (Int32 words), per target cpu T:
 *   +-----------------------------+  T * FLOW_SLOTS
 *   | vector 0 .. 255             |  id of the LATEST traced IPI of that vector sent to T
 *   | hypervisor request bit 0..7 |  id of the latest traced ApicBus.kick of that HV_* bit
 *   +-----------------------------+  (T + 1) * FLOW_SLOTS
 *
 * The sender stores its id before it sets the IRR (or hvPending) bit; the target exchanges the
 * slot with 0 after it accepted the vector. Two sends of one vector that coalesce into one IRR
 * bit are handled once: the handling pairs with the latest send that set the bit (the earlier
 * send's arrow is left out), the same way the APIC itself merges them.
 */
import { clockOffsetNs } from '../lib/host-clock.js';
import { MAX_CPUS } from '../lib/limits.js';

/** What one recorded event is. Spans have a start and an end; instants only a start. */
export const enum TraceKind {
  /** pv_mmu_ops.flushTlbOthers on the initiator: a = targets, b = 1 for a kernel-range flush. */
  Shootdown = 1,
  /** A flush request handled from the call queue: a = CallFunc. */
  FlushHandler = 2,
  /** An IPI sent (ApicBus.raise): a = destination cpu, b = vector; flow = its id. */
  IpiSend = 3,
  /** An interrupt handled (IDT entry run): a = vector; flow = the send it pairs with (0: none). */
  Irq = 4,
  /** A hypervisor request posted (ApicBus.kick): a = destination cpu, b = HV_* bits; flow. */
  HvKick = 5,
  /** A hypervisor request served on its target (HV_FLUSH, HV_PARK, HV_SYNC): a = bit index; flow. */
  HvService = 6,
  /** A flush owed to a descheduled vCPU, done as it is loaded again: a = 0 Xen mailbox, 1 KVM FLUSH_TLB. */
  ResumeFlush = 7,
  /** Instant: a hypercall carrying a = entries. */
  Hypercall = 8,
  /** Instant: a trapping operation, a = VmExitReason. */
  Trap = 9,
  /** Instant: a VM exit, a = VmExitReason. */
  VmExit = 10,
}

/** Slots per target in the flow-slot block: 256 vectors, then 8 hypervisor request bits. */
export const FLOW_SLOTS = 264;
/** First slot of the hypervisor request bits. */
export const FLOW_HV_SLOT = 256;

/** Bytes of the flow-slot block for `cpus` vCPUs. */
export function flowSlotBytes(cpus: number): number {
  return cpus * FLOW_SLOTS * Int32Array.BYTES_PER_ELEMENT;
}

/**
 * Events per vCPU when the user gives no --trace-events: about 1M, 32 MiB of arrays per vCPU
 * and some 150 MB of JSON — what Perfetto's UI still opens comfortably.
 */
export const DEFAULT_TRACE_EVENTS = 1 << 20;
/**
 * Events all vCPUs together record by default: 8M (256 MiB of arrays, allocated up front), so a
 * 64-vCPU machine gets 128K each instead of 2 GiB of buffers.
 */
export const DEFAULT_TRACE_EVENTS_TOTAL = 1 << 23;

/** The default per-vCPU cap for `cpus` vCPUs: DEFAULT_TRACE_EVENTS, less on big machines. */
export function defaultTraceEvents(cpus: number): number {
  return Math.min(DEFAULT_TRACE_EVENTS, Math.floor(DEFAULT_TRACE_EVENTS_TOTAL / cpus));
}
/**
 * Most events per vCPU: flow ids are seq * MAX_CPUS + cpu + 1 in an Int32, and a vCPU allocates
 * at most one id per recorded event, so capacity * MAX_CPUS must stay below 2^31.
 */
export const MAX_TRACE_EVENTS = 1 << 24;

/** One vCPU's recorded events, as they travel back to the main thread (compact copies). */
export interface VcpuTrace {
  cpu: number;
  /** process.hrtime minus performance.now() * 1e6 on this worker, ns: its times in host monotonic ns. */
  clockOffsetNs: number;
  /** Start (span) or time (instant), ms on the worker's performance.now() clock. */
  start: Float64Array;
  /** End of a span (ms); equal to start for an instant. */
  end: Float64Array;
  kind: Int32Array;
  a: Int32Array;
  b: Int32Array;
  /** Flow id (0: none). */
  flow: Int32Array;
  /** Events that did not fit. */
  dropped: number;
}

export class TraceBuffer {
  private readonly start: Float64Array;
  private readonly end: Float64Array;
  private readonly kind: Int32Array;
  private readonly a: Int32Array;
  private readonly b: Int32Array;
  private readonly flow: Int32Array;
  private length = 0;
  dropped = 0;
  /** Flow ids handed out by this vCPU. */
  private flowSeq = 0;
  /** Where times come from (see now()). */
  private clock: () => number = () => performance.now();
  private virtual = false;

  constructor(
    readonly cpu: number,
    readonly capacity: number,
    /** The machine's flow-slot block (see the header). */
    private readonly slots: Int32Array,
  ) {
    this.start = new Float64Array(capacity);
    this.end = new Float64Array(capacity);
    this.kind = new Int32Array(capacity);
    this.a = new Int32Array(capacity);
    this.b = new Int32Array(capacity);
    this.flow = new Int32Array(capacity);
  }

  /** This worker's clock, in ms: performance.now(), or the vCPU's modelled clock in virtual time. */
  now(): number {
    return this.clock();
  }

  /**
   * --clock virtual: record on the vCPU's modelled clock (ms since the machine started). Every
   * vCPU's clock counts from the same start, so the timelines need no offset.
   */
  useVirtualClock(ms: () => number): void {
    this.clock = ms;
    this.virtual = true;
  }

  span(kind: TraceKind, t0: number, t1: number, a: number, b: number, flow: number): void {
    const i = this.length;
    if (i === this.capacity) {
      this.dropped++;
      return;
    }
    this.start[i] = t0;
    this.end[i] = t1;
    this.kind[i] = kind;
    this.a[i] = a;
    this.b[i] = b;
    this.flow[i] = flow;
    this.length = i + 1;
  }

  instant(kind: TraceKind, a: number, b: number): void {
    const t = this.clock();
    this.span(kind, t, t, a, b, 0);
  }

  /**
   * Sender side, before the IRR (or hvPending) bit is set: a new flow id published in `dest`'s
   * `slot`, or 0 when the buffer is full (the send will not be recorded, so no arrow either).
   */
  publishFlow(dest: number, slot: number): number {
    if (this.length === this.capacity) return 0;
    const id = ++this.flowSeq * MAX_CPUS + this.cpu + 1;
    // ORDERING: before ApicBus.raise's Atomics.or of the IRR bit (or kick's of hvPending): pairs
    // with the target's takeFlow exchange after it accepted the bit, so the target finds this
    // id or a later sender's.
    Atomics.store(this.slots, dest * FLOW_SLOTS + slot, id);
    return id;
  }

  /** Target side, after accepting the vector or request of `slot`: the id of the latest send, once. */
  takeFlow(slot: number): number {
    // ORDERING: pairs with publishFlow's Atomics.store (see the header on coalesced sends).
    return Atomics.exchange(this.slots, this.cpu * FLOW_SLOTS + slot, 0);
  }

  /** Compact copies of what was recorded, for the vCPU's exit. */
  export(): VcpuTrace {
    const n = this.length;
    return {
      cpu: this.cpu,
      clockOffsetNs: this.virtual ? 0 : clockOffsetNs(),
      start: this.start.slice(0, n),
      end: this.end.slice(0, n),
      kind: this.kind.slice(0, n),
      a: this.a.slice(0, n),
      b: this.b.slice(0, n),
      flow: this.flow.slice(0, n),
      dropped: this.dropped,
    };
  }
}
