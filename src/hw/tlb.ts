/**
 * One vCPU's TLB: set-associative, PCID-tagged, with global entries.
 * Runs only on the owning vCPU's worker. Its arrays are ordinary worker-local typed arrays, not
 * shared memory: no other thread can see them, so there are no Atomics here, and no owner
 * assertion either (another thread cannot even hold a reference to a Tlb). Another CPU that
 * wants this TLB flushed queues a request that this vCPU serves (QEMU's async-work rule).
 *
 * Two arrays, each `sets * ways` entries, entry i in set i / ways:
 *
 *   4 KiB:  tag = vpn (va >>> 12)   set = vpn & (sets - 1)
 *   4 MiB:  tag = va >>> 22         set = tag & (largeSets - 1)
 *
 *   per entry:  tag (-1 = invalid) | pcid (-1 = global: matches every PCID) | pfn | flags
 *
 * pfn is the 4 KiB frame for a small entry and the first 4 KiB frame of the 4 MiB frame for a
 * large one. flags are the walker's effective bits (RW and US combined across levels, leaf D
 * and G). Replacement: fill an invalid way if the set has one, else round-robin per set, so the
 * same sequence of operations always gives the same contents.
 */
import { ConfigError, InternalError } from '../lib/errors.js';
import type { VcpuCounters } from '../stats/counters.js';
import { LARGE_PAGE_SHIFT, PAGE_SHIFT, PTE_G } from './paging.js';
import { FastTlb } from './fast-tlb.js';

export interface TlbGeometry {
  /** Sets in the 4 KiB array; a power of two. */
  sets: number;
  /** Ways per set in the 4 KiB array, 1..16. */
  ways: number;
  /** Sets in the 4 MiB array; a power of two. */
  largeSets: number;
  /** Ways per set in the 4 MiB array, 1..16. */
  largeWays: number;
}

/**
 * Default geometry. 4 MiB pages: 8 sets x 4 ways = 32 entries, the 32-entry 4-way 2M/4M L1 dTLB
 * that Intel's Optimization Reference Manual lists for Skylake. 4 KiB pages: 64 sets x 4 ways =
 * 256 entries. Skylake's L1 dTLB has 64 4 KiB entries (4-way, so 16 sets) backed by a
 * 1536-entry STLB; 256 entries stands in for both levels at the scale of pvemu's workloads,
 * which touch tens to hundreds of pages per task, so a walk means a flush or a conflict, not
 * routine capacity misses.
 */
export const DEFAULT_TLB: TlbGeometry = Object.freeze({ sets: 64, ways: 4, largeSets: 8, largeWays: 4 });

/** Highest PCID: CR3 carries 12 bits of it. */
export const MAX_PCID = 4095;
/** The pcid stored for a global entry: it matches a lookup under any PCID. */
const GLOBAL_PCID = -1;
const INVALID_TAG = -1;
const MAX_WAYS = 16;
/** 4 KiB frames per 4 MiB page. */
const LARGE_FRAMES = 1 << (LARGE_PAGE_SHIFT - PAGE_SHIFT);

export class Tlb {
  /** Flags of the entry the last successful `lookup` found. Valid only right after a hit. */
  hitFlags = 0;

  private readonly setMask: number;
  private readonly ways: number;
  private readonly tags: Int32Array;
  private readonly pcids: Int16Array;
  private readonly pfns: Int32Array;
  private readonly flags: Int32Array;
  private readonly victim: Uint8Array;
  private readonly globals: GlobalSlots;

  private readonly largeSetMask: number;
  private readonly largeWays: number;
  private readonly largeTags: Int32Array;
  private readonly largePcids: Int16Array;
  private readonly largePfns: Int32Array;
  private readonly largeFlags: Int32Array;
  private readonly largeVictim: Uint8Array;
  private readonly largeGlobals: GlobalSlots;

