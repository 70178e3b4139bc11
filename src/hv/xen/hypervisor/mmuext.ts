/**
 * mmuext_op's commands (Xen's do_mmuext_op): pinning and unpinning tables, NEW_BASEPTR, and TLB
 * flushes — local ones on this vCPU's TLB, *_MULTI and *_ALL through the remote-flush mailboxes.
 * Runs on the vCPU making the call. Pin, unpin and NEW_BASEPTR each run as one frame-table
 * operation under the frame-table lock; flushes take no lock (they touch no frame-table word).
 *
 *   PIN_L1_TABLE / PIN_L2_TABLE  validate the frame as that type (if it has none) and take the
 *                                pin's type reference; refused if already pinned
 *   UNPIN_TABLE                  drop the pin's reference; refused if not pinned, or if the frame
 *                                is any vCPU's current base
 *   NEW_BASEPTR                  load a pinned L2 into CR3 (flushing non-global entries)
 *   TLB_FLUSH_LOCAL, INVLPG_LOCAL            this vCPU
 *   TLB_FLUSH_MULTI, INVLPG_MULTI (vcpumask)  the vCPUs in the mask, no guest IPI
 *   TLB_FLUSH_ALL, INVLPG_ALL                every vCPU, this one included
 */
import { InternalError } from '../../../lib/errors.js';
import type { VcpuHardware } from '../../../hw/cpu.js';
import { PAGE_SHIFT } from '../../../hw/paging.js';
import { CpuMask } from '../../../pv/cpumask.js';
import type { HvLock } from '../../hv-lock.js';
import {
  MMUEXT_INVLPG_ALL, MMUEXT_INVLPG_LOCAL, MMUEXT_INVLPG_MULTI, MMUEXT_NEW_BASEPTR, MMUEXT_PIN_L1_TABLE,
  MMUEXT_PIN_L2_TABLE, MMUEXT_PIN_L3_TABLE, MMUEXT_PIN_L4_TABLE, MMUEXT_TLB_FLUSH_ALL, MMUEXT_TLB_FLUSH_LOCAL,
  MMUEXT_TLB_FLUSH_MULTI, MMUEXT_UNPIN_TABLE, XEN_EBUSY, XEN_EINVAL, XEN_ENOSYS, type MmuextOp,
} from '../abi.js';
import type { FrameTable } from './frame-table.js';
import { FLUSH_FULL, FLUSH_INVLPG, PGT_l1_page_table, PGT_l2_page_table, PGT_pinned, PGT_TYPE_MASK, XEN_VCPU, type XenLayout } from './layout.js';
import type { RemoteFlush } from './remote-flush.js';
import type { PageTableValidator } from './validate.js';

export class MmuextCommands {
  private readonly allCpus: CpuMask;

  constructor(
    private readonly hw: VcpuHardware,
    private readonly words: Int32Array,
    private readonly layout: XenLayout,
    private readonly frames: FrameTable,
    private readonly validator: PageTableValidator,
    private readonly lock: HvLock,
    private readonly flush: RemoteFlush,
  ) {
    this.allCpus = CpuMask.all(hw.cpus);
  }

  /** Hypercall entries one op carries: one per flush target, else one. */
  entries(op: MmuextOp): number {
    switch (op.cmd) {
      case MMUEXT_TLB_FLUSH_MULTI:
      case MMUEXT_INVLPG_MULTI:
        return op.vcpumask === null ? 1 : Math.max(1, op.vcpumask.count());
      case MMUEXT_TLB_FLUSH_ALL:
      case MMUEXT_INVLPG_ALL:
        return this.hw.cpus;
      default:
        return 1;
    }
  }

