/**
 * LR/SC reservations and AMOs across vCPUs, on guest RAM and the RISC-V block (layout.ts).
 * One `Reservations` per vCPU, used only by that vCPU's RvCore; the words it touches are shared
 * by every vCPU.
 *
 * The reservation set is one aligned word (the granule). A reservation is (pa, bucket, gen,
 * value): the word's physical address, its hash bucket, the bucket's generation when LR read
 * it, and the value LR loaded. The protocol, for a hart H reserving word W in bucket B:
 *
 *   LR    L1 Atomics.add(B.holders, 1)        publish "someone holds a reservation in B"
 *         L2 g = Atomics.load(B.gen)
 *         L3 v = Atomics.load(W)
 *   SC    C1 Atomics.compareExchange(B.gen, g, g + 1) === g   no store hit B since L2; and
 *                                                             claim it: other holders' C1 fails
 *         C2 Atomics.compareExchange(W, v, new) === v         W still holds what LR read
 *         C3 Atomics.sub(B.holders, 1)                         (on success and on failure)
 *   store S1 if (B.holders !== 0)                 a plain load: the store path stays cheap
 *         S2   Atomics.add(B.gen, 1)               break every reservation in B
 *         S3 the store itself (plain, or an AMO's Atomics op)
 *
 * Why it holds:
 *  1. Another hart's SC or AMO to W between H's LR and SC bumps B.gen (C1 of an SC, S2 of an
 *     AMO) or changes W, so H's C1 or C2 fails. Two SCs cannot both pass C1 from the same g.
 *  2. Another hart's ordinary store to W whose S1 sees holders != 0 (it ran after L1) bumps
 *     B.gen (S2) before it lands (S3). If H's C1 comes after that bump, H's SC fails. If H's C1
 *     came first, H claimed the bucket before the store announced itself and the store is
 *     ordered after the SC: it overwrites the SC's value, or, landing before C2 with a different
 *     value, makes C2 fail.
 *  3. A store whose S1 ran before L1 became visible (holders still 0), racing with the LR: if it
 *     wrote a different value, C2 sees the change and the SC fails. If it wrote the very value
 *     LR read, the SC succeeds — the one inexact case: the store is ordered before the LR
 *     although it landed just after it. Nobody can tell from W's value; a third hart that read
 *     a different value in between could (ABA within the few nanoseconds of an LR's window).
 *     Making it exact needs a full fence on every store, which would cost the store path about
 *     10 ns (an Atomics op on Node 20); this trade-off is deliberate.
 *  4. Bucket sharing (two words 16 KiB apart) only adds spurious SC failures, which RISC-V
 *     allows; the constrained LR/SC loop still makes progress because nothing bumps B between a
 *     hart's LR and SC unless some hart stores into B.
 *  5. The kernel's own writes to user memory (through the TS MMU accessors) do not bump
 *     buckets; a system call or interrupt between LR and SC drops the reservation anyway (see
 *     RvCore: every trap clears it, as Linux's ret_from_exception does with a dummy SC).
 */
import { RESV_BUCKET, RESV_MASK, fenceWord, resvBase } from './layout.js';

export class Reservations {
  /** Whether this hart holds a reservation. */
  valid = false;
  /** Physical byte address of the reserved word. */
  private pa = 0;
  /** Word index (in `words`) of the reservation's bucket. */
  private bucket = 0;
  private gen = 0;
  private value = 0;
  /** Word index of the first bucket. */
  readonly base: number;
  private readonly fenceAt: number;

  constructor(
    /** The RISC-V block (layout.ts). */
    readonly words: Int32Array,
    /** Guest RAM as words. */
    private readonly ram: Int32Array,
    cpu: number,
    cpus: number,
  ) {
    this.base = resvBase(cpus);
    this.fenceAt = fenceWord(cpu);
  }

  /** Word index of the bucket for the word at physical address `pa`. */
  bucketOf(pa: number): number {
    return this.base + ((pa >>> 2) & RESV_MASK) * RESV_BUCKET.WORDS;
  }

  /**
   * Store path, S1: whether some hart holds a reservation in the bucket of `pa` (a plain load;
   * see the header's case 3 for what that costs in exactness).
   */
  reservedAt(pa: number): boolean {
    // ORDERING: S1, a plain load by design (header, case 3); pairs with LR's Atomics.add (L1).
    return this.words[this.bucketOf(pa) + RESV_BUCKET.holders] !== 0;
  }

  /** Store path, S2: break every reservation in the bucket of `pa`. Call before the store lands. */
  breakAt(pa: number): void {
    // ORDERING: pairs with other harts' SC step C1 (compareExchange of this gen): this bump,
    // made before our store, makes their SC fail if it has not claimed the bucket yet.
    Atomics.add(this.words, this.bucketOf(pa) + RESV_BUCKET.gen, 1);
  }