  /**
   * --check only (null otherwise): per entry, the flush generation of its address space read
   * before the walk that filled it (Mmu's CoherenceSource.beforeWalk), indexed like `tags`.
   */
  private gens: Int32Array | null = null;
  private largeGens: Int32Array | null = null;

  /**
   * Fault injection (MachineConfig.inject.dropFlushesCpu): when true, flushSingle, flushAll,
   * flushPcid and flushAllIncludingGlobal count but drop nothing, once `dropAfter` of them have
   * run normally: a CPU that acknowledges a shootdown without flushing. CR3 writes still flush
   * (they pass `force`): the broken part is the flush protocol, not the CPU's context switch.
   */
  dropFlushes = false;
  /** Flushes that still work before dropFlushes takes effect. */
  dropAfter = 0;

  /**
   * Bumped by every flush that drops entries (flushAll, flushAllIncludingGlobal, flushPcid,
   * flushSingle; not by a flush an injected fault dropped). A cache of translations kept
   * outside this TLB — the RISC-V interpreter's current code page (src/riscv/core.ts) — compares
   * it to learn that a translation it holds may have been shot down, as an instruction TLB is
   * flushed by the same INVLPG and CR3 writes as the data TLB. Never decreases.
   */
  generation = 0;

  /**
   * The direct-mapped front the RV32 accesses use (fast-tlb.ts). Every change to this TLB's
   * contents clears what it cached of the page (or all of it), so it never holds more.
   */
  readonly fast = new FastTlb();

  constructor(readonly geometry: TlbGeometry, private readonly counters: VcpuCounters) {
    validate('tlb.sets', 'tlb.ways', geometry.sets, geometry.ways);
    validate('tlb.largeSets', 'tlb.largeWays', geometry.largeSets, geometry.largeWays);
    const size = geometry.sets * geometry.ways;
    this.setMask = geometry.sets - 1;
    this.ways = geometry.ways;
    this.tags = new Int32Array(size).fill(INVALID_TAG);
    this.pcids = new Int16Array(size);
    this.pfns = new Int32Array(size);
    this.flags = new Int32Array(size);
    this.victim = new Uint8Array(geometry.sets);
    this.globals = new GlobalSlots(size);

    const largeSize = geometry.largeSets * geometry.largeWays;
    this.largeSetMask = geometry.largeSets - 1;
    this.largeWays = geometry.largeWays;
    this.largeTags = new Int32Array(largeSize).fill(INVALID_TAG);
    this.largePcids = new Int16Array(largeSize);
    this.largePfns = new Int32Array(largeSize);
    this.largeFlags = new Int32Array(largeSize);
    this.largeVictim = new Uint8Array(geometry.largeSets);
    this.largeGlobals = new GlobalSlots(largeSize);
  }

  /**
   * Hot path. Look up virtual page `vpn` under `pcid`: returns the 4 KiB frame backing it and
   * leaves the entry's flags in `hitFlags`, or returns -1 on a miss. Counts a hit or a miss.
   * The caller checks permissions against `hitFlags`; the lookup does not.
   */
  lookup(vpn: number, pcid: number): number {
    const tags = this.tags;
    const pcids = this.pcids;
    let i = (vpn & this.setMask) * this.ways;
    for (const end = i + this.ways; i < end; i++) {
      if (tags[i] === vpn) {
        const p = pcids[i];
        if (p === pcid || p === GLOBAL_PCID) {
          this.hitFlags = this.flags[i];
          this.counters.tlbHits++;
          return this.pfns[i];
        }
      }
    }
    return this.lookupLarge(vpn, pcid);
  }

  /** The 4 MiB half of `lookup`, kept apart so the 4 KiB hit path stays small. */
  private lookupLarge(vpn: number, pcid: number): number {
    const tag = vpn >>> (LARGE_PAGE_SHIFT - PAGE_SHIFT);
    let i = (tag & this.largeSetMask) * this.largeWays;
    for (const end = i + this.largeWays; i < end; i++) {
      if (this.largeTags[i] === tag) {
        const p = this.largePcids[i];
        if (p === pcid || p === GLOBAL_PCID) {
          this.hitFlags = this.largeFlags[i];
          this.counters.tlbHits++;
          return this.largePfns[i] + (vpn & (LARGE_FRAMES - 1));
        }
      }
    }
    this.counters.tlbMisses++;
    return -1;
  }

