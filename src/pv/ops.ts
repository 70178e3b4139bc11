/**
 * The paravirt interface: eight groups of ops, as Linux's paravirt_ops was split in 2007
 * (commit 93b1eab3d29e). The guest kernel is written only against these; a hypervisor backend
 * implements them. Each member's comment names its Linux counterpart.
 *
 * Ops are bound per vCPU: each vCPU worker builds one frozen table at boot (src/hv/bind.ts), so
 * an op always acts on the CPU it is called on, as Linux's ops act on this_cpu.
 */
import { InternalError } from '../lib/errors.js';
import type { CpuMask } from './cpumask.js';
import type { Nanoseconds, Paddr, Pfn, Vaddr } from '../hw/types.js';
import type { InterruptHandler } from '../hw/cpu.js';

/** Guest-physical address of a kernel mm_struct (src/kernel/layout.ts MM). 0 = none (init_mm). */
export type MmRef = number & { readonly __brand: 'MmRef' };

/** flush_tlb_others' `va == TLB_FLUSH_ALL`: flush the whole address space. */
export const TLB_FLUSH_ALL = -1;

/**
 * What a remote flush must do: Linux's struct flush_tlb_info. Reused per CPU, never retained
 * by a callee after it returns.
 */
export interface FlushInfo {
  /** The address space; 0 for kernel mappings (flush on every CPU, global entries too). */
  mm: MmRef;
  /** First byte of the range, or TLB_FLUSH_ALL. */
  start: number;
  /** One past the last byte of the range. */
  end: number;
  /** mm->context.tlb_gen after the change this flush publishes. */
  newTlbGen: number;
  /** Page tables were freed: even lazy CPUs must flush (they could walk freed tables). */
  freedTables: boolean;
}

/** pv_info: information, no entry points. */
export interface PvInfo {
  /** pv_info.name: the backend's name ("bare hardware" natively). */
  readonly name: string;
  /** pv_info.paravirt_enabled: 0 on bare hardware. */
  readonly paravirtEnabled: boolean;
  /** pv_info.kernel_rpl: the ring the kernel runs in (0 native, 1 under Xen PV). */
  readonly kernelRpl: number;
  /** pv_info.shared_kernel_pmd: kernel page-table pages shared between page directories. */
  readonly sharedKernelPmd: boolean;
}

/** What memory_setup reports: the e820-style map, reduced to what pvemu needs. */
export interface MemoryMap {
  /** Guest RAM the kernel may use, from physical 0 (a multiple of 4 KiB). */
  readonly usableBytes: number;
  /** The boot log's description of the map. */
  readonly description: string;
}

/** Op sites the kernel may ask pv_init_ops.patch to specialise. */
export type PvPatchSite = 'irq.saveFl' | 'irq.restoreFl' | 'irq.irqDisable' | 'irq.irqEnable' | 'mmu.setPte' | 'mmu.flushTlbSingle';

/** pv_init_ops: boot-time hooks. Never exported to modules. */
export interface PvInitOps {
  /**
   * pv_init_ops.patch: may return a specialised implementation for an op site (the analogue of
   * patching a call site in place); undefined keeps the indirect call.
   */
  patch(site: PvPatchSite): ((...args: number[]) => number | void) | undefined;
  /** pv_init_ops.arch_setup. */
  archSetup(): void;
  /**
   * pv_init_ops.memory_setup: the memory map. RAM past `usableBytes` belongs to the hypervisor
   * (shadow tables, its own frames) and the guest must never allocate it.
   */
  memorySetup(): MemoryMap;
  /** pv_init_ops.post_allocator_init. */
  postAllocatorInit(): void;
  /** pv_init_ops.banner: the boot banner line. */
  banner(): string;
}

/** pv_misc_ops: lazy mode (the RFC's group; Linux later folded it into pv_lazy_ops). */
export interface PvMiscOps {
  /** arch_enter_lazy_mmu_mode: PTE updates may be batched until leave. */
  enterLazyMmu(): void;
  /** arch_leave_lazy_mmu_mode: issue anything batched. */
  leaveLazyMmu(): void;
  /** arch_enter_lazy_cpu_mode: CPU-state updates (context switch) may be batched. */
  enterLazyCpu(): void;
  /** arch_leave_lazy_cpu_mode. */
  leaveLazyCpu(): void;
  /** arch_flush_lazy_mmu_mode: leave and re-enter, issuing what is batched. */
  flushLazy(): void;
}

