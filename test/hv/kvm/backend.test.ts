/**
 * The kvm backend, op by op, on vCPU hardware sharing one machine block (no threads): the PV
 * TLB flush against steal-time preempted bytes — which targets get IPIs and which are left a
 * FLUSH_TLB request — and the host side that honours it; PV send-IPI, PV EOI and the exits of
 * other APIC writes and of hlt; two-dimensional walks; what the guest sees of KVM.
 */
import { describe, expect, it } from 'vitest';
import { createKvm, KVM_CPUID_FEATURES, KVM_CPUID_SIGNATURE, TWO_DIMENSIONAL_WALK_REFERENCES, kvmBackend } from '../../../src/hv/kvm/index.js';
import { KVM_HC_SEND_IPI } from '../../../src/hv/kvm/guest/apic.js';
import type { PvFlushStats } from '../../../src/hv/kvm/guest/pv-flush.js';
import { markPreempted, loadPreempted, takeOnLoad } from '../../../src/hw/steal-time.js';
import { VcpuHardware } from '../../../src/hw/cpu.js';
import { APIC_EOI, APIC_ICR, APIC_ICR2, APIC_TASKPRI, CALL_FUNCTION_VECTOR, INVALIDATE_TLB_VECTOR, SET_APIC_DEST_FIELD } from '../../../src/hw/apic.js';
import { MACHINE_CTL, RunState, machineBlockBytes } from '../../../src/hw/layout.js';
import { GuestRam } from '../../../src/hw/memory.js';
import { KVM_VCPU_FLUSH_TLB, KVM_VCPU_PREEMPTED } from '../../../src/hw/pvclock.js';
import { CpuMask } from '../../../src/pv/cpumask.js';
import { buildPvOps } from '../../../src/hv/bind.js';
import { TLB_FLUSH_ALL, type FlushInfo, type MmRef, type PvOps } from '../../../src/pv/ops.js';
import { VcpuCounters } from '../../../src/stats/counters.js';
import type { BackendContext } from '../../../src/hv/backend.js';
import { testGuest, testWaitPolicy } from '../../helpers/hardware.js';

const PTE_P_RW_G = 0x103;
const PTE_P_RW_US = 0x007;

interface Cpu {
  hw: VcpuHardware;
  ops: PvOps;
  /** Masks this CPU handed to native_flush_tlb_others (the IPI path). */
  ipiMasks: number[][];
  flush: PvFlushStats;
}

function smp(cpus: number, pvTlbFlush = true): { words: Int32Array; cpu: Cpu[] } {
  const words = new Int32Array(new SharedArrayBuffer(machineBlockBytes(cpus)));
  Atomics.store(words, MACHINE_CTL.runState, RunState.Running);
  const ram = new GuestRam(new SharedArrayBuffer(16 * 1024 * 1024));
  const cpu = [...Array(cpus).keys()].map((c): Cpu => {
    const hw = new VcpuHardware({ cpu: c, cpus, ram, machineWords: words, counters: new VcpuCounters() });
    const ipiMasks: number[][] = [];
    const ctx: BackendContext = {
      hw,
      guest: testGuest({ nativeFlushTlbOthers: (mask: CpuMask) => { ipiMasks.push(mask.toArray()); } }),
      hvState: new SharedArrayBuffer(8),
      wait: testWaitPolicy(),
    };
    // The backend as the machine binds it, keeping hold of the stats of the instance bound.
    let flush: PvFlushStats | undefined;
    const ops = buildPvOps({ ...kvmBackend, create: (x, n) => { const k = createKvm(x, n, pvTlbFlush); flush = k.flush; return k.overrides; } }, ctx);
    return { hw, ops, ipiMasks, flush: flush! };
  });
  return { words, cpu };
}

const userFlush = (): FlushInfo => ({ mm: 0x5000 as MmRef, start: 0x00401000, end: 0x00402000, newTlbGen: 2, freedTables: false });

