/**
 * The shadow MMU: the tables the hardware walker really uses, kept in step with the guest's.
 * Shared by every vCPU (the structures live in hvState and in the pool's RAM frames); each vCPU
 * worker has its own ShadowTables object over them and takes the shadow lock for every change.
 *
 * Shape:
 *   - one shadow page directory per guest page directory (keyed by the guest PD's frame in
 *     pdOf), shared by every vCPU that loads that guest PD;
 *   - guest PDEs of two kinds:
 *       shared   a 4 MiB page (PS) or a supervisor page table (US clear: the kernel's vmalloc
 *                tables). The shadow PDE is a copy of the guest's and points at the guest's own
 *                table. There is no guest-physical to machine translation in pvemu, so a shadow
 *                of a table would hold exactly the guest's entries; sharing it means the kernel's
 *                supervisor-mode stores (which take no hidden faults: a kernel fault is an oops)
 *                always find their mappings, and kernel-stack PTE stores need no resync.
 *       shadowed a user page table. The shadow PDE points at a shadow table from the pool
 *                (ptOf maps the guest table's frame to it; ownerPde records the PDE back), filled
 *                lazily: an entry the shadow lacks is a hidden fault (fill).
 *   - shadow PTEs are copies of the guest's: same frame (no translation), same permissions.
 *
 * Invariant (with the lock held): a shadowed entry is either absent (not present, to be filled
 * by a hidden fault) or equal to the guest's entry, apart from the A and D bits the hardware
 * sets in the shadow. Every guest store to a page table is followed, before the storing CPU
 * goes on, by syncPte / syncPde (the write-protection trap), which re-reads the guest entry
 * under the lock; fill also reads the guest entry under the lock. So whichever runs last copies
 * the newest guest value, and a shadow entry never goes back to an older one.
 *
 * A and D: the walker sets them in the shadow. They are not copied back into the guest's PTEs,
 * except that pte_clear returns the guest's old entry with the shadow's A and D OR-ed in (what
 * Linux's ptep_get_and_clear callers read). pvemu's kernel does not use A or D otherwise.
 */
import { InternalError } from '../../../lib/errors.js';
import type { VcpuHardware } from '../../../hw/cpu.js';
import {
  PAGE_SHIFT, PTE_A, PTE_D, PTE_P, PTE_PCD, PTE_PS, PTE_PWT, PTE_RW, PTE_US, PTRS_PER_TABLE,
  makePte, pdIndex, pteAddr, pteFrame, ptIndex,
} from '../../../hw/paging.js';
import type { Paddr, Pfn } from '../../../hw/types.js';
import { PF_USER, PF_WRITE } from '../../../hw/walker.js';
import type { CostMeter } from '../../../hw/cost.js';
import { HvLock } from '../../hv-lock.js';
import type { VcpuWait } from '../../../hw/wait.js';
import { exchangeShadowEntry, loadGuestEntry, loadShadowEntry, storeShadowEntry } from './entries.js';
import { SHADOW_CTL, type ShadowLayout } from './layout.js';
import { ShadowPool } from './pool.js';

/** Guest PDE bits a shadow PDE for a shadowed table keeps (A and D are the hardware's). */
const PDE_COPY_FLAGS = PTE_P | PTE_RW | PTE_US | PTE_PWT | PTE_PCD;
const ENTRY_MASK = 0xfff;
const enum PdeKind {
  /** Not present: the shadow PDE is a copy (not present either). */
  Absent,
  /** 4 MiB page or supervisor table: the shadow PDE is a copy of the guest's. */
  Shared,
  /** User page table: the shadow PDE points at a shadow table. */
  Shadowed,
}

function kindOf(pde: number): PdeKind {
  if ((pde & PTE_P) === 0) return PdeKind.Absent;
  if ((pde & PTE_PS) !== 0 || (pde & PTE_US) === 0) return PdeKind.Shared;
  return PdeKind.Shadowed;
}

export class ShadowTables {
  private readonly i32: Int32Array;
  private readonly cpu: number;
  private readonly cost: CostMeter;
  private readonly lock: HvLock;
  private readonly pool: ShadowPool;

  constructor(
    /** This vCPU's hardware: its RAM view, cost meter, and its id for the lock. */
    hw: VcpuHardware,
    private readonly hv: Int32Array,
    private readonly layout: ShadowLayout,
    /** How this vCPU waits for the shadow lock (the run's WaitPolicy: --watchdog-ms). */
    wait: VcpuWait,
  ) {
    this.i32 = hw.ram.i32;
    this.cpu = hw.cpu;
    this.cost = hw.cost;
    this.lock = new HvLock(hv, SHADOW_CTL.lock, SHADOW_CTL.lockHolder, 'shadow MMU lock', wait);
    this.pool = new ShadowPool(hv, layout, hw.ram);
  }

