/**
 * The local APIC: per-vCPU interrupt controller registers in the machine block.
 *
 * Two sides, named for their threading contract:
 * - `ApicBus` (any thread): raise a vector on a destination CPU, post hypervisor work, ring a
 *   sleeping CPU. This is what a sender's ICR write, the main thread's timer and a hypervisor do.
 * - `LocalApic` (owning vCPU only): take what was posted into the IRR, accept the highest
 *   pending vector into the ISR, EOI, TPR, the ICR write that sends IPIs, the timer registers,
 *   and halting on the doorbell.
 *
 * Delivery is built to cost one locked instruction on the target's cache line per IPI, because
 * that line is what the target polls: every further locked access by the sender (or by the
 * target while the sender works) makes the line cross between the cores again, and each
 * crossing costs about as much as the whole raw round trip's one-way trip (pvemu's issue 14
 * measured four read-modify-writes per IPI at 2-3x the raw Atomics round trip).
 *
 * The target's `pending` word (VCPU_BLOCK.pending) carries:
 *   bits 0..15       IPIs of vectors 0xf0..0xff, the top priority class, where Linux puts its
 *                    IPI vectors (CALL_FUNCTION, RESCHEDULE, INVALIDATE_TLB, ERROR, SPURIOUS)
 *   PENDING_IRR      some IPI of a lower vector is set in the `irr` words
 *   PENDING_EXT      some interrupt that is not an IPI (the LAPIC timer) is set in `extIrr`
 *   PENDING_HV       hypervisor requests are waiting in `hvPending`
 *   PENDING_LOCAL    set by the owner itself: its latched IRR still holds an unaccepted vector
 *   PENDING_HALTED   the owner is (about to be) asleep on its doorbell
 *
 * Sender S, target T:
 *   S: old = Atomics.or(pending, 1 << (v - 0xf0))        a top-class IPI: one locked op
 *      (else: Atomics.or(irr[v/32] or extIrr[v/32], bit), then Atomics.or(pending, PENDING_IRR/EXT))
 *      if old has the vector's bit: the IPI coalesced with one not yet taken (counted by S)
 *      if old has PENDING_HALTED: Atomics.add(doorbell, 1); Atomics.notify(doorbell)
 *   T: poll: Atomics.load(pending) != 0
 *      take: p = Atomics.exchange(pending, 0); the vector bits of p, and of every word p
 *      flags (each taken with Atomics.exchange), go into the owner's IRR (`irrLatched`).
 *      Everything after that — priority, ISR, TPR, EOI — is the owner's alone, plain stores.
 *   T halting: bell = Atomics.load(doorbell); old = Atomics.or(pending, PENDING_HALTED);
 *      sleep on (doorbell, bell) only if old had nothing else. A sender whose or came first is
 *      in `old`; one whose or came after sees PENDING_HALTED and moves the doorbell past `bell`.
 *
 * IPI accounting stays exact without a shared counter: a sender counts what it sent and which
 * of its sends found the bit already set (coalesced into an IPI in flight); the target counts
 * every bit it takes from the IPI words. At rest, sent = taken + coalesced.
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

/** First vector of the class delivered in the pending word itself (bits 0..15). */
export const PENDING_VECTOR_BASE = 0xf0;
const PENDING_VECTORS = 0xffff;
/** Some IPI below PENDING_VECTOR_BASE is set in the `irr` words. */
export const PENDING_IRR = 1 << 16;
/** Some interrupt that is not an IPI is set in the `extIrr` words. */
export const PENDING_EXT = 1 << 17;
/** Hypervisor requests wait in `hvPending`. */
export const PENDING_HV = 1 << 18;
/** Set by the owner: its latched IRR holds a vector it has not accepted yet (priority held it back). */
export const PENDING_LOCAL = 1 << 19;
/** The owner is (about to be) asleep on its doorbell: a sender must ring it. */
export const PENDING_HALTED = 1 << 31;

/** Counts a sender keeps (VcpuCounters has them). */
export interface ApicSenderCounters {
  /** IPIs that found their vector already posted and not yet taken: merged into that one. */
  ipisCoalesced: number;
}

/**
 * What the APIC needs of a vCPU's clock in virtual time (src/hw/virtual-clock.ts implements it):
 * posts carry the sender's time, a ring wakes a halted target at it, the owner's APIC shows
 * posts only once they have arrived and halts in the turn order.
 */
export interface ApicVirtualClock {
  post(dest: number): void;
  wake(dest: number): void;
  readonly arrived: boolean;
  takenAll(): void;
  halt(): void;
}

