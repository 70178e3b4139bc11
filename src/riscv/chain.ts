/**
 * Block chaining: what lets a compiled block (jit.ts) continue into the next one without going
 * back to the core's dispatcher (core.ts), within its page and into other pages. One per
 * RvCore, worker-local (no Atomics between the core and its blocks; the two shared words it
 * polls are named below with their pairs).
 *
 * Two parts, both owned by the core and read by every block it compiled:
 *
 * - The slice window. The core polls for interrupts every POLL_INTERVAL instructions and a
 *   block never runs past the slice it was given. A chain of blocks counts its instructions
 *   from the dispatcher's call (the blocks pass the running count `ex` along), so the window is
 *   two counts on that scale: `sliceEnd`, where the current slice ends, and `runEnd`, where the
 *   run's budget ends. A chained call to a block that would cross `sliceEnd` (or a looping
 *   block's next round, within jit.ts's LOOP_CALL_INSNS) calls extend(): that is the core's
 *   poll boundary, taken early at the block's start exactly as the dispatcher's straddle rule
 *   does — if no interrupt is pending, no remote FENCE.I was
 *   requested and the TLB was not flushed since the page was entered, a fresh slice starts
 *   there and the block goes on; otherwise the block returns and the dispatcher polls (and
 *   takes the interrupt, moves the decode epoch, or re-translates). So an interrupt still waits
 *   at most POLL_INTERVAL instructions, and the budget stays exact.
 *
 * - The page-entry cache. Entering a code page costs a translation and a decode-cache lookup
 *   (its epoch and the frame's reuse count); a call into libc's page and the return to the
 *   caller's page did both every time. The cache keeps, per fast-TLB slot (hw/fast-tlb.ts, the
 *   same direct-mapped index), the page's virtual base, the fast TLB's addend for it, the TLB
 *   flush generation and the CodePage. An entry is used only while all of these hold:
 *     - the fast TLB still holds the same translation (tag and addend): every TLB flush
 *       (INVLPG, full, PCID, global) and every CR3 write clears the fast TLB's entries, and a
 *       refill to another frame changes the addend;
 *     - the TLB's flush generation is the one the entry was made at (any flush of this vCPU's
 *       TLB, even one that left the fast entry alone, drops every entry);
 *     - the CodePage is still current (DecodeCache.isCurrent): validated at the decode cache's
 *       epoch (FENCE.I, a remote icache flush, a cache restart and, without frame reuse counts,
 *       any TLB flush or CR3/PCID change move it) and, with FrameGens, its frame not freed since
 *       (checked once per slice: the core holds a page it runs in for a slice without checking
 *       again, and a frame's mapping must be shot down, at a poll boundary, before its reuse).
 *   A hit is a fast-TLB hit and is counted as one, as the fetch it replaces was.
 *
 * Compiled blocks reach it as `K`, which jit.ts's factory closes over.
 */
import type { Tlb } from '../hw/tlb.js';
import { FAST_TLB_ENTRIES, FAST_TLB_MASK } from '../hw/fast-tlb.js';
import type { CodePage, DecodeCache } from './decode-cache.js';
import { RV_CTL } from './layout.js';

/**
 * Instructions between interrupt polls. A poll is an Atomics.load (about 10 ns on Node 20)
 * plus a code-page re-translation; every 128 instructions that is well under 0.5 ns per
 * instruction, and an IPI waits at most 128 instructions to be taken (about a microsecond at
 * the interpreter's speed, less in compiled code) — the order of the Atomics round trip the
 * shootdown path itself costs.
 */
export const POLL_INTERVAL = 128;

/**
 * Deepest chain of block calls (each chained block is a JavaScript call from its predecessor):
 * past it, a block returns to the dispatcher, which starts a new chain. Keeps the host stack
 * small whatever the guest does.
 */
export const MAX_CHAIN_DEPTH = 48;

const NO_PAGE = -1;

export class ChainContext {
  /** Where the current slice ends, counted from the dispatcher's block call. */
  sliceEnd = 0;
  /** Where the run's budget ends, on the same count. */
  runEnd = 0;
  /** The TLB's flush generation when the dispatcher entered the page the chain started in. */
  pageGen = 0;
  /** The remote FENCE.I generation the decode cache was last synchronised with (RV_CTL.icacheGen). */
  seenIcacheGen = 0;
  /**
   * The page the innermost chained block runs in: its virtual base and CodePage. A block that
   * chained into another page returns a slot of that page (or faults there); the core reads
   * these to know which.
   */
  pageVa = 0;
  page: CodePage | null = null;
  /** Slice boundaries passed inside compiled code (extend() succeeded). */
  polls = 0;
  /**
   * Counts slices (the core's poll boundaries and extend()'s): a page whose frame's reuse count
   * was checked in this slice is not checked again in it (see lookup()).
   */
  slice = 0;