describe('kvm PV TLB flush (kvm_flush_tlb_multi)', () => {
  it('sends IPIs only to targets not preempted, and leaves the preempted a FLUSH_TLB request', () => {
    const { words, cpu } = smp(4);
    markPreempted(words, 2);
    markPreempted(words, 3);
    cpu[0]!.ops.mmu.flushTlbOthers(CpuMask.of(1, 2, 3), userFlush());
    expect(cpu[0]!.ipiMasks).toEqual([[1]]);
    expect(loadPreempted(words, 1)).toBe(0);
    expect(loadPreempted(words, 2)).toBe(KVM_VCPU_PREEMPTED | KVM_VCPU_FLUSH_TLB);
    expect(loadPreempted(words, 3)).toBe(KVM_VCPU_PREEMPTED | KVM_VCPU_FLUSH_TLB);
    const c = cpu[0]!.hw.counters;
    expect(c.deferredFlushes).toBe(2);
    expect(c.shootdownDeferred).toBe(2);
    expect(cpu[0]!.flush).toMatchObject({ deferred: 2, sentToRunning: 1 });
  });

  it('structurally: no mask handed to the IPI path names a CPU whose byte said PREEMPTED', () => {
    const { words, cpu } = smp(8);
    // Every pattern of preempted targets among CPUs 1..7, flushed from CPU 0.
    for (let pattern = 0; pattern < 128; pattern++) {
      for (let c = 1; c < 8; c++) {
        takeOnLoad(words, c);
        if ((pattern >> (c - 1)) & 1) markPreempted(words, c);
      }
      cpu[0]!.ipiMasks.length = 0;
      cpu[0]!.ops.mmu.flushTlbOthers(CpuMask.of(1, 2, 3, 4, 5, 6, 7), userFlush());
      const running = [1, 2, 3, 4, 5, 6, 7].filter((c) => ((pattern >> (c - 1)) & 1) === 0);
      expect(cpu[0]!.ipiMasks).toEqual(running.length === 0 ? [] : [running]);
      for (const sent of cpu[0]!.ipiMasks.flat()) expect(loadPreempted(words, sent) & KVM_VCPU_PREEMPTED).toBe(0);
    }
  });

  it('skips a target another initiator already asked to flush (the byte changed under its compare-exchange)', () => {
    const { words, cpu } = smp(3);
    markPreempted(words, 2);
    cpu[1]!.ops.mmu.flushTlbOthers(CpuMask.of(2), userFlush());
    cpu[0]!.ops.mmu.flushTlbOthers(CpuMask.of(2), userFlush());
    expect(cpu[0]!.ipiMasks).toEqual([]);
    expect(cpu[1]!.ipiMasks).toEqual([]);
    expect(loadPreempted(words, 2)).toBe(KVM_VCPU_PREEMPTED | KVM_VCPU_FLUSH_TLB);
  });

  it('sends the IPI to a target loaded again (its byte taken) — no flush is lost either way', () => {
    const { words, cpu } = smp(2);
    markPreempted(words, 1);
    takeOnLoad(words, 1); // loaded before the initiator looked
    cpu[0]!.ops.mmu.flushTlbOthers(CpuMask.of(1), userFlush());
    expect(cpu[0]!.ipiMasks).toEqual([[1]]);
  });

  it('host side: the target flushes its whole TLB, global entries too, before it runs again', () => {
    const { words, cpu } = smp(2);
    const t = cpu[1]!;
    t.hw.tlb.insert(0xc0001000, 0, 0x1234, PTE_P_RW_G, false);
    t.hw.tlb.insert(0x00401000, 0, 0x1235, PTE_P_RW_US, false);
    markPreempted(words, 1);
    cpu[0]!.ops.mmu.flushTlbOthers(CpuMask.of(1), { mm: 0 as MmRef, start: TLB_FLUSH_ALL, end: TLB_FLUSH_ALL, newTlbGen: 0, freedTables: false });
    expect(t.hw.tlb.entries()).toBe(2); // nothing happens to a preempted CPU's TLB ...
    t.hw.resumed(); // ... until the host loads it again
    expect(t.hw.tlb.entries()).toBe(0);
    expect(loadPreempted(words, 1)).toBe(0);
    expect(t.flush.flushedOnLoad).toBe(1);
    expect(t.hw.counters.tlbFlushesGlobal).toBe(1);
  });

  it('host side: a target with no request keeps its TLB', () => {
    const { words, cpu } = smp(2);
    const t = cpu[1]!;
    t.hw.tlb.insert(0x00401000, 0, 0x1235, PTE_P_RW_US, false);
    markPreempted(words, 1);
    t.hw.resumed();
    expect(t.hw.tlb.entries()).toBe(1);
    expect(t.flush.flushedOnLoad).toBe(0);
  });
});

