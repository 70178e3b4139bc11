/**
 * Where the shadow-paging hypervisor keeps things: its bookkeeping in the backend state buffer
 * (hvState, shared by every vCPU) and its shadow tables in guest RAM frames it reserves at the
 * top of RAM (the hardware walker reads tables from RAM, so shadow tables must live there; the
 * kernel never allocates those frames because memory_setup reports RAM below them as usable).
 * Every word is declared here once. Pure offsets; any thread.
 *
 *   hvState (Int32 words)
 *   +-----------------------------+  0
 *   | SHADOW_CTL                  |  lock, its holder, pool cursor and free count, live counts
 *   +-----------------------------+  SHADOW_CTL.WORDS
 *   | pdOf[ramFrames]             |  guest frame -> shadow PD frame (0: not a shadowed guest PD)
 *   | ptOf[ramFrames]             |  guest frame -> shadow PT frame (0: not a shadowed guest PT)
 *   | freeStack[poolFrames]       |  pool frames given back, a stack of frame numbers
 *   | owner[poolFrames]           |  pool frame -> the guest frame it shadows
 *   | ownerPde[poolFrames]        |  shadow PT -> byte address of the shadow PDE pointing at it
 *   | loadedPd[cpus]              |  the shadow PD frame each vCPU has in CR3 (0: none yet)
 *   +-----------------------------+  words
 *
 *   guest RAM
 *   0 ............................ usableBytes ............ ramBytes
 *   | the kernel's (memory_setup) | shadow pool: poolFrames frames |
 *
 * SHADOW_CTL.lock and .lockHolder are the shadow MMU lock's, an HvLock (src/hv/hv-lock.ts).
 * Every word after them is read and written only with that lock held, whose Atomics acquire and
 * release order those plain accesses.
 */
import { defineStruct } from '../../../hw/struct.js';
import { PAGE_SHIFT } from '../../../hw/paging.js';

export const SHADOW_CTL = defineStruct(
  'shadow_ctl',
  {
    /** The shadow MMU lock (an HvLock): 0 free, 1 held, 2 held with waiters (a futex-style mutex). */
    lock: 1,
    /** CPU id + 1 of the lock's holder (0: none), for watchdog messages. */
    lockHolder: 1,
    /** Pool frames handed out at least once: the next never-used one is poolFirst + poolBump. */
    poolBump: 1,
    /** Frames on the pool's free stack. */
    poolFree: 1,
    /** Shadow page directories that exist. */
    livePds: 1,
    /** Shadow page tables that exist. */
    livePts: 1,
  },
  16,
);

/**
 * Fraction of RAM the hypervisor reserves for shadow tables: 1/16 (16 MiB of 256 MiB). One
 * shadow table maps 4 MiB, so the pool shadows 1024 times its own size of guest address space
 * (1 TiB for a 256 MiB guest); when it runs dry anyway, the shadows of directories no vCPU has
 * loaded are reclaimed (tables.ts).
 */
export const SHADOW_POOL_SHIFT = 4;
/**
 * The pool is never smaller than this many frames (2.5 MiB): a directory and its 512 tables for
 * the 2 GiB of address space a tlb_flush workload maps in one mm (its ADDRESS_BUDGET_MB), plus
 * room for the directories of every other loaded address space. At the 16 MiB minimum RAM that
 * is 16% of RAM.
 */
export const MIN_SHADOW_POOL_FRAMES = 640;

export class ShadowLayout {
  readonly ramFrames: number;
  /** Frames reserved for shadow tables, at the top of RAM. */
  readonly poolFrames: number;
  /** First pool frame; also the number of frames the kernel may use. */
  readonly poolFirst: number;
  readonly pdOf: number;
  readonly ptOf: number;
  readonly freeStack: number;
  readonly owner: number;
  readonly ownerPde: number;
  readonly loadedPd: number;
  /** hvState size in words. */
  readonly words: number;

  constructor(readonly ramBytes: number, readonly cpus: number) {
    this.ramFrames = ramBytes >>> PAGE_SHIFT;
    this.poolFrames = Math.min(this.ramFrames >>> 1, Math.max(MIN_SHADOW_POOL_FRAMES, this.ramFrames >>> SHADOW_POOL_SHIFT));
    this.poolFirst = this.ramFrames - this.poolFrames;
    let w = SHADOW_CTL.WORDS;
    const take = (n: number): number => {
      const at = w;
      w += n;
      return at;
    };
    this.pdOf = take(this.ramFrames);
    this.ptOf = take(this.ramFrames);
    this.freeStack = take(this.poolFrames);
    this.owner = take(this.poolFrames);
    this.ownerPde = take(this.poolFrames);
    this.loadedPd = take(cpus);
    this.words = w;
  }

  /** Guest RAM the kernel may use, in bytes. */
  get usableBytes(): number {
    return this.poolFirst << PAGE_SHIFT;
  }

  /** Is `frame` one of the hypervisor's shadow-table frames? */
  inPool(frame: number): boolean {
    return frame >= this.poolFirst && frame < this.ramFrames;
  }

  /** Index of pool frame `frame` in the per-pool-frame arrays. */
  poolIndex(frame: number): number {
    return frame - this.poolFirst;
  }
}