/** pv_time_ops. */
export interface PvTimeOps {
  /** pv_time_ops.time_init. */
  timeInit(): void;
  /** pv_time_ops.get_wallclock: seconds since the epoch. */
  getWallclock(): number;
  /** pv_time_ops.set_wallclock: returns 0 or -errno. */
  setWallclock(seconds: number): number;
  /** pv_time_ops.sched_clock: monotonic ns since boot on this CPU, agreeing across CPUs within a tick. */
  schedClock(): Nanoseconds;
  /** pv_time_ops.get_cpu_khz. */
  getCpuKhz(): number;
  /** paravirt_steal_clock: ns this CPU was runnable but not running. */
  stealClock(cpu: number): Nanoseconds;
}

/** pv_cpu_ops: privileged CPU state. */
export interface PvCpuOps {
  /** read_cr0 / write_cr0. */
  readCr0(): number;
  writeCr0(value: number): void;
  /** read_cr4 / write_cr4 (PSE, PGE, PCIDE). */
  readCr4(): number;
  writeCr4(value: number): void;
  /** cpuid: [eax, ebx, ecx, edx]. */
  cpuid(leaf: number, subleaf: number): [number, number, number, number];
  /** read_msr: returns the value, or throws a general-protection fault for an unknown MSR. */
  readMsr(msr: number): number;
  /** write_msr. */
  writeMsr(msr: number, value: number): void;
  /** read_tsc. */
  readTsc(): number;
  /** wbinvd. */
  wbinvd(): void;
  /** load_gdt: descriptor tables are not modelled; kept so a backend can count it. */
  loadGdt(): void;
  /** load_idt: install the interrupt handler table (vector -> handler). */
  loadIdt(table: ReadonlyArray<InterruptHandler | undefined>): void;
}

/** The IF bit of EFLAGS, as save_fl returns it. */
export const X86_EFLAGS_IF = 0x200;

/** pv_irq_ops. Exported to modules. */
export interface PvIrqOps {
  /** init_IRQ: set up interrupt handling on this CPU. */
  initIrq(): void;
  /** save_fl: the flags word (X86_EFLAGS_IF when enabled). */
  saveFl(): number;
  /** restore_fl. */
  restoreFl(flags: number): void;
  /** irq_disable (cli). */
  irqDisable(): void;
  /** irq_enable (sti): pending interrupts are taken at once. */
  irqEnable(): void;
  /** safe_halt (sti; hlt): enable interrupts and sleep until one arrives or `timeoutMs` passes. */
  safeHalt(timeoutMs: number): void;
  /** halt (hlt with interrupts as they are). */
  halt(timeoutMs: number): void;
}

/** pv_apic_ops. */
export interface PvApicOps {
  /** apic_write. Writing APIC_ICR sends an IPI; APIC_EOI ends the in-service interrupt. */
  apicWrite(reg: number, value: number): void;
  /** apic_read. */
  apicRead(reg: number): number;
  /** send_IPI_mask: one vector to every CPU in mask (one hypercall where the backend can). */
  sendIpiMask(mask: CpuMask, vector: number): void;
  /** setup_boot_clock: arm the boot CPU's LAPIC timer at `hz`. */
  setupBootClock(hz: number): void;
  /** setup_secondary_clock: arm a secondary CPU's LAPIC timer at `hz`. */
  setupSecondaryClock(hz: number): void;
  /** startup_ipi_hook(phys_apicid, start_eip, start_esp): before the STARTUP IPI to an AP. */
  startupIpiHook(apicId: number, startEip: number, startEsp: number): void;
}