/** Cross-thread side: deliver interrupts to any CPU. Safe on any thread. */
export class ApicBus {
  /** --clock virtual: the sending vCPU's clock, which wakes halted targets in the turn order (null: host time). */
  vclock: ApicVirtualClock | null = null;

  constructor(
    private readonly words: Int32Array,
    readonly cpus: number,
    /** --trace: the sending vCPU's recorder (null: off, and on the main thread's bus). */
    private readonly trace: TraceBuffer | null = null,
    /** The sending vCPU's counters (the main thread's bus sends no IPIs). */
    private readonly counters: ApicSenderCounters = { ipisCoalesced: 0 },
  ) {}

  /**
   * Raise `vector` on `dest`. `isIpi`: it is an IPI, counted in the sender's and the target's
   * IPI accounting; otherwise (the LAPIC timer, an injected vector) it is not.
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
    const words = this.words;
    let old: number;
    if (isIpi && vector >= PENDING_VECTOR_BASE) {
      // The common IPI: the vector's own bit in the word the target polls, one locked op.
      // ORDERING: pairs with LocalApic.take's Atomics.exchange of the pending word.
      const bit = 1 << (vector - PENDING_VECTOR_BASE);
      old = Atomics.or(words, base + VCPU_BLOCK.pending, bit);
      if ((old & bit) !== 0) this.counters.ipisCoalesced++;
    } else {
      const bit = 1 << (vector & 31);
      const at = base + (isIpi ? VCPU_BLOCK.irr : VCPU_BLOCK.extIrr) + (vector >>> 5);
      // ORDERING: the IRR bit before the pending flag, so a target that takes the flag finds
      // the bit (LocalApic.take exchanges the flag first, then the words it names).
      const prev = Atomics.or(words, at, bit);
      if (isIpi && (prev & bit) !== 0) this.counters.ipisCoalesced++;
      old = Atomics.or(words, base + VCPU_BLOCK.pending, isIpi ? PENDING_IRR : PENDING_EXT);
    }
    this.vclock?.post(dest);
    if ((old & PENDING_HALTED) !== 0) this.ring(dest);
  }

  /**
   * Wake `dest` if it is halted waiting for a word the caller has just written
   * (LocalApic.halt's `until`): one load when it is not. Dekker with halt: the caller's store
   * to that word, then this load of the halted bit; halt's Atomics.or of the bit, then its load
   * of the word.
   */
  wakeIfHalted(dest: number): void {
    if ((Atomics.load(this.words, vcpuBase(dest) + VCPU_BLOCK.pending) & PENDING_HALTED) !== 0) this.ring(dest);
  }

  /**
   * Wake `dest` if it sleeps on its doorbell: moving the doorbell makes a halt that read it
   * before return at once, and the notify wakes one already asleep.
   */
  ring(dest: number): void {
    const at = vcpuBase(dest) + VCPU_BLOCK.doorbell;
    // ORDERING: pairs with LocalApic.halt's load of the doorbell before it set PENDING_HALTED.
    Atomics.add(this.words, at, 1);
    Atomics.notify(this.words, at);
    // Virtual time: the target halted in the turn order; it wakes at the sender's time.
    this.vclock?.wake(dest);
  }

  /**
   * Post hypervisor work to `dest` (HV_* bits): not a guest interrupt, so it is taken at the
   * next boundary whatever the guest's IF, and no guest handler runs. Published as a vector
   * below 0xf0 is: request bits, then the pending flag.
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
    // ORDERING: pairs with LocalApic.takeHypervisorRequests, which clears the flag before it
    // exchanges the request word: a request is either taken there or flagged again after.
    Atomics.or(this.words, base + VCPU_BLOCK.hvPending, bits);
    const old = Atomics.or(this.words, base + VCPU_BLOCK.pending, PENDING_HV);
    this.vclock?.post(dest);
    if ((old & PENDING_HALTED) !== 0) this.ring(dest);
  }

  /** Deliver a STARTUP IPI: the target's bring-up loop waits for this word. */
  startup(dest: number, vector: number): void {
    // ORDERING: pairs with LocalApic.waitForStartup's load of `startup` after it set
    // PENDING_HALTED; wakeIfHalted loads that bit after this store (Dekker).
    Atomics.store(this.words, vcpuBase(dest) + VCPU_BLOCK.startup, (vector & 0xff) | 0x100);
    this.wakeIfHalted(dest);
  }

