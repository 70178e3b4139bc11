/**
 * TLB flushing, the way Linux's arch/x86/mm/tlb.c does it, written against pv_mmu_ops.
 * Runs on a vCPU worker for that CPU.
 *
 * Variables (per CPU, in guest memory, PERCPU):
 *   loadedMm      the mm in CR3 (0 = init_mm)
 *   loadedTlbGen  the loaded mm's tlb_gen this CPU's TLB is known to reflect
 *   isLazy        1 while the idle task runs with a user mm still loaded
 * Per mm (MM): tlbGen, bumped once per change that needs a flush; cpumask.
 *
 * flush_tlb_mm_range(mm, start, end): (1) bump mm.tlbGen to G; (2) flush locally if mm is loaded
 * here; (3) pv_mmu_ops.flushTlbOthers(mm.cpumask - self, {mm, start, end, G}).
 *
 * flush_tlb_func on a CPU, given G (new) and its local generation L, mm generation M:
 *   1. mm is not loaded here: nothing (switching away flushed it; CR3 writes drop user entries).
 *   2. L >= M: an earlier flush already covered this one: nothing.
 *   3. G == L + 1 and G == M and a range of at most 33 pages: flush those pages (INVLPG).
 *   4. otherwise: a full flush. Then L := M.
 * The race condition 3 guards against: two flushes F1 (gen 5, pages A) and F2 (gen 6, pages B)
 * arrive in the order F2, F1 at a CPU at L = 4. Flushing only B for F2 would leave A stale while
 * claiming gen 6, so F2 takes the full flush (G=6 != L+1=5) and F1 then sees L >= M and skips.
 *
 * Lazy TLB: a CPU that goes idle keeps its mm loaded and sets isLazy; native shootdowns skip it
 * (counted as deferred) unless page tables were freed. When it switches back in to the same mm
 * it clears isLazy, then compares L with M and flushes if behind. Ordering (Dekker): initiator
 * bumps tlbGen then loads isLazy; the CPU stores isLazy = 0 then loads tlbGen; with sequentially
 * consistent Atomics at least one of them sees the other's write, so no flush is lost.
 */
import { INVALIDATE_TLB_VECTOR, CALL_FUNCTION_VECTOR } from '../hw/apic.js';
import { PAGE_SHIFT, PAGE_SIZE } from '../hw/paging.js';
import type { Paddr, Vaddr } from '../hw/types.js';
import { CpuMask } from '../pv/cpumask.js';
import { TLB_FLUSH_ALL, type FlushInfo, type MmRef } from '../pv/ops.js';
import type { KernelContext } from './context.js';
import { CallFunc, KGLOBALS, MM, PERCPU } from './layout.js';
import type { SmpCalls } from './smp.js';
import { TraceKind } from '../stats/trace-buffer.js';

/** Above this many pages a range flush becomes a full flush (Linux's tlb_single_page_flush_ceiling, commit a5102476a24b). */
export const TLB_SINGLE_PAGE_FLUSH_CEILING = 33;

export class TlbFlusher {
  private readonly percpu: number;
  private readonly others = new CpuMask();
  private readonly sendMask = new CpuMask();
  private readonly info: FlushInfo = { mm: 0 as MmRef, start: 0, end: 0, newTlbGen: 0, freedTables: false };
  /**
   * Fault injection (MachineConfig.inject.lazyNoGenCheckCpu), set by the vCPU before boot: a
   * lazy CPU switching back to its mm trusts its TLB without comparing generations, so a
   * shootdown that skipped it while it was lazy is never made up for.
   */
  lazySwitchSkipsGenCheck = false;
  /**
   * Fault injection (MachineConfig.inject.firstPageFlushCpu), set by the vCPU before boot: every
   * flush of a range longer than a page that this CPU makes — the ones it asks of others, and the
   * ones flush_tlb_func does here — covers only the range's first page, where the range (or a
   * full flush, above the 33-page ceiling or after the F1/F2 reordering) was needed.
   */
  firstPageOnly = false;

  constructor(private readonly k: KernelContext, private readonly smp: SmpCalls) {
    this.percpu = k.layout.percpuBase(k.cpu);
  }

  get loadedMm(): MmRef {
    return this.k.i32[this.percpu + PERCPU.loadedMm]! as MmRef;
  }

