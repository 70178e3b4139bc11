/**
 * The i386 two-level hardware page walker. Runs on the owning vCPU's
 * worker, called by its MMU on a TLB miss or a dirty assist; it only reads and writes
 * page-table entries in shared guest RAM, so any thread could call it, but only a vCPU does.
 *
 * The walk, for virtual address va with page directory at cr3:
 *   1. PDE = RAM[cr3 + 4 * pdIndex(va)]. Not present: fault.
 *   2. PDE.PS set: the PDE is the leaf (a 4 MiB page). Otherwise
 *      PTE = RAM[PDE.frame + 4 * ptIndex(va)], the leaf; not present: fault.
 *   3. Permissions: RW only if every level has RW, US only if every level has US. Supervisor
 *      writes honour RW too (CR0.WP = 1). A denied access faults with PF_PROT.
 *   4. Only now, with the access known to succeed, set A on the PDE and the leaf, and D on the
 *      leaf for a write. A faulting access sets nothing.
 *
 * The kernel changes entries concurrently from other vCPUs (pv_mmu_ops setPte and friends use
 * Atomics.store and Atomics.compareExchange). A/D updates are compareExchange from the value
 * this walk read; if the entry changed in between, the walk restarts from the PDE, so A/D are
 * never written into an entry the walk did not check, and a concurrent store is never lost.
 *
 * Not modelled: paging-structure caches (every walk reads the PDE afresh), CR4.PGE (G in a
 * leaf always means global), PSE-36, PAT, PWT/PCD effects (they are passed through in flags).
 */
import { InternalError } from '../lib/errors.js';
import {
  PAGE_SHIFT,
  PDE_LARGE_FRAME_MASK,
  PTE_A,
  PTE_D,
  PTE_FRAME_MASK,
  PTE_G,
  PTE_P,
  PTE_PCD,
  PTE_PS,
  PTE_PWT,
  PTE_RW,
  PTE_US,
  pdIndex,
  ptIndex,
} from './paging.js';

/** Page-fault error code, bit 0: set, the page was present but the access not allowed; clear, not present. */
export const PF_PROT = 1;
/** Page-fault error code, bit 1: the access was a write. */
export const PF_WRITE = 2;
/** Page-fault error code, bit 2: the access was from user mode. */
export const PF_USER = 4;
/**
 * Not an x86 #PF bit: the walk read a page-table entry outside guest RAM. Hardware raises a
 * machine check there, not a page fault (the MMU turns this into SIGBUS); a hostile or broken
 * kernel pointing CR3 or a PDE past the end of RAM gets this, never a read of host memory.
 */
export const WALK_MACHINE_CHECK = 0x10000;

/**
 * Walk restarts allowed before the walker gives up. A restart needs another CPU to change the
 * entry between this walk's load and its compareExchange, a window of nanoseconds; a thousand
 * in a row means something is rewriting the entry in a loop, which is a bug to report.
 */
export const MAX_WALK_RESTARTS = 1000;

/** Leaf bits passed through to the TLB as-is; RW and US are combined across levels instead. */
const LEAF_PASS_BITS = PTE_P | PTE_PWT | PTE_PCD | PTE_A | PTE_D | PTE_G;

/**
 * The outcome of one walk. Reused by its caller across walks so that a walk allocates nothing.
 * Fields are valid as the last `walk` call's return value says: pfn, flags, large and pteAddr
 * after a success, errorCode after a fault.
 */
export class WalkResult {
  /** The 4 KiB frame backing va (inside the 4 MiB frame for a large page). */
  pfn = 0;
  /** Effective flags: leaf P, PWT, PCD, A, D (after this walk), G; RW and US only if set at every level. */
  flags = 0;
  /** The leaf was a 4 MiB PDE (PS set). */
  large = false;
  /** x86 page-fault error code: PF_PROT | PF_WRITE | PF_USER as they apply. */
  errorCode = 0;
  /** Guest-physical byte address of the leaf entry (the PTE, or the PDE for a 4 MiB page). */
  pteAddr = 0;
}

/**
 * Translate `va` through the page directory at `cr3` for a `write` or read access from user
 * (`user`) or supervisor mode. Returns true with `out` filled in, or false with
 * `out.errorCode` set (WALK_MACHINE_CHECK if a table lies outside guest RAM). Sets A and D as
 * described in the header; throws InternalError if the walk keeps being disturbed.
 */
