/**
 * The vCPU's side of the --check TLB coherence checker: it tells the MMU (src/hw/mmu.ts
 * checkHit) when an entry was filled and whether a stale one has outlived the shootdown that
 * should have removed it, and keeps the first few violations for the report. With `failFast`
 * (--check) the first violation stops the run: the access that used the stale entry throws
 * CoherenceError, which aborts the machine, so the run ends within the time the other vCPUs
 * take to see the abort; without it (--check=count) the run goes on and the violations are only
 * counted. Runs only on the owning vCPU's worker.
 *
 * User entries (the mm loaded, PERCPU.loadedMm; a CR3 write drops them when it changes) are
 * judged precisely against the machine's change log (src/vcpu/change-log.ts, docs/coherence.md):
 * a hit is a violation exactly when the entry is stale and a flush covering the first change
 * made after its fill has completed. Global entries map kernel memory (vmalloc), which is only
 * reused after its flush_tlb_kernel_range returned: they are compared with
 * KGLOBALS.kernelTlbGen / kernelCompletedGen.
 */
import type { CoherenceSource, CoherenceViolation, FlushCover } from '../hw/mmu.js';
import { KGLOBALS, PERCPU, MM, type KernelLayout } from '../kernel/layout.js';
import type { CoherenceViolationReport } from './task-args.js';
import { CoherenceError } from '../lib/errors.js';
import { TLB_FLUSH_ALL, type MmRef, type PvOps } from '../pv/ops.js';
import type { FlushRecorder } from '../kernel/context.js';
import type { ChangeLog } from './change-log.js';

/** Violations described in full per vCPU; the rest are only counted. */
export const MAX_DESCRIBED_VIOLATIONS = 4;

export class CoherenceChecker implements CoherenceSource, FlushRecorder {
  readonly described: CoherenceViolationReport[] = [];
  private readonly percpu: number;
  private readonly kglobals: number;
  private kernelGen = 0;
  /** The change log's number as the last walk began (settledChange). */
  private walkStart = 0;

  constructor(
    private readonly i32: Int32Array,
    private readonly layout: KernelLayout,
    private readonly cpu: number,
    private readonly log: ChangeLog,
    private readonly failFast = true,
  ) {
    this.percpu = layout.percpuBase(cpu);
    this.kglobals = layout.kglobals;
  }

  /** The mm slot of the mm loaded here, or -1 for none (init_mm). */
  private loadedSlot(): number {
    const mm = this.i32[this.percpu + PERCPU.loadedMm]!;
    return mm === 0 ? -1 : this.layout.mmSlot(mm);
  }

  beforeWalk(): void {
    // ORDERING: pairs with flushTlbKernelRange's Atomics.add of kernelTlbGen, made after its
    // PTE changes: read before the walk, so a global entry whose generation is G reflects every
    // change made before G was reached (the walk's own PTE loads come after this load).
    this.kernelGen = Atomics.load(this.i32, this.kglobals + KGLOBALS.kernelTlbGen);
    this.walkStart = this.log.fillMark();
  }

  insertGen(global: boolean): number {
    // A user entry's mark is read after its walk (the MMU evaluates this after walking).
    return global ? this.kernelGen : this.log.fillMark();
  }

  completedGen(global: boolean): number {
    // ORDERING: pairs with flushTlbKernelRange's compare-exchange raising kernelCompletedGen.
    if (global) return Atomics.load(this.i32, this.kglobals + KGLOBALS.kernelCompletedGen);
    const slot = this.loadedSlot();
    return slot < 0 ? 0 : this.log.maxDone(slot);
  }

  coveringFlush(global: boolean, va: number, insertGen: number): FlushCover | null {
    if (global) {
      // Kernel mappings are reused only after their flush returned: any completed kernel flush
      // newer than the entry covers it.
      const completed = this.completedGen(true);
      return { seq: completed, start: TLB_FLUSH_ALL, end: TLB_FLUSH_ALL, cpu: -1 };
    }
    const slot = this.loadedSlot();
    if (slot < 0) return null;
    const change = this.log.firstChangeAfter(slot, va, insertGen);
    // No change recorded since the fill, or one whose store is not yet committed: no flush of
    // it can have begun, so no verdict.
    if (change <= 0) return null;
    return this.log.coveringFlush(slot, va, change);
  }