  /** Run one op: 0 or -errno. */
  run(op: MmuextOp): number {
    switch (op.cmd) {
      case MMUEXT_PIN_L1_TABLE:
      case MMUEXT_PIN_L2_TABLE:
      case MMUEXT_UNPIN_TABLE:
      case MMUEXT_NEW_BASEPTR:
        return this.tableOp(op.cmd, op.mfn);
      // Two-level paging has no L3 or L4 tables.
      case MMUEXT_PIN_L3_TABLE:
      case MMUEXT_PIN_L4_TABLE:
        return -XEN_EINVAL;
      case MMUEXT_TLB_FLUSH_LOCAL:
        this.flush.flushLocal(FLUSH_FULL, 0);
        return 0;
      case MMUEXT_INVLPG_LOCAL:
        this.flush.flushLocal(FLUSH_INVLPG, op.linearAddr);
        return 0;
      case MMUEXT_TLB_FLUSH_MULTI:
      case MMUEXT_INVLPG_MULTI: {
        const mask = op.vcpumask;
        if (mask === null || !this.maskValid(mask)) return -XEN_EINVAL;
        const invlpg = op.cmd === MMUEXT_INVLPG_MULTI;
        this.flush.flushOthers(mask, invlpg ? FLUSH_INVLPG : FLUSH_FULL, op.linearAddr, invlpg ? 'INVLPG_MULTI' : 'TLB_FLUSH_MULTI');
        return 0;
      }
      case MMUEXT_TLB_FLUSH_ALL:
        this.flush.flushOthers(this.allCpus, FLUSH_FULL, 0, 'TLB_FLUSH_ALL');
        return 0;
      case MMUEXT_INVLPG_ALL:
        this.flush.flushOthers(this.allCpus, FLUSH_INVLPG, op.linearAddr, 'INVLPG_ALL');
        return 0;
      default:
        return -XEN_ENOSYS;
    }
  }

  /** Whether `frame` is some vCPU's current base (NEW_BASEPTR). Lock held. */
  isCurrentBase_locked(frame: number): boolean {
    for (let c = 0; c < this.layout.cpus; c++) {
      // ORDERING: currentBase is written only under the frame-table lock, which we hold.
      if (Atomics.load(this.words, this.layout.vcpuBase(c) + XEN_VCPU.currentBase) === frame + 1) return true;
    }
    return false;
  }

  /** Every vCPU the mask names exists. */
  private maskValid(mask: CpuMask): boolean {
    return (mask.lo & ~this.allCpus.lo) === 0 && (mask.hi & ~this.allCpus.hi) === 0;
  }

  /** Pin, unpin and NEW_BASEPTR: one frame-table operation each, under the lock. */
  private tableOp(cmd: number, mfn: number): number {
    const owned = this.frames.checkOwned(mfn);
    if (owned !== 0) return owned;
    this.lock.acquire();
    this.frames.beginOp();
    let r: number;
    try {
      switch (cmd) {
        case MMUEXT_PIN_L1_TABLE: r = this.pin_locked(mfn, PGT_l1_page_table); break;
        case MMUEXT_PIN_L2_TABLE: r = this.pin_locked(mfn, PGT_l2_page_table); break;
        case MMUEXT_UNPIN_TABLE: r = this.unpin_locked(mfn); break;
        case MMUEXT_NEW_BASEPTR: r = this.newBaseptr_locked(mfn); break;
        default: throw new InternalError(`Xen mmuext: command ${cmd} is not a table command`);
      }
      if (r === 0) this.frames.commitOp();
      else this.frames.rollbackOp();
    } catch (e) {
      this.frames.rollbackOp();
      throw e;
    } finally {
      this.lock.release();
    }
    return r;
  }

  private pin_locked(mfn: number, type: number): number {
    if ((this.frames.typeInfo(mfn) & PGT_pinned) !== 0) return -XEN_EINVAL;
    const v = this.validator;
    v.validated = 0;
    const r = v.getPageType_locked(mfn, type);
    // Validation work is priced per entry examined, refused or not (the pin itself is one entry).
    this.hw.cost.charge('hypercallEntry', v.validated);
    if (r !== 0) return r;
    this.frames.setTypeInfo_locked(mfn, this.frames.typeInfo(mfn) | PGT_pinned);
    this.hw.counters.pins++;
    return 0;
  }

  private unpin_locked(mfn: number): number {
    const ti = this.frames.typeInfo(mfn);
    if ((ti & PGT_pinned) === 0) return -XEN_EINVAL;
    if (this.isCurrentBase_locked(mfn)) return -XEN_EBUSY;
    this.frames.setTypeInfo_locked(mfn, ti & ~PGT_pinned);
    this.validator.putPageType_locked(mfn);
    this.hw.counters.unpins++;
    return 0;
  }

  private newBaseptr_locked(mfn: number): number {
    const ti = this.frames.typeInfo(mfn);
    if ((ti & PGT_TYPE_MASK) !== PGT_l2_page_table || (ti & PGT_pinned) === 0) return -XEN_EINVAL;
    // ORDERING: written under the lock; isCurrentBase_locked reads it under the same lock.
    Atomics.store(this.words, this.layout.vcpuBase(this.hw.cpu) + XEN_VCPU.currentBase, mfn + 1);
    this.hw.mmu.writeCr3(mfn << PAGE_SHIFT);
    return 0;
  }
}
