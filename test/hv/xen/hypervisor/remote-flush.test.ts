/**
 * The hypervisor's remote flush on one thread: requests posted to a descheduled target are not
 * waited for and are served when it resumes (a deferred flush); a target serves its mailbox at
 * its next boundary through HV_FLUSH; two requests owed to one vCPU coalesce; no guest IPI is
 * ever sent. (Running targets answering a waiting initiator need real threads: the SMP tests.)
 */
import { describe, expect, it } from 'vitest';
import { PTE_G, PTE_P, PTE_RW, PTE_US } from '../../../../src/hw/paging.js';
import { SchedState, VCPU_BLOCK, VcpuActivity, vcpuBase } from '../../../../src/hw/layout.js';
import { CpuMask } from '../../../../src/pv/cpumask.js';
import type { FlushInfo, MmRef } from '../../../../src/pv/ops.js';
import { FLUSH_FULL, FLUSH_INVLPG } from '../../../../src/hv/xen/hypervisor/layout.js';
import { flushRequest, mergeFlushRequests } from '../../../../src/hv/xen/hypervisor/remote-flush.js';
import { hypervisorOf, xenMachine, xenOpsOf, type XenTestMachine } from '../fixture.js';
import { waitPolicyFor } from '../../../../src/machine/machine.js';
import { WatchdogError } from '../../../../src/lib/errors.js';
import { SPIN_BEFORE_YIELD_DEDICATED_MS, SPIN_BEFORE_YIELD_OVERCOMMITTED_MS } from '../../../../src/hw/wait.js';
import { PARKED_ACTIVITY } from '../../../../src/hw/sched-word.js';

const PAGE_A = 0x0400_0000;
const PAGE_B = 0x0400_1000;
const USER = PTE_P | PTE_RW | PTE_US;

/**
 * The scheduler's decision for `cpu` and, as a vCPU does when it parks (src/vcpu/park.ts) or
 * resumes, its activity: Descheduled means descheduled and parked.
 */
function setSched(m: XenTestMachine, cpu: number, state: SchedState): void {
  Atomics.store(m.machineWords, vcpuBase(cpu) + VCPU_BLOCK.schedState, state);
  Atomics.store(m.machineWords, vcpuBase(cpu) + VCPU_BLOCK.activity, state === SchedState.Descheduled ? PARKED_ACTIVITY : VcpuActivity.User);
}

function info(start: number, pages: number, mm = 0x5000): FlushInfo {
  return { mm: mm as MmRef, start, end: start + pages * 4096, newTlbGen: 2, freedTables: false };
}

/** vCPU 0 with pv ops, vCPU 1 with its hypervisor side installed; vCPU 1's TLB holds PAGE_A and PAGE_B. */
function twoCpus() {
  const m = xenMachine(2);
  const { ops } = xenOpsOf(m, 0);
  hypervisorOf(m, 1);
  const [hw0, hw1] = [m.hws[0]!, m.hws[1]!];
  hw1.tlb.insert(PAGE_A, 0, 500, USER, false);
  hw1.tlb.insert(PAGE_B, 0, 501, USER, false);
  return { m, ops, hw0, hw1 };
}

describe('flush requests', () => {
  it('keep a page for INVLPG and widen any two different requests to a full flush', () => {
    const a = flushRequest(FLUSH_INVLPG, PAGE_A + 123);
    expect(a).toBe(PAGE_A | FLUSH_INVLPG);
    expect(flushRequest(FLUSH_FULL, PAGE_A)).toBe(FLUSH_FULL);
    expect(mergeFlushRequests(0, a)).toBe(a);
    expect(mergeFlushRequests(a, a)).toBe(a);
    expect(mergeFlushRequests(a, flushRequest(FLUSH_INVLPG, PAGE_B))).toBe(FLUSH_FULL);
    expect(mergeFlushRequests(FLUSH_FULL, a)).toBe(FLUSH_FULL);
  });
});