  /** May the guest load `guestPd` into CR3: is it a frame of the guest's memory? */
  isGuestDirectory(guestPd: Paddr): boolean {
    return this.guestFrame(guestPd >>> PAGE_SHIFT);
  }

  /**
   * The shadow page directory for the guest's at `guestPd`, built on first use, recorded as
   * the one this vCPU is about to load into CR3 (so that reclaim leaves it alone).
   */
  loadPdFor(guestPd: Paddr): Paddr {
    const gpd = guestPd >>> PAGE_SHIFT;
    let copied = 0;
    this.lock.acquire();
    let spd: number;
    try {
      // ORDERING: under the shadow lock.
      spd = this.hv[this.layout.pdOf + gpd]!;
      if (spd === 0) {
        spd = this.allocFrameLocked();
        this.hv[this.layout.owner + this.layout.poolIndex(spd)] = gpd;
        for (let i = 0; i < PTRS_PER_TABLE; i++) {
          const g = this.loadGuest((guestPd + i * 4) as Paddr);
          if (kindOf(g) !== PdeKind.Shared) continue;
          // The new directory is published by the CR3 load that follows (this CPU) or through
          // pdOf under the lock (others); the store is atomic all the same, like every shadow
          // entry store.
          this.storeShadow(((spd << PAGE_SHIFT) + i * 4) as Paddr, g);
          copied++;
        }
        this.hv[this.layout.pdOf + gpd] = spd;
        this.hv[SHADOW_CTL.livePds]++;
      }
      // In the same critical section as the lookup: reclaim never takes a directory between
      // this vCPU finding it and loading it.
      this.hv[this.layout.loadedPd + this.cpu] = spd;
    } finally {
      this.lock.release();
    }
    if (copied > 0) this.cost.shadowSync(copied);
    return (spd << PAGE_SHIFT) as Paddr;
  }

  /**
   * After the guest stored a PTE at `ptep`: copy it into the shadow table, if its table is
   * shadowed. Returns the shadow entry it replaced (0 if none).
   */
  syncPte(ptep: Paddr): number {
    let old = 0;
    let synced = false;
    this.lock.acquire();
    try {
      // ORDERING: under the shadow lock.
      const spt = this.hv[this.layout.ptOf + (ptep >>> PAGE_SHIFT)]!;
      if (spt !== 0) {
        old = exchangeShadowEntry(this.i32, ((spt << PAGE_SHIFT) + (ptep & ENTRY_MASK)) as Paddr, this.loadGuest(ptep));
        synced = true;
      }
    } finally {
      this.lock.release();
    }
    if (synced) this.cost.shadowSync();
    return old;
  }

  /** After the guest stored a PDE at `pdep`: bring the shadow PDE (if any) in line. */
  syncPde(pdep: Paddr): void {
    let synced = false;
    this.lock.acquire();
    try {
      // ORDERING: under the shadow lock.
      const spd = this.hv[this.layout.pdOf + (pdep >>> PAGE_SHIFT)]!;
      if (spd !== 0) {
        this.syncPdeLocked(pdep, ((spd << PAGE_SHIFT) + (pdep & ENTRY_MASK)) as Paddr);
        synced = true;
      }
    } finally {
      this.lock.release();
    }
    if (synced) this.cost.shadowSync();
  }

  /**
   * A hidden fault: the walk of the shadow at `shadowPd` failed for `va` with x86 `errorCode`.
   * If the guest's own tables at `guestPd` allow the access, fill the shadow from them and
   * return true (the access retries and the guest never sees a fault); otherwise return false
   * and the guest's page-fault handler runs.
   */
  fill(guestPd: Paddr, shadowPd: Paddr, va: number, errorCode: number): boolean {
    const need = ((errorCode & PF_WRITE) !== 0 ? PTE_RW : 0) | ((errorCode & PF_USER) !== 0 ? PTE_US : 0);
    if (!this.guestAllows(guestPd, va, need)) return false;
    let synced = 0;
    this.lock.acquire();
    try {
      const gpdep = (guestPd + pdIndex(va) * 4) as Paddr;
      const spdep = (shadowPd + pdIndex(va) * 4) as Paddr;
      synced += this.syncPdeLocked(gpdep, spdep);
      const g = this.loadGuest(gpdep);
      if (kindOf(g) === PdeKind.Shadowed && this.guestFrame(pteFrame(g))) {
        // ORDERING: under the shadow lock.
        let spt = this.hv[this.layout.ptOf + pteFrame(g)]!;
        if (spt === 0) {
          spt = this.newShadowPtLocked(pteFrame(g), spdep);
          this.storeShadow(spdep, makePte(spt as Pfn, g & PDE_COPY_FLAGS));
          synced++;
        }
        const gptep = (pteAddr(g) + ptIndex(va) * 4) as Paddr;
        this.storeShadow(((spt << PAGE_SHIFT) + ptIndex(va) * 4) as Paddr, this.loadGuest(gptep));
        synced++;
      }
    } finally {
      this.lock.release();
    }
    this.cost.hiddenFault();
    this.cost.shadowSync(synced);
    return true;
  }

