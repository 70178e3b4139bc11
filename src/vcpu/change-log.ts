/**
 * The coherence checker's shared record of user page-table changes and of the shootdowns that
 * cover them (--check; the verdict's argument is in docs/coherence.md). One SharedArrayBuffer
 * for the machine, written by every vCPU, read by each vCPU's checker on its own TLB hits.
 *
 * One sequence counter orders everything: each event takes the next number with Atomics.add.
 *
 *   announce  a vCPU is about to change the PTE of (mm, page): taken BEFORE the store (which a
 *             backend may batch until it leaves lazy MMU mode), kept as the page's last change
 *             (the one before moves to prev), with no commit yet;
 *   commit    the stores announced on a vCPU are in the page tables: taken right after the pv op
 *             outside lazy MMU mode, else when the vCPU leaves lazy mode or begins a flush;
 *   begin     a flush_tlb_mm_range of (mm, range) begins (after its tlb_gen bump), into the mm's
 *             ring of recent flushes; marked done once flush_tlb_others has returned.
 *
 * A TLB entry remembers the order's number as its walk finished (fillMark, the MMU's insertGen).
 * A change announced later than that cannot have been seen by the walk: its store came after. The change
 * that made an entry stale is the first one announced after its fill; a flush covers it when
 * the flush began after its commit (the store was in the tables before the flush began) and its
 * range holds the page. Numbers are Int32: a run may take 2^31 of them.
 *
 * Layout, Int32 words: a control line (the counter, chunks handed out); per mm slot (MAX_MMS) a
 * directory of 768 chunk numbers (one per 4 MiB of user space, 0: none yet), the flush ring's
 * head, the newest begin number of a done flush, and the ring; then the chunks, each 1024 page
 * records of [last announce, last commit, prev announce, prev commit]. Untouched chunks are
 * zero pages the host never materialises.
 */
import { PAGE_OFFSET, PAGE_SHIFT, PAGE_SIZE } from '../hw/paging.js';
import { InternalError } from '../lib/errors.js';
import { MAX_MMS } from '../lib/limits.js';
import { TLB_FLUSH_ALL } from '../pv/ops.js';

/** Flushes each mm remembers; an older covering flush is forgotten (a later verdict, never an early one). */
export const FLUSH_LOG_ENTRIES = 64;
/** Chunks of 1024 page records for the whole machine (16 KiB each, materialised as used). */
export const CHANGE_CHUNKS = 8192;

const USER_PAGES = PAGE_OFFSET >>> PAGE_SHIFT;
const CHUNK_PAGES = 1024;
const DIR_ENTRIES = USER_PAGES / CHUNK_PAGES;
const REC_WORDS = 4;
const REC = { lastAnnounce: 0, lastCommit: 1, prevAnnounce: 2, prevCommit: 3 } as const;
const CTL = { seq: 0, chunksUsed: 1 } as const;
const CTL_WORDS = 16;
/** A ring entry: begin number, first page, end page (exclusive; -1: everything), initiator, done. */
const LOG = { begin: 0, startPage: 1, endPage: 2, cpu: 3, done: 4 } as const;
const LOG_WORDS = 5;
const SLOT = { dir: 0, head: DIR_ENTRIES, maxDone: DIR_ENTRIES + 1, log: DIR_ENTRIES + 2 } as const;
const SLOT_WORDS = SLOT.log + FLUSH_LOG_ENTRIES * LOG_WORDS;
const CHUNKS_BASE = CTL_WORDS + MAX_MMS * SLOT_WORDS;

/** Bytes of the machine's change log. */
export function changeLogBytes(): number {
  return (CHUNKS_BASE + CHANGE_CHUNKS * CHUNK_PAGES * REC_WORDS) * 4;
}

/** A done flush that covers a change: what the report names as the flush that should have removed the entry. */
export interface CoveringFlush {
  /** Its begin number in the change log's order. */
  seq: number;
  /** Its range in bytes: [start, end), or the whole address space (start = end = TLB_FLUSH_ALL). */
  start: number;
  end: number;
  /** The vCPU that made it. */
  cpu: number;
}

/** One vCPU's view of the machine's change log. */
export class ChangeLog {
  private readonly i32: Int32Array;
  /** Announced on this vCPU inside lazy MMU mode and not committed yet: (record word, announce) pairs. */
  private pending: number[] = [];
  private lazy = 0;

  constructor(sab: SharedArrayBuffer, private readonly cpu: number) {
    if (sab.byteLength < changeLogBytes()) throw new InternalError(`change log: ${sab.byteLength} bytes, needs ${changeLogBytes()}`);
    this.i32 = new Int32Array(sab);
  }