/** pv_mmu_ops. */
export interface PvMmuOps {
  /** pagetable_setup_start(base): the kernel is about to build its page tables in `base`. */
  pagetableSetupStart(basePd: Pfn): void;
  /** pagetable_setup_done(base). */
  pagetableSetupDone(basePd: Pfn): void;
  /** read_cr2: the faulting address of the last page fault. */
  readCr2(): Vaddr;
  /** read_cr3: the current page directory. */
  readCr3(): Paddr;
  /** write_cr3: load a page directory (flushes non-global TLB entries). */
  writeCr3(pd: Paddr): void;
  /** activate_mm(prev, next): `next` is about to be loaded on this CPU. */
  activateMm(prev: MmRef, next: MmRef): void;
  /** dup_mmap(oldmm, mm): `mm` was created as a copy of `oldmm` (fork). */
  dupMmap(oldMm: MmRef, mm: MmRef): void;
  /** exit_mmap(mm): `mm` is being torn down. */
  exitMmap(mm: MmRef): void;
  /** flush_tlb_user: flush this CPU's non-global entries. */
  flushTlbUser(): void;
  /** flush_tlb_kernel: flush this CPU's entries including global ones. */
  flushTlbKernel(): void;
  /** flush_tlb_single(addr): INVLPG on this CPU. */
  flushTlbSingle(va: Vaddr): void;
  /**
   * flush_tlb_others(cpumask, mm, va): make every CPU in `mask` (never this one) drop the
   * translations `info` names, and return only when they have.
   */
  flushTlbOthers(mask: CpuMask, info: FlushInfo): void;
  /** alloc_pt(mm, pfn): `pfn` becomes a page table of `mm`. */
  allocPt(mm: MmRef, frame: Pfn): void;
  /** alloc_pd(pfn): `pfn` becomes a page directory. */
  allocPd(frame: Pfn): void;
  /** release_pt(pfn): `pfn` is no longer a page table. */
  releasePt(frame: Pfn): void;
  /** release_pd(pfn). */
  releasePd(frame: Pfn): void;
  /** set_pte: store a PTE (no mm/address context). */
  setPte(ptep: Paddr, pte: number): void;
  /** set_pte_at(mm, addr, ptep, pte): store a user PTE. */
  setPteAt(mm: MmRef, va: Vaddr, ptep: Paddr, pte: number): void;
  /** set_pmd: store a PDE. */
  setPmd(pmdp: Paddr, pmd: number): void;
  /** pte_update(mm, addr, ptep): the PTE changed in memory; resync now. */
  pteUpdate(mm: MmRef, va: Vaddr, ptep: Paddr): void;
  /** pte_update_defer: the same, but the resync may wait until the next flush. */
  pteUpdateDefer(mm: MmRef, va: Vaddr, ptep: Paddr): void;
  /** pte_clear(mm, addr, ptep): returns the old PTE (ptep_get_and_clear). */
  pteClear(mm: MmRef, va: Vaddr, ptep: Paddr): number;
}

/** The whole interface, one member per group. */
export interface PvOps {
  readonly info: PvInfo;
  readonly init: PvInitOps;
  readonly misc: PvMiscOps;
  readonly time: PvTimeOps;
  readonly cpu: PvCpuOps;
  readonly irq: PvIrqOps;
  readonly apic: PvApicOps;
  readonly mmu: PvMmuOps;
}

export type PvGroupKey = keyof PvOps;

/** Linux's names for the groups, keyed by PvOps member. */
export const PV_GROUP_NAMES: Readonly<Record<PvGroupKey, string>> = Object.freeze({
  info: 'pv_info',
  init: 'pv_init_ops',
  misc: 'pv_misc_ops',
  time: 'pv_time_ops',
  cpu: 'pv_cpu_ops',
  irq: 'pv_irq_ops',
  apic: 'pv_apic_ops',
  mmu: 'pv_mmu_ops',
});

/**
 * What the guest kernel lends the backends: kernel code a pv op's native implementation calls
 * (Linux's native_flush_tlb_others is kernel code; paravirt backends replace or wrap it), and the
 * one field of kernel data a backend may read (mm->pgd, which Linux's backends read). It is all a
 * backend knows of the kernel. The kernel fills it in once it exists (Kernel.lendServices); the
 * pv ops, built before the kernel, call through it.
 */
export interface GuestServices {
  /** native_flush_tlb_others: queue flush_tlb_func to each non-lazy CPU in mask, IPI, wait for acks. */
  nativeFlushTlbOthers: (mask: CpuMask, info: FlushInfo) => void;
  /** mm->pgd: the physical address of `mm`'s page directory, 0 while it has none. */
  pgdOf: (mm: MmRef) => Paddr;
}

/** GuestServices before the kernel has lent them: each throws (a backend used one too early). */
export function unlentGuestServices(): GuestServices {
  const early = (what: string) => (): never => {
    throw new InternalError(`${what} called before the kernel lent it to the backend`);
  };
  return { nativeFlushTlbOthers: early('native_flush_tlb_others'), pgdOf: early('mm->pgd') };
}
