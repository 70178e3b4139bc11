/**
 * Xen's public PV MMU interface, as xen/include/public/xen.h defines it: hypercall
 * numbers, mmu_update request types, mmuext_op commands, update_va_mapping flags, the errno
 * values hypercalls return, and the request records pvemu's hypercalls take. Pure data; any
 * thread.
 *
 * Names keep xen.h's spelling, so a reader can grep Xen for them.
 */
import type { CpuMask } from '../../pv/cpumask.js';

// ---- hypercall numbers (__HYPERVISOR_*) -------------------------------------------------------
export const __HYPERVISOR_mmu_update = 1;
export const __HYPERVISOR_multicall = 13;
export const __HYPERVISOR_update_va_mapping = 14;
export const __HYPERVISOR_mmuext_op = 26;
export const __HYPERVISOR_event_channel_op = 32;

// ---- mmu_update: the low two bits of `ptr` select the request type ------------------------------
/** Checked `*ptr = val`: the hypervisor validates the new entry against the frame types. */
export const MMU_NORMAL_PT_UPDATE = 0;
/** Update the machine-to-physical table (not modelled: pvemu's frames are machine frames). */
export const MMU_MACHPHYS_UPDATE = 1;
/** As MMU_NORMAL_PT_UPDATE, but keep the Accessed and Dirty bits the entry has now. */
export const MMU_PT_UPDATE_PRESERVE_AD = 2;
/** Mask of the request-type bits in `ptr`. */
export const MMU_UPDATE_TYPE_MASK = 3;

// ---- mmuext_op commands ----------------------------------------------------------------------
export const MMUEXT_PIN_L1_TABLE = 0;
export const MMUEXT_PIN_L2_TABLE = 1;
export const MMUEXT_PIN_L3_TABLE = 2;
export const MMUEXT_PIN_L4_TABLE = 3;
export const MMUEXT_UNPIN_TABLE = 4;
export const MMUEXT_NEW_BASEPTR = 5;
export const MMUEXT_TLB_FLUSH_LOCAL = 6;
export const MMUEXT_INVLPG_LOCAL = 7;
export const MMUEXT_TLB_FLUSH_MULTI = 8;
export const MMUEXT_INVLPG_MULTI = 9;
export const MMUEXT_TLB_FLUSH_ALL = 10;
export const MMUEXT_INVLPG_ALL = 11;

// ---- update_va_mapping flags -----------------------------------------------------------------
export const UVMF_NONE = 0;
export const UVMF_TLB_FLUSH = 1;
export const UVMF_INVLPG = 2;
export const UVMF_FLUSHTYPE_MASK = 3;
/** Flush on this vCPU only (the default, 0) ... */
export const UVMF_LOCAL = 0;
/** ... or on every vCPU of the domain. (UVMF_MULTI with a vcpumask pointer is not modelled.) */
export const UVMF_ALL = 4;

// ---- event channels --------------------------------------------------------------------------
/** event_channel_op(EVTCHNOP_send, port): raise the event bound to `port` on its vCPU. */
export const EVTCHNOP_send = 4;

// ---- errno values (xen/include/public/errno.h); hypercalls return them negated ------------------
export const XEN_EPERM = 1;
export const XEN_ESRCH = 3;
export const XEN_EBUSY = 16;
export const XEN_EINVAL = 22;
export const XEN_ENOSYS = 38;

// ---- domains ---------------------------------------------------------------------------------
/** The one guest domain pvemu runs (a domU's id). */
export const DOMID_GUEST = 1;
/** Frames the hypervisor keeps for itself (xen.h's DOMID_XEN). */
export const DOMID_XEN = 0x7ff2;

/** One mmu_update request: `ptr` is the entry's guest-physical address | the request type. */
export interface MmuUpdate {
  ptr: number;
  val: number;
}

/** One mmuext_op: `mfn` for the pin and base commands, `linearAddr` for INVLPG, `vcpumask` for *_MULTI. */
export interface MmuextOp {
  cmd: number;
  mfn: number;
  linearAddr: number;
  vcpumask: CpuMask | null;
}

/** A multicall entry: one mmu_update request or one mmuext_op; `result` is filled in when issued. */
export interface MulticallEntry {
  /** __HYPERVISOR_mmu_update or __HYPERVISOR_mmuext_op. */
  op: number;
  req: MmuUpdate;
  ext: MmuextOp;
  /** 0 or -errno, after the multicall. */
  result: number;
}

export function newMmuextOp(): MmuextOp {
  return { cmd: 0, mfn: 0, linearAddr: 0, vcpumask: null };
}

export function newMulticallEntry(): MulticallEntry {
  return { op: 0, req: { ptr: 0, val: 0 }, ext: newMmuextOp(), result: 0 };
}
