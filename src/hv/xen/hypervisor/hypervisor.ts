/**
 * The Xen-style hypervisor as one vCPU calls into it: the hypercalls a PV guest's MMU code uses
 * (mmu_update, mmuext_op, multicall, update_va_mapping, event_channel_op), each returning 0 or a
 * negative Xen errno and counting itself through the vCPU's CostMeter: one hypercall (a VM exit)
 * carrying its entries, and each refused request as rejected. One XenHypervisor per vCPU, on that
 * vCPU's worker; what every vCPU shares (frame table, mailboxes, locks) is in hvState
 * (src/hv/xen/hypervisor/layout.ts). The work itself is in entry-update.ts (page-table stores) and
 * mmuext.ts (pin, unpin, base pointer, flushes).
 *
 * A refused request changes nothing: frame-table words are restored by the operation's undo log,
 * and the target entry is written only after validation succeeded. Like Xen, mmu_update and
 * mmuext_op stop at the first refused request (earlier ones stay done); a multicall runs every
 * entry and leaves each entry's result in it.
 */
import { InternalError } from '../../../lib/errors.js';
import type { VcpuHardware } from '../../../hw/cpu.js';
import { VcpuWait, type WaitPolicy } from '../../../hw/wait.js';
import { CpuMask } from '../../../pv/cpumask.js';
import { HvLock } from '../../hv-lock.js';
import type { BackendFaults } from '../../backend.js';
import {
  EVTCHNOP_send, UVMF_ALL, UVMF_FLUSHTYPE_MASK, UVMF_INVLPG, UVMF_TLB_FLUSH, XEN_EINVAL, XEN_ENOSYS,
  __HYPERVISOR_mmu_update, __HYPERVISOR_mmuext_op, newMmuextOp, type MmuextOp, type MmuUpdate, type MulticallEntry,
} from '../abi.js';
import { EntryUpdates } from './entry-update.js';
import { FrameTable } from './frame-table.js';
import { FLUSH_FULL, FLUSH_INVLPG, XEN_CTL, XenLayout } from './layout.js';
import { MmuextCommands } from './mmuext.js';
import { RemoteFlush } from './remote-flush.js';
import { PageTableValidator } from './validate.js';

/** Event-channel port of the IPI `vector` bound on `cpu` (Linux binds one per vector per CPU). */
export function ipiPort(cpu: number, vector: number): number {
  return (cpu << 8) | (vector & 0xff);
}

export class XenHypervisor {
  readonly layout: XenLayout;
  readonly frames: FrameTable;
  /** hvState as words. */
  readonly words: Int32Array;
  readonly flush: RemoteFlush;
  /** The guest's pin lock (XEN_CTL.pinLock): used by guest-side code, never by a hypercall. */
  readonly pinLock: HvLock;
  private readonly updates: EntryUpdates;
  private readonly mmuext: MmuextCommands;
  private readonly allCpus: CpuMask;
  private readonly oneReq: MmuUpdate[] = [{ ptr: 0, val: 0 }];
  private readonly oneOp: MmuextOp[] = [newMmuextOp()];

  /**
   * How this vCPU waits in the hypervisor: for another vCPU building the frame table, for a lock,
   * for remote-flush acknowledgements. The run's WaitPolicy: --watchdog-ms, and whether vCPUs
   * outnumber the physical CPUs they may use (--pcpus).
   */
  readonly wait: VcpuWait;

  /** `faults`: injected faults in the remote flush (BackendFaults, src/hv/backend.ts); absent: none. */
  constructor(readonly hw: VcpuHardware, hvState: SharedArrayBuffer, policy: WaitPolicy, faults: BackendFaults = {}) {
    this.layout = new XenLayout(hw.ram.size, hw.cpus);
    if (hvState.byteLength < this.layout.bytes) {
      throw new InternalError(`Xen backend: hvState has ${hvState.byteLength} bytes, needs ${this.layout.bytes}`);
    }
    this.words = new Int32Array(hvState);
    this.frames = new FrameTable(this.words, this.layout);
    this.wait = new VcpuWait(hw, policy);
    this.frames.ensureInitialised(this.wait);
    const validator = new PageTableValidator(this.frames, hw.ram.i32);
    const lock = new HvLock(this.words, XEN_CTL.lock, XEN_CTL.lockHolder, 'Xen frame-table lock', this.wait);
    this.pinLock = new HvLock(this.words, XEN_CTL.pinLock, XEN_CTL.pinLockHolder, 'Xen guest pin lock', this.wait);
    this.flush = new RemoteFlush(this.words, this.layout, hw, this.wait, faults);
    this.updates = new EntryUpdates(hw, this.words, this.layout, this.frames, validator, lock);
    this.mmuext = new MmuextCommands(hw, this.words, this.layout, this.frames, validator, lock, this.flush);
    this.allCpus = CpuMask.all(hw.cpus);
  }

  /**
   * The entry's value just before the last store this vCPU applied (mmu_update or an untyped
   * store): Linux's ptep_get_and_clear returns it.
   */
  get lastOld(): number {
    return this.updates.lastOld;
  }

  // ---- hypercalls ------------------------------------------------------------------------------

  /** mmu_update(reqs, count): validated page-table stores. 0, or the first refused request's -errno. */
  HYPERVISOR_mmu_update(reqs: ArrayLike<MmuUpdate>, count: number): number {
    if (!this.countValid(count, reqs.length)) return -XEN_EINVAL;
    this.hw.cost.hypercall(count);
    for (let i = 0; i < count; i++) {
      const r = this.updates.mmuUpdate(reqs[i]!);
      if (r !== 0) {
        this.hw.cost.rejected();
        return r;
      }
    }
    return 0;
  }