  /** The next number of the machine's order. */
  private next(): number {
    // ORDERING: the machine-wide order of announces, commits and flush begins.
    return Atomics.add(this.i32, CTL.seq, 1) + 1;
  }

  /** The first word of the record of (mm slot, page), or -1 if none exists and `create` is false. */
  private record(slot: number, page: number, create: boolean): number {
    const i32 = this.i32;
    const dirWord = CTL_WORDS + slot * SLOT_WORDS + SLOT.dir + (page >>> 10);
    // ORDERING: pairs with the compareExchange below that publishes a zeroed chunk.
    let chunk = Atomics.load(i32, dirWord);
    if (chunk === 0) {
      if (!create) return -1;
      const mine = Atomics.add(i32, CTL.chunksUsed, 1) + 1;
      if (mine > CHANGE_CHUNKS) {
        throw new InternalError(`coherence checker: its change log is full (${CHANGE_CHUNKS} chunks of ${CHUNK_PAGES} pages)`);
      }
      // A race to create the same chunk leaves the loser's chunk unused: a little space, no wait.
      const seen = Atomics.compareExchange(i32, dirWord, 0, mine);
      chunk = seen === 0 ? mine : seen;
    }
    return CHUNKS_BASE + ((chunk - 1) * CHUNK_PAGES + (page & (CHUNK_PAGES - 1))) * REC_WORDS;
  }

  /**
   * A change of the PTE of `va` in mm slot `slot` is about to be stored (before the pv op). The
   * caller commits it (changeStored) once the store is in the page tables.
   */
  announce(slot: number, va: number): number {
    const r = this.record(slot, va >>> PAGE_SHIFT, true);
    const i32 = this.i32;
    const a = this.next();
    // ORDERING: the announce is visible before the PTE store that follows (in the pv op); pairs
    // with lastAnnounced's load after a walk. Changes of one PTE are serialised by the kernel's
    // page-table locks; a commit racing a later announce may be lost (the change then never
    // counts as covered: a later verdict, never an early one).
    Atomics.store(i32, r + REC.prevAnnounce, Atomics.load(i32, r + REC.lastAnnounce));
    Atomics.store(i32, r + REC.prevCommit, Atomics.load(i32, r + REC.lastCommit));
    Atomics.store(i32, r + REC.lastCommit, 0);
    Atomics.store(i32, r + REC.lastAnnounce, a);
    this.pending.push(r, a);
    return a;
  }

  /** The pv op that stored an announced change returned: outside lazy MMU mode the store is in the tables. */
  changeStored(): void {
    if (this.lazy === 0) this.commit();
  }

  /** Lazy MMU mode (pv_misc_ops): a backend may hold PTE stores back until it leaves. */
  enterLazy(): void {
    this.lazy++;
  }

  leaveLazy(): void {
    if (this.lazy > 0) this.lazy--;
    if (this.lazy === 0) this.commit();
  }

  /** Every change announced on this vCPU is in the page tables now. */
  commit(): void {
    const p = this.pending;
    if (p.length === 0) return;
    const i32 = this.i32;
    const s = this.next();
    for (let k = 0; k < p.length; k += 2) {
      const r = p[k]!;
      const a = p[k + 1]!;
      // ORDERING: after the stores (the pv op returned, or the lazy batch was issued); pairs
      // with firstChangeAfter's loads. A flush that begins after this number covers the change.
      if (Atomics.load(i32, r + REC.lastAnnounce) === a) Atomics.store(i32, r + REC.lastCommit, s);
      else if (Atomics.load(i32, r + REC.prevAnnounce) === a) Atomics.store(i32, r + REC.prevCommit, s);
    }
    p.length = 0;
  }

  /**
   * The order's number now, read after a walk: an entry's fill mark. A change announced after it
   * was stored after the walk read its PTE, so the entry cannot reflect it.
   */
  fillMark(): number {
    // ORDERING: after the walk's PTE loads; pairs with announce's add before the PTE store.
    return Atomics.load(this.i32, CTL.seq);
  }

  /**
   * flush_tlb_mm_range(mm slot, start, end) begins (after its tlb_gen bump): commit what this
   * vCPU stored, and enter the flush in the mm's ring. Returns its begin number (flushDone's token).
   */
  flushBegin(slot: number, start: number, end: number): number {
    this.commit();
    const i32 = this.i32;
    const base = CTL_WORDS + slot * SLOT_WORDS;
    const seq = this.next();
    const e = base + SLOT.log + ((Atomics.add(i32, base + SLOT.head, 1) >>> 0) % FLUSH_LOG_ENTRIES) * LOG_WORDS;
    // A seqlock on the entry: its begin is 0 while the fields change, then published last.
    Atomics.store(i32, e + LOG.begin, 0);
    Atomics.store(i32, e + LOG.startPage, start === TLB_FLUSH_ALL ? 0 : start >>> PAGE_SHIFT);
    Atomics.store(i32, e + LOG.endPage, start === TLB_FLUSH_ALL || end === TLB_FLUSH_ALL ? -1 : Math.ceil((end >>> 0) / PAGE_SIZE));
    Atomics.store(i32, e + LOG.cpu, this.cpu);
    Atomics.store(i32, e + LOG.done, 0);
    // ORDERING: publishes the fields above; pairs with coveringFlush's loads of begin around them.
    Atomics.store(i32, e + LOG.begin, seq);
    return seq;
  }