  /**
   * Vectors requested on `cpu` and not yet accepted, wherever they are (posted by a sender, or
   * taken into its IRR): for diagnostics (watchdog reports) and the overcommit scheduler.
   */
  pendingVectors(cpu: number): number[] {
    const b = vcpuBase(cpu);
    const words = this.words;
    const out = new Set<number>();
    const pending = Atomics.load(words, b + VCPU_BLOCK.pending);
    for (let i = 0; i < 16; i++) if (((pending >>> i) & 1) !== 0) out.add(PENDING_VECTOR_BASE + i);
    for (const at of [VCPU_BLOCK.irr, VCPU_BLOCK.extIrr, VCPU_BLOCK.irrLatched]) {
      for (const v of bitmapVectors(words, b + at)) out.add(v);
    }
    return [...out].sort((x, y) => x - y);
  }

  /** In-service vectors of `cpu`, for diagnostics. */
  inServiceVectors(cpu: number): number[] {
    return bitmapVectors(this.words, vcpuBase(cpu) + VCPU_BLOCK.isr);
  }
}

function bitmapVectors(words: Int32Array, at: number): number[] {
  const out: number[] = [];
  for (let w = 0; w < APIC_BITMAP_WORDS; w++) {
    // Another thread's registers, read for a report: a torn view is fine, a stale one too.
    const bits = Atomics.load(words, at + w);
    for (let b = 0; b < 32; b++) if ((bits >>> b) & 1) out.push(w * 32 + b);
  }
  return out;
}

/** Highest set bit of a non-zero word. */
function topBit(bits: number): number {
  return 31 - Math.clz32(bits);
}

/** Set bits in a 32-bit word. */
function popcount(v: number): number {
  v -= (v >>> 1) & 0x55555555;
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24);
}

