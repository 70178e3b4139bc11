/**
 * Cross-CPU function calls: smp_call_function_many over per-CPU call queues, the mechanism
 * every native shootdown rides on. Runs on a vCPU worker.
 *
 * Each (initiator, target) pair owns one call_single_data in guest memory. The initiator fills
 * it, sets CSD_FLAG_LOCK, pushes it on the target's lock-free queue (llist_add), and sends an
 * IPI only when the queue was empty — a non-empty queue already has an IPI on its way. It then
 * waits for every target to clear the flag. A target's interrupt handler takes its whole queue
 * (llist_del_all), runs each function, and clears each flag as the acknowledgement.
 *
 * Why this cannot deadlock: a CPU waiting for acknowledgements takes interrupts while it spins
 * (VcpuWait.pause), so requests queued to it are served even while its own are in flight.
 *
 * Memory ordering, initiator I and target T:
 *   I: plain stores of the CSD fields; Atomics.store(flags, LOCK); CAS(T.queue, old, csd)
 *   T: Atomics.exchange(T.queue, 0) — sees the CAS, hence the fields; runs; Atomics.store(flags, 0)
 *   I: Atomics.load(flags) == 0 — sees T's store, hence everything T did before it (the flush).
 */
import { InternalError } from '../lib/errors.js';
import { CpuMask } from '../pv/cpumask.js';
import { TLB_FLUSH_ALL, type FlushInfo, type MmRef } from '../pv/ops.js';
import type { KernelContext } from './context.js';
import { MAX_CPUS } from '../lib/limits.js';
import { CSD, CSD_FLAG_LOCK, CallFunc, PERCPU } from './layout.js';
import { CALL_ACK_WAIT } from './sync.js';

/** What a queued call carries; the receiving side reads it back into this shape. */
export interface CallArgs {
  func: CallFunc;
  info: FlushInfo;
}

/** Addresses travel as int32 words: give them back as unsigned, keeping TLB_FLUSH_ALL (-1). */
function unsignedOrAll(word: number): number {
  return word === TLB_FLUSH_ALL ? TLB_FLUSH_ALL : word >>> 0;
}

export type CallHandler = (func: CallFunc, info: FlushInfo, src: number) => void;

export class SmpCalls {
  private readonly targets = new CpuMask();
  private readonly ipiMask = new CpuMask();
  /**
   * Targets whose call_single_data this CPU has queued and not yet seen acknowledged: the
   * CSD_FLAG_LOCK it set, remembered here so a call does not re-read the flag the target wrote
   * last (a cache line fetched from the other core only to find it clear).
   */
  private readonly unacknowledged = new CpuMask();
  /** Scratch FlushInfo for the receiving side (never retained by handlers). */
  private readonly incoming: FlushInfo = { mm: 0 as MmRef, start: 0, end: 0, newTlbGen: 0, freedTables: false };
  /** runQueue's scratch: the CSD indices taken, newest first (one CSD per source at most). */
  private readonly drained = new Int32Array(MAX_CPUS);
  private handler: CallHandler | undefined;
  /** The slowest target's modelled cycles in the last callMany (measurement). */
  lastRemoteCycles = 0;
  /**
   * Fault injection (MachineConfig.inject.noAckCpu), set by the vCPU before boot: run queued
   * requests but never acknowledge them — a target that never answers, for watchdog tests.
   */
  neverAcknowledge = false;
  /**
   * Fault injection (MachineConfig.inject.ackBeforeFlushCpu), set by the vCPU before boot: a TLB
   * flush request is acknowledged as it is taken and its flush put off until this CPU next
   * enters the kernel from its task (a system call or a page fault: runDeferredFlushes), so the
   * initiator goes on while this CPU's task still runs on the old entries.
   */
  ackBeforeFlush = false;
  /** Under ackBeforeFlush: a user flush (of the mm loaded then) and a kernel flush owed. */
  private owedUserFlush = false;
  private owedKernelFlush = false;

  constructor(private readonly k: KernelContext) {}