  /** flush_tlb_mm_range: the entry point for every user-mapping change that needs a flush. */
  flushTlbMmRange(mm: MmRef, start: number, end: number, freedTables = false): void {
    const { i32, cpu } = this.k;
    const mmBase = mm >>> 2;
    // ORDERING: the PTE changes (Atomics stores) precede this add; the add precedes the cpumask
    // and isLazy loads below. Pairs with switchMm's cpumask set / isLazy clear then tlbGen load.
    const gen = Atomics.add(i32, mmBase + MM.tlbGen, 1) + 1;
    // The change log records the range the kernel means to flush, whatever the fault below sends.
    const recorded = this.k.flushRecorder?.flushBegin(mm, start, end) ?? 0;
    const info = this.info;
    info.mm = mm;
    info.start = start;
    info.end = this.firstPageOnly ? firstPageOf(start, end) : end;
    info.newTlbGen = gen;
    info.freedTables = freedTables;
    if (this.loadedMm === mm) this.flushTlbFunc(info);
    this.others.assign(Atomics.load(i32, mmBase + MM.cpumask), Atomics.load(i32, mmBase + MM.cpumask + 1));
    this.others.clear(cpu);
    if (!this.others.isEmpty()) this.flushOthers(this.others, info);
    // The shootdown is complete: no CPU may use a translation older than `gen` any more.
    this.k.flushRecorder?.flushDone(mm, recorded);
  }

  /** flush_tlb_kernel_range: kernel mappings change on every CPU, global entries included. */
  flushTlbKernelRange(start: number, end: number): void {
    const { cpus, cpu, i32 } = this.k;
    const kg = this.k.layout.kglobals;
    // ORDERING: the kernel PTE changes precede this add; pairs with the coherence checker's
    // load of kernelTlbGen before a walk (src/vcpu/vcpu.ts), as MM.tlbGen does for an mm.
    const gen = Atomics.add(i32, kg + KGLOBALS.kernelTlbGen, 1) + 1;
    const info = this.info;
    info.mm = 0 as MmRef;
    info.start = start;
    info.end = this.firstPageOnly ? firstPageOf(start, end) : end;
    info.newTlbGen = 0;
    info.freedTables = false;
    this.flushKernelLocal(info);
    this.others.assign(0, 0);
    for (let c = 0; c < cpus; c++) if (c !== cpu) this.others.set(c);
    if (!this.others.isEmpty()) this.flushOthers(this.others, info);
    raiseTo(i32, kg + KGLOBALS.kernelCompletedGen, gen);
  }

  /** One shootdown: pv_mmu_ops.flushTlbOthers, measured on the initiator's critical path. */
  private flushOthers(mask: CpuMask, info: FlushInfo): void {
    const { counters, histograms, ops } = this.k;
    counters.shootdowns++;
    counters.shootdownTargets += mask.count();
    const c0 = counters.modeledCycles;
    this.smp.lastRemoteCycles = 0;
    const t0 = this.k.nowMs();
    ops.mmu.flushTlbOthers(mask, info);
    const t1 = this.k.nowMs();
    histograms.shootdown.record((t1 - t0) * 1e6);
    // --trace: the same span the histogram measures, on the initiator's track.
    const trace = this.k.trace;
    if (trace !== null) trace.span(TraceKind.Shootdown, t0, t1, mask.count(), info.mm === 0 ? 1 : 0, 0);
    // Modelled: what this CPU spent, plus the slowest target (targets work in parallel).
    histograms.shootdownCycles.record(counters.modeledCycles - c0 + this.smp.lastRemoteCycles);
  }

  /**
   * native_flush_tlb_others (GuestServices): queue the flush to each target, IPI, wait. Lazy
   * targets are skipped (deferred) unless page tables were freed; kernel flushes go to all.
   */
  nativeFlushTlbOthers(mask: CpuMask, info: FlushInfo): void {
    const { i32, layout, counters } = this.k;
    const send = this.sendMask.copyFrom(mask);
    if (info.mm !== 0 && !info.freedTables) {
      for (let c = mask.next(0); c >= 0; c = mask.next(c + 1)) {
        // ORDERING: pairs with switchMm's Atomics.store(isLazy, 0) (see the header).
        if (Atomics.load(i32, layout.percpuBase(c) + PERCPU.isLazy) !== 0) {
          send.clear(c);
          counters.shootdownDeferred++;
        }
      }
    }
    if (send.isEmpty()) return;
    const func = info.mm === 0 ? CallFunc.FlushTlbKernel : CallFunc.FlushTlb;
    const vector = info.mm === 0 ? CALL_FUNCTION_VECTOR : INVALIDATE_TLB_VECTOR;
    counters.shootdownIpis += this.smp.callMany(send, func, info, vector);
  }

