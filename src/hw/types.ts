/**
 * Branded scalar types shared by every layer: addresses, frame numbers, CPU ids, time units.
 * Runs on any thread. The brands cost nothing at run time; they stop a guest-virtual address
 * from being passed where a guest-physical one is expected, or cycles where nanoseconds are.
 */

/** Guest-physical byte address (offset into guest RAM). */
export type Paddr = number & { readonly __brand: 'Paddr' };
/** Guest-virtual byte address (32-bit, unsigned). */
export type Vaddr = number & { readonly __brand: 'Vaddr' };
/** Guest page-frame number: Paddr >>> 12. */
export type Pfn = number & { readonly __brand: 'Pfn' };
/** Virtual CPU index, 0 .. cpus-1 (also its APIC id). */
export type CpuId = number & { readonly __brand: 'CpuId' };
/** Host or guest time in nanoseconds. */
export type Nanoseconds = number & { readonly __brand: 'Nanoseconds' };
/** Modelled CPU cycles. */
export type Cycles = number & { readonly __brand: 'Cycles' };

export const paddr = (n: number): Paddr => n as Paddr;
export const vaddr = (n: number): Vaddr => (n >>> 0) as Vaddr;
export const pfn = (n: number): Pfn => n as Pfn;
export const cpuId = (n: number): CpuId => n as CpuId;
export const ns = (n: number): Nanoseconds => n as Nanoseconds;
