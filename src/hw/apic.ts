/**
 * The local APIC: per-vCPU interrupt controller registers in the machine block.
 *
 * Two sides, named for their threading contract:
 * - `ApicBus` (any thread): raise a vector on a destination CPU — set the IRR bit, publish the
 *   summary word, ring the doorbell. This is what a sender's ICR write, the main thread's timer
 *   and a hypervisor do.
 * - `LocalApic` (owning vCPU only): accept the highest pending vector into the ISR, EOI, TPR,
 *   the ICR write that sends IPIs, the timer registers, and halting on the doorbell.
 *
 * Delivery protocol (sender S, target T):
 *
 *   S: Atomics.add(ipiArrivals)    (IPIs only: accounting)
 *   S: Atomics.or(irr[v/32], bit)  ─┐ ORDERING: the IRR bit is set before the summary word is,
 *   S: Atomics.store(summary, 1)   ─┘ so a T that sees summary != 0 will find the bit.
 *   S: Atomics.add(doorbell, 1); if Atomics.load(waiter): Atomics.notify(doorbell)
 *
 *   T: Atomics.store(summary, 0), then scan IRR  — a bit set after T's clear also set summary
 *      again after it (sender order above), so nothing is missed: T sees it now or next poll.
 *   T halting: store(waiter, 1); d = load(doorbell); if IRR empty: Atomics.wait(doorbell, d)
 *      — a sender that read waiter == 0 did its doorbell add before T's waiter store (SC order),
 *      so T's wait sees a changed doorbell and returns at once, or T's IRR scan sees the bit.
 *
 * Vectors with a lower number are lower priority (class = vector >> 4), as on x86.
 */
import { APIC_BITMAP_WORDS, VCPU_BLOCK, vcpuBase } from './layout.js';
import { FLOW_HV_SLOT, TraceKind, type TraceBuffer } from '../stats/trace-buffer.js';

// Vectors, as Linux 2.6.24 i386 numbered them (arch/x86/include/asm/irq_vectors.h of the era).
export const LOCAL_TIMER_VECTOR = 0xef;
export const CALL_FUNCTION_VECTOR = 0xfb;
export const RESCHEDULE_VECTOR = 0xfc;
export const INVALIDATE_TLB_VECTOR = 0xfd;
export const ERROR_APIC_VECTOR = 0xfe;
export const SPURIOUS_APIC_VECTOR = 0xff;
/** Lowest vector a fixed interrupt may use (0..31 are exceptions). */
export const FIRST_EXTERNAL_VECTOR = 0x20;

// Register offsets for pv_apic_ops.apicRead / apicWrite (xAPIC MMIO offsets).
export const APIC_ID = 0x20;
export const APIC_TASKPRI = 0x80;
export const APIC_EOI = 0xb0;
export const APIC_ISR = 0x100;
export const APIC_IRR = 0x200;
/** Error status register: a write latches the errors seen since the last write; a read returns them. */
export const APIC_ESR = 0x280;
export const APIC_ICR = 0x300;
export const APIC_ICR2 = 0x310;
export const APIC_LVTT = 0x320;
export const APIC_TMICT = 0x380;
export const APIC_TMCCT = 0x390;
export const APIC_TDCR = 0x3e0;

// ESR bits (Linux's apicdef.h).
/** Send accept error: no APIC accepted the IPI (its destination does not exist). */
export const APIC_ESR_SENDACC = 0x04;
/** Send illegal vector: a fixed IPI with a vector below 16. */
export const APIC_ESR_SENDILL = 0x20;
/** Lowest vector a fixed IPI may carry; below it the APIC refuses to send (SENDILL). */
const MIN_LEGAL_VECTOR = 16;

// ICR fields.
export const APIC_VECTOR_MASK = 0xff;
export const APIC_DM_FIXED = 0x000;
export const APIC_DM_INIT = 0x500;
export const APIC_DM_STARTUP = 0x600;
export const APIC_DM_MASK = 0x700;
export const APIC_DEST_SELF = 0x40000;
export const APIC_DEST_ALLINC = 0x80000;
export const APIC_DEST_ALLBUT = 0xc0000;
export const APIC_SHORT_MASK = 0xc0000;
/** ICR2 destination field: bits 31..24. */
export const SET_APIC_DEST_FIELD = (apicId: number): number => (apicId << 24) >>> 0;
export const GET_APIC_DEST_FIELD = (icr2: number): number => (icr2 >>> 24) & 0xff;

