/**
 * smp_call_function_many and the per-CPU call queues of src/kernel/smp.ts, stepped by hand on a
 * single thread (test/helpers/fake-kernel.ts: the real SmpCalls, TlbFlusher and VcpuWait; the
 * test decides when each CPU takes its IPIs). It proves:
 * - a request is queued with its lock flag set and an IPI pending, runs exactly once when the
 *   target takes the IPI, and its flag is cleared (the acknowledgement) with the queue emptied;
 * - a second request to a non-empty queue sends no second IPI, and the target runs both, oldest
 *   first;
 * - two CPUs flushing each other (each initiates while the other's request is pending in its
 *   queue) both complete: each serves its own queue while it waits for the other.
 */
import { describe, expect, it } from 'vitest';
import { CALL_FUNCTION_VECTOR } from '../../src/hw/apic.js';
import { PAGE_SIZE } from '../../src/hw/paging.js';
import { CallFunc } from '../../src/kernel/layout.js';
import { CpuMask } from '../../src/pv/cpumask.js';
import { TLB_FLUSH_ALL, type FlushInfo, type MmRef } from '../../src/pv/ops.js';
import { createFakeKernel, userPage } from '../helpers/fake-kernel.js';

const NO_FLUSH: FlushInfo = { mm: 0 as MmRef, start: TLB_FLUSH_ALL, end: TLB_FLUSH_ALL, newTlbGen: 0, freedTables: false };

describe('call queues', () => {
  it('a request is queued locked with an IPI pending, runs exactly once when the target takes it, and its lock flag is cleared', () => {
    const k = createFakeKernel({ cpus: 3 });
    const [cpu0, cpu1, cpu2] = [k.cpu(0), k.cpu(1), k.cpu(2)];
    let seenWhileWaiting: { locked: boolean; queued: boolean; vectors: number[]; ran: number } | undefined;
    k.schedule(() => {
      seenWhileWaiting = {
        locked: cpu0.csdLocked(1),
        queued: cpu1.callQueueHead !== 0,
        vectors: cpu1.pendingVectors(),
        ran: cpu1.handled.length,
      };
      cpu1.takeInterrupts();
    });
    const ipis = cpu0.smp.callMany(CpuMask.of(1), CallFunc.Membarrier, NO_FLUSH, CALL_FUNCTION_VECTOR);
    expect(seenWhileWaiting).toEqual({ locked: true, queued: true, vectors: [CALL_FUNCTION_VECTOR], ran: 0 });
    expect(ipis).toBe(1);
    expect(k.stepsLeft).toBe(0);
    expect(cpu1.handled.map((h) => [h.func, h.src])).toEqual([[CallFunc.Membarrier, 0]]);
    expect(cpu0.csdLocked(1)).toBe(false);
    expect(cpu1.callQueueHead).toBe(0);
    expect(cpu1.pendingVectors()).toEqual([]);
    expect(cpu1.counters.callRequestsHandled).toBe(1);

    // The next request to cpu 1 (from cpu 2) runs alone: cpu 0's is not run a second time.
    k.schedule(() => cpu1.takeInterrupts());
    expect(cpu2.smp.callMany(CpuMask.of(1), CallFunc.Membarrier, NO_FLUSH, CALL_FUNCTION_VECTOR)).toBe(1);
    expect(k.stepsLeft).toBe(0);
    expect(cpu1.handled.map((h) => h.src)).toEqual([0, 2]);
    expect(cpu1.counters.callRequestsHandled).toBe(2);
    expect(cpu2.csdLocked(1)).toBe(false);
  });

  it('a request to a non-empty queue sends no second IPI, and the target runs both oldest first', () => {
    const k = createFakeKernel({ cpus: 3 });
    const [cpu0, cpu1, cpu2] = [k.cpu(0), k.cpu(1), k.cpu(2)];
    let ipisFromCpu1 = -1;
    k.schedule(
      // cpu 0's request to cpu 2 is queued and IPI'd; cpu 1 queues behind it.
      () => { ipisFromCpu1 = cpu1.smp.callMany(CpuMask.of(2), CallFunc.Membarrier, NO_FLUSH, CALL_FUNCTION_VECTOR); },
      // cpu 1 spins: cpu 2 takes its one IPI and drains both.
      () => cpu2.takeInterrupts(),
    );
    const ipisFromCpu0 = cpu0.smp.callMany(CpuMask.of(2), CallFunc.Membarrier, NO_FLUSH, CALL_FUNCTION_VECTOR);
    expect(k.stepsLeft).toBe(0);
    expect([ipisFromCpu0, ipisFromCpu1]).toEqual([1, 0]);
    expect(cpu0.calls.filter((c) => c.op === 'sendIpiMask')).toEqual([{ op: 'sendIpiMask', targets: [2], vector: CALL_FUNCTION_VECTOR }]);
    expect(cpu1.calls.filter((c) => c.op === 'sendIpiMask')).toEqual([]);
    expect(cpu2.handled.map((h) => h.src)).toEqual([0, 1]);
    expect(cpu0.csdLocked(2) || cpu1.csdLocked(2)).toBe(false);
    expect(cpu2.callQueueHead).toBe(0);
  });
});

describe('two CPUs flushing each other', () => {
  it('each initiates while the other\'s request is pending in its queue, and both complete: the waiter serves its own queue', () => {
    const k = createFakeKernel({ cpus: 2 });
    const [cpu0, cpu1] = [k.cpu(0), k.cpu(1)];
    const as = k.createAddressSpace();
    const A = userPage(0);
    const B = userPage(1);
    as.map(A, k.allocFrame());
    as.map(B, k.allocFrame());
    for (const c of k.cpus) {
      c.switchMm(as);
      c.touch(A);
      c.touch(B);
    }
    let cpu1Returned = false;
    k.schedule(
      // cpu 0 waits for cpu 1's acknowledgement; meanwhile cpu 1, with cpu 0's request pending in
      // its queue, starts its own shootdown to cpu 0 and waits too.
      () => {
        expect(cpu1.callQueueHead).not.toBe(0);
        cpu1.flusher.flushTlbMmRange(as.mm, B, B + PAGE_SIZE);
        cpu1Returned = true;
      },
      // cpu 1's first spin: cpu 0, still in its wait loop, spins once (the real pause).
      () => cpu0.spinOnce(),
    );
    cpu0.flusher.flushTlbMmRange(as.mm, A, A + PAGE_SIZE);
    expect(cpu1Returned).toBe(true);
    expect(k.stepsLeft).toBe(0);
    // Each ran the other's request exactly once, and both requests are acknowledged.
    expect(cpu0.handled.map((h) => h.src)).toEqual([1]);
    expect(cpu1.handled.map((h) => h.src)).toEqual([0]);
    expect(cpu0.csdLocked(1) || cpu1.csdLocked(0)).toBe(false);
    expect(cpu0.callQueueHead + cpu1.callQueueHead).toBe(0);
    // Both shootdowns ran, each bumping tlb_gen once.
    expect(k.tlbGen(as.mm)).toBe(2);
    // And neither flush was lost: no CPU caches A or B any more.
    for (const c of k.cpus) expect([c.cached(A), c.cached(B)], `cpu ${c.id}`).toEqual([false, false]);
  });
});