  settledChange(va: number): number {
    const slot = this.loadedSlot();
    return slot < 0 ? 0 : this.log.committedBefore(slot, va, this.walkStart);
  }

  report(v: CoherenceViolation): void {
    if (this.described.length >= MAX_DESCRIBED_VIOLATIONS) return;
    const mm = this.i32[this.percpu + PERCPU.loadedMm]!;
    const described: CoherenceViolationReport = { cpu: this.cpu, mmId: mm === 0 ? 0 : this.i32[(mm >>> 2) + MM.id]!, ...v };
    this.described.push(described);
    if (this.failFast) throw new CoherenceError(`TLB coherence check: ${describeViolation(described)}`);
  }

  // FlushRecorder (the kernel's flush_tlb_mm_range tells the change log).

  flushBegin(mm: MmRef, start: number, end: number): number {
    return this.log.flushBegin(this.layout.mmSlot(mm), start, end);
  }

  flushDone(mm: MmRef, token: number): void {
    this.log.flushDone(this.layout.mmSlot(mm), token);
  }
}

/**
 * `ops` with every user PTE change announced to the change log before its store and committed
 * after it, and lazy MMU mode followed (a backend may hold its stores back until it leaves).
 */
export function recordingChanges(ops: PvOps, log: ChangeLog, layout: KernelLayout): PvOps {
  const { mmu, misc } = ops;
  return Object.freeze({
    ...ops,
    mmu: Object.freeze({
      ...mmu,
      setPteAt: (mm, va, ptep, pte) => {
        if (mm !== 0) log.announce(layout.mmSlot(mm), va);
        mmu.setPteAt(mm, va, ptep, pte);
        log.changeStored();
      },
      pteClear: (mm, va, ptep) => {
        if (mm !== 0) log.announce(layout.mmSlot(mm), va);
        const old = mmu.pteClear(mm, va, ptep);
        log.changeStored();
        return old;
      },
    } satisfies PvOps['mmu']),
    misc: Object.freeze({
      ...misc,
      enterLazyMmu: () => {
        log.enterLazy();
        misc.enterLazyMmu();
      },
      leaveLazyMmu: () => {
        misc.leaveLazyMmu();
        log.leaveLazy();
      },
    } satisfies PvOps['misc']),
  });
}

/** One line naming a violation: vCPU, address, the entry used and what the tables say now. */
export function describeViolation(v: CoherenceViolationReport): string {
  const hex = (n: number): string => `0x${(n >>> 0).toString(16)}`;
  const current = v.currentPfn < 0 ? 'not present' : `frame ${hex(v.currentPfn)} flags ${hex(v.currentFlags)}`;
  if (v.unsyncedChange !== undefined) {
    return `cpu ${v.cpu} filled a TLB entry for va ${hex(v.va)}${v.mmId !== 0 ? ` (mm ${v.mmId})` : ''} from a shadow page table ` +
      `out of step with the guest's: shadow frame ${hex(v.cachedPfn)} flags ${hex(v.cachedFlags)}, guest's tables ${current}, ` +
      `whose change (committed at ${v.unsyncedChange}, before the walk) the shadow never took`;
  }
  return `cpu ${v.cpu} used a stale ${v.global ? 'global ' : ''}TLB entry for va ${hex(v.va)}` +
    `${v.mmId !== 0 ? ` (mm ${v.mmId})` : ''}: cached frame ${hex(v.cachedPfn)} flags ${hex(v.cachedFlags)}, ` +
    `page tables now ${current}; entry filled at ${v.insertGen}, and the flush that should have removed it completed: ${describeFlush(v)}`;
}

/** The covering flush of a violation, as a phrase. */
function describeFlush(v: CoherenceViolationReport): string {
  const f = v.flush;
  if (v.global) return `kernel flush generation ${f.seq}`;
  const hex = (n: number): string => `0x${(n >>> 0).toString(16)}`;
  const range = f.start === TLB_FLUSH_ALL ? 'the whole address space' : `${hex(f.start)}-${hex(f.end)}`;
  return `cpu ${f.cpu}'s flush of ${range} (begun at ${f.seq})`;
}