  /** mmuext_op(ops, count): pin, unpin, new base, TLB flushes. 0, or the first refused op's -errno. */
  HYPERVISOR_mmuext_op(ops: ArrayLike<MmuextOp>, count: number): number {
    if (!this.countValid(count, ops.length)) return -XEN_EINVAL;
    let entries = 0;
    for (let i = 0; i < count; i++) entries += this.mmuext.entries(ops[i]!);
    this.hw.cost.hypercall(entries);
    for (let i = 0; i < count; i++) {
      const r = this.mmuext.run(ops[i]!);
      if (r !== 0) {
        this.hw.cost.rejected();
        return r;
      }
    }
    return 0;
  }

  /**
   * multicall(entries, count): one hypercall carrying `count` mmu_update / mmuext_op entries, each
   * run in order with its result left in it. Returns 0 if all succeeded, else the first -errno.
   */
  HYPERVISOR_multicall(entries: ArrayLike<MulticallEntry>, count: number): number {
    if (!this.countValid(count, entries.length)) return -XEN_EINVAL;
    let carried = 0;
    for (let i = 0; i < count; i++) {
      const e = entries[i]!;
      carried += e.op === __HYPERVISOR_mmuext_op ? this.mmuext.entries(e.ext) : 1;
    }
    this.hw.cost.hypercall(carried);
    let first = 0;
    for (let i = 0; i < count; i++) {
      const e = entries[i]!;
      switch (e.op) {
        case __HYPERVISOR_mmu_update: e.result = this.updates.mmuUpdate(e.req); break;
        case __HYPERVISOR_mmuext_op: e.result = this.mmuext.run(e.ext); break;
        default: e.result = -XEN_ENOSYS; break;
      }
      if (e.result !== 0) {
        this.hw.cost.rejected();
        if (first === 0) first = e.result;
      }
    }
    return first;
  }

  /**
   * update_va_mapping(va, val, flags): store the PTE that maps `va` in this vCPU's current base
   * (validated as mmu_update does), then flush per UVMF_* flags. 0 or -errno.
   */
  HYPERVISOR_update_va_mapping(va: number, val: number, flags: number): number {
    const flushType = flags & UVMF_FLUSHTYPE_MASK;
    const all = (flags & UVMF_ALL) !== 0;
    this.hw.cost.hypercall(all && flushType !== 0 ? this.hw.cpus : 1);
    const kind = flushType === UVMF_INVLPG ? FLUSH_INVLPG : flushType === UVMF_TLB_FLUSH ? FLUSH_FULL : 0;
    const r = (flags & ~(UVMF_FLUSHTYPE_MASK | UVMF_ALL)) !== 0 || flushType === UVMF_FLUSHTYPE_MASK
      ? -XEN_EINVAL
      : this.updates.updateVaMapping(va >>> 0, val);
    if (r !== 0) {
      this.hw.cost.rejected();
      return r;
    }
    if (kind === 0) return 0;
    if (all) this.flush.flushOthers(this.allCpus, kind, va, 'update_va_mapping');
    else this.flush.flushLocal(kind, va);
    return 0;
  }

  /**
   * event_channel_op(EVTCHNOP_send, port): raise the event bound to `port` — pvemu binds IPI
   * ports only (ipiPort) — on its vCPU as that vector. 0 or -errno.
   */
  HYPERVISOR_event_channel_op(cmd: number, port: number): number {
    this.hw.cost.hypercall(1);
    const dest = port >>> 8;
    if (cmd !== EVTCHNOP_send) {
      this.hw.cost.rejected();
      return -XEN_ENOSYS;
    }
    if (!Number.isInteger(port) || port < 0 || dest >= this.hw.cpus) {
      this.hw.cost.rejected();
      return -XEN_EINVAL;
    }
    this.hw.bus.raise(dest, port & 0xff, true);
    return 0;
  }

  /** One mmu_update request (the single-request form, for pv ops outside lazy mode). */
  mmuUpdateOne(ptr: number, val: number): number {
    const req = this.oneReq[0]!;
    req.ptr = ptr;
    req.val = val;
    return this.HYPERVISOR_mmu_update(this.oneReq, 1);
  }

  /** One mmuext_op. */
  mmuextOneCall(cmd: number, mfn: number, linearAddr: number, vcpumask: CpuMask | null): number {
    const op = this.oneOp[0]!;
    op.cmd = cmd;
    op.mfn = mfn;
    op.linearAddr = linearAddr;
    op.vcpumask = vcpumask;
    return this.HYPERVISOR_mmuext_op(this.oneOp, 1);
  }

  /**
   * The guest's plain store into a table the hypervisor does not know as a page table (not a
   * hypercall): true when done, false when the table is validated and the store must be an
   * mmu_update. See EntryUpdates.writeUntyped.
   */
  writeUntypedEntry(ptep: number, val: number): boolean {
    return this.updates.writeUntyped(ptep, val);
  }

  /** A request count the caller's array can back (hostile callers pass anything). */
  private countValid(count: number, length: number): boolean {
    if (Number.isInteger(count) && count >= 0 && count <= length) return true;
    this.hw.cost.hypercall(0);
    this.hw.cost.rejected();
    return false;
  }
}