  setHandler(handler: CallHandler): void {
    this.handler = handler;
  }

  /**
   * smp_call_function_many(mask, func, info, wait=1): run `func` on every CPU in `mask` (never
   * this one) and return when all have. Returns the number of IPIs sent.
   */
  callMany(mask: CpuMask, func: CallFunc, info: FlushInfo, vector: number): number {
    const { i32, layout, cpu, counters } = this.k;
    const t0 = this.k.nowMs();
    this.targets.copyFrom(mask);
    this.targets.clear(cpu);
    this.ipiMask.assign(0, 0);
    for (let c = this.targets.next(0); c >= 0; c = this.targets.next(c + 1)) {
      const index = layout.csdIndex(cpu, c);
      const csd = layout.csdBase(index);
      // The CSD is ours again once waitForAcks saw its flag clear (it clears our record then).
      if (this.unacknowledged.has(c)) {
        throw new InternalError(`cpu ${cpu}: call_single_data for cpu ${c} still locked (nested smp_call_function_many?)`);
      }
      this.unacknowledged.set(c);
      i32[csd + CSD.func] = func;
      i32[csd + CSD.src] = cpu;
      i32[csd + CSD.mm] = info.mm;
      i32[csd + CSD.start] = info.start;
      i32[csd + CSD.end] = info.end;
      i32[csd + CSD.newTlbGen] = info.newTlbGen;
      i32[csd + CSD.freedTables] = info.freedTables ? 1 : 0;
      Atomics.store(i32, csd + CSD.flags, CSD_FLAG_LOCK);
      if (this.llistAdd(layout.percpuBase(c) + PERCPU.callQueue, csd + CSD.next, index + 1)) this.ipiMask.set(c);
      counters.callRequestsSent++;
    }
    let ipis = 0;
    if (!this.ipiMask.isEmpty()) {
      ipis = this.ipiMask.count();
      this.k.ops.apic.sendIpiMask(this.ipiMask, vector);
    }
    this.waitForAcks();
    this.k.histograms.smpCall.record((this.k.nowMs() - t0) * 1e6);
    return ipis;
  }

  /** llist_add: push `value` (CSD index + 1) on the queue at `headWord`. True if it was empty. */
  private llistAdd(headWord: number, nextWord: number, value: number): boolean {
    const i32 = this.k.i32;
    // The usual case first: an empty queue, taken with the one locked operation (a load first
    // would fetch the target's line only to have the CAS fetch it again for writing).
    Atomics.store(i32, nextWord, 0);
    // ORDERING: the CAS publishes the CSD; pairs with runQueue's Atomics.exchange of the head.
    let old = Atomics.compareExchange(i32, headWord, 0, value);
    if (old === 0) return true;
    // Not empty: the CAS returned the head it found; link behind it and try again.
    for (;;) {
      Atomics.store(i32, nextWord, old);
      const seen = Atomics.compareExchange(i32, headWord, old, value);
      if (seen === old) return old === 0;
      old = seen;
    }
  }

  private waitForAcks(): void {
    const { i32, layout, cpu, spinner } = this.k;
    let slowest = 0;
    for (let c = this.targets.next(0); c >= 0; c = this.targets.next(c + 1)) {
      const csd = layout.csdBase(layout.csdIndex(cpu, c));
      const flags = csd + CSD.flags;
      // ORDERING: pairs with the target's Atomics.store(flags, 0) after it ran the function
      // (and wrote its cost, read below).
      if ((Atomics.load(i32, flags) & CSD_FLAG_LOCK) !== 0) {
        spinner.begin(CALL_ACK_WAIT, c);
        while ((Atomics.load(i32, flags) & CSD_FLAG_LOCK) !== 0) spinner.pauseOn(i32, flags, CSD_FLAG_LOCK);
        spinner.end();
      }
      this.unacknowledged.clear(c);
      slowest = Math.max(slowest, i32[csd + CSD.cost]!);
    }
    this.lastRemoteCycles = slowest;
  }

