/**
 * One vCPU's cache of pre-decoded code pages, keyed by physical frame. Worker-local (only the
 * owning vCPU's RvCore uses it), so plain typed arrays and no Atomics.
 *
 * A page is PAGE_SLOTS decoded slots (decode.ts) plus a sentinel slot whose op is PageEnd, so
 * falling off the page's last instruction leaves the interpreter's inner loop; the sentinel's
 * immediate word holds the epoch the page was last validated at. Slots decode lazily (a fresh
 * page is all Undecoded).
 *
 * A page also holds the blocks jit.ts compiled from it (by entry slot), their lengths, and a
 * heat counter per entry slot (how often the interpreter entered a block there). Anything that
 * drops a decoded slot drops every compiled block of the page with it: a block is only as
 * valid as the slots it was compiled from.
 *
 * Coherence with guest memory, weakest guarantee first:
 *  - This vCPU's own stores (plain, misaligned, AMO, SC) to a frame with a decoded page drop the
 *    slots they overwrite at once (invalidateStore), so self-modifying code takes effect on the
 *    next execution of the slot even without FENCE.I (RISC-V lets it take effect any time up to
 *    the FENCE.I).
 *  - Everything else — other vCPUs' stores, the kernel writing a frame it then maps as code
 *    (exec, copy-on-write) — is caught by revalidation: a page entered at a newer epoch than its
 *    own is compared slot by slot with RAM, and slots whose raw word changed go back to
 *    Undecoded. The core moves the epoch on FENCE.I and on a remote instruction-cache flush.
 *    A frame reused for new code is caught by its generation when the kernel counts frees
 *    (FrameGens: a page whose frame was freed since it was validated is revalidated on entry);
 *    without that count, the core moves the epoch whenever its TLB was flushed or CR3/PCID
 *    changed (a frame can only be reused after the old mapping is gone, and that removal
 *    flushes this vCPU's TLB before it can run the new code).
 */
import { DECODED_STRIDE, Op, decodeInto } from './decode.js';
import type { RvMemory } from './memory.js';

/**
 * A compiled block (jit.ts): registers, memory, the page's virtual address, the end of its
 * slice and the instructions the chain it is part of retired before it (both counted from the
 * dispatcher's call; a looping block goes round while a whole block more fits), and how many
 * chained calls deep it is (chain.ts); m.ran says how many the chain retired.
 */
export type BlockFn = (x: Int32Array, m: RvMemory, pageVa: number, limit: number, ran: number, depth: number) => number;

/** Instruction slots per 4 KiB page. */
export const PAGE_SLOTS = 1024;
/** Int32 words of a decoded page: the slots and the PageEnd sentinel. */
export const PAGE_WORDS = (PAGE_SLOTS + 1) * DECODED_STRIDE;
/** Word index of the sentinel slot's immediate: the epoch the page was last validated at. */
const EPOCH_WORD = PAGE_SLOTS * DECODED_STRIDE + 1;
/**
 * Code pages kept before the cache starts over (as QEMU flushes its whole translation buffer
 * when full). A page costs about 31 KiB of host memory (decoded slots, block table, lengths,
 * heat) plus its compiled blocks, so 2048 pages — 8 MiB of guest code, far above what pvemu's
 * programs execute — are about 64 MiB per vCPU.
 */
export const MAX_DECODED_PAGES = 2048;

/** Heat value marking an entry slot whose block cannot be compiled (it starts with an op jit.ts leaves to the interpreter). */
export const HEAT_NEVER = 0xffff;

/** One frame's decoded code. */
export class CodePage {
  /** Decoded slots (decode.ts layout) and the PageEnd sentinel. */
  readonly decoded = new Int32Array(PAGE_WORDS);
  /** Compiled block by entry slot (undefined: none yet). */
  readonly blocks: (BlockFn | undefined)[] = new Array<BlockFn | undefined>(PAGE_SLOTS + 1).fill(undefined);
  /** Instructions in blocks[slot]. */
  readonly blockLen = new Int32Array(PAGE_SLOTS + 1);
  /** Interpreted entries into a block at each slot, or HEAT_NEVER. */
  readonly heat = new Uint16Array(PAGE_SLOTS + 1);
  /** Compiled blocks held (0: skip dropBlocks). */
  compiled = 0;

  /** The frame's generation (FrameGens) when the page was last validated. */
  frameGen = 0;

  constructor(readonly frame: number, epoch: number) {
    this.decoded[PAGE_SLOTS * DECODED_STRIDE] = Op.PageEnd;
    this.decoded[EPOCH_WORD] = epoch;
  }

  /** Decode slot `slot` from RAM if it is not decoded yet. */
  ensureDecoded(slot: number, ram: Int32Array): void {
    const at = slot * DECODED_STRIDE;
    if (this.decoded[at] === Op.Undecoded) decodeInto(ram[this.frame * PAGE_SLOTS + slot]!, this.decoded, at);
  }

  /** Forget every compiled block (a slot they were compiled from changed). */
  dropBlocks(): void {
    if (this.compiled === 0) return;
    this.blocks.fill(undefined);
    this.blockLen.fill(0);
    this.heat.fill(0);
    this.compiled = 0;
  }
}

