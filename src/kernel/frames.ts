/**
 * The page-frame allocator: one zone, a free stack of frame numbers in guest memory under
 * zone->lock, and a reference count per frame (page->_refcount). Any vCPU may allocate or free;
 * the boot CPU fills the stack. A frame is freed when its last reference goes — after any TLB
 * shootdown that could still reach it has completed (callers gather frames and free them after
 * the flush, as Linux's mmu_gather does). The zero page is the one frame outside the count: it
 * is mapped read-only everywhere a private page was read before it was written.
 */
import type { Pfn } from '../hw/types.js';
import { InternalError } from '../lib/errors.js';
import type { KernelContext } from './context.js';
import { KGLOBALS } from './layout.js';
import { spinLock, spinUnlock } from './sync.js';

export class FrameAllocator {
  private readonly lockWord: number;
  private readonly countWord: number;
  /** ZERO_PAGE's frame, once known (set at boot before any other CPU runs). */
  private zero = 0;

  constructor(private readonly k: KernelContext) {
    this.lockWord = k.layout.kglobals + KGLOBALS.zoneLock;
    this.countWord = k.layout.kglobals + KGLOBALS.freeCount;
  }

  /**
   * Boot CPU only, before any other CPU runs: every frame past the kernel's data and below
   * `usableFrames` (memory_setup's limit; the rest is the hypervisor's) is free.
   */
  bootInit(usableFrames: number): void {
    const { i32, layout } = this.k;
    let n = 0;
    // Push high frames first so low frames come out first (tidier page-table dumps).
    for (let f = Math.min(usableFrames, layout.totalFrames) - 1; f >= layout.firstFreeFrame; f--) {
      i32[layout.freeStack + n++] = f;
      i32[layout.pageRefs + f] = 0;
    }
    Atomics.store(i32, this.countWord, n);
    // ZERO_PAGE: one zeroed frame every private read fault can map; never freed.
    const zero = this.allocZeroed();
    Atomics.store(i32, layout.kglobals + KGLOBALS.zeroPage, zero);
    Atomics.store(i32, layout.kglobals + KGLOBALS.managedFrames, n - 1);
  }

  /** The shared zero page's frame. */
  get zeroPage(): Pfn {
    if (this.zero === 0) this.zero = Atomics.load(this.k.i32, this.k.layout.kglobals + KGLOBALS.zeroPage);
    return this.zero as Pfn;
  }

  isZeroPage(frame: Pfn): boolean {
    return frame === this.zeroPage;
  }

  /** A frame with refcount 1, or 0 when memory is exhausted. Contents are not cleared. */
  alloc(): Pfn {
    const { i32, layout, cpu, spinner } = this.k;
    spinLock(i32, this.lockWord, cpu, spinner);
    const n = i32[this.countWord]!;
    if (n === 0) {
      spinUnlock(i32, this.lockWord);
      return 0 as Pfn;
    }
    const frame = i32[layout.freeStack + n - 1]!;
    i32[this.countWord] = n - 1;
    spinUnlock(i32, this.lockWord);
    // ORDERING: the frame is ours alone until we publish it in a PTE (an Atomics store).
    Atomics.store(i32, layout.pageRefs + frame, 1);
    this.k.counters.framesAllocated++;
    return frame as Pfn;
  }

  /** A zeroed frame, or 0. */
  allocZeroed(): Pfn {
    const f = this.alloc();
    if (f !== 0) this.k.ram.zeroFrame(f);
    return f;
  }

  /** get_page: one more reference. The zero page is not counted (is_zero_pfn). */
  get(frame: Pfn): void {
    if (frame === this.zeroPage) return;
    Atomics.add(this.k.i32, this.k.layout.pageRefs + frame, 1);
  }

  /** put_page: drop a reference; the last one returns the frame to the free stack. */
  put(frame: Pfn): void {
    const { i32, layout, cpu, spinner } = this.k;
    if (frame === this.zeroPage) return;
    // ORDERING: the decrement is a full barrier; the CPU that takes it to 0 owns the frame.
    const old = Atomics.sub(i32, layout.pageRefs + frame, 1);
    if (old > 1) return;
    if (old !== 1) throw new InternalError(`cpu ${cpu}: put_page on free frame ${frame}`);
    // ORDERING: bumped before the frame can be allocated again (the zone lock below publishes
    // it with the free stack); pairs with the decode cache's Atomics.load when it enters the
    // frame as code: new contents in a reused frame are never run from old decoded slots.
    Atomics.add(i32, layout.frameGens + frame, 1);
    spinLock(i32, this.lockWord, cpu, spinner);
    const n = i32[this.countWord]!;
    i32[layout.freeStack + n] = frame;
    i32[this.countWord] = n + 1;
    spinUnlock(i32, this.lockWord);
    this.k.counters.framesFreed++;
  }

  refcount(frame: Pfn): number {
    return Atomics.load(this.k.i32, this.k.layout.pageRefs + frame);
  }

  freeFrames(): number {
    return Atomics.load(this.k.i32, this.countWord);
  }
}