// LVT timer fields.
export const APIC_LVT_MASKED = 1 << 16;
export const APIC_LVT_TIMER_PERIODIC = 1 << 17;
/**
 * APIC bus (timer) clock: 1 GHz, so a count is a nanosecond at divide 1. Real buses run at
 * 100-200 MHz; 1 GHz keeps HZ arithmetic exact and changes nothing else.
 */
export const APIC_BUS_HZ = 1_000_000_000;

/** Cross-thread side: deliver interrupts to any CPU. Safe on any thread. */
export class ApicBus {
  constructor(
    private readonly words: Int32Array,
    readonly cpus: number,
    /** --trace: the sending vCPU's recorder (null: off, and on the main thread's bus). */
    private readonly trace: TraceBuffer | null = null,
  ) {}

  /**
   * Raise `vector` on `dest`. `isIpi` counts it in the target's IPI accounting, so IPIs sent can
   * be matched with IPIs handled even when two coalesce into one IRR bit.
   */
  raise(dest: number, vector: number, isIpi: boolean): void {
    const trace = this.trace;
    if (trace !== null && isIpi) {
      // --trace: the send as a span, with a flow id the target picks up (src/stats/trace-buffer.ts).
      const t0 = trace.now();
      const flow = trace.publishFlow(dest, vector);
      this.raiseVector(dest, vector, isIpi);
      trace.span(TraceKind.IpiSend, t0, trace.now(), dest, vector, flow);
      return;
    }
    this.raiseVector(dest, vector, isIpi);
  }

  private raiseVector(dest: number, vector: number, isIpi: boolean): void {
    const base = vcpuBase(dest);
    if (isIpi) {
      // ORDERING: counted before the IRR bit is visible; the target's acceptHighest exchanges
      // the count after clearing a bit, so every counted IPI is taken by some acceptance (at
      // the latest its own) — exact once the machine is quiet.
      Atomics.add(this.words, base + VCPU_BLOCK.ipiArrivals, 1);
    }
    // ORDERING: IRR bit before summary (see the protocol in the header); pairs with
    // LocalApic.acceptHighest's summary clear then IRR scan.
    Atomics.or(this.words, base + VCPU_BLOCK.irr + (vector >>> 5), 1 << (vector & 31));
    Atomics.store(this.words, base + VCPU_BLOCK.summary, 1);
    this.ring(dest);
  }

  /**
   * Wake `dest` if it is halted on its doorbell waiting for a word the caller has just written
   * (LocalApic.halt's `until`): one load when it is not. Dekker with halt: the caller's store
   * to that word, then this waiter load; halt's waiter store, then its load of the word.
   */
  wakeIfHalted(dest: number): void {
    if (Atomics.load(this.words, vcpuBase(dest) + VCPU_BLOCK.waiter) !== 0) this.ring(dest);
  }

  /** Wake `dest` if it sleeps on its doorbell. */
  ring(dest: number): void {
    const base = vcpuBase(dest);
    // ORDERING: the doorbell add comes before the waiter load; pairs with LocalApic.halt's
    // waiter store before its doorbell load (Dekker: one of the two sees the other).
    Atomics.add(this.words, base + VCPU_BLOCK.doorbell, 1);
    if (Atomics.load(this.words, base + VCPU_BLOCK.waiter) !== 0) {
      Atomics.notify(this.words, base + VCPU_BLOCK.doorbell);
    }
  }

  /**
   * Post hypervisor work to `dest` (HV_* bits): not a guest interrupt, so it is taken at the
   * next boundary whatever the guest's IF, and no guest handler runs. Same publication order as
   * raise(): request bits, then summary, then doorbell.
   */
  kick(dest: number, bits: number): void {
    const trace = this.trace;
    if (trace !== null) {
      // --trace: as raise() does; the flow slot of the lowest request bit (kicks post one bit).
      const t0 = trace.now();
      const flow = trace.publishFlow(dest, FLOW_HV_SLOT + 31 - Math.clz32(bits & -bits));
      this.postRequest(dest, bits);
      trace.span(TraceKind.HvKick, t0, trace.now(), dest, bits, flow);
      return;
    }
    this.postRequest(dest, bits);
  }

  private postRequest(dest: number, bits: number): void {
    const base = vcpuBase(dest);
    // ORDERING: pairs with VcpuHardware.takeInterrupts' Atomics.exchange of hvPending after it
    // saw the summary word.
    Atomics.or(this.words, base + VCPU_BLOCK.hvPending, bits);
    Atomics.store(this.words, base + VCPU_BLOCK.summary, 1);
    this.ring(dest);
  }

