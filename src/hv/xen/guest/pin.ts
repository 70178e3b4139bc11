/**
 * Pinning whole address spaces, the guest side (Linux's xen_pgd_pin / xen_pgd_unpin): before a
 * directory is loaded, pin every L1 table it references and then the directory itself, as one
 * mmuext_op hypercall; after every CPU has left it (exit_mmap), unpin the directory and then its
 * user L1 tables. Runs on a vCPU worker, for that vCPU.
 *
 * "Is it pinned" is Linux's PagePinned test; pvemu's guest reads the hypervisor's pinned bit for
 * it (src/hv/xen/hypervisor/frame-table.ts). The guest pin lock (XEN_CTL.pinLock, Linux's page_table_lock
 * around xen_pgd_pin) makes test-then-pin one step, so two vCPUs activating a new mm at once do
 * not both pin it. Lock order: the kernel's page_table_lock (held by allocPt's caller), then the
 * pin lock, then the hypervisor's frame-table lock (inside each hypercall).
 */
import { PAGE_SHIFT, PTE_P, PTE_PS, PTRS_PER_TABLE } from '../../../hw/paging.js';
import { MMUEXT_PIN_L1_TABLE, MMUEXT_PIN_L2_TABLE, MMUEXT_UNPIN_TABLE, newMmuextOp, type MmuextOp } from '../abi.js';
import type { XenHypervisor } from '../hypervisor/hypervisor.js';
import { KERNEL_PDE_FIRST } from '../hypervisor/validate.js';

export class DirectoryPinning {
  /** Room for every table of one directory plus the directory: PTRS_PER_TABLE + 1 ops. Worker-local. */
  private readonly ops: MmuextOp[] = Array.from({ length: PTRS_PER_TABLE + 1 }, newMmuextOp);

  constructor(
    private readonly hv: XenHypervisor,
    /** Called with the -errno of a refused pin or unpin (the kernel only asks for valid ones). */
    private readonly onRefused: (errno: number) => void,
  ) {}

  /** xen_pgd_pin: pin the directory at `pgdFrame` and every L1 it references, unless pinned already. */
  pinDirectory(pgdFrame: number): void {
    const { hv } = this;
    hv.pinLock.acquire();
    try {
      if (hv.frames.isPinned(pgdFrame)) return;
      const ram = hv.hw.ram.i32;
      const base = pgdFrame << (PAGE_SHIFT - 2);
      let n = 0;
      for (let i = 0; i < PTRS_PER_TABLE; i++) {
        // ORDERING: pairs with the kernel's entry stores (setPmd, via the hypervisor's lock).
        const pde = Atomics.load(ram, base + i);
        if ((pde & (PTE_P | PTE_PS)) !== PTE_P) continue;
        const table = pde >>> PAGE_SHIFT;
        // Shared kernel tables (the vmalloc area's) were pinned with swapper_pg_dir.
        if (!hv.frames.isPinned(table)) this.set(n++, MMUEXT_PIN_L1_TABLE, table);
      }
      this.set(n++, MMUEXT_PIN_L2_TABLE, pgdFrame);
      this.issue(n);
    } finally {
      hv.pinLock.release();
    }
  }

  /**
   * xen_pgd_unpin: unpin the directory, then the user L1 tables pinned with it (the kernel's
   * shared tables stay pinned: swapper_pg_dir and every other directory use them).
   */
  unpinDirectory(pgdFrame: number): void {
    const { hv } = this;
    hv.pinLock.acquire();
    try {
      if (!hv.frames.isPinned(pgdFrame)) return;
      const ram = hv.hw.ram.i32;
      const base = pgdFrame << (PAGE_SHIFT - 2);
      let n = 0;
      this.set(n++, MMUEXT_UNPIN_TABLE, pgdFrame);
      for (let i = 0; i < KERNEL_PDE_FIRST; i++) {
        // ORDERING: as in pinDirectory.
        const pde = Atomics.load(ram, base + i);
        if ((pde & (PTE_P | PTE_PS)) !== PTE_P) continue;
        const table = pde >>> PAGE_SHIFT;
        if (hv.frames.isPinned(table)) this.set(n++, MMUEXT_UNPIN_TABLE, table);
      }
      this.issue(n);
    } finally {
      hv.pinLock.release();
    }
  }

  /** alloc_pt on a pinned mm: pin the new (zeroed) table before the kernel links it in. */
  pinTableIfDirectoryPinned(pgdFrame: number, table: number): void {
    const { hv } = this;
    hv.pinLock.acquire();
    try {
      if (!hv.frames.isPinned(pgdFrame) || hv.frames.isPinned(table)) return;
      this.set(0, MMUEXT_PIN_L1_TABLE, table);
      this.issue(1);
    } finally {
      hv.pinLock.release();
    }
  }

  /** release_pt / release_pd: the frame stops being a table; unpin it if it still is pinned. */
  unpinTable(frame: number): void {
    const { hv } = this;
    hv.pinLock.acquire();
    try {
      if (!hv.frames.isPinned(frame)) return;
      this.set(0, MMUEXT_UNPIN_TABLE, frame);
      this.issue(1);
    } finally {
      hv.pinLock.release();
    }
  }

  private set(i: number, cmd: number, mfn: number): void {
    const op = this.ops[i]!;
    op.cmd = cmd;
    op.mfn = mfn;
    op.linearAddr = 0;
    op.vcpumask = null;
  }

  private issue(n: number): void {
    const r = this.hv.HYPERVISOR_mmuext_op(this.ops, n);
    if (r !== 0) this.onRefused(r);
  }
}
