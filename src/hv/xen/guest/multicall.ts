/**
 * The per-CPU multicall buffer of Linux's Xen backend (arch/x86/xen/multicalls.c): while lazy MMU
 * mode is active, page-table updates and local flushes queue here and go to the hypervisor as one
 * multicall — on leaving lazy mode, on arch_flush_lazy_mmu_mode, or when all 32 entries are used.
 * Worker-local: one buffer per vCPU, touched only by its owner.
 *
 * A queued update is not yet in memory: the hardware walker, and any kernel code reading the
 * entry, still sees the old value until the batch is issued. The kernel relies on updates only
 * after leaveLazyMmu (its flushes come after it); src/hv/xen/guest/mmu.ts checks every call site.
 */
import {
  MMUEXT_INVLPG_LOCAL, __HYPERVISOR_mmu_update, __HYPERVISOR_mmuext_op, newMulticallEntry, type MulticallEntry,
} from '../abi.js';
import type { XenHypervisor } from '../hypervisor/hypervisor.js';

/** Entries per buffer: Linux's MC_BATCH (32) in its 2.6.24 Xen backend. */
export const MULTICALL_ENTRIES = 32;

export class MulticallBatch {
  private readonly entries: MulticallEntry[] = Array.from({ length: MULTICALL_ENTRIES }, newMulticallEntry);
  private count = 0;

  constructor(
    private readonly hv: XenHypervisor,
    /** Called with each entry the hypervisor refused (its result is -errno). */
    private readonly onRefused: (entry: MulticallEntry) => void,
  ) {}

  /** Entries queued and not yet issued. */
  get pending(): number {
    return this.count;
  }

  /** Queue one mmu_update request (`ptr` carries the request type). */
  queueMmuUpdate(ptr: number, val: number): void {
    const e = this.slot();
    e.op = __HYPERVISOR_mmu_update;
    e.req.ptr = ptr;
    e.req.val = val;
  }

  /** Queue one local mmuext_op (TLB_FLUSH_LOCAL, INVLPG_LOCAL). */
  queueLocalFlush(cmd: number, va: number): void {
    const e = this.slot();
    e.op = __HYPERVISOR_mmuext_op;
    e.ext.cmd = cmd;
    e.ext.mfn = 0;
    e.ext.linearAddr = cmd === MMUEXT_INVLPG_LOCAL ? va : 0;
    e.ext.vcpumask = null;
  }

  /** Issue everything queued as one multicall (xen_mc_flush). Nothing queued: no hypercall. */
  flush(): void {
    const n = this.count;
    if (n === 0) return;
    // Emptied before the call: nothing issued from inside it (an interrupt taken while a flush
    // in it waits) may see these entries as still queued.
    this.count = 0;
    if (this.hv.HYPERVISOR_multicall(this.entries, n) === 0) return;
    for (let i = 0; i < n; i++) {
      const e = this.entries[i]!;
      if (e.result !== 0) this.onRefused(e);
    }
  }

  private slot(): MulticallEntry {
    if (this.count === MULTICALL_ENTRIES) this.flush();
    return this.entries[this.count++]!;
  }
}