  /**
   * Cache a translation of `va` under `pcid` (a walker result). `pfn` is the 4 KiB frame
   * backing va; for a `large` entry it is masked to its 4 MiB frame's first frame. If `flags`
   * has PTE_G the entry is global. Every entry for the same page the new one overlaps is
   * replaced (a dirty assist refreshing D, or a retried access after a fault): this PCID's and
   * any global one, or, for a global entry, every PCID's.
   */
  insert(va: number, pcid: number, pfn: number, flags: number, large: boolean, gen = 0): void {
    checkPcid(pcid);
    const storedPcid = (flags & PTE_G) !== 0 ? GLOBAL_PCID : pcid;
    if (large) {
      const tag = va >>> LARGE_PAGE_SHIFT;
      const set = tag & this.largeSetMask;
      const i = chooseWay(this.largeTags, this.largePcids, this.largeVictim, set, this.largeWays, tag, pcid, storedPcid === GLOBAL_PCID);
      // A 4 MiB entry changes 1024 pages' translations (and may evict another's): forget all.
      this.fast.clearAll();
      this.largeTags[i] = tag;
      this.largePcids[i] = storedPcid;
      this.largePfns[i] = pfn & ~(LARGE_FRAMES - 1);
      this.largeFlags[i] = flags;
      if (storedPcid === GLOBAL_PCID) this.largeGlobals.add(i);
      if (this.largeGens !== null) this.largeGens[i] = gen;
    } else {
      const tag = va >>> PAGE_SHIFT;
      const set = tag & this.setMask;
      const i = chooseWay(this.tags, this.pcids, this.victim, set, this.ways, tag, pcid, storedPcid === GLOBAL_PCID);
      // The page's old translation, and the evicted entry's page, leave the fast front too.
      if (this.tags[i] !== INVALID_TAG) this.fast.clearPage(this.tags[i]!);
      this.fast.clearPage(tag);
      this.tags[i] = tag;
      this.pcids[i] = storedPcid;
      this.pfns[i] = pfn;
      this.flags[i] = flags;
      if (storedPcid === GLOBAL_PCID) this.globals.add(i);
      if (this.gens !== null) this.gens[i] = gen;
    }
  }

  /** Start recording each entry's insert generation (--check). Clears nothing else. */
  enableGenerations(): void {
    this.gens ??= new Int32Array(this.tags.length);
    this.largeGens ??= new Int32Array(this.largeTags.length);
  }

  /**
   * The insert generation of the entry `lookup(vpn, pcid)` would find (same search order), or
   * -1 if there is none or generations are not recorded. Does not count a hit or a miss.
   */
  hitGen(vpn: number, pcid: number): number {
    if (this.gens === null || this.largeGens === null) return -1;
    let i = (vpn & this.setMask) * this.ways;
    for (const end = i + this.ways; i < end; i++) {
      const p = this.pcids[i];
      if (this.tags[i] === vpn && (p === pcid || p === GLOBAL_PCID)) return this.gens[i]!;
    }
    const tag = vpn >>> (LARGE_PAGE_SHIFT - PAGE_SHIFT);
    i = (tag & this.largeSetMask) * this.largeWays;
    for (const end = i + this.largeWays; i < end; i++) {
      const p = this.largePcids[i];
      if (this.largeTags[i] === tag && (p === pcid || p === GLOBAL_PCID)) return this.largeGens[i]!;
    }
    return -1;
  }

  /** Whether an injected fault drops this flush (see dropFlushes). */
  private dropped(force: boolean): boolean {
    if (!this.dropFlushes || force) return false;
    if (this.dropAfter > 0) {
      this.dropAfter--;
      return false;
    }
    return true;
  }