/**
 * Where the kernel counts, per frame, how often it freed it (src/kernel/layout.ts frameGens):
 * `words[base + frame]`, in guest memory. A page validated at one count can only hold other
 * code once the count moved.
 */
export interface FrameGens {
  readonly words: Int32Array;
  readonly base: number;
}

export class DecodeCache {
  /** Code page by frame number. */
  private readonly pages: (CodePage | undefined)[];
  /** 1 where pages[frame] exists: the store path's cheap "is this frame code?" test. */
  readonly codeFrames: Uint8Array;
  private live: number[] = [];
  /** Moves on everything that may have changed code behind this cache (see the header). */
  epoch = 1;
  /** Pages revalidated, slots dropped by revalidation or own stores, and times the cache filled up. */
  revalidations = 0;
  slotsDropped = 0;
  restarts = 0;

  constructor(private readonly ram: Int32Array, frames: number, private readonly gens: FrameGens | null = null) {
    this.pages = new Array<CodePage | undefined>(frames).fill(undefined);
    this.codeFrames = new Uint8Array(frames);
  }

  /** Whether frames' reuse is tracked (FrameGens), so TLB flushes need not move the epoch. */
  get tracksReuse(): boolean {
    return this.gens !== null;
  }

  /** The frame's current generation, or 0 without FrameGens. */
  private genOf(frame: number): number {
    // ORDERING: pairs with the frame allocator's Atomics.add when it frees the frame.
    return this.gens === null ? 0 : Atomics.load(this.gens.words, this.gens.base + frame);
  }

  /**
   * The code page of `frame`, valid for the current epoch: created empty, or revalidated if it
   * was last checked at an older epoch.
   */
  enter(frame: number): CodePage {
    let page = this.pages[frame];
    if (page === undefined) {
      if (this.live.length >= MAX_DECODED_PAGES) this.dropAll();
      page = new CodePage(frame, this.epoch);
      page.frameGen = this.genOf(frame);
      this.pages[frame] = page;
      this.codeFrames[frame] = 1;
      this.live.push(frame);
      return page;
    }
    if (page.decoded[EPOCH_WORD] !== this.epoch) {
      this.revalidate(page);
    } else if (this.gens !== null) {
      // The frame was freed (and perhaps refilled) since the page was validated.
      const gen = this.genOf(frame);
      if (gen !== page.frameGen) {
        page.frameGen = gen;
        this.revalidate(page);
      }
    }
    return page;
  }

  /**
   * Whether `page` is still what enter() would return for its frame with nothing to revalidate:
   * validated at the current epoch (a cache restart moves the epoch too, so a page dropped by
   * it never passes) and, with FrameGens, its frame not freed since. The page-entry cache
   * (chain.ts) asks this before running a page it kept.
   */
  isCurrent(page: CodePage): boolean {
    return page.decoded[EPOCH_WORD] === this.epoch && (this.gens === null || this.genOf(page.frame) === page.frameGen);
  }

  /** isCurrent without the frame's reuse count: validated at the current epoch. */
  isCurrentEpoch(page: CodePage): boolean {
    return page.decoded[EPOCH_WORD] === this.epoch;
  }

  /** Compare every decoded slot's raw word with RAM; drop the ones that changed. */
  private revalidate(page: CodePage): void {
    this.revalidations++;
    const ram = this.ram;
    const d = page.decoded;
    const base = page.frame * PAGE_SLOTS;
    let dropped = 0;
    for (let slot = 0, at = 0; slot < PAGE_SLOTS; slot++, at += DECODED_STRIDE) {
      if (d[at] !== Op.Undecoded && d[at + 2] !== ram[base + slot]) {
        d[at] = Op.Undecoded;
        dropped++;
      }
    }
    if (dropped > 0) {
      this.slotsDropped += dropped;
      page.dropBlocks();
    }
    d[EPOCH_WORD] = this.epoch;
  }

  /**
   * This vCPU stored `size` bytes (1, 2 or 4, not crossing a frame) at physical address `pa`
   * of a frame with a code page: drop the slots the bytes fall in, and the page's blocks.
   */
  invalidateStore(pa: number, size: number): void {
    const page = this.pages[pa >>> 12];
    if (page === undefined) return;
    const first = (pa & 0xfff) >>> 2;
    const last = ((pa + size - 1) & 0xfff) >>> 2;
    page.decoded[first * DECODED_STRIDE] = Op.Undecoded;
    page.decoded[last * DECODED_STRIDE] = Op.Undecoded;
    this.slotsDropped++;
    page.dropBlocks();
  }

  /** FENCE.I and friends: every page is revalidated before it runs again. */
  newEpoch(): void {
    this.epoch = (this.epoch + 1) | 0;
  }

  /** Code pages held. */
  get size(): number {
    return this.live.length;
  }

  private dropAll(): void {
    this.restarts++;
    // Pages held elsewhere (the page-entry cache, chain.ts) must not outlive the restart: they
    // were validated at an older epoch from now on.
    this.newEpoch();
    for (const frame of this.live) {
      this.pages[frame] = undefined;
      this.codeFrames[frame] = 0;
    }
    this.live = [];
  }
}