  /** The flush that began as `seq` returned: no CPU may still use what it covered. */
  flushDone(slot: number, seq: number): void {
    const i32 = this.i32;
    const base = CTL_WORDS + slot * SLOT_WORDS;
    for (let k = 0; k < FLUSH_LOG_ENTRIES; k++) {
      const e = base + SLOT.log + k * LOG_WORDS;
      // ORDERING: pairs with coveringFlush's load of done.
      if (Atomics.load(i32, e + LOG.begin) === seq) {
        Atomics.store(i32, e + LOG.done, 1);
        break;
      }
    }
    // maxDone := max(maxDone, seq): the cheap first test of every checked hit.
    for (;;) {
      const old = Atomics.load(i32, base + SLOT.maxDone);
      if (old >= seq || Atomics.compareExchange(i32, base + SLOT.maxDone, old, seq) === old) break;
    }
  }

  /** The newest begin number among the done flushes of mm slot `slot` (0: none). */
  maxDone(slot: number): number {
    // ORDERING: pairs with flushDone's compareExchange.
    return Atomics.load(this.i32, CTL_WORDS + slot * SLOT_WORDS + SLOT.maxDone);
  }

  /**
   * The commit number of the first change of (slot, va) announced after `filled` (an entry's
   * fill): the change that made the entry stale. 0 when it has no commit yet (its flush cannot
   * have begun), -1 when no change after the fill is recorded. With three or more changes since
   * the fill the first is gone: the second-to-last stands in (later, never earlier).
   */
  firstChangeAfter(slot: number, va: number, filled: number): number {
    const r = this.record(slot, va >>> PAGE_SHIFT, false);
    if (r < 0) return -1;
    const i32 = this.i32;
    // ORDERING: pairs with announce's and commit's stores.
    const prevA = Atomics.load(i32, r + REC.prevAnnounce);
    if (prevA > filled) return Atomics.load(i32, r + REC.prevCommit);
    const lastA = Atomics.load(i32, r + REC.lastAnnounce);
    if (lastA > filled) return Atomics.load(i32, r + REC.lastCommit);
    return -1;
  }

  /**
   * The commit number of the last change of (slot, va) if it was committed before `mark` (a
   * number read before a walk began), else 0: no change recorded, or one still being made.
   */
  committedBefore(slot: number, va: number, mark: number): number {
    const r = this.record(slot, va >>> PAGE_SHIFT, false);
    if (r < 0) return 0;
    // ORDERING: pairs with announce's reset of lastCommit (before its PTE store) and commit's
    // store: a change whose store the caller's read of the tables saw reads 0 or its own commit.
    const c = Atomics.load(this.i32, r + REC.lastCommit);
    return c > 0 && c < mark ? c : 0;
  }

  /** A done flush of mm slot `slot` that began after `after` and covers `va`, or null. */
  coveringFlush(slot: number, va: number, after: number): CoveringFlush | null {
    const i32 = this.i32;
    const base = CTL_WORDS + slot * SLOT_WORDS;
    const page = va >>> PAGE_SHIFT;
    for (let k = 0; k < FLUSH_LOG_ENTRIES; k++) {
      const e = base + SLOT.log + k * LOG_WORDS;
      // ORDERING: the entry's seqlock: begin before and after the fields, pairs with flushBegin.
      const begin = Atomics.load(i32, e + LOG.begin);
      if (begin <= after) continue;
      const startPage = Atomics.load(i32, e + LOG.startPage);
      const endPage = Atomics.load(i32, e + LOG.endPage);
      const cpu = Atomics.load(i32, e + LOG.cpu);
      const done = Atomics.load(i32, e + LOG.done);
      if (Atomics.load(i32, e + LOG.begin) !== begin || done === 0) continue;
      const all = endPage === -1;
      if (!all && (page < startPage || page >= endPage)) continue;
      return {
        seq: begin,
        start: all ? TLB_FLUSH_ALL : startPage * PAGE_SIZE,
        end: all ? TLB_FLUSH_ALL : endPage * PAGE_SIZE,
        cpu,
      };
    }
    return null;
  }
}