export function walk(
  i32: Int32Array,
  cr3: number,
  va: number,
  write: boolean,
  user: boolean,
  out: WalkResult,
): boolean {
  const access = (write ? PF_WRITE : 0) | (user ? PF_USER : 0);
  // RW and US bits this access needs to find set at every level.
  const need = (write ? PTE_RW : 0) | (user ? PTE_US : 0);
  const pdeAddr = ((cr3 & PTE_FRAME_MASK) >>> 0) + pdIndex(va) * 4;
  const pdeIndex = entryIndex(i32, pdeAddr);
  if (pdeIndex < 0) return fault(out, access | WALK_MACHINE_CHECK);

  for (let restart = 0; restart < MAX_WALK_RESTARTS; restart++) {
    // ORDERING: pairs with the kernel's Atomics.store / compareExchange of this PDE in the
    // pv_mmu_ops setPmd/setPte path: a PDE published there is seen here with the page table it
    // points at already initialised (the kernel zeroes and fills the table before the store).
    const pde = Atomics.load(i32, pdeIndex);
    if ((pde & PTE_P) === 0) return fault(out, access);

    if ((pde & PTE_PS) !== 0) {
      // A 4 MiB page: the PDE is the leaf.
      if ((pde & need) !== need) return fault(out, access | PF_PROT);
      const updated = pde | PTE_A | (write ? PTE_D : 0);
      // ORDERING: pairs with the kernel's Atomics.store / compareExchange of this PDE. If the
      // kernel changed it since our load, the exchange fails and we walk again, so A/D land only
      // in the entry we checked and the kernel's new value is never overwritten.
      if (updated !== pde && Atomics.compareExchange(i32, pdeIndex, pde, updated) !== pde) continue;
      out.pfn = ((pde & PDE_LARGE_FRAME_MASK) >>> PAGE_SHIFT) + ((va >>> PAGE_SHIFT) & 1023);
      out.flags = updated & (LEAF_PASS_BITS | PTE_RW | PTE_US);
      out.large = true;
      out.pteAddr = pdeAddr;
      out.errorCode = 0;
      return true;
    }

    const pteAddr = ((pde & PTE_FRAME_MASK) >>> 0) + ptIndex(va) * 4;
    const pteIndex = entryIndex(i32, pteAddr);
    if (pteIndex < 0) return fault(out, access | WALK_MACHINE_CHECK);
    // ORDERING: pairs with the kernel's Atomics.store / compareExchange of this PTE in
    // pv_mmu_ops setPte (and ptepGetAndClear-style updates).
    const pte = Atomics.load(i32, pteIndex);
    if ((pte & PTE_P) === 0) return fault(out, access);
    const combined = pde & pte & (PTE_RW | PTE_US);
    if ((combined & need) !== need) return fault(out, access | PF_PROT);

    // The access will succeed: set A on the PDE, then A (and D for a write) on the PTE.
    if ((pde & PTE_A) === 0) {
      // ORDERING: pairs with the kernel's Atomics.store / compareExchange of this PDE; a failed
      // exchange means the PDE changed (perhaps to another table) and the PTE we read may be
      // stale, so the whole walk restarts.
      if (Atomics.compareExchange(i32, pdeIndex, pde, pde | PTE_A) !== pde) continue;
    }
    const updated = pte | PTE_A | (write ? PTE_D : 0);
    // ORDERING: pairs with the kernel's Atomics.store / compareExchange of this PTE (setPte,
    // and the read-modify-write it does to clear A or D or change protections). A failed
    // exchange restarts the walk; the PDE's A stays set, which is harmless (A is a hint).
    if (updated !== pte && Atomics.compareExchange(i32, pteIndex, pte, updated) !== pte) continue;
    out.pfn = pte >>> PAGE_SHIFT;
    out.flags = (updated & LEAF_PASS_BITS) | combined;
    out.large = false;
    out.pteAddr = pteAddr;
    out.errorCode = 0;
    return true;
  }
  throw new InternalError(
    `page walk for va 0x${(va >>> 0).toString(16)} restarted ${MAX_WALK_RESTARTS} times: ` +
      'its page-table entries keep changing under the walker',
  );
}

/**
 * A read-only walk: what the page tables at `cr3` say about `va` right now, whatever the access,
 * setting neither A nor D (the --check coherence checker compares a TLB entry with it). Returns
 * false if va is not mapped (a PDE or PTE not present, or a table outside guest RAM); otherwise true with out.pfn, out.large,
 * out.pteAddr and out.flags (leaf bits, RW and US only if set at every level) filled in.
 */
export function peekWalk(i32: Int32Array, cr3: number, va: number, out: WalkResult): boolean {
  const pdeAddr = ((cr3 & PTE_FRAME_MASK) >>> 0) + pdIndex(va) * 4;
  const pdeIndex = entryIndex(i32, pdeAddr);
  if (pdeIndex < 0) return fault(out, WALK_MACHINE_CHECK);
  // ORDERING: pairs with the kernel's Atomics.store / compareExchange of this PDE (as in walk).
  const pde = Atomics.load(i32, pdeIndex);
  if ((pde & PTE_P) === 0) return fault(out, 0);
  if ((pde & PTE_PS) !== 0) {
    out.pfn = ((pde & PDE_LARGE_FRAME_MASK) >>> PAGE_SHIFT) + ((va >>> PAGE_SHIFT) & 1023);
    out.flags = pde & (LEAF_PASS_BITS | PTE_RW | PTE_US);
    out.large = true;
    out.pteAddr = pdeAddr;
    return true;
  }
  const pteAddr = ((pde & PTE_FRAME_MASK) >>> 0) + ptIndex(va) * 4;
  const pteIndex = entryIndex(i32, pteAddr);
  if (pteIndex < 0) return fault(out, WALK_MACHINE_CHECK);
  // ORDERING: pairs with the kernel's Atomics.store / compareExchange of this PTE (as in walk).
  const pte = Atomics.load(i32, pteIndex);
  if ((pte & PTE_P) === 0) return fault(out, 0);
  out.pfn = pte >>> PAGE_SHIFT;
  out.flags = (pte & LEAF_PASS_BITS) | (pde & pte & (PTE_RW | PTE_US));
  out.large = false;
  out.pteAddr = pteAddr;
  return true;
}

function fault(out: WalkResult, errorCode: number): false {
  out.errorCode = errorCode;
  return false;
}

/** Word index of a page-table entry, or -1 when the entry lies outside guest RAM. */
function entryIndex(i32: Int32Array, entryAddr: number): number {
  const index = entryAddr >>> 2;
  return index < i32.length ? index : -1;
}