  /** Deliver a STARTUP IPI: the target's bring-up loop waits for this word. */
  startup(dest: number, vector: number): void {
    // ORDERING: pairs with LocalApic.waitForStartup's Atomics.load of `startup`.
    Atomics.store(this.words, vcpuBase(dest) + VCPU_BLOCK.startup, (vector & 0xff) | 0x100);
    this.ring(dest);
  }

  /** Pending IRR vectors of `cpu`, for diagnostics (watchdog reports). */
  pendingVectors(cpu: number): number[] {
    return bitmapVectors(this.words, vcpuBase(cpu) + VCPU_BLOCK.irr);
  }

  /** In-service vectors of `cpu`, for diagnostics. */
  inServiceVectors(cpu: number): number[] {
    return bitmapVectors(this.words, vcpuBase(cpu) + VCPU_BLOCK.isr);
  }
}

function bitmapVectors(words: Int32Array, at: number): number[] {
  const out: number[] = [];
  for (let w = 0; w < APIC_BITMAP_WORDS; w++) {
    const bits = Atomics.load(words, at + w);
    for (let b = 0; b < 32; b++) if ((bits >>> b) & 1) out.push(w * 32 + b);
  }
  return out;
}

/** Highest set bit index in a bitmap, or -1. `words[at .. at+8)`. Plain reads: owner-only data. */
function highestBit(words: Int32Array, at: number): number {
  for (let w = APIC_BITMAP_WORDS - 1; w >= 0; w--) {
    const bits = words[at + w]!;
    if (bits !== 0) return w * 32 + (31 - Math.clz32(bits));
  }
  return -1;
}

/** The owning vCPU's side of its local APIC. Only the vCPU `cpu` may call these. */
export class LocalApic {
  private readonly base: number;
  /** IPIs accepted by this APIC (sum of per-vector accounting), for conservation checks. */
  ipisAccepted = 0;
  /** Send errors since the last ESR write, and what that write latched (worker-local registers). */
  private esrPending = 0;
  private esrLatched = 0;

  constructor(
    private readonly words: Int32Array,
    readonly cpu: number,
    readonly bus: ApicBus,
    /** Counts IPIs refused at the sender (VcpuCounters.ipiSendErrors); absent in unit tests. */
    private readonly counters: { ipiSendErrors: number } = { ipiSendErrors: 0 },
  ) {
    this.base = vcpuBase(cpu);
  }

  /** Word index of the summary word, for the MMU's per-access poll. */
  get summaryIndex(): number {
    return this.base + VCPU_BLOCK.summary;
  }

  /** Take this vCPU's pending hypervisor requests (HV_* bits), clearing them. */
  takeHypervisorRequests(): number {
    if (Atomics.load(this.words, this.base + VCPU_BLOCK.hvPending) === 0) return 0;
    // ORDERING: pairs with ApicBus.kick's Atomics.or.
    return Atomics.exchange(this.words, this.base + VCPU_BLOCK.hvPending, 0);
  }

  /** Cheap check: may the IRR hold something? */
  hasPending(): boolean {
    // ORDERING: pairs with ApicBus.raise's summary store after the IRR bit.
    return Atomics.load(this.words, this.base + VCPU_BLOCK.summary) !== 0;
  }