  /** flush_tlb_func: run on a target (from its call queue) or locally by the initiator. */
  flushTlbFunc(info: FlushInfo): void {
    const { i32, ops } = this.k;
    const pc = this.percpu;
    const loaded = i32[pc + PERCPU.loadedMm]!;
    if (loaded !== info.mm) return; // (1)
    if (i32[pc + PERCPU.isLazy] !== 0 && info.freedTables) {
      this.leaveMm(info.mm);
      return;
    }
    const mmGen = Atomics.load(i32, (info.mm >>> 2) + MM.tlbGen);
    const localGen = i32[pc + PERCPU.loadedTlbGen]!;
    if (localGen >= mmGen) return; // (2)
    const partial = info.start !== TLB_FLUSH_ALL && info.newTlbGen === localGen + 1 && info.newTlbGen === mmGen;
    const pages = (info.end - info.start) >>> PAGE_SHIFT;
    if (this.firstPageOnly && info.start !== TLB_FLUSH_ALL) {
      ops.mmu.flushTlbSingle(info.start as Vaddr); // injected fault: (3) or (4) cut to one page
    } else if (partial && pages <= TLB_SINGLE_PAGE_FLUSH_CEILING) {
      for (let va = info.start; va < info.end; va += PAGE_SIZE) ops.mmu.flushTlbSingle(va as Vaddr); // (3)
    } else {
      ops.mmu.flushTlbUser(); // (4)
    }
    i32[pc + PERCPU.loadedTlbGen] = mmGen;
  }

  private flushKernelLocal(info: FlushInfo): void {
    const { ops } = this.k;
    const pages = (info.end - info.start) >>> PAGE_SHIFT;
    if (this.firstPageOnly && info.start !== TLB_FLUSH_ALL) {
      ops.mmu.flushTlbSingle(info.start as Vaddr); // injected fault: the range cut to one page
    } else if (info.start !== TLB_FLUSH_ALL && pages <= TLB_SINGLE_PAGE_FLUSH_CEILING) {
      for (let va = info.start; va < info.end; va += PAGE_SIZE) ops.mmu.flushTlbSingle(va as Vaddr);
    } else {
      ops.mmu.flushTlbKernel();
    }
  }

  /** The call-queue handler for flush requests: times each from dequeue to acknowledgement. */
  handleCall(func: CallFunc, info: FlushInfo): void {
    if (func === CallFunc.Membarrier) return; // the IPI and the Atomics around it are the barrier
    const t0 = this.k.nowMs();
    switch (func) {
      case CallFunc.FlushTlb: this.flushTlbFunc(info); break;
      case CallFunc.FlushTlbKernel: this.flushKernelLocal(info); break;
      case CallFunc.LeaveMm: this.leaveMm(info.mm); break;
    }
    this.k.counters.flushRequestsHandled++;
    const t1 = this.k.nowMs();
    this.k.histograms.flushHandler.record((t1 - t0) * 1e6);
    // --trace: the handler span the histogram measures (inside the IPI's interrupt span).
    const trace = this.k.trace;
    if (trace !== null) trace.span(TraceKind.FlushHandler, t0, t1, func, 0, 0);
  }