  /** Drop the non-global entries of every PCID (MOV to CR3 without PCID). Counts tlbFlushesFull. */
  flushAll(force = false): void {
    this.counters.tlbFlushesFull++;
    if (this.dropped(force)) return;
    this.generation++;
    this.fast.clearAll();
    this.globals.dropNonGlobal(this.tags, this.pcids);
    this.largeGlobals.dropNonGlobal(this.largeTags, this.largePcids);
  }

  /** Drop every entry, global ones too (toggling CR4.PGE). Counts tlbFlushesGlobal. */
  flushAllIncludingGlobal(): void {
    this.counters.tlbFlushesGlobal++;
    if (this.dropped(false)) return;
    this.generation++;
    this.fast.clearAll();
    this.tags.fill(INVALID_TAG);
    this.largeTags.fill(INVALID_TAG);
    this.globals.clear();
    this.largeGlobals.clear();
  }

  /** Drop the non-global entries of one PCID (MOV to CR3 with PCID, INVPCID single-context). Counts tlbFlushesFull. */
  flushPcid(pcid: number, force = false): void {
    checkPcid(pcid);
    this.counters.tlbFlushesFull++;
    if (this.dropped(force)) return;
    this.generation++;
    this.fast.clearAll();
    dropPcid(this.tags, this.pcids, pcid);
    dropPcid(this.largeTags, this.largePcids, pcid);
  }

  /**
   * INVLPG: drop the entry for `va` under `pcid` and any global entry for va, 4 KiB or 4 MiB.
   * Entries of other PCIDs for the same va stay, as on x86. Counts tlbFlushesSingle.
   */
  flushSingle(va: number, pcid: number): void {
    this.counters.tlbFlushesSingle++;
    if (this.dropped(false)) return;
    this.generation++;
    const tag = va >>> PAGE_SHIFT;
    this.fast.clearPage(tag);
    let i = (tag & this.setMask) * this.ways;
    for (const end = i + this.ways; i < end; i++) {
      const p = this.pcids[i];
      if (this.tags[i] === tag && (p === pcid || p === GLOBAL_PCID)) this.tags[i] = INVALID_TAG;
    }
    const largeTag = va >>> LARGE_PAGE_SHIFT;
    i = (largeTag & this.largeSetMask) * this.largeWays;
    for (const end = i + this.largeWays; i < end; i++) {
      const p = this.largePcids[i];
      if (this.largeTags[i] === largeTag && (p === pcid || p === GLOBAL_PCID)) {
        this.largeTags[i] = INVALID_TAG;
        this.fast.clearAll();
      }
    }
  }

  /** Add the fast front's hits to the counters (they are counted in bulk). */
  drainFastHits(): void {
    this.counters.tlbHits += this.fast.hits;
    this.fast.hits = 0;
  }

  /** Valid entries in both arrays (tests, diagnostics). */
  entries(): number {
    let n = 0;
    for (const t of this.tags) if (t !== INVALID_TAG) n++;
    for (const t of this.largeTags) if (t !== INVALID_TAG) n++;
    return n;
  }

  /** Whether a translation of `va` under `pcid` is cached, without counting (tests, diagnostics). */
  probe(va: number, pcid: number): boolean {
    const tag = va >>> PAGE_SHIFT;
    let i = (tag & this.setMask) * this.ways;
    for (const end = i + this.ways; i < end; i++) {
      const p = this.pcids[i];
      if (this.tags[i] === tag && (p === pcid || p === GLOBAL_PCID)) return true;
    }
    const largeTag = va >>> LARGE_PAGE_SHIFT;
    i = (largeTag & this.largeSetMask) * this.largeWays;
    for (const end = i + this.largeWays; i < end; i++) {
      const p = this.largePcids[i];
      if (this.largeTags[i] === largeTag && (p === pcid || p === GLOBAL_PCID)) return true;
    }
    return false;
  }
}