  /**
   * Accept the highest-priority pending vector whose class beats the TPR and the highest
   * in-service vector: clear it from the IRR, set it in the ISR, and return it; -1 if none.
   * Interrupts remain in the IRR while a higher class is in service.
   */
  acceptHighest(): number {
    const irr = this.base + VCPU_BLOCK.irr;
    // ORDERING: clear summary before scanning (see the header); if a vector stays pending
    // because it is masked by priority, summary is set again below so the poll comes back.
    Atomics.store(this.words, this.base + VCPU_BLOCK.summary, 0);
    // Hypervisor requests share the summary word: keep it up for them (pairs with kick's or
    // before its summary store: either we see the bits here, or its store follows our clear).
    if (Atomics.load(this.words, this.base + VCPU_BLOCK.hvPending) !== 0) {
      Atomics.store(this.words, this.base + VCPU_BLOCK.summary, 1);
    }
    const inService = highestBit(this.words, this.base + VCPU_BLOCK.isr);
    const floor = Math.max(inService >= 0 ? inService >>> 4 : -1, (this.words[this.base + VCPU_BLOCK.tpr]! >>> 4) & 0xf);
    for (let w = APIC_BITMAP_WORDS - 1; w >= 0; w--) {
      const bits = Atomics.load(this.words, irr + w);
      if (bits === 0) continue;
      const vector = w * 32 + (31 - Math.clz32(bits));
      if (vector >>> 4 <= floor) {
        // Masked by priority: keep it pending and keep the poll alive until EOI.
        Atomics.store(this.words, this.base + VCPU_BLOCK.summary, 1);
        return -1;
      }
      const bit = 1 << (vector & 31);
      // ORDERING: test-and-clear; a concurrent sender's Atomics.or of the same bit either lands
      // before (coalesced into this acceptance, its arrival taken below) or after (a new pending
      // interrupt with its own summary store).
      const old = Atomics.and(this.words, irr + w, ~bit);
      if ((old & bit) === 0) return -1; // cannot happen: only the owner clears IRR bits
      this.words[this.base + VCPU_BLOCK.isr + w] = this.words[this.base + VCPU_BLOCK.isr + w]! | bit;
      this.ipisAccepted += Atomics.exchange(this.words, this.base + VCPU_BLOCK.ipiArrivals, 0);
      if (highestBit(this.words, irr) >= 0) {
        Atomics.store(this.words, this.base + VCPU_BLOCK.summary, 1);
      }
      return vector;
    }
    return -1;
  }

  /** End of interrupt: retire the highest in-service vector. */
  eoi(): void {
    const isr = this.base + VCPU_BLOCK.isr;
    const v = highestBit(this.words, isr);
    if (v < 0) return;
    this.words[isr + (v >>> 5)] = this.words[isr + (v >>> 5)]! & ~(1 << (v & 31));
    // Something may have been held back by the in-service priority: look again.
    if (highestBit(this.words, this.base + VCPU_BLOCK.irr) >= 0) {
      Atomics.store(this.words, this.base + VCPU_BLOCK.summary, 1);
    }
  }

  /** Register read (pv_apic_ops.apicRead native). */
  read(reg: number): number {
    const b = this.base;
    switch (reg) {
      case APIC_ID: return this.cpu << 24;
      case APIC_TASKPRI: return this.words[b + VCPU_BLOCK.tpr]!;
      case APIC_ICR: return this.words[b + VCPU_BLOCK.icrLo]!;
      case APIC_ESR: return this.esrLatched;
      case APIC_ICR2: return this.words[b + VCPU_BLOCK.icrHi]!;
      case APIC_LVTT: return Atomics.load(this.words, b + VCPU_BLOCK.lvtTimer);
      case APIC_TMICT: return Atomics.load(this.words, b + VCPU_BLOCK.timerInitialCount);
      case APIC_TDCR: return Atomics.load(this.words, b + VCPU_BLOCK.timerDivide);
      default:
        if (reg >= APIC_ISR && reg < APIC_ISR + 0x80) return this.words[b + VCPU_BLOCK.isr + ((reg - APIC_ISR) >>> 4)]!;
        if (reg >= APIC_IRR && reg < APIC_IRR + 0x80) return Atomics.load(this.words, b + VCPU_BLOCK.irr + ((reg - APIC_IRR) >>> 4));
        return 0;
    }
  }

  /**
   * Register write (pv_apic_ops.apicWrite native). A write to ICR (low) sends: the destination
   * comes from ICR2 unless a shorthand is given. Returns the number of IPIs sent.
   */
  write(reg: number, value: number): number {
    const b = this.base;
    switch (reg) {
      case APIC_TASKPRI: this.words[b + VCPU_BLOCK.tpr] = value & 0xff; return 0;
      case APIC_EOI: this.eoi(); return 0;
      case APIC_ICR2: this.words[b + VCPU_BLOCK.icrHi] = value; return 0;
      case APIC_ESR:
        this.esrLatched = this.esrPending;
        this.esrPending = 0;
        return 0;
      case APIC_ICR: this.words[b + VCPU_BLOCK.icrLo] = value; return this.sendIcr(value);
      // ORDERING: timer registers are read by the main-thread clock; Atomics.store pairs with
      // its Atomics.load when it (re)arms this CPU's timer.
      case APIC_LVTT: Atomics.store(this.words, b + VCPU_BLOCK.lvtTimer, value); return 0;
      case APIC_TMICT: Atomics.store(this.words, b + VCPU_BLOCK.timerInitialCount, value); return 0;
      case APIC_TDCR: Atomics.store(this.words, b + VCPU_BLOCK.timerDivide, value); return 0;
      default: return 0;
    }
  }