  /** release_pt: the guest frame is no longer a page table; drop its shadow, if any. */
  releasePt(frame: Pfn): void {
    this.lock.acquire();
    try {
      // ORDERING: under the shadow lock.
      const spt = this.hv[this.layout.ptOf + frame]!;
      if (spt !== 0) {
        const spdep = this.hv[this.layout.ownerPde + this.layout.poolIndex(spt)]!;
        if (pteFrame(this.loadShadow(spdep as Paddr)) === spt) this.storeShadow(spdep as Paddr, 0);
        this.dropShadowPtLocked(spt as Pfn);
      }
    } finally {
      this.lock.release();
    }
  }

  /**
   * release_pd: the guest frame is no longer a page directory; drop its shadow and every shadow
   * table under it. The guest has switched every CPU away from it (exit_mmap), so no vCPU has
   * the shadow in CR3 and no walker can be inside it.
   */
  releasePd(frame: Pfn): void {
    this.lock.acquire();
    try {
      this.unshadowPdLocked(frame);
    } finally {
      this.lock.release();
    }
  }

  /** Shadow directories, shadow tables and pool frames in use (tests and diagnostics). */
  census(): { pds: number; pts: number; poolInUse: number } {
    this.lock.acquire();
    try {
      return { pds: this.hv[SHADOW_CTL.livePds]!, pts: this.hv[SHADOW_CTL.livePts]!, poolInUse: this.pool.inUseLocked() };
    } finally {
      this.lock.release();
    }
  }

  /** Drop the shadow of guest directory `frame` (if any) and every shadow table under it. */
  private unshadowPdLocked(frame: number): void {
    // ORDERING: under the shadow lock.
    const spd = this.hv[this.layout.pdOf + frame]!;
    if (spd === 0) return;
    for (let i = 0; i < PTRS_PER_TABLE; i++) {
      const spdep = ((spd << PAGE_SHIFT) + i * 4) as Paddr;
      const s = this.loadShadow(spdep);
      if (kindOf(s) === PdeKind.Shadowed && this.layout.inPool(pteFrame(s))) {
        this.storeShadow(spdep, 0);
        this.dropShadowPtLocked(pteFrame(s));
      }
    }
    this.hv[this.layout.pdOf + frame] = 0;
    this.hv[SHADOW_CTL.livePds]--;
    this.pool.freeLocked(spd as Pfn);
  }

  /** A zeroed pool frame; when the pool is dry, first reclaim the directories nobody has loaded. */
  private allocFrameLocked(): Pfn {
    let frame = this.pool.allocLocked();
    if (frame === 0) {
      this.reclaimLocked();
      frame = this.pool.allocLocked();
    }
    if (frame === 0) {
      throw new InternalError(
        `shadow paging: all ${this.layout.poolFrames} shadow-table frames reserved above guest RAM are in use by ` +
          'loaded address spaces (they map more than the pool can shadow; give the machine more RAM)',
      );
    }
    return frame;
  }

  /**
   * Unshadow every guest directory whose shadow no vCPU has in CR3 (KVM zaps shadow pages the
   * same way when it runs short). Safe without asking the other vCPUs anything: a vCPU walks
   * only the directory in its own CR3, which it records here under the lock before loading it,
   * so no walker is inside an unloaded shadow or can enter it without the lock; TLB entries
   * made from it stay correct translations of the guest's unchanged tables, and the guest
   * flushes them itself when it changes those tables. The next load rebuilds the shadow.
   */
  private reclaimLocked(): void {
    const { hv, layout } = this;
    // ORDERING: under the shadow lock.
    const used = hv[SHADOW_CTL.poolBump]!;
    for (let i = 0; i < used; i++) {
      const guestFrame = hv[layout.owner + i]!;
      const frame = layout.poolFirst + i;
      // A directory: owned, no PDE points at it, and still the guest frame's shadow.
      if (guestFrame === 0 || hv[layout.ownerPde + i] !== 0 || hv[layout.pdOf + guestFrame] !== frame) continue;
      let loaded = false;
      for (let c = 0; c < layout.cpus; c++) if (hv[layout.loadedPd + c] === frame) loaded = true;
      if (!loaded) this.unshadowPdLocked(guestFrame);
    }
  }

