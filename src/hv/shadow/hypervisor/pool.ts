/**
 * The hypervisor's frame pool for shadow tables: the frames above memory_setup's usable RAM,
 * handed out by a bump cursor and recycled through a free stack, both in hvState. Every method
 * runs with the shadow lock held (the `Locked` suffix says so), on any vCPU worker.
 */
import { InternalError } from '../../../lib/errors.js';
import type { GuestRam } from '../../../hw/memory.js';
import type { Pfn } from '../../../hw/types.js';
import { SHADOW_CTL, type ShadowLayout } from './layout.js';

export class ShadowPool {
  constructor(
    private readonly hv: Int32Array,
    private readonly layout: ShadowLayout,
    private readonly ram: GuestRam,
  ) {}

  /**
   * A zeroed pool frame, or 0 when every frame is in use. No walker can reach the frame until
   * the caller publishes it (an Atomics store of the PDE pointing at it, or a CR3 load after the
   * lock is released), so the plain zeroing is ordered before any walk by that publication.
   */
  allocLocked(): Pfn {
    const { hv, layout } = this;
    // ORDERING: under the shadow lock (plain accesses ordered by its acquire and release).
    let frame: number;
    const free = hv[SHADOW_CTL.poolFree]!;
    if (free > 0) {
      frame = hv[layout.freeStack + free - 1]!;
      hv[SHADOW_CTL.poolFree] = free - 1;
    } else {
      const bump = hv[SHADOW_CTL.poolBump]!;
      if (bump >= layout.poolFrames) return 0 as Pfn;
      hv[SHADOW_CTL.poolBump] = bump + 1;
      frame = layout.poolFirst + bump;
    }
    this.ram.zeroFrame(frame as Pfn);
    return frame as Pfn;
  }

  /** Give a frame back. The caller has unpublished it: no shadow entry points at it any more. */
  freeLocked(frame: Pfn): void {
    const { hv, layout } = this;
    if (!layout.inPool(frame)) throw new InternalError(`shadow paging: frame ${frame} is not a shadow-table frame`);
    // ORDERING: under the shadow lock.
    const free = hv[SHADOW_CTL.poolFree]!;
    hv[layout.freeStack + free] = frame;
    hv[SHADOW_CTL.poolFree] = free + 1;
    hv[layout.owner + layout.poolIndex(frame)] = 0;
    hv[layout.ownerPde + layout.poolIndex(frame)] = 0;
  }

  /** Frames in use (for tests): handed out and not given back. */
  inUseLocked(): number {
    return this.hv[SHADOW_CTL.poolBump]! - this.hv[SHADOW_CTL.poolFree]!;
  }
}