  /** LR.W at the aligned physical address `pa`: reserve it and return the word. */
  loadReserved(pa: number): number {
    this.clear();
    const b = this.bucketOf(pa);
    // ORDERING: L1 pairs with other harts' plain S1 load of holders: once this add is visible,
    // their stores to the bucket bump gen (S2) before they land.
    Atomics.add(this.words, b + RESV_BUCKET.holders, 1);
    // ORDERING: L2 after L1; pairs with other harts' S2 bumps and SC C1 exchanges of this gen.
    this.gen = Atomics.load(this.words, b + RESV_BUCKET.gen);
    // ORDERING: L3 after L2; pairs with other harts' C2 compareExchange and AMOs on this word.
    this.value = Atomics.load(this.ram, pa >>> 2);
    this.pa = pa;
    this.bucket = b;
    this.valid = true;
    return this.value;
  }

  /**
   * SC.W of `value` to the aligned physical address `pa` (translated for writing). Returns
   * true when it stored. Success or failure, the reservation is gone afterwards.
   */
  storeConditional(pa: number, value: number): boolean {
    if (!this.valid) return false;
    const b = this.bucket;
    let ok = false;
    if (pa === this.pa) {
      // ORDERING: C1 pairs with other harts' S2 bumps and C1 exchanges of this gen (header
      // cases 1 and 2): it fails if any of them happened since our L2, and it breaks theirs.
      if (Atomics.compareExchange(this.words, b + RESV_BUCKET.gen, this.gen, (this.gen + 1) | 0) === this.gen) {
        // ORDERING: C2 pairs with every other access to this word (plain stores, AMOs, other
        // harts' C2): it stores only if the word still holds what our L3 read.
        ok = Atomics.compareExchange(this.ram, pa >>> 2, this.value, value) === this.value;
      }
    }
    this.release();
    return ok;
  }

  /** Drop the reservation, if any (a trap, a context switch, a new LR). */
  clear(): void {
    if (this.valid) this.release();
  }

  private release(): void {
    this.valid = false;
    // ORDERING: C3 pairs with other harts' S1 loads of holders: after this, their stores to
    // the bucket stop bumping gen on our account (harmless either way).
    Atomics.sub(this.words, this.bucket + RESV_BUCKET.holders, 1);
  }

  /**
   * FENCE: a full barrier. A locked read-modify-write on this vCPU's own fence line (x86 LOCK
   * XADD, sequentially consistent for Atomics), so earlier guest stores are globally visible
   * before later guest loads — the one reordering TSO hardware does — without a shared line.
   */
  fence(): void {
    // ORDERING: a full fence; pairs with whatever fence or atomic the other hart uses to order
    // its side (guest-level: FENCE, an AMO with aq/rl, an LR/SC).
    Atomics.add(this.words, this.fenceAt, 0);
  }

  /**
   * An AMO at the aligned physical address `pa`: break reservations in its bucket (it is a
   * store), then perform `op` atomically; returns the old value.
   */
  amo(op: AmoKind, pa: number, operand: number): number {
    const ram = this.ram;
    const at = pa >>> 2;
    if (this.reservedAt(pa)) this.breakAt(pa);
    // ORDERING (every case): a sequentially consistent read-modify-write of the guest word,
    // pairing with other harts' AMOs, SC C2 exchanges and plain accesses to it. The guest's
    // aq/rl bits ask for no more than this.
    switch (op) {
      case AmoKind.Swap: return Atomics.exchange(ram, at, operand);
      case AmoKind.Add: return Atomics.add(ram, at, operand);
      case AmoKind.Xor: return Atomics.xor(ram, at, operand);
      case AmoKind.And: return Atomics.and(ram, at, operand);
      case AmoKind.Or: return Atomics.or(ram, at, operand);
      case AmoKind.Min: return casLoop(ram, at, operand, min);
      case AmoKind.Max: return casLoop(ram, at, operand, max);
      case AmoKind.Minu: return casLoop(ram, at, operand, minu);
      case AmoKind.Maxu: return casLoop(ram, at, operand, maxu);
      default: {
        const never: never = op;
        return never;
      }
    }
  }
}

export const enum AmoKind {
  Swap,
  Add,
  Xor,
  And,
  Or,
  Min,
  Max,
  Minu,
  Maxu,
}

const min = (a: number, b: number): number => (a < b ? a : b);
const max = (a: number, b: number): number => (a > b ? a : b);
const minu = (a: number, b: number): number => ((a >>> 0) < (b >>> 0) ? a : b);
const maxu = (a: number, b: number): number => ((a >>> 0) > (b >>> 0) ? a : b);

/** A read-modify-write Atomics has no single op for: compare-exchange until no one interfered. */
function casLoop(ram: Int32Array, at: number, operand: number, f: (old: number, operand: number) => number): number {
  // ORDERING: pairs with other harts' atomic accesses to this word (see Reservations.amo).
  let old = Atomics.load(ram, at);
  for (;;) {
    // ORDERING: as above; a failed exchange returns the newer value to retry with.
    const seen = Atomics.compareExchange(ram, at, old, f(old, operand));
    if (seen === old) return old;
    old = seen;
  }
}