describe('Xen remote flush', () => {
  it('does not wait for a descheduled target; the target flushes when it resumes, counted as deferred', () => {
    const { m, ops, hw0, hw1 } = twoCpus();
    setSched(m, 1, SchedState.Descheduled);
    ops.mmu.flushTlbOthers(CpuMask.of(1), info(PAGE_A, 1));
    expect(hw0.counters.shootdownDeferred).toBe(1);
    expect(hw0.counters.hypercalls).toBe(1);
    expect(hw0.counters.hypercallEntries).toBe(1);
    expect(hw0.counters.ipisSent).toBe(0);
    expect(hw1.tlb.probe(PAGE_A, 0)).toBe(true); // not yet: it is not running
    setSched(m, 1, SchedState.Running);
    hw1.resumed();
    expect(hw1.tlb.probe(PAGE_A, 0)).toBe(false);
    expect(hw1.tlb.probe(PAGE_B, 0)).toBe(true); // INVLPG_MULTI: that page only
    expect(hw1.counters.deferredFlushes).toBe(1);
    expect(hw1.counters.flushRequestsHandled).toBe(1);
    // Nothing owed any more: resuming again flushes nothing.
    hw1.resumed();
    expect(hw1.counters.deferredFlushes).toBe(1);
  });

  it('coalesces two different requests to one target into one full flush', () => {
    const { m, ops, hw1 } = twoCpus();
    setSched(m, 1, SchedState.Descheduled);
    ops.mmu.flushTlbOthers(CpuMask.of(1), info(PAGE_A, 1));
    ops.mmu.flushTlbOthers(CpuMask.of(1), info(PAGE_B, 1));
    hw1.resumed();
    expect(hw1.tlb.probe(PAGE_A, 0)).toBe(false);
    expect(hw1.tlb.probe(PAGE_B, 0)).toBe(false);
    expect(hw1.counters.flushRequestsHandled).toBe(1);
    expect(hw1.counters.tlbFlushesGlobal).toBe(1);
  });

  it('reaches the target through HV_FLUSH at its next boundary, whatever its IF', () => {
    const { m, ops, hw1 } = twoCpus();
    setSched(m, 1, SchedState.Descheduled);
    ops.mmu.flushTlbOthers(CpuMask.of(1), info(PAGE_A, 3));
    setSched(m, 1, SchedState.Running);
    hw1.interruptsEnabled = false;
    hw1.takeInterrupts();
    expect(hw1.tlb.probe(PAGE_A, 0)).toBe(false);
    expect(hw1.tlb.probe(PAGE_B, 0)).toBe(false); // a range: TLB_FLUSH_MULTI, the whole TLB
    expect(hw1.counters.flushRequestsHandled).toBe(1);
    expect(hw1.counters.deferredFlushes).toBe(0);
    expect(hw1.counters.ipisHandled).toBe(0);
  });

  it('drops global entries for kernel mappings (info.mm === 0)', () => {
    const { m, ops, hw1 } = twoCpus();
    const kva = 0xf000_0000;
    hw1.tlb.insert(kva, 0, 600, PTE_P | PTE_RW | PTE_G, false);
    setSched(m, 1, SchedState.Descheduled);
    ops.mmu.flushTlbOthers(CpuMask.of(1), info(kva, 2, 0));
    hw1.resumed();
    expect(hw1.tlb.probe(kva, 0)).toBe(false);
  });

  it('does not wait for a vCPU that has left its run loop', () => {
    const { m, ops, hw0 } = twoCpus();
    Atomics.store(m.machineWords, vcpuBase(1) + VCPU_BLOCK.activity, VcpuActivity.Finished);
    ops.mmu.flushTlbOthers(CpuMask.of(1), info(PAGE_A, 1));
    expect(hw0.counters.hypercalls).toBe(1);
  });
});

describe('Xen remote flush and the run\'s wait policy', () => {
  it('waits for a target the scheduler descheduled that has not parked yet: until it parks it runs guest code on its old entries', () => {
    const m = xenMachine(2);
    const { ops } = xenOpsOf(m, 0, waitPolicyFor({ cpus: 2, watchdogMs: 300 }, 2));
    hypervisorOf(m, 1); // nothing runs vCPU 1's boundaries: it neither acknowledges nor parks
    Atomics.store(m.machineWords, vcpuBase(1) + VCPU_BLOCK.schedState, SchedState.Descheduled);
    let caught: unknown;
    try {
      ops.mmu.flushTlbOthers(CpuMask.of(1), info(PAGE_A, 1));
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(WatchdogError);
    expect(m.hws[0]!.counters.shootdownDeferred).toBe(0);
  });

  it('with --watchdog-ms 1500, a flush to a target that never acknowledges fails after about 1.5 s, naming the target', () => {
    const m = xenMachine(2);
    const { ops } = xenOpsOf(m, 0, waitPolicyFor({ cpus: 2, watchdogMs: 1500 }, 2));
    hypervisorOf(m, 1); // installed, but nothing ever runs vCPU 1's boundaries: it never acknowledges
    const start = performance.now();
    let caught: unknown;
    try {
      ops.mmu.flushTlbOthers(CpuMask.of(1), info(PAGE_A, 1));
    } catch (e) {
      caught = e;
    }
    const waited = performance.now() - start;
    expect(caught).toBeInstanceOf(WatchdogError);
    expect((caught as Error).message).toMatch(/^watchdog: cpu 0 waited \d+ ms in the Xen INVLPG_MULTI hypercall for cpu 1 to flush its TLB; cpu 1 is /);
    expect(waited).toBeGreaterThanOrEqual(1500);
    // Not the old fixed 5 s limit: well under it even on a slow host.
    expect(waited).toBeLessThan(4500);
  });

  it('with --pcpus below --cpus, Xen\'s waits are overcommitted (the short spin) even with a host core per vCPU', () => {
    const m = xenMachine(4);
    const over = xenOpsOf(m, 0, waitPolicyFor({ cpus: 4, pcpus: 2, watchdogMs: 5000 }, 64)).xen.hypervisor.wait;
    expect(over.policy.overcommitted).toBe(true);
    expect(over.spinBeforeYieldMs).toBe(SPIN_BEFORE_YIELD_OVERCOMMITTED_MS);
    const dedicated = xenOpsOf(m, 1, waitPolicyFor({ cpus: 4, pcpus: 4, watchdogMs: 5000 }, 64)).xen.hypervisor.wait;
    expect(dedicated.policy.overcommitted).toBe(false);
    expect(dedicated.spinBeforeYieldMs).toBe(SPIN_BEFORE_YIELD_DEDICATED_MS);
  });
});
