/**
 * Test helpers for src/hw: build i386 page tables by hand in a small GuestRam. Runs on the
 * vitest thread only. Entries are written with Atomics.store, the way the kernel's setPte does.
 */
import { GuestRam, MIN_RAM_BYTES } from '../../src/hw/memory.js';
import { PAGE_SIZE, makeLargePde, makePte, pdIndex, ptIndex, PTE_P, PTE_RW, PTE_US } from '../../src/hw/paging.js';
import { pfn, type Paddr, type Pfn } from '../../src/hw/types.js';

/** A 16 MiB RAM (the smallest the project allows). */
export function smallRam(): GuestRam {
  return GuestRam.allocate(MIN_RAM_BYTES);
}

/** Flags a page-directory entry pointing at a page table gets: the PTE decides permissions. */
export const TABLE_FLAGS = PTE_P | PTE_RW | PTE_US;

/**
 * Hands out frames from `firstFrame` upwards, zeroed, and maps pages in one page directory.
 * Frames below `firstFrame` are left for the test's data pages.
 */
export class PageTables {
  readonly pd: Paddr;
  private next: number;

  constructor(readonly ram: GuestRam, firstFrame = 1024) {
    this.next = firstFrame;
    this.pd = this.ram.frameAddr(this.allocFrame());
  }

  allocFrame(): Pfn {
    const frame = pfn(this.next++);
    this.ram.zeroFrame(frame);
    return frame;
  }

  /** Physical address of the PDE for `va`. */
  pdeAddr(va: number): number {
    return this.pd + pdIndex(va) * 4;
  }

  /** Physical address of the PTE for `va`, making the page table (with `pdeFlags`) if needed. */
  pteAddr(va: number, pdeFlags = TABLE_FLAGS): number {
    let pde = this.read(this.pdeAddr(va));
    if ((pde & PTE_P) === 0) {
      pde = makePte(this.allocFrame(), pdeFlags);
      this.write(this.pdeAddr(va), pde);
    }
    return ((pde & ~(PAGE_SIZE - 1)) >>> 0) + ptIndex(va) * 4;
  }

  /** Map the 4 KiB page at `va` to `frame` with PTE `flags`; returns the PTE's address. */
  map(va: number, frame: number, flags: number, pdeFlags = TABLE_FLAGS): number {
    const at = this.pteAddr(va, pdeFlags);
    this.write(at, makePte(pfn(frame), flags));
    return at;
  }

  /** Map the 4 MiB page at `va` to the 4 MiB-aligned `frame`; returns the PDE's address. */
  mapLarge(va: number, frame: number, flags: number): number {
    const at = this.pdeAddr(va);
    this.write(at, makeLargePde(pfn(frame), flags));
    return at;
  }

  read(pa: number): number {
    return Atomics.load(this.ram.i32, pa >>> 2);
  }

  write(pa: number, entry: number): void {
    Atomics.store(this.ram.i32, pa >>> 2, entry);
  }
}