/** The owning vCPU's side of its local APIC. Only the vCPU `cpu` may call these. */
export class LocalApic {
  private readonly base: number;
  private readonly pendingAt: number;
  /** IPIs taken from this APIC's incoming words (and STARTUP IPIs accepted), for conservation checks. */
  ipisAccepted = 0;
  /**
   * Which words of `irrLatched` and `isr` are non-zero (bit w for word w): the owner's summaries,
   * so finding the highest vector is two clz32s instead of a scan of eight words.
   */
  private irrWords = 0;
  private isrWords = 0;
  /** A take found PENDING_HV: requests wait in hvPending for takeHypervisorRequests. */
  private hvFlagged = false;
  /**
   * Injected fault (MachineConfig.inject.dropIpisCpu): the pending bits of these vectors are
   * dropped when taken, as if their IRR bit were lost, once `dropAfter` of them were taken
   * normally. 0: none dropped.
   */
  private dropVectors = 0;
  private dropAfter = 0;
  /** IPIs dropped by the injected fault. */
  ipisDropped = 0;
  /** --clock virtual: the owner's clock, which halts in the turn order instead of on the doorbell (null: host time). */
  vclock: ApicVirtualClock | null = null;
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
    this.pendingAt = this.base + VCPU_BLOCK.pending;
  }

  /** Word index of the pending word, for the cores' polls (non-zero: come to takeInterrupts). */
  get pendingIndex(): number {
    return this.pendingAt;
  }

  /**
   * Injected fault: from the `after`-th on, lose every call-function and TLB-invalidate IPI
   * this APIC takes (the IRR bit dropped): the initiators' waits for acknowledgement never end,
   * and the watchdog must name this CPU.
   */
  loseCallIpis(after: number): void {
    this.dropVectors = (1 << (CALL_FUNCTION_VECTOR - PENDING_VECTOR_BASE)) | (1 << (INVALIDATE_TLB_VECTOR - PENDING_VECTOR_BASE));
    this.dropAfter = after;
  }

  /** `ipis` with the injected losses taken out (the first `dropAfter` still pass). */
  private dropLost(ipis: number): number {
    for (let bit = 0; bit < 16; bit++) {
      const b = 1 << bit;
      if ((ipis & b & this.dropVectors) === 0) continue;
      if (this.dropAfter > 0) {
        this.dropAfter--;
        continue;
      }
      ipis &= ~b;
      this.ipisDropped++;
    }
    return ipis;
  }

  /** Cheap check: may there be something to take or accept? */
  hasPending(): boolean {
    return this.pending() !== 0;
  }

  /**
   * The pending word as it is now (PENDING_HV included while requests wait that a take found):
   * one load that takeHypervisorRequests and acceptHighest can both be given.
   */
  pending(): number {
    // Virtual time: what was posted shows only once the owner's clock reached its arrival.
    if (this.vclock !== null && !this.vclock.arrived) return this.hvFlagged ? PENDING_HV : 0;
    // ORDERING: pairs with the senders' Atomics.or of the pending word.
    return Atomics.load(this.words, this.pendingAt) | (this.hvFlagged ? PENDING_HV : 0);
  }

  /**
   * Take this vCPU's pending hypervisor requests (HV_* bits), clearing them. `pending` is a
   * recent pending() (one taken now by default); a request flagged after it waits for the next.
   */
  takeHypervisorRequests(pending = this.pending()): number {
    if (!this.hvFlagged) {
      if ((pending & PENDING_HV) === 0) return 0;
      // ORDERING: clear the flag, then take the requests; pairs with ApicBus.postRequest's
      // request or then flag or, so a request is taken now or flagged again after this.
      Atomics.and(this.words, this.pendingAt, ~PENDING_HV);
    }
    this.hvFlagged = false;
    return Atomics.exchange(this.words, this.base + VCPU_BLOCK.hvPending, 0);
  }

  /**
   * Move everything posted to this APIC into the latched IRR. Hypervisor requests stay where
   * they are, flagged for takeHypervisorRequests.
   */
  private take(): void {
    const words = this.words;
    const b = this.base;
    // ORDERING: pairs with every sender's Atomics.or of the pending word; the words the flags
    // name were written before those ors (ApicBus.raiseVector).
    const p = Atomics.exchange(words, this.pendingAt, 0);
    this.vclock?.takenAll();
    if ((p & PENDING_HV) !== 0) this.hvFlagged = true;
    let ipis = p & PENDING_VECTORS;
    if ((ipis & this.dropVectors) !== 0) ipis = this.dropLost(ipis);
    if (ipis !== 0) {
      const at = b + VCPU_BLOCK.irrLatched + (PENDING_VECTOR_BASE >>> 5);
      words[at] = words[at]! | (ipis << (PENDING_VECTOR_BASE & 31));
      this.ipisAccepted += popcount(ipis);
      this.irrWords |= 1 << (PENDING_VECTOR_BASE >>> 5);
    }
    if ((p & PENDING_IRR) !== 0) this.ipisAccepted += this.takeWords(b + VCPU_BLOCK.irr);
    if ((p & PENDING_EXT) !== 0) this.takeWords(b + VCPU_BLOCK.extIrr);
  }

  /** Latch one incoming bitmap; returns how many bits it held. */
  private takeWords(from: number): number {
    const words = this.words;
    const into = this.base + VCPU_BLOCK.irrLatched;
    let taken = 0;
    for (let w = 0; w < APIC_BITMAP_WORDS; w++) {
      if (Atomics.load(words, from + w) === 0) continue;
      // ORDERING: pairs with the sender's Atomics.or of this word before its pending flag.
      const bits = Atomics.exchange(words, from + w, 0);
      if (bits === 0) continue;
      words[into + w] = words[into + w]! | bits;
      taken += popcount(bits);
      this.irrWords |= 1 << w;
    }
    return taken;
  }

  /**
   * Accept the highest-priority pending vector whose class beats the TPR and the highest
   * in-service vector: clear it from the IRR, set it in the ISR, and return it; -1 if none.
   * Interrupts remain in the IRR while a higher class is in service. `pending` as for
   * takeHypervisorRequests: what was posted after it is taken at the next call.
   */
  acceptHighest(pending = this.pending()): number {
    if ((pending & ~PENDING_HV) !== 0) this.take();
    if (this.irrWords === 0) return -1;
    const words = this.words;
    const irr = this.base + VCPU_BLOCK.irrLatched;
    const w = topBit(this.irrWords);
    const vector = w * 32 + topBit(words[irr + w]!);
    const inService = this.highestInService();
    const floor = Math.max(inService >= 0 ? inService >>> 4 : -1, (words[this.base + VCPU_BLOCK.tpr]! >>> 4) & 0xf);
    if (vector >>> 4 <= floor) {
      // Masked by priority: keep it pending and keep the polls coming back until EOI or TPR.
      this.flagLatched();
      return -1;
    }
    const bit = 1 << (vector & 31);
    const left = words[irr + w]! & ~bit;
    words[irr + w] = left;
    if (left === 0) this.irrWords &= ~(1 << w);
    words[this.base + VCPU_BLOCK.isr + w] = words[this.base + VCPU_BLOCK.isr + w]! | bit;
    this.isrWords |= 1 << w;
    return vector;
  }

  /** The highest in-service vector, or -1. */
  private highestInService(): number {
    if (this.isrWords === 0) return -1;
    const w = topBit(this.isrWords);
    return w * 32 + topBit(this.words[this.base + VCPU_BLOCK.isr + w]!);
  }

  /**
   * The latched IRR still holds a vector: raise PENDING_LOCAL so the cores' polls, which read
   * only the pending word, come back for it. Only when priority held one back, so off the
   * common path.
   */
  private flagLatched(): void {
    // ORDERING: the owner's own flag; pairs with its next take's exchange.
    Atomics.or(this.words, this.pendingAt, PENDING_LOCAL);
  }

  /** End of interrupt: retire the highest in-service vector. */
  eoi(): void {
    const v = this.highestInService();
    if (v < 0) return;
    const at = this.base + VCPU_BLOCK.isr + (v >>> 5);
    const left = this.words[at]! & ~(1 << (v & 31));
    this.words[at] = left;
    if (left === 0) this.isrWords &= ~(1 << (v >>> 5));
    // Something may have been held back by the in-service priority: look again.
    if (this.irrWords !== 0) this.flagLatched();
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
        if (reg >= APIC_IRR && reg < APIC_IRR + 0x80) {
          // What was posted counts as requested: take it in first, as the hardware's IRR has it.
          this.take();
          if (this.irrWords !== 0) this.flagLatched();
          return this.words[b + VCPU_BLOCK.irrLatched + ((reg - APIC_IRR) >>> 4)]!;
        }
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
      case APIC_TASKPRI:
        this.words[b + VCPU_BLOCK.tpr] = value & 0xff;
        // A lower priority may let a held-back vector through: look again.
        if (this.irrWords !== 0) this.flagLatched();
        return 0;
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

  /**
   * One destination of send_IPI_mask_sequence: the ICR2 write (destination `dest`) and the ICR
   * write (fixed delivery of `vector`, no shorthand) in one call. The registers, checks, ESR
   * errors and delivery are those of write(APIC_ICR2) then write(APIC_ICR); only the register
   * switch is skipped, which is most of a send's cost in JavaScript. Returns the IPIs sent.
   */
  sendFixed(dest: number, vector: number): number {
    const b = this.base;
    this.words[b + VCPU_BLOCK.icrHi] = SET_APIC_DEST_FIELD(dest);
    this.words[b + VCPU_BLOCK.icrLo] = vector;
    if ((vector & ~APIC_VECTOR_MASK) !== 0) return this.sendIcr(vector);
    if (vector < MIN_LEGAL_VECTOR) return this.sendError(APIC_ESR_SENDILL);
    if (GET_APIC_DEST_FIELD(SET_APIC_DEST_FIELD(dest)) >= this.bus.cpus) return this.sendError(APIC_ESR_SENDACC);
    this.bus.raise(dest, vector, true);
    return 1;
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
    const words = this.words;
    const bell = this.base + VCPU_BLOCK.doorbell;
    // ORDERING: the doorbell is read before PENDING_HALTED is set, and the `until` word after:
    // a sender's or that comes before ours is in `old`; one after it sees the halted bit and
    // moves the doorbell past `seen` (ApicBus.ring). A thread that cleared the `until` word
    // then loads the halted bit (wakeIfHalted): it sees ours, or our load sees its store.
    const seen = Atomics.load(words, bell);
    const old = Atomics.or(words, this.pendingAt, PENDING_HALTED);
    const still = until === null || (Atomics.load(until, index) & mask) !== 0;
    // Virtual time: posts that have not arrived yet do not keep a CPU awake (they wake it);
    // with nothing posted at all, no arrival time is owed (a request taken another way).
    if (old === 0) this.vclock?.takenAll();
    const waiting = old === 0 || (this.vclock !== null && !this.vclock.arrived);
    if (still && waiting && !this.hvFlagged) this.sleep(bell, seen, timeoutMs);
    Atomics.and(words, this.pendingAt, ~PENDING_HALTED);
  }

  /**
   * The halted wait itself: on the doorbell for at most `timeoutMs` in host time; in virtual
   * time, halted in the turn order until the timer, a ring (ApicBus.ring wakes us at the
   * ringer's time) or the run's end. Either way the caller looks again afterwards.
   */
  private sleep(bell: number, seen: number, timeoutMs: number): void {
    if (this.vclock !== null) this.vclock.halt();
    // ORDERING: Atomics.wait compares the doorbell and sleeps atomically; pairs with ring's add.
    else Atomics.wait(this.words, bell, seen, timeoutMs);
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
    const words = this.words;
    const bell = this.base + VCPU_BLOCK.doorbell;
    // ORDERING: as halt: doorbell, then the halted bit, then the awaited word (ApicBus.startup
    // stores it, then loads the halted bit).
    const seen = Atomics.load(words, bell);
    Atomics.or(words, this.pendingAt, PENDING_HALTED);
    if (this.startupVector() < 0) this.sleep(bell, seen, timeoutMs);
    Atomics.and(words, this.pendingAt, ~PENDING_HALTED);
  }
}