  private sendIcr(icr: number): number {
    const vector = icr & APIC_VECTOR_MASK;
    const mode = icr & APIC_DM_MASK;
    if (mode === APIC_DM_FIXED && vector < MIN_LEGAL_VECTOR) return this.sendError(APIC_ESR_SENDILL);
    switch (icr & APIC_SHORT_MASK) {
      case 0: {
        const dest = GET_APIC_DEST_FIELD(this.words[this.base + VCPU_BLOCK.icrHi]!);
        return dest < this.bus.cpus ? this.deliver(dest, vector, mode) : this.sendError(APIC_ESR_SENDACC);
      }
      case APIC_DEST_SELF:
        return this.deliver(this.cpu, vector, mode);
      case APIC_DEST_ALLINC:
      case APIC_DEST_ALLBUT: {
        let sent = 0;
        const self = (icr & APIC_SHORT_MASK) === APIC_DEST_ALLINC;
        for (let c = 0; c < this.bus.cpus; c++) if (self || c !== this.cpu) sent += this.deliver(c, vector, mode);
        return sent;
      }
      default:
        return 0;
    }
  }

  /** An IPI the APIC refused to send: latched for ESR, counted; nothing is raised anywhere. */
  private sendError(bit: number): number {
    this.esrPending |= bit;
    this.counters.ipiSendErrors++;
    return 0;
  }

  /** One destination of an ICR write; returns 1 if an IPI went out. INIT is not modelled. */
  private deliver(dest: number, vector: number, mode: number): number {
    if (mode === APIC_DM_FIXED) this.bus.raise(dest, vector, true);
    else if (mode === APIC_DM_STARTUP) this.bus.startup(dest, vector);
    else return 0;
    return 1;
  }

  /**
   * Sleep until an interrupt may be pending or `timeoutMs` passes (the caller's watchdog or
   * next deadline). Returns at once if something is already pending, or if `until` is given and
   * `until[index] & mask` is already 0 (the word a wait is for; its writer rings this doorbell).
   */
  halt(timeoutMs: number, until: Int32Array | null = null, index = 0, mask = 0): void {
    const b = this.base;
    // ORDERING: waiter store before the doorbell load, the IRR check and the `until` word's
    // load; pairs with ApicBus.ring's doorbell add before its waiter load, which a thread that
    // cleared the `until` word does after clearing it (VcpuWait.wake): either that ring moves
    // the doorbell past `bell`, or this load sees the word cleared.
    Atomics.store(this.words, b + VCPU_BLOCK.waiter, 1);
    const bell = Atomics.load(this.words, b + VCPU_BLOCK.doorbell);
    const still = until === null || (Atomics.load(until, index) & mask) !== 0;
    if (still && !this.hasPending()) Atomics.wait(this.words, b + VCPU_BLOCK.doorbell, bell, timeoutMs);
    Atomics.store(this.words, b + VCPU_BLOCK.waiter, 0);
  }

  /** AP bring-up: the STARTUP vector once it has arrived, or -1. */
  startupVector(): number {
    // ORDERING: pairs with ApicBus.startup's Atomics.store.
    const v = Atomics.load(this.words, this.base + VCPU_BLOCK.startup);
    return v === 0 ? -1 : v & 0xff;
  }

  /**
   * Take the STARTUP IPI (INIT-SIPI-SIPI's last step): returns its vector and counts it as an
   * accepted IPI, so bring-up IPIs balance in the conservation check like any other.
   */
  acceptStartup(): number {
    const v = Atomics.exchange(this.words, this.base + VCPU_BLOCK.startup, 0);
    if (v === 0) return -1;
    this.ipisAccepted++;
    return v & 0xff;
  }

  /** Sleep on the doorbell until a STARTUP IPI arrives or `timeoutMs` passes. */
  waitForStartup(timeoutMs: number): void {
    const b = this.base;
    Atomics.store(this.words, b + VCPU_BLOCK.waiter, 1);
    const bell = Atomics.load(this.words, b + VCPU_BLOCK.doorbell);
    if (this.startupVector() < 0) Atomics.wait(this.words, b + VCPU_BLOCK.doorbell, bell, timeoutMs);
    Atomics.store(this.words, b + VCPU_BLOCK.waiter, 0);
  }
}
