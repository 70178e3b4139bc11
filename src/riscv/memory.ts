/**
 * RvMemory: the RV32 data accesses of one vCPU — loads, stores, LR/SC, AMOs, FENCE — through
 * that vCPU's MMU and TLB. Shared by the interpreter (core.ts) and compiled blocks (jit.ts), so
 * both have exactly one implementation of the memory semantics. Runs only on the owning vCPU's
 * worker.
 *
 * Every access first tries the TLB's direct-mapped front (hw/fast-tlb.ts: a tag compare and an
 * add), then translates with mmu.translate: a TLB hit (with the permission the access needs)
 * gives the physical address with no allocation and no Atomics; anything else — a miss, a dirty
 * assist, a page fault run by the kernel's handler (demand paging, COW), the --check coherence
 * checker — is the MMU's own path, so an RV32 access behaves like the TS workloads' accesses.
 * A fault the kernel cannot resolve throws GuestSegfault out of the access, before any register
 * or memory changed. Guest data itself is read and written with plain typed-array accesses, as
 * the MMU's own accessors do: how harts order their data is the guest's business (FENCE, AMOs,
 * LR/SC), as on hardware; on an x86 host plain accesses are TSO, stronger than RVWMO.
 *
 * Before a store lands: if its frame holds decoded code, the slots it overwrites are dropped
 * (decode-cache.ts); if its word's reservation bucket has holders, the bucket's reservations are
 * broken (reservation.ts, step S2). Misaligned loads and stores are emulated byte by byte (the
 * EEI may do so; Linux does for user mode), translating every page they touch before the first
 * byte is stored. LR/SC/AMO addresses must be aligned; the caller checks (SIGBUS otherwise).
 */
import type { Mmu } from '../hw/mmu.js';
import type { VirtualClock } from '../hw/virtual-clock.js';
import type { GuestRam } from '../hw/memory.js';
import { RESV_BUCKET, RESV_MASK } from './layout.js';
import { FAST_TLB_MASK, type FastTlb } from '../hw/fast-tlb.js';
import { AmoKind, type Reservations } from './reservation.js';

const OFFSET_MASK = 0xfff;

/**
 * Told of every store to a frame that holds decoded code (the decode cache, src/riscv/decode-cache.ts),
 * so a program that writes its own code runs the new instructions.
 */
export interface CodeStoreObserver {
  /** One byte per RAM frame: non-zero while the frame holds decoded code. */
  readonly codeFrames: Uint8Array;
  invalidateStore(pa: number, bytes: number): void;
}

/**
 * What a compiled block needs to do RvMemory's fast paths inline (jit.ts): the fast TLB
 * front's arrays, the RAM views, and the two store checks' arrays. The same objects RvMemory
 * uses, so the two paths cannot disagree.
 */
export interface InlineMemory {
  readonly fast: FastTlb;
  readonly readTag: Int32Array;
  readonly writeTag: Int32Array;
  readonly addend: Int32Array;
  readonly ram32: Int32Array;
  readonly ram16: Int16Array;
  readonly ram8: Int8Array;
  readonly bytes: Uint8Array;
  readonly codeFrames: Uint8Array;
  /** The reservation words, and the index of bucket 0's holders word in them. */
  readonly shared: Int32Array;
  readonly holders0: number;
}

export class RvMemory {
  /**
   * Compiled blocks' side channel (jit.ts): the slot of the instruction a block is executing
   * when it calls an access that may throw, and the next pc of a block that leaves its page.
   */
  slot = 0;
  nextPc = 0;
  /**
   * Instructions a compiled block retired: all of them when it returned, or those before the
   * access it was making (m.slot) when it threw.
   */
  ran = 0;
  /** --clock virtual: the vCPU's clock; LR, SC and AMOs are synchronisation points on it (null: host time). */
  vclock: VirtualClock | null = null;

  private readonly fast: FastTlb;
  private readonly readTag: Int32Array;
  private readonly writeTag: Int32Array;
  private readonly addend: Int32Array;
  private readonly ram32: Int32Array;
  private readonly ram16: Int16Array;
  private readonly ram8: Int8Array;
  private readonly bytes: Uint8Array;
  private readonly codeFrames: Uint8Array;
  private readonly shared: Int32Array;
  /** Word index of bucket 0's holders word in `shared`. */
  private readonly holders0: number;

  constructor(
    private readonly mmu: Mmu,
    ram: GuestRam,
    private readonly dc: CodeStoreObserver,
    readonly reservations: Reservations,
  ) {
    this.fast = mmu.tlb.fast;
    this.readTag = this.fast.readTag;
    this.writeTag = this.fast.writeTag;
    this.addend = this.fast.addend;
    this.ram32 = ram.i32;
    this.ram16 = new Int16Array(ram.sab);
    this.ram8 = new Int8Array(ram.sab);
    this.bytes = ram.bytes;
    this.codeFrames = dc.codeFrames;
    this.shared = reservations.words;
    this.holders0 = reservations.base + RESV_BUCKET.holders;
  }