describe('kvm APIC: PV send-IPI, PV EOI, exiting writes', () => {
  it('sends a whole mask with one KVM_HC_SEND_IPI hypercall', () => {
    const { cpu } = smp(4);
    const c = cpu[0]!.hw.counters;
    cpu[0]!.ops.apic.sendIpiMask(CpuMask.of(1, 2, 3), INVALIDATE_TLB_VECTOR);
    expect(KVM_HC_SEND_IPI).toBe(10);
    expect(c.hypercalls).toBe(1);
    expect(c.hypercallEntries).toBe(3);
    expect(c.vmexitHypercall).toBe(1);
    expect(c.vmexitApic).toBe(0);
    expect(c.ipisSent).toBe(3);
    for (const t of [1, 2, 3]) expect(cpu[0]!.hw.bus.pendingVectors(t)).toEqual([INVALIDATE_TLB_VECTOR]);
  });

  it('delivers what it sends: the targets handle every IPI (sent === handled)', () => {
    const { cpu } = smp(3);
    let handled = 0;
    for (const t of [1, 2]) {
      const table: ((v: number) => void)[] = [];
      table[CALL_FUNCTION_VECTOR] = () => { handled++; cpu[t]!.ops.apic.apicWrite(APIC_EOI, 0); };
      cpu[t]!.ops.cpu.loadIdt(table);
      cpu[t]!.hw.interruptsEnabled = true;
    }
    cpu[0]!.ops.apic.sendIpiMask(CpuMask.of(1, 2), CALL_FUNCTION_VECTOR);
    cpu[1]!.hw.takeInterrupts();
    cpu[2]!.hw.takeInterrupts();
    expect(handled).toBe(2);
    const sent = cpu[0]!.hw.counters.ipisSent;
    const got = cpu[1]!.hw.counters.ipisHandled + cpu[2]!.hw.counters.ipisHandled;
    expect(got).toBe(sent);
    // PV EOI: the handlers' EOIs took no exit.
    expect(cpu[1]!.hw.counters.vmexitApic + cpu[2]!.hw.counters.vmexitApic).toBe(0);
  });

  it('exits on a native ICR write (one per destination) and other register writes, not on EOI', () => {
    const { cpu } = smp(2);
    const { ops, hw } = cpu[0]!;
    ops.apic.apicWrite(APIC_ICR2, SET_APIC_DEST_FIELD(1));
    ops.apic.apicWrite(APIC_ICR, CALL_FUNCTION_VECTOR);
    expect(hw.counters.vmexitApic).toBe(1);
    expect(hw.counters.ipisSent).toBe(1);
    ops.apic.apicWrite(APIC_TASKPRI, 0);
    expect(hw.counters.vmexitApic).toBe(2);
    ops.apic.apicWrite(APIC_EOI, 0);
    expect(hw.counters.vmexitApic).toBe(2);
  });

  it('exits when the LAPIC timer is programmed', () => {
    const { cpu } = smp(1);
    cpu[0]!.ops.apic.setupBootClock(250);
    expect(cpu[0]!.hw.counters.vmexitApic).toBe(3);
  });
});