  /**
   * generic_smp_call_function_interrupt: run every request queued to this CPU, oldest first,
   * acknowledging each. Interrupt context (IF clear).
   */
  runQueue(): void {
    const { i32, layout, cpu, counters } = this.k;
    // ORDERING: llist_del_all; pairs with llistAdd's compareExchange.
    let entry = Atomics.exchange(i32, layout.percpuBase(cpu) + PERCPU.callQueue, 0);
    const list = this.drained;
    let taken = 0;
    while (entry !== 0) {
      if (taken === list.length) throw new InternalError(`cpu ${cpu}: call queue holds more than ${list.length} requests (a CSD queued twice?)`);
      list[taken++] = entry - 1;
      entry = Atomics.load(i32, layout.csdBase(entry - 1) + CSD.next);
    }
    const handler = this.handler;
    if (handler === undefined) throw new InternalError(`cpu ${cpu}: call queue has no handler`);
    const info = this.incoming;
    // Each target's modelled cost: taking the interrupt and EOI, plus what the function charged.
    const entryCycles = this.k.cost.table.ipiDeliver + this.k.cost.table.eoi;
    for (let i = taken - 1; i >= 0; i--) {
      const csd = layout.csdBase(list[i]!);
      const func = i32[csd + CSD.func]! as CallFunc;
      info.mm = i32[csd + CSD.mm]! as MmRef;
      info.start = unsignedOrAll(i32[csd + CSD.start]!);
      info.end = unsignedOrAll(i32[csd + CSD.end]!);
      info.newTlbGen = i32[csd + CSD.newTlbGen]!;
      info.freedTables = i32[csd + CSD.freedTables] === 1;
      const c0 = counters.modeledCycles;
      if (this.ackBeforeFlush && (func === CallFunc.FlushTlb || func === CallFunc.FlushTlbKernel)) {
        // Injected fault: owe the flush (whole, since the request is gone with the ack) and
        // acknowledge at once below.
        if (func === CallFunc.FlushTlb) this.owedUserFlush = true;
        else this.owedKernelFlush = true;
      } else {
        handler(func, info, i32[csd + CSD.src]!);
      }
      i32[csd + CSD.cost] = Math.round(counters.modeledCycles - c0 + entryCycles);
      // Injected fault: the flag stays locked, so the initiator waits until its watchdog fires.
      if (this.neverAcknowledge) continue;
      counters.callRequestsHandled++;
      // ORDERING: the acknowledgement; pairs with waitForAcks' Atomics.load. Everything the
      // handler did (the TLB flush) happens before it.
      Atomics.store(i32, csd + CSD.flags, 0);
      // An initiator that gave its core away waiting for this ack wakes now (its halt checks
      // the flag after announcing itself; this ring follows the store).
      this.k.spinner.wake(i32[csd + CSD.src]!);
    }
  }

  /**
   * Under the ackBeforeFlush fault, at a system call or page fault: the flushes acknowledged
   * since the last one, done now — a full flush of the mm loaded here (flush_tlb_func finds its
   * generation behind and flushes everything), and of the kernel's mappings.
   */
  runDeferredFlushes(): void {
    if (!this.owedUserFlush && !this.owedKernelFlush) return;
    const handler = this.handler;
    if (handler === undefined) throw new InternalError(`cpu ${this.k.cpu}: call queue has no handler`);
    const info = this.incoming;
    info.start = TLB_FLUSH_ALL;
    info.end = TLB_FLUSH_ALL;
    info.newTlbGen = 0;
    info.freedTables = false;
    if (this.owedUserFlush) {
      this.owedUserFlush = false;
      info.mm = this.k.i32[this.k.layout.percpuBase(this.k.cpu) + PERCPU.loadedMm]! as MmRef;
      if (info.mm !== 0) handler(CallFunc.FlushTlb, info, this.k.cpu);
    }
    if (this.owedKernelFlush) {
      this.owedKernelFlush = false;
      info.mm = 0 as MmRef;
      handler(CallFunc.FlushTlbKernel, info, this.k.cpu);
    }
  }
}
