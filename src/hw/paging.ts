/**
 * The i386 two-level paging format (10/10/12), as the hardware walker and the guest kernel
 * both see it. Pure functions over 32-bit entries; runs on any thread.
 *
 *   31            22 21            12 11             0
 *  +----------------+----------------+----------------+
 *  |  PD index (10) |  PT index (10) |  offset (12)   |   4 KiB page
 *  +----------------+----------------+----------------+
 *  |  PD index (10) |         offset (22)             |   4 MiB page (PDE.PS, CR4.PSE)
 *  +----------------+---------------------------------+
 *
 * An entry: bits 31..12 frame, 8 G, 7 PS (PDE only), 6 D, 5 A, 4 PCD, 3 PWT, 2 US, 1 RW, 0 P.
 * A 4 MiB PDE keeps its frame in bits 31..22 (PSE-36 high bits are not modelled).
 */
import type { Paddr, Pfn, Vaddr } from './types.js';

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1 << PAGE_SHIFT;
export const PAGE_MASK = ~(PAGE_SIZE - 1);
export const LARGE_PAGE_SHIFT = 22;
export const LARGE_PAGE_SIZE = 1 << LARGE_PAGE_SHIFT;
/** Entries per page directory or page table. */
export const PTRS_PER_TABLE = 1024;

export const PTE_P = 1 << 0;
export const PTE_RW = 1 << 1;
export const PTE_US = 1 << 2;
export const PTE_PWT = 1 << 3;
export const PTE_PCD = 1 << 4;
export const PTE_A = 1 << 5;
export const PTE_D = 1 << 6;
/** PS in a PDE: the entry maps a 4 MiB page. (PAT in a PTE, not modelled.) */
export const PTE_PS = 1 << 7;
export const PTE_G = 1 << 8;
/** Bits 9..11 are available to software; the kernel keeps none there today. */
export const PTE_FLAGS_MASK = 0xfff;
export const PTE_FRAME_MASK = 0xfffff000 | 0;
export const PDE_LARGE_FRAME_MASK = 0xffc00000 | 0;

/** Index into the page directory for `va`. */
export const pdIndex = (va: Vaddr | number): number => va >>> LARGE_PAGE_SHIFT;
/** Index into the page table for `va`. */
export const ptIndex = (va: Vaddr | number): number => (va >>> PAGE_SHIFT) & (PTRS_PER_TABLE - 1);
/** Virtual page number (va >>> 12). */
export const vpnOf = (va: Vaddr | number): number => va >>> PAGE_SHIFT;

/** Build a 4 KiB PTE (or a PDE pointing at a page table) from a frame number and flag bits. */
export function makePte(frame: Pfn, flags: number): number {
  return ((frame << PAGE_SHIFT) | (flags & PTE_FLAGS_MASK)) | 0;
}

/** Build a 4 MiB PDE; `frame` must be 4 MiB aligned (a multiple of 1024 frames). */
export function makeLargePde(frame: Pfn, flags: number): number {
  return ((frame << PAGE_SHIFT) & PDE_LARGE_FRAME_MASK) | (flags & PTE_FLAGS_MASK) | PTE_PS;
}

export const pteFrame = (pte: number): Pfn => (pte >>> PAGE_SHIFT) as Pfn;
export const pteAddr = (pte: number): Paddr => ((pte & PTE_FRAME_MASK) >>> 0) as Paddr;
export const pteFlags = (pte: number): number => pte & PTE_FLAGS_MASK;
export const ptePresent = (pte: number): boolean => (pte & PTE_P) !== 0;
export const pdeIsLarge = (pde: number): boolean => (pde & (PTE_P | PTE_PS)) === (PTE_P | PTE_PS);

/** Human-readable flags for reports and errors: "P RW US A D G". */
export function describePte(pte: number): string {
  const names: [number, string][] = [
    [PTE_P, 'P'], [PTE_RW, 'RW'], [PTE_US, 'US'], [PTE_PWT, 'PWT'], [PTE_PCD, 'PCD'],
    [PTE_A, 'A'], [PTE_D, 'D'], [PTE_PS, 'PS'], [PTE_G, 'G'],
  ];
  const set = names.filter(([bit]) => (pte & bit) !== 0).map(([, n]) => n);
  return `0x${(pte >>> 0).toString(16).padStart(8, '0')} [${set.join(' ') || '-'}]`;
}

/**
 * The platform's 3G/1G split: the kernel lives at PAGE_OFFSET and up, mapped alike in every page
 * directory, and user space below. The guest kernel and a validating hypervisor (Xen) both take
 * it from here, as a real Xen takes a guest's from its ELF notes (XEN_ELFNOTE_VIRT_BASE).
 */
export const PAGE_OFFSET = 0xc0000000;
/** First PDE index of kernel space (PAGE_OFFSET >> 22). */
export const KERNEL_PGD_INDEX = PAGE_OFFSET >>> 22;
/** User space ends here, where the kernel's 1 GiB begins (TASK_SIZE). */
export const USER_TOP = PAGE_OFFSET;