describe('kvm CPU, irq and MMU ops', () => {
  it('takes a halt exit on hlt and safe_halt', () => {
    const { cpu } = smp(1);
    const { ops, hw } = cpu[0]!;
    ops.irq.safeHalt(0);
    ops.irq.halt(0);
    expect(hw.counters.vmexitHalt).toBe(2);
    expect(hw.counters.halts).toBe(2);
  });

  it('prices a TLB miss as a two-dimensional walk of up to 24 references', () => {
    const { cpu } = smp(1);
    expect(TWO_DIMENSIONAL_WALK_REFERENCES).toBe(24);
    expect(cpu[0]!.hw.mmu.walkCycles).toBe(24 * cpu[0]!.hw.cost.table.walkRef);
  });

  it('stores PTEs with plain stores: no trap, no hypercall', () => {
    const { cpu } = smp(1);
    const { ops, hw } = cpu[0]!;
    ops.mmu.setPte(0x2000 as never, 0x3007);
    expect(Atomics.load(hw.ram.i32, 0x2000 >>> 2)).toBe(0x3007);
    expect(ops.mmu.pteClear(0 as MmRef, 0 as never, 0x2000 as never)).toBe(0x3007);
    expect(hw.counters.traps + hw.counters.hypercalls).toBe(0);
  });

  it('says KVM: pv_info, the banner, and CPUID\'s hypervisor leaves', () => {
    const { cpu } = smp(1);
    const { ops } = cpu[0]!;
    expect(ops.info.name).toBe('KVM');
    expect(ops.info.paravirtEnabled).toBe(true);
    expect(ops.init.banner()).toBe('Booting paravirtualized kernel on KVM');
    expect((ops.cpu.cpuid(1, 0)[2] >>> 31) & 1).toBe(1);
    const [max, b, c, d] = ops.cpu.cpuid(KVM_CPUID_SIGNATURE, 0);
    expect(max).toBe(KVM_CPUID_FEATURES);
    const sig = Buffer.alloc(12);
    sig.writeInt32LE(b, 0);
    sig.writeInt32LE(c, 4);
    sig.writeInt32LE(d, 8);
    expect(sig.toString('latin1')).toBe('KVMKVMKVM\0\0\0');
    const features = ops.cpu.cpuid(KVM_CPUID_FEATURES, 0)[0];
    for (const bit of [5 /* STEAL_TIME */, 6 /* PV_EOI */, 9 /* PV_TLB_FLUSH */, 11 /* PV_SEND_IPI */]) expect((features >>> bit) & 1).toBe(1);
  });
});

describe('kvm-nopvflush: KVM with KVM_FEATURE_PV_TLB_FLUSH off', () => {
  it('leaves the feature bit out of CPUID, keeping the others', () => {
    const features = smp(1, false).cpu[0]!.ops.cpu.cpuid(KVM_CPUID_FEATURES, 0)[0];
    expect((features >>> 9) & 1).toBe(0);
    for (const bit of [5 /* STEAL_TIME */, 6 /* PV_EOI */, 11 /* PV_SEND_IPI */]) expect((features >>> bit) & 1).toBe(1);
  });

  it('sends a preempted target the IPI like any other, and leaves no FLUSH_TLB request', () => {
    const { words, cpu } = smp(3, false);
    markPreempted(words, 1);
    cpu[0]!.ops.mmu.flushTlbOthers(CpuMask.of(1, 2), userFlush());
    expect(cpu[0]!.ipiMasks).toEqual([[1, 2]]);
    expect(loadPreempted(words, 1)).toBe(KVM_VCPU_PREEMPTED);
    expect(cpu[0]!.flush.deferred).toBe(0);
  });
});
