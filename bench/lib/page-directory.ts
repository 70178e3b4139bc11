/**
 * A tiny hand-built i386 page directory in a GuestRam, for microbenchmarks that drive the MMU
 * directly with no kernel. Runs on the thread that owns the RAM, before any vCPU hardware reads
 * it: nothing else can see these writes, so plain typed-array stores are enough (the kernel's
 * setPte uses Atomics because other vCPUs walk its tables concurrently; nobody walks these yet).
 */
import type { GuestRam } from '../../src/hw/memory.js';
import { PAGE_SIZE, PTE_P, PTE_RW, PTE_US, makePte, pdIndex, ptIndex } from '../../src/hw/paging.js';
import { pfn, type Paddr, type Pfn } from '../../src/hw/types.js';

/** A page-directory entry pointing at a page table: the PTE decides the permissions. */
const TABLE_FLAGS = PTE_P | PTE_RW | PTE_US;

export class PageDirectoryBuilder {
  /** Guest-physical address of the page directory (what CR3 takes). */
  readonly pd: Paddr;
  private nextFrame: number;

  /** Frames are handed out from `firstFrame` upwards, zeroed. */
  constructor(private readonly ram: GuestRam, firstFrame: number) {
    this.nextFrame = firstFrame;
    this.pd = this.ram.frameAddr(this.allocFrame());
  }

  allocFrame(): Pfn {
    if (this.nextFrame >= this.ram.frames) throw new RangeError(`page-directory builder: guest RAM has only ${this.ram.frames} frames`);
    const frame = pfn(this.nextFrame++);
    this.ram.zeroFrame(frame);
    return frame;
  }

  /** Map the 4 KiB page at `va` to a fresh zeroed frame with PTE `flags`; returns the frame. */
  mapNew(va: number, flags: number): Pfn {
    const frame = this.allocFrame();
    this.ram.i32[this.pteAddr(va) >>> 2] = makePte(frame, flags);
    return frame;
  }

  /** Physical address of the PTE for `va`, making its page table if needed. */
  private pteAddr(va: number): number {
    const pdeIndex = (this.pd >>> 2) + pdIndex(va);
    let pde = this.ram.i32[pdeIndex] ?? 0;
    if ((pde & PTE_P) === 0) {
      pde = makePte(this.allocFrame(), TABLE_FLAGS);
      this.ram.i32[pdeIndex] = pde;
    }
    return ((pde & ~(PAGE_SIZE - 1)) >>> 0) + ptIndex(va) * 4;
  }
}