function validate(setsName: string, waysName: string, sets: number, ways: number): void {
  if (!Number.isInteger(sets) || sets < 1 || (sets & (sets - 1)) !== 0) {
    throw new ConfigError(setsName, `must be a power of two, got ${sets}`);
  }
  if (!Number.isInteger(ways) || ways < 1 || ways > MAX_WAYS) {
    throw new ConfigError(waysName, `must be an integer from 1 to ${MAX_WAYS}, got ${ways}`);
  }
}

function checkPcid(pcid: number): void {
  if (!Number.isInteger(pcid) || pcid < 0 || pcid > MAX_PCID) {
    throw new InternalError(`PCID must be an integer from 0 to ${MAX_PCID}, got ${pcid}`);
  }
}

/**
 * The way to fill in `set` for (tag, pcid): the entry already visible to this PCID for the
 * same page if there is one, else an invalid way, else the set's round-robin victim.
 */
function chooseWay(
  tags: Int32Array,
  pcids: Int16Array,
  victim: Uint8Array,
  set: number,
  ways: number,
  tag: number,
  pcid: number,
  global: boolean,
): number {
  const base = set * ways;
  let free = -1;
  let reuse = -1;
  for (let i = base; i < base + ways; i++) {
    const t = tags[i];
    if (t === tag) {
      const p = pcids[i];
      // Every entry for this page the new one overlaps goes: all of them for a global entry
      // (it matches every PCID), else this PCID's and any global one. One translation per page
      // and PCID is left, so a lookup can never find an older one behind the new.
      if (global || p === pcid || p === GLOBAL_PCID) {
        if (reuse < 0) reuse = i;
        else tags[i] = INVALID_TAG;
      }
    } else if (t === INVALID_TAG && free < 0) {
      free = i;
    }
  }
  if (reuse >= 0) return reuse;
  if (free >= 0) return free;
  const way = victim[set];
  victim[set] = (way + 1) % ways;
  return base + way;
}

/**
 * The slots of one entry array that may hold a global entry: a superset, since a slot joins when
 * a global entry is inserted there and leaves at the next flush of the non-global entries if it
 * no longer holds one. That flush then clears the whole array in one fill and puts the few
 * global entries back, instead of testing every entry (a loop over 256 entries costs about
 * half a microsecond on Node 20; a remote full flush sits on a shootdown's critical path).
 */
class GlobalSlots {
  private readonly slots: Int32Array;
  private readonly listed: Uint8Array;
  private readonly saved: Int32Array;
  private count = 0;

  constructor(size: number) {
    this.slots = new Int32Array(size);
    this.listed = new Uint8Array(size);
    this.saved = new Int32Array(size);
  }

  /** A global entry went into slot `i`. */
  add(i: number): void {
    if (this.listed[i] !== 0) return;
    this.listed[i] = 1;
    this.slots[this.count++] = i;
  }

  /** Invalidate every entry of `tags` but the global ones. */
  dropNonGlobal(tags: Int32Array, pcids: Int16Array): void {
    let kept = 0;
    for (let k = 0; k < this.count; k++) {
      const i = this.slots[k]!;
      const tag = tags[i]!;
      if (tag !== INVALID_TAG && pcids[i] === GLOBAL_PCID) {
        this.slots[kept] = i;
        this.saved[kept++] = tag;
      } else {
        this.listed[i] = 0;
      }
    }
    this.count = kept;
    tags.fill(INVALID_TAG);
    for (let k = 0; k < kept; k++) tags[this.slots[k]!] = this.saved[k]!;
  }

  /** Every entry was invalidated, global ones too. */
  clear(): void {
    for (let k = 0; k < this.count; k++) this.listed[this.slots[k]!] = 0;
    this.count = 0;
  }
}

/** Invalidate every non-global entry of `pcid` (global entries carry GLOBAL_PCID, never a real one). */
function dropPcid(tags: Int32Array, pcids: Int16Array, pcid: number): void {
  for (let i = 0; i < tags.length; i++) {
    if (pcids[i] === pcid) tags[i] = INVALID_TAG;
  }
}
