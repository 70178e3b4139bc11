/**
 * vmalloc: virtually contiguous kernel memory in the vmalloc area, mapped with 4 KiB global
 * pages in page tables every page directory shares. Freeing a range changes kernel mappings
 * every CPU may cache, so vfree flushes on all CPUs (flush_tlb_kernel_range) before the frames
 * go back. The kernel uses it for task kernel stacks, as Linux does with CONFIG_VMAP_STACK.
 * Runs on a vCPU worker.
 */
import { PAGE_SIZE, PTE_P, PTE_RW, PTE_G, makePte, pteFrame } from '../hw/paging.js';
import type { Paddr, Pfn, Vaddr } from '../hw/types.js';
import type { MmRef } from '../pv/ops.js';
import type { KernelContext } from './context.js';
import type { FrameAllocator } from './frames.js';
import { KGLOBALS, VMALLOC_END, VMALLOC_START } from './layout.js';
import { spinLock, spinUnlock } from './sync.js';
import { InternalError } from '../lib/errors.js';
import type { TlbFlusher } from './tlbflush.js';

const AREA_PAGES = (VMALLOC_END - VMALLOC_START) / PAGE_SIZE;
/** Kernel PTE flags: present, writable, global; never user. */
const KERNEL_PTE = PTE_P | PTE_RW | PTE_G;

export class Vmalloc {
  private readonly gather: Pfn[] = [];

  constructor(private readonly k: KernelContext, private readonly frames: FrameAllocator, private readonly flusher: TlbFlusher) {}

  private ptep(va: number): Paddr {
    return (this.k.layout.vmallocPtFrame * PAGE_SIZE + ((va - VMALLOC_START) >>> 12) * 4) as Paddr;
  }

  private bit(page: number): boolean {
    return (this.k.i32[this.k.layout.vmallocBitmap + (page >>> 5)]! & (1 << (page & 31))) !== 0;
  }

  private setBits(first: number, count: number, on: boolean): void {
    const { i32, layout } = this.k;
    for (let p = first; p < first + count; p++) {
      const w = layout.vmallocBitmap + (p >>> 5);
      i32[w] = on ? i32[w]! | (1 << (p & 31)) : i32[w]! & ~(1 << (p & 31));
    }
  }

  /** `pages` zeroed, mapped pages (followed by an unmapped guard page); 0 if none are free. */
  vmalloc(pages: number): number {
    const { i32, layout, cpu, spinner, ops } = this.k;
    const lock = layout.kglobals + KGLOBALS.vmallocLock;
    spinLock(i32, lock, cpu, spinner);
    let first = -1;
    for (let p = 0, run = 0; p < AREA_PAGES; p++) {
      run = this.bit(p) ? 0 : run + 1;
      if (run === pages + 1) { first = p - pages; break; }
    }
    if (first >= 0) this.setBits(first, pages + 1, true);
    spinUnlock(i32, lock);
    if (first < 0) return 0;
    const va = VMALLOC_START + first * PAGE_SIZE;
    for (let i = 0; i < pages; i++) {
      const frame = this.frames.allocZeroed();
      if (frame === 0) {
        this.vfree(va, i, pages);
        return 0;
      }
      ops.mmu.setPte(this.ptep(va + i * PAGE_SIZE), makePte(frame, KERNEL_PTE));
    }
    return va;
  }

  /**
   * Unmap `mapped` pages at `va`, flush them from every CPU, free their frames and the range
   * (`pages` plus the guard page).
   */
  vfree(va: number, mapped: number, pages = mapped): void {
    const { i32, layout, cpu, spinner, ops } = this.k;
    va >>>= 0;
    if (va < VMALLOC_START || va + (pages + 1) * PAGE_SIZE > VMALLOC_END) {
      throw new InternalError(`cpu ${cpu}: vfree of 0x${va.toString(16)} outside the vmalloc area`);
    }
    for (let i = 0; i < mapped; i++) {
      const page = va + i * PAGE_SIZE;
      const old = ops.mmu.pteClear(0 as MmRef, page as Vaddr, this.ptep(page));
      if ((old & PTE_P) !== 0) this.gather.push(pteFrame(old));
    }
    if (mapped > 0) this.flusher.flushTlbKernelRange(va, va + mapped * PAGE_SIZE);
    for (const f of this.gather) this.frames.put(f);
    this.gather.length = 0;
    const lock = layout.kglobals + KGLOBALS.vmallocLock;
    spinLock(i32, lock, cpu, spinner);
    this.setBits((va - VMALLOC_START) / PAGE_SIZE, pages + 1, false);
    spinUnlock(i32, lock);
  }
}
