/**
 * The hypervisor's frame table: for every frame of guest RAM its type (none, L1 page table, L2
 * page directory, writable page), the type count, the pinned flag and the owner — Xen's struct
 * page_info reduced to what validation needs. The words live in hvState (src/hv/xen/hypervisor/layout.ts),
 * shared by every vCPU. Runs on any vCPU worker.
 *
 * Invariants (hold whenever XEN_CTL.lock is free):
 *   1. count 0 <=> type PGT_none, not pinned.
 *   2. An L1 frame's count = validated L2 entries pointing at it + 1 if pinned; an L2 frame's
 *      count = 1 if pinned (pvemu has no linear page tables, so nothing else references an L2).
 *   3. A PGT_writable_page frame's count = present RW entries of validated L1 frames mapping it.
 *   4. Entries of a frame whose type is L1 or L2 hold references (2, 3); entries of an untyped
 *      frame hold none, whatever they contain.
 *
 * Mutation happens only with the frame-table lock held (`_locked` methods). One hypercall's
 * changes are made inside beginOp/commitOp; a request that fails half-way calls rollbackOp, which
 * restores every word it changed, so a refused request leaves the table exactly as it found it.
 */
import { InternalError } from '../../../lib/errors.js';
import { WaitKind } from '../../../hw/layout.js';
import { TakeWhileWaiting, type VcpuWait, type WaitSite } from '../../../hw/wait.js';
import { DOMID_GUEST, DOMID_XEN, XEN_EINVAL, XEN_EPERM } from '../abi.js';
import { FRAME, FrameTableInit, PGT_l1_page_table, PGT_l2_page_table, PGT_pinned, PGT_TYPE_MASK, XEN_CTL, type XenLayout } from './layout.js';

/** How long, in ms, one sleep lasts while another vCPU builds the frame table (it sends no wake). */
const INIT_WAIT_SLICE_MS = 1;

/** Waiting for the vCPU that claimed the frame table's construction to finish it. */
const FRAME_TABLE_WAIT: WaitSite = {
  kind: WaitKind.HvSetup,
  take: TakeWhileWaiting.Nothing,
  describe: () => 'for another vCPU to build the Xen frame table',
};

export class FrameTable {
  /** Undo log of the current operation: (word index, old value) pairs, `undoTop` words used. Worker-local. */
  private undo = new Int32Array(256);
  private undoTop = 0;
  private logging = false;

  constructor(readonly words: Int32Array, readonly layout: XenLayout) {}

  /**
   * The domain builder's step: give the guest every frame below usableFrames and the hypervisor
   * the rest. The first vCPU to get here does it; the others wait until it is done (each vCPU's
   * backend is created at its worker's start, before any of them runs guest code).
   */
  ensureInitialised(wait: VcpuWait): void {
    const { words, layout } = this;
    // ORDERING: the winner's compareExchange claims the work; its final store of Ready pairs with
    // the losers' loads below, so they see every owner word written before it.
    const seen = Atomics.compareExchange(words, XEN_CTL.initState, FrameTableInit.Untouched, FrameTableInit.InProgress);
    if (seen === FrameTableInit.Untouched) {
      // ORDERING: these stores and the plain owner writes below are published by the store of
      // Ready at the end (pairs with the losers' load of initState).
      Atomics.store(words, XEN_CTL.ramFrames, layout.ramFrames);
      Atomics.store(words, XEN_CTL.usableFrames, layout.usableFrames);
      for (let f = 0; f < layout.ramFrames; f++) {
        const b = layout.frameBase(f);
        words[b + FRAME.typeInfo] = 0;
        words[b + FRAME.owner] = f < layout.usableFrames ? DOMID_GUEST : DOMID_XEN;
      }
      // ORDERING: release of everything above; pairs with the load in the loop below.
      Atomics.store(words, XEN_CTL.initState, FrameTableInit.Ready);
      return;
    }
    wait.begin(FRAME_TABLE_WAIT, 0);
    // ORDERING: pairs with the winner's store of Ready: the owners are visible once we see it.
    while (Atomics.load(words, XEN_CTL.initState) !== FrameTableInit.Ready) {
      // A bounded sleep; the winner does not notify, the slice ends it.
      wait.sleep(words, XEN_CTL.initState, FrameTableInit.InProgress, INIT_WAIT_SLICE_MS);
    }
    wait.end();
  }

  /** The frame's type_info word. Any vCPU, lock or not (a lock-free read is a hint, Linux's PagePinned). */
  typeInfo(frame: number): number {
    // ORDERING: pairs with setTypeInfo_locked's Atomics.store (under the lock).
    return Atomics.load(this.words, this.layout.frameBase(frame) + FRAME.typeInfo);
  }

  owner(frame: number): number {
    // ORDERING: owners are written once, before initState says Ready (ensureInitialised).
    return Atomics.load(this.words, this.layout.frameBase(frame) + FRAME.owner);
  }

  /** 0 when `frame` is RAM the guest owns; -EINVAL outside RAM; -EPERM for a frame of another domain. */
  checkOwned(frame: number): number {
    if (!Number.isInteger(frame) || frame < 0 || frame >= this.layout.ramFrames) return -XEN_EINVAL;
    return this.owner(frame) === DOMID_GUEST ? 0 : -XEN_EPERM;
  }

  /** Whether the frame is a validated page table (L1 or L2, count > 0): its entries change only by hypercall. */
  isPageTable(frame: number): boolean {
    // Invariant 1: a typed frame has a non-zero count.
    const type = this.typeInfo(frame) & PGT_TYPE_MASK;
    return type === PGT_l1_page_table || type === PGT_l2_page_table;
  }

  isPinned(frame: number): boolean {
    return (this.typeInfo(frame) & PGT_pinned) !== 0;
  }

  // ---- mutation: frame-table lock held --------------------------------------------------------

  /** Start one request's changes (lock held). */
  beginOp(): void {
    this.undoTop = 0;
    this.logging = true;
  }

  /** Keep them. */
  commitOp(): void {
    this.logging = false;
    this.undoTop = 0;
  }

  /** Undo every word changed since beginOp, newest first. */
  rollbackOp(): void {
    const u = this.undo;
    for (let i = this.undoTop - 2; i >= 0; i -= 2) {
      // ORDERING: as setTypeInfo_locked; other vCPUs read these words only as hints.
      Atomics.store(this.words, u[i]!, u[i + 1]!);
    }
    this.logging = false;
    this.undoTop = 0;
  }

  setTypeInfo_locked(frame: number, value: number): void {
    const index = this.layout.frameBase(frame) + FRAME.typeInfo;
    if (!this.logging) {
      throw new InternalError(`frame 0x${frame.toString(16)}: frame-table change outside a hypervisor operation`);
    }
    if (this.undoTop === this.undo.length) {
      const grown = new Int32Array(this.undo.length * 2);
      grown.set(this.undo);
      this.undo = grown;
    }
    this.undo[this.undoTop++] = index;
    this.undo[this.undoTop++] = this.words[index]!;
    // ORDERING: pairs with typeInfo's Atomics.load on other vCPUs (guest-side hints); the lock's
    // release orders it for the next holder.
    Atomics.store(this.words, index, value);
  }
}