  /**
   * Make the shadow PDE at `spdep` agree with the guest PDE at `gpdep`: a copy for an absent or
   * shared entry; for a shadowed table, the existing shadow table if it already shadows that
   * guest table, else not present (a hidden fault fills it). A shadow table the PDE stops
   * pointing at is dropped. Returns the number of entries written (0 or 1).
   */
  private syncPdeLocked(gpdep: Paddr, spdep: Paddr): number {
    const g = this.loadGuest(gpdep);
    const s = this.loadShadow(spdep);
    let next = g;
    if (kindOf(g) === PdeKind.Shadowed && !this.guestFrame(pteFrame(g))) {
      // The guest linked a "page table" in the pool or past the end of RAM. The shadow PDE
      // names a frame past RAM instead: any walk through it is a machine check, as the guest's
      // own entry would be on hardware — the pool is never read as a guest table.
      next = makePte(this.layout.ramFrames as Pfn, g & PDE_COPY_FLAGS);
    } else if (kindOf(g) === PdeKind.Shadowed) {
      // ORDERING: under the shadow lock.
      const spt = this.hv[this.layout.ptOf + pteFrame(g)]!;
      if (spt !== 0 && this.hv[this.layout.ownerPde + this.layout.poolIndex(spt)] !== spdep) {
        throw new InternalError(
          `shadow paging: guest page table at frame ${pteFrame(g)} is linked from two page directories ` +
            '(pvemu shadows each user page table for one directory only)',
        );
      }
      next = spt === 0 ? 0 : makePte(spt as Pfn, g & PDE_COPY_FLAGS);
    }
    // A and D are the hardware's: an entry that differs only there is in step.
    if (((next ^ s) & ~(PTE_A | PTE_D)) === 0) return 0;
    this.storeShadow(spdep, next);
    if (kindOf(s) === PdeKind.Shadowed && this.layout.inPool(pteFrame(s)) && pteFrame(s) !== pteFrame(next)) {
      this.dropShadowPtLocked(pteFrame(s));
    }
    return 1;
  }

  private newShadowPtLocked(guestPt: Pfn, spdep: Paddr): Pfn {
    const spt = this.allocFrameLocked();
    const at = this.layout.poolIndex(spt);
    // ORDERING: under the shadow lock.
    this.hv[this.layout.owner + at] = guestPt;
    this.hv[this.layout.ownerPde + at] = spdep;
    this.hv[this.layout.ptOf + guestPt] = spt;
    this.hv[SHADOW_CTL.livePts]++;
    return spt;
  }

  /** Forget a shadow table no shadow PDE points at any more, and free its frame. */
  private dropShadowPtLocked(spt: Pfn): void {
    // ORDERING: under the shadow lock.
    const guestPt = this.hv[this.layout.owner + this.layout.poolIndex(spt)]!;
    if (this.hv[this.layout.ptOf + guestPt] === spt) this.hv[this.layout.ptOf + guestPt] = 0;
    this.hv[SHADOW_CTL.livePts]--;
    this.pool.freeLocked(spt);
  }

  /** Walk the guest's own tables (no A/D updates): does the guest allow `need` at `va`? */
  private guestAllows(guestPd: Paddr, va: number, need: number): boolean {
    const pde = this.loadGuest((guestPd + pdIndex(va) * 4) as Paddr);
    if ((pde & PTE_P) === 0) return false;
    if ((pde & PTE_PS) !== 0) return (pde & need) === need;
    // A table the guest does not have: fill installs the poisoned PDE, whose walk machine-checks.
    if (!this.guestFrame(pteFrame(pde))) return true;
    const pte = this.loadGuest((pteAddr(pde) + ptIndex(va) * 4) as Paddr);
    if ((pte & PTE_P) === 0) return false;
    return (pde & pte & need) === need;
  }

  /** Is `frame` guest memory (below the pool)? Guest entries naming anything else are poisoned. */
  private guestFrame(frame: number): boolean {
    return frame < this.layout.poolFirst;
  }

  private loadGuest(addr: Paddr): number {
    return loadGuestEntry(this.i32, addr);
  }

  private loadShadow(addr: Paddr): number {
    return loadShadowEntry(this.i32, addr);
  }

  private storeShadow(addr: Paddr, value: number): void {
    storeShadowEntry(this.i32, addr, value);
  }
}

/** A and D of a replaced shadow PTE, to OR into the guest's old PTE (pte_clear). */
export function shadowAccessBits(guestOld: number, shadowOld: number): number {
  if ((shadowOld & PTE_P) === 0 || pteFrame(shadowOld) !== pteFrame(guestOld)) return guestOld;
  return guestOld | (shadowOld & (PTE_A | PTE_D));
}