  /** The arrays a compiled block's inline accesses use. */
  inlineView(): InlineMemory {
    return {
      fast: this.fast, readTag: this.readTag, writeTag: this.writeTag, addend: this.addend, ram32: this.ram32,
      ram16: this.ram16, ram8: this.ram8, bytes: this.bytes, codeFrames: this.codeFrames, shared: this.shared, holders0: this.holders0,
    };
  }

  // --- loads (values as the register gets them: sign- or zero-extended to int32) ---
  //
  // Each access first tries the TLB's direct-mapped front (hw/fast-tlb.ts): the tag compare
  // includes the alignment bits, so a misaligned access falls to the slow path, which handles
  // it; the slow path translates through the TLB and refills the front.

  ld32(va: number): number {
    const i = (va >>> 12) & FAST_TLB_MASK;
    if ((va & 0xfffff003) === this.readTag[i]) {
      this.fast.hits++;
      return this.ram32[(va + this.addend[i]!) >>> 2]!;
    }
    if ((va & 3) !== 0) return this.loadMisaligned(va, 4);
    return this.ram32[this.translate(va, false) >>> 2]!;
  }

  ld16(va: number): number {
    const i = (va >>> 12) & FAST_TLB_MASK;
    if ((va & 0xfffff001) === this.readTag[i]) {
      this.fast.hits++;
      return this.ram16[(va + this.addend[i]!) >>> 1]!;
    }
    if ((va & 1) !== 0) return (this.loadMisaligned(va, 2) << 16) >> 16;
    return this.ram16[this.translate(va, false) >>> 1]!;
  }

  ld16u(va: number): number {
    const i = (va >>> 12) & FAST_TLB_MASK;
    if ((va & 0xfffff001) === this.readTag[i]) {
      this.fast.hits++;
      return this.ram16[(va + this.addend[i]!) >>> 1]! & 0xffff;
    }
    if ((va & 1) !== 0) return this.loadMisaligned(va, 2);
    return this.ram16[this.translate(va, false) >>> 1]! & 0xffff;
  }

  ld8(va: number): number {
    const i = (va >>> 12) & FAST_TLB_MASK;
    if ((va & 0xfffff000) === this.readTag[i]) {
      this.fast.hits++;
      return this.ram8[(va + this.addend[i]!) >>> 0]!;
    }
    return this.ram8[this.translate(va, false)]!;
  }

  ld8u(va: number): number {
    const i = (va >>> 12) & FAST_TLB_MASK;
    if ((va & 0xfffff000) === this.readTag[i]) {
      this.fast.hits++;
      return this.bytes[(va + this.addend[i]!) >>> 0]!;
    }
    return this.bytes[this.translate(va, false)]!;
  }

  // --- stores ---

  st32(va: number, value: number): void {
    const i = (va >>> 12) & FAST_TLB_MASK;
    let pa: number;
    if ((va & 0xfffff003) === this.writeTag[i]) {
      this.fast.hits++;
      pa = (va + this.addend[i]!) >>> 0;
    } else {
      if ((va & 3) !== 0) {
        this.storeMisaligned(va, 4, value);
        return;
      }
      pa = this.translate(va, true);
    }
    // ORDERING: reservation step S1, a plain load of the bucket's holders on purpose (an Atomics
    // load would cost every store about 10 ns); pairs with an LR's Atomics.add of holders (L1).
    // What a stale 0 here can cost is case 3 of reservation.ts. Same in st16 and st8.
    if (this.codeFrames[pa >>> 12] !== 0 || this.shared[this.holders0 + ((pa >>> 2) & RESV_MASK) * RESV_BUCKET.WORDS] !== 0) {
      this.beforeStore(pa, 4);
    }
    this.ram32[pa >>> 2] = value;
  }

  st16(va: number, value: number): void {
    const i = (va >>> 12) & FAST_TLB_MASK;
    let pa: number;
    if ((va & 0xfffff001) === this.writeTag[i]) {
      this.fast.hits++;
      pa = (va + this.addend[i]!) >>> 0;
    } else {
      if ((va & 1) !== 0) {
        this.storeMisaligned(va, 2, value);
        return;
      }
      pa = this.translate(va, true);
    }
    // ORDERING: S1, a plain load of holders (see st32).
    if (this.codeFrames[pa >>> 12] !== 0 || this.shared[this.holders0 + ((pa >>> 2) & RESV_MASK) * RESV_BUCKET.WORDS] !== 0) {
      this.beforeStore(pa, 2);
    }
    this.ram16[pa >>> 1] = value;
  }