  private readonly entryVa = new Int32Array(FAST_TLB_ENTRIES).fill(NO_PAGE);
  private readonly entryAddend = new Int32Array(FAST_TLB_ENTRIES);
  private readonly entryGen = new Float64Array(FAST_TLB_ENTRIES);
  private readonly entryPage: (CodePage | undefined)[] = new Array<CodePage | undefined>(FAST_TLB_ENTRIES).fill(undefined);
  /** The slice in which the entry's frame reuse count was last checked. */
  private readonly entryChecked = new Float64Array(FAST_TLB_ENTRIES).fill(-1);
  private readonly readTag: Int32Array;
  private readonly addend: Int32Array;

  constructor(
    readonly tlb: Tlb,
    private readonly dc: DecodeCache,
    private readonly pollWords: Int32Array,
    private readonly pollIndex: number,
    private readonly shared: Int32Array,
    /**
     * --clock virtual: blocks take no poll boundary themselves; every boundary is the
     * dispatcher's, where the core gives the instructions retired to the vCPU's clock.
     */
    private readonly virtual = false,
  ) {
    this.readTag = tlb.fast.readTag;
    this.addend = tlb.fast.addend;
  }

  /**
   * A block at instruction `at` (on the chain's count) needs `need` more instructions, past
   * `limit`, the end of its slice: poll here, early, as the dispatcher would before a block that
   * straddles a boundary. Returns the new slice end, or `limit` unchanged when the block must go
   * back to the dispatcher instead (the budget ends first, an interrupt or remote FENCE.I is
   * pending, or the TLB was flushed behind the chain).
   */
  extend(limit: number, at: number, need: number): number {
    if (this.virtual) return limit;
    const runEnd = this.runEnd;
    if (at + need > runEnd) return limit;
    // ORDERING: pairs with the APIC senders' Atomics.or of the pending word (as the core's poll
    // does); a pending interrupt sends the block back.
    if (Atomics.load(this.pollWords, this.pollIndex) !== 0) return limit;
    // ORDERING: pairs with RvCore.flushIcacheAll's Atomics.add (a remote FENCE.I).
    if (Atomics.load(this.shared, RV_CTL.icacheGen) !== this.seenIcacheGen) return limit;
    if (this.tlb.generation !== this.pageGen) return limit;
    this.polls++;
    this.slice++;
    const end = at + POLL_INTERVAL;
    this.sliceEnd = end < runEnd ? end : runEnd;
    return this.sliceEnd;
  }

  /**
   * The CodePage to run at page base `va`, if the cache holds a current entry for it (see the
   * header). The caller counts the fetch as a fast-TLB hit when it uses it. Otherwise
   * undefined: translate and enter the page the long way (and fill()).
   */
  lookup(va: number): CodePage | undefined {
    const i = (va >>> 12) & FAST_TLB_MASK;
    if (this.entryVa[i] !== va || this.readTag[i] !== va || this.entryAddend[i] !== this.addend[i] || this.entryGen[i] !== this.tlb.generation) return undefined;
    const page = this.entryPage[i]!;
    if (this.entryChecked[i] === this.slice) {
      // The frame's reuse count (an Atomics.load, about 12 ns on Node 20) was checked in this
      // slice already: a frame can be freed only after its mapping was shot down, which this
      // vCPU takes at a poll boundary, so within a slice the epoch alone decides — as the core
      // holds its current page for a whole slice.
      return this.dc.isCurrentEpoch(page) ? page : undefined;
    }
    if (!this.dc.isCurrent(page)) return undefined;
    this.entryChecked[i] = this.slice;
    return page;
  }

  /**
   * Remember that page base `va` runs `page`, valid for the fast TLB's current translation of
   * va: only if the fast TLB holds one to `page`'s frame (it is never filled under --check, so
   * there every fetch translates through the TLB).
   */
  fill(va: number, page: CodePage): void {
    const i = (va >>> 12) & FAST_TLB_MASK;
    if (this.readTag[i] !== va || ((va + this.addend[i]!) >>> 12) !== page.frame) return;
    this.entryVa[i] = va;
    this.entryAddend[i] = this.addend[i]!;
    this.entryGen[i] = this.tlb.generation;
    this.entryPage[i] = page;
  }
}