  /**
   * switch_mm: load `next` on this CPU (context switch or lazy switch-in). `next` 0 = init_mm
   * with `swapperPgd`.
   */
  switchMm(next: MmRef, nextPgd: Paddr): void {
    const { i32, cpu, ops, counters } = this.k;
    const pc = this.percpu;
    const prev = i32[pc + PERCPU.loadedMm]! as MmRef;
    const word = cpu >>> 5;
    const bit = 1 << (cpu & 31);
    if (prev === next) {
      if (i32[pc + PERCPU.isLazy] === 0) return;
      // ORDERING: isLazy = 0 before the tlbGen load (Dekker with flushTlbMmRange's add, then
      // nativeFlushTlbOthers' isLazy load).
      Atomics.store(i32, pc + PERCPU.isLazy, 0);
      if (next === 0) return;
      const gen = Atomics.load(i32, (next >>> 2) + MM.tlbGen);
      if (i32[pc + PERCPU.loadedTlbGen]! < gen && !this.lazySwitchSkipsGenCheck) {
        ops.mmu.flushTlbUser();
        i32[pc + PERCPU.loadedTlbGen] = gen;
        counters.lazyFlushes++;
      }
      return;
    }
    ops.mmu.activateMm(prev, next);
    let gen = 0;
    if (next !== 0) {
      // ORDERING: set our cpumask bit before reading tlbGen and loading CR3; pairs with
      // flushTlbMmRange's tlbGen add then cpumask load. Either the initiator sees our bit, or we
      // see its generation and its PTEs (CR3 load drops our old entries anyway).
      Atomics.or(i32, (next >>> 2) + MM.cpumask + word, bit);
      gen = Atomics.load(i32, (next >>> 2) + MM.tlbGen);
    }
    ops.mmu.writeCr3(nextPgd);
    Atomics.store(i32, pc + PERCPU.isLazy, 0);
    i32[pc + PERCPU.loadedMm] = next;
    i32[pc + PERCPU.loadedTlbGen] = gen;
    if (prev !== 0) {
      // ORDERING: after the CR3 write flushed prev's entries; an initiator that still sees our
      // bit sends a flush we will find has nothing to do (loadedMm != its mm).
      Atomics.and(i32, (prev >>> 2) + MM.cpumask + word, ~bit);
    }
    counters.contextSwitches++;
  }

  /** enter_lazy_mmu for the idle task: keep the mm loaded, stop taking its flushes. */
  enterLazy(): void {
    const pc = this.percpu;
    if (this.k.i32[pc + PERCPU.loadedMm] === 0) return;
    // ORDERING: pairs with nativeFlushTlbOthers' isLazy load; a flush that misses it was
    // already queued, and a flush that sees it is caught by switchMm's generation check.
    Atomics.store(this.k.i32, pc + PERCPU.isLazy, 1);
  }

  /**
   * Before an mm is destroyed: every other CPU that still holds it (lazily, or with its bit not
   * yet cleared) switches to init_mm, and we wait until they have (Linux's xen_drop_mm_ref and
   * the freed-tables flush both reach lazy CPUs).
   */
  evictMm(mm: MmRef): void {
    const { i32, cpu } = this.k;
    const mb = mm >>> 2;
    this.others.assign(Atomics.load(i32, mb + MM.cpumask), Atomics.load(i32, mb + MM.cpumask + 1));
    this.others.clear(cpu);
    if (this.others.isEmpty()) return;
    const info = this.info;
    info.mm = mm;
    info.start = TLB_FLUSH_ALL;
    info.end = TLB_FLUSH_ALL;
    info.newTlbGen = 0;
    info.freedTables = true;
    this.smp.callMany(this.others, CallFunc.LeaveMm, info, CALL_FUNCTION_VECTOR);
  }

  /** leave_mm: drop a (lazily) loaded mm for init_mm. */
  leaveMm(mm: MmRef): void {
    if (this.loadedMm !== mm || mm === 0) return;
    this.switchMm(0 as MmRef, this.k.i32[this.k.layout.kglobals + KGLOBALS.swapperPgDir]! as Paddr);
  }
}

/** [start, end) cut to its first page (TLB_FLUSH_ALL stays whole): the firstPageOnly fault. */
function firstPageOf(start: number, end: number): number {
  return start === TLB_FLUSH_ALL ? end : Math.min(end, start + PAGE_SIZE);
}

/**
 * Raise the completed-generation word at `index` to `gen` unless it is already higher (two
 * initiators may complete out of order). Called after flushTlbOthers returned.
 */
function raiseTo(i32: Int32Array, index: number, gen: number): void {
  // ORDERING: pairs with the coherence checker's Atomics.load of this word on a hit of a global
  // entry (src/vcpu/coherence.ts completedGen): a checker that sees `gen` here sees the targets'
  // flushes done, since flushTlbOthers returned only after every target acknowledged its flush.
  let cur = Atomics.load(i32, index);
  while (cur < gen) {
    const seen = Atomics.compareExchange(i32, index, cur, gen);
    if (seen === cur) return;
    cur = seen;
  }
}
