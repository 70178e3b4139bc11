/**
 * The vCPU's side of the --check TLB coherence checker: it tells the MMU (src/hw/mmu.ts
 * checkHit) which flush generations apply, from the guest kernel's words, and keeps the first
 * few violations for the report. With `failFast` (--check) the first violation stops the run:
 * the access that used the stale entry throws CoherenceError, which aborts the machine, so the
 * run ends within the time the other vCPUs take to see the abort; without it (--check=count)
 * the run goes on and the violations are only counted. Runs only on the owning vCPU's worker.
 *
 * Generations: a user entry belongs to the mm loaded when it was filled (PERCPU.loadedMm; a CR3
 * write drops it when that changes), and is compared with MM.tlbGen / MM.completedGen; a global
 * entry maps kernel memory and is compared with KGLOBALS.kernelTlbGen / kernelCompletedGen.
 */
import type { CoherenceSource, CoherenceViolation } from '../hw/mmu.js';
import { KGLOBALS, MM, PERCPU, type KernelLayout } from '../kernel/layout.js';
import type { CoherenceViolationReport } from './task-args.js';
import { rwsemIsFree } from '../kernel/sync.js';
import { CoherenceError } from '../lib/errors.js';

/** Violations described in full per vCPU; the rest are only counted. */
export const MAX_DESCRIBED_VIOLATIONS = 4;

export class CoherenceChecker implements CoherenceSource {
  readonly described: CoherenceViolationReport[] = [];
  private readonly percpu: number;
  private readonly kglobals: number;
  private mmGen = 0;
  private kernelGen = 0;

  constructor(private readonly i32: Int32Array, layout: KernelLayout, private readonly cpu: number, private readonly failFast = true) {
    this.percpu = layout.percpuBase(cpu);
    this.kglobals = layout.kglobals;
  }

  beforeWalk(): void {
    const mm = this.i32[this.percpu + PERCPU.loadedMm]!;
    // ORDERING: pairs with flushTlbMmRange's Atomics.add of tlbGen, made after its PTE changes:
    // read before the walk, so an entry whose generation is G reflects every change made
    // before G was reached (the walk's own PTE loads come after this load).
    this.mmGen = mm === 0 ? 0 : Atomics.load(this.i32, (mm >>> 2) + MM.tlbGen);
    // ORDERING: pairs with flushTlbKernelRange's Atomics.add of kernelTlbGen (same argument).
    this.kernelGen = Atomics.load(this.i32, this.kglobals + KGLOBALS.kernelTlbGen);
  }

  insertGen(global: boolean): number {
    return global ? this.kernelGen : this.mmGen;
  }

  completedGen(global: boolean): number {
    if (global) {
      // ORDERING: pairs with flushTlbKernelRange's compare-exchange raising kernelCompletedGen.
      return Atomics.load(this.i32, this.kglobals + KGLOBALS.kernelCompletedGen);
    }
    const mm = this.i32[this.percpu + PERCPU.loadedMm]!;
    // ORDERING: pairs with flushTlbMmRange's compare-exchange raising MM.completedGen after
    // flushTlbOthers returned.
    return mm === 0 ? 0 : Atomics.load(this.i32, (mm >>> 2) + MM.completedGen);
  }

  changesSettled(global: boolean): boolean {
    // Kernel mappings (vmalloc) are only reused after their flush_tlb_kernel_range returned.
    if (global) return true;
    const mm = this.i32[this.percpu + PERCPU.loadedMm]!;
    if (mm === 0) return false;
    // Every user PTE change and the flush_tlb_mm_range after it run under mmap_lock (munmap,
    // mprotect, fork: write; faults, madvise: read). The entry was seen stale before this load,
    // so the change that made it stale was made before it; if the lock is free now, its holder
    // has released it, after its shootdown completed.
    // ORDERING: pairs with up_read's Atomics.sub and up_write's compareExchange (sync.ts),
    // which follow the holder's raise of MM.completedGen.
    return rwsemIsFree(Atomics.load(this.i32, (mm >>> 2) + MM.mmapLock));
  }

  report(v: CoherenceViolation): void {
    if (this.described.length >= MAX_DESCRIBED_VIOLATIONS) return;
    const mm = this.i32[this.percpu + PERCPU.loadedMm]!;
    const described: CoherenceViolationReport = { cpu: this.cpu, mmId: mm === 0 ? 0 : this.i32[(mm >>> 2) + MM.id]!, ...v };
    this.described.push(described);
    if (this.failFast) throw new CoherenceError(`TLB coherence check: ${describeViolation(described)}`);
  }
}

/** One line naming a violation: vCPU, address, the entry used and what the tables say now. */
export function describeViolation(v: CoherenceViolationReport): string {
  const hex = (n: number): string => `0x${(n >>> 0).toString(16)}`;
  const current = v.currentPfn < 0 ? 'not present' : `frame ${hex(v.currentPfn)} flags ${hex(v.currentFlags)}`;
  return `cpu ${v.cpu} used a stale ${v.global ? 'global ' : ''}TLB entry for va ${hex(v.va)}` +
    `${v.mmId !== 0 ? ` (mm ${v.mmId})` : ''}: cached frame ${hex(v.cachedPfn)} flags ${hex(v.cachedFlags)}, ` +
    `page tables now ${current}; entry from generation ${v.insertGen}, shootdown of generation ${v.completedGen} already completed`;
}
