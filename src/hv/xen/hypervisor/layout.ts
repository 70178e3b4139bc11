/**
 * Where the Xen-style hypervisor keeps its state: the backend state buffer (hvState), shared by
 * every vCPU, and a few frames at the top of guest RAM it keeps for itself. Every word is
 * declared here once. Pure offsets and encodings; any thread.
 *
 *   hvState (Int32 words)
 *   +-----------------------------+  0
 *   | XEN_CTL                     |  frame-table and guest pin locks (and their holders),
 *   |                             |  init state, frame counts
 *   +-----------------------------+  XEN_CTL.WORDS
 *   | XEN_VCPU  cpu 0             |  flush mailbox (request, posted, done), current base
 *   | XEN_VCPU  cpu 1 ...         |  one 64-byte line per vCPU
 *   +-----------------------------+  XenLayout.frameTable
 *   | FRAME  frame 0              |  type_info (type | pinned | count), owner
 *   | FRAME  frame 1 ...          |  one per RAM frame
 *   +-----------------------------+  XenLayout.words
 *
 *   guest RAM
 *   0 ................................. usableBytes ............. ramBytes
 *   | owned by the guest (DOMID_GUEST)  | DOMID_XEN: XEN_RESERVED_FRAMES |
 *
 * Who writes what:
 *   - FRAME words and XEN_VCPU.currentBase: only with XEN_CTL.lock held (src/hv/hv-lock.ts);
 *     guest-side code may read a FRAME word without it (Linux's PagePinned test), with Atomics.
 *   - XEN_CTL.lock, .pinLock and their holder words: only their HvLocks (src/hv/hv-lock.ts).
 *   - XEN_VCPU flush words: the remote-flush protocol (src/hv/xen/hypervisor/remote-flush.ts).
 *   - XEN_CTL.initState and the owners: once, by the first vCPU to boot its backend.
 */
import { defineStruct } from '../../../hw/struct.js';
import { PAGE_SHIFT } from '../../../hw/paging.js';

export const XEN_CTL = defineStruct(
  'xen_ctl',
  {
    /**
     * The frame-table lock (Xen's per-domain page lock), an HvLock (src/hv/hv-lock.ts): 0 free,
     * 1 held, 2 held with waiters.
     */
    lock: 1,
    /** CPU id + 1 of the frame-table lock's holder (0: none), for watchdog messages. */
    lockHolder: 1,
    /**
     * The guest's pin lock (Linux's xen_activate_mm takes mm->page_table_lock around
     * xen_pgd_pin): guest-side data kept here because pvemu gives a backend no guest memory of its
     * own. An HvLock like `lock`.
     */
    pinLock: 1,
    /** CPU id + 1 of the pin lock's holder (0: none), for watchdog messages. */
    pinLockHolder: 1,
    /** FrameTableInit: 0 untouched, 1 a vCPU is initialising the frame table, 2 ready. */
    initState: 1,
    /** Frames the guest owns (from 0); frames above, up to ramFrames, are DOMID_XEN's. */
    usableFrames: 1,
    /** Frames of guest RAM. */
    ramFrames: 1,
  },
  16,
);

export const enum FrameTableInit {
  Untouched = 0,
  InProgress = 1,
  Ready = 2,
}

/** One vCPU's line: the hypervisor's remote-flush mailbox and its current page directory. */
export const XEN_VCPU = defineStruct(
  'xen_vcpu',
  {
    /** Flush owed to this vCPU (FlushKind in the low bits, the page for FLUSH_INVLPG); 0 none. */
    flushRequest: 1,
    /** Requests posted here so far (initiators add 1 after posting; the sum is their ticket). */
    postSeq: 1,
    /** The newest postSeq this vCPU has flushed for (written by this vCPU only). */
    doneSeq: 1,
    /** NEW_BASEPTR's frame + 1 (0: none yet): UNPIN_TABLE refuses any vCPU's current base. */
    currentBase: 1,
  },
  16,
);

/** One frame's entry in the frame table (Xen's struct page_info, reduced). */
export const FRAME = defineStruct('frame_info', {
  /** PGT_type | PGT_pinned | count (see below). */
  typeInfo: 1,
  /** Owning domain: DOMID_GUEST or DOMID_XEN. */
  owner: 1,
});

// ---- FRAME.typeInfo (Xen's page_info.u.inuse.type_info) ----------------------------------------
//   31 30  29 28   27        26 ......................... 0
//   +-----+-------+--------+------------------------------+
//   |  0  | type  | pinned |  type count                  |
//   +-----+-------+--------+------------------------------+
/** Where the type sits. */
export const PGT_TYPE_SHIFT = 28;
export const PGT_TYPE_MASK = 3 << PGT_TYPE_SHIFT;
/** PGT_none: no type; the frame is ordinary memory (count 0). */
export const PGT_none = 0;
/** An L1 page table (a page of PTEs), validated: its entries hold references. */
export const PGT_l1_page_table = 1 << PGT_TYPE_SHIFT;
/** An L2 page table (a page directory), validated. */
export const PGT_l2_page_table = 2 << PGT_TYPE_SHIFT;
/** Mapped writable by `count` entries of validated L1 tables. */
export const PGT_writable_page = 3 << PGT_TYPE_SHIFT;
/** Pinned by the guest (MMUEXT_PIN_L*_TABLE): holds one type reference until unpinned. */
export const PGT_pinned = 1 << 27;
/** The type count: references that keep the type (validated entries, a pin). */
export const PGT_count_mask = PGT_pinned - 1;

// ---- XEN_VCPU.flushRequest -------------------------------------------------------------------
/** Low bits of a flush request: what to flush. */
export const FLUSH_KIND_MASK = 3;
/** Invalidate one page (the request's page-aligned high bits). */
export const FLUSH_INVLPG = 1;
/** Flush the whole TLB, global entries included. */
export const FLUSH_FULL = 2;

/**
 * Frames at the top of RAM the hypervisor keeps (DOMID_XEN): 16 frames, 64 KiB. pvemu's Xen keeps
 * nothing there; the frames exist so that "a frame the guest does not own" is a real frame of
 * RAM, as every Xen guest has them (Xen's own heap, other domains' memory).
 */
export const XEN_RESERVED_FRAMES = 16;

/** Word positions in hvState for one machine. */
export class XenLayout {
  readonly ramFrames: number;
  readonly usableFrames: number;
  /** Word index of frame 0's FRAME entry. */
  readonly frameTable: number;
  /** hvState words in all. */
  readonly words: number;

  constructor(ramBytes: number, readonly cpus: number) {
    this.ramFrames = ramBytes >>> PAGE_SHIFT;
    this.usableFrames = Math.max(0, this.ramFrames - XEN_RESERVED_FRAMES);
    this.frameTable = XEN_CTL.WORDS + cpus * XEN_VCPU.WORDS;
    this.words = this.frameTable + this.ramFrames * FRAME.WORDS;
  }

  get bytes(): number {
    return this.words * 4;
  }

  /** Word index of cpu's XEN_VCPU line. */
  vcpuBase(cpu: number): number {
    return XEN_CTL.WORDS + cpu * XEN_VCPU.WORDS;
  }

  /** Word index of frame's FRAME entry. */
  frameBase(frame: number): number {
    return this.frameTable + frame * FRAME.WORDS;
  }
}