  st8(va: number, value: number): void {
    const i = (va >>> 12) & FAST_TLB_MASK;
    let pa: number;
    if ((va & 0xfffff000) === this.writeTag[i]) {
      this.fast.hits++;
      pa = (va + this.addend[i]!) >>> 0;
    } else {
      pa = this.translate(va, true);
    }
    // ORDERING: S1, a plain load of holders (see st32).
    if (this.codeFrames[pa >>> 12] !== 0 || this.shared[this.holders0 + ((pa >>> 2) & RESV_MASK) * RESV_BUCKET.WORDS] !== 0) {
      this.beforeStore(pa, 1);
    }
    this.bytes[pa] = value;
  }

  /** The TLB's translation of an aligned `va` (faulting as the access would), refilling the fast front. */
  private translate(va: number, write: boolean): number {
    const pa = this.mmu.translate(va, write);
    this.fast.fill(va, pa, write);
    return pa;
  }

  /**
   * An LR/SC/AMO's translation of the aligned `va`: the fast front first, as the loads and
   * stores do (an LR needs a read entry; an SC or AMO a write entry, which the front holds only
   * for a writable, dirty page), else the TLB (faulting as the access would).
   */
  private translateAligned(va: number, write: boolean): number {
    const i = (va >>> 12) & FAST_TLB_MASK;
    if ((va & ~OFFSET_MASK) === (write ? this.writeTag[i] : this.readTag[i])) {
      this.fast.hits++;
      return (va + this.addend[i]!) >>> 0;
    }
    return this.translate(va, write);
  }

  /** FENCE (any predecessor/successor sets): a full barrier. */
  fence(): void {
    this.reservations.fence();
  }

  // --- A extension (va already checked 4-byte aligned) ---

  lrW(va: number): number {
    this.vclock?.atomic();
    return this.reservations.loadReserved(this.translateAligned(va, false));
  }

  /** SC.W: 0 when it stored, 1 when it failed (what rd gets). */
  scW(va: number, value: number): number {
    this.vclock?.atomic();
    // SC needs write permission even when it will fail, and faults (COW) like a store: a COW
    // fault moves the word to a new frame, so the reservation (on the old frame) fails.
    const pa = this.translateAligned(va, true);
    if (this.codeFrames[pa >>> 12] !== 0) this.dc.invalidateStore(pa, 4);
    return this.reservations.storeConditional(pa, value) ? 0 : 1;
  }

  amo(kind: AmoKind, va: number, operand: number): number {
    this.vclock?.atomic();
    const pa = this.translateAligned(va, true);
    if (this.codeFrames[pa >>> 12] !== 0) this.dc.invalidateStore(pa, 4);
    return this.reservations.amo(kind, pa, operand);
  }

  // --- slow paths ---

  /** A store of `size` bytes at `pa` (within one frame) hits a code frame or a reserved bucket. */
  private beforeStore(pa: number, size: number): void {
    if (this.codeFrames[pa >>> 12] !== 0) this.dc.invalidateStore(pa, size);
    const r = this.reservations;
    if (r.reservedAt(pa)) r.breakAt(pa);
    const last = pa + size - 1;
    if (((last ^ pa) & ~3) !== 0 && r.reservedAt(last)) r.breakAt(last);
  }

  /** A misaligned 2- or 4-byte load: byte by byte, little-endian; zero-extended for size 2. */
  private loadMisaligned(va: number, size: number): number {
    const first = this.mmu.translate(va, false);
    const pageLeft = OFFSET_MASK + 1 - (va & OFFSET_MASK);
    const second = size > pageLeft ? this.mmu.translate((va + pageLeft) | 0, false) : first + pageLeft;
    let value = 0;
    for (let k = 0; k < size; k++) value |= this.bytes[k < pageLeft ? first + k : second + (k - pageLeft)]! << (8 * k);
    return size === 4 ? value : value & 0xffff;
  }

  /**
   * A misaligned 2- or 4-byte store: both pages translated for writing before any byte lands,
   * so a fault on the second page leaves memory untouched (the instruction is restartable).
   */
  private storeMisaligned(va: number, size: number, value: number): void {
    const first = this.mmu.translate(va, true);
    const pageLeft = OFFSET_MASK + 1 - (va & OFFSET_MASK);
    const crosses = size > pageLeft;
    const second = crosses ? this.mmu.translate((va + pageLeft) | 0, true) : first + pageLeft;
    if (crosses) {
      this.beforeStore(first, pageLeft);
      this.beforeStore(second, size - pageLeft);
    } else {
      this.beforeStore(first, size);
    }
    for (let k = 0; k < size; k++) this.bytes[k < pageLeft ? first + k : second + (k - pageLeft)] = value >>> (8 * k);
  }
}
