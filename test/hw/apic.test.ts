import { describe, expect, it } from 'vitest';
import {
  APIC_DEST_ALLBUT, APIC_DM_STARTUP, APIC_EOI, APIC_ESR, APIC_ESR_SENDACC, APIC_ESR_SENDILL, APIC_ICR, APIC_ICR2, APIC_IRR, APIC_TASKPRI, ApicBus, CALL_FUNCTION_VECTOR, LocalApic,
  LOCAL_TIMER_VECTOR, PENDING_IRR, PENDING_LOCAL, PENDING_VECTOR_BASE, RESCHEDULE_VECTOR, SET_APIC_DEST_FIELD,
} from '../../src/hw/apic.js';
import { VCPU_BLOCK, machineBlockBytes, vcpuBase } from '../../src/hw/layout.js';

function apics(cpus: number): LocalApic[] {
  const words = new Int32Array(new SharedArrayBuffer(machineBlockBytes(cpus)));
  const bus = new ApicBus(words, cpus);
  return Array.from({ length: cpus }, (_, c) => new LocalApic(words, c, bus));
}

describe('local APIC', () => {
  it('drops an IPI to an APIC id no CPU has or with an illegal vector: ESR says which, the error is counted, nothing is raised', () => {
    const words = new Int32Array(new SharedArrayBuffer(machineBlockBytes(2)));
    const bus = new ApicBus(words, 2);
    const counters = { ipiSendErrors: 0 };
    const a = new LocalApic(words, 0, bus, counters);
    const b = new LocalApic(words, 1, bus);
    a.write(APIC_ICR2, SET_APIC_DEST_FIELD(2));
    expect(a.write(APIC_ICR, CALL_FUNCTION_VECTOR)).toBe(0);
    // The ESR shows errors once a write latches them.
    expect(a.read(APIC_ESR)).toBe(0);
    a.write(APIC_ESR, 0);
    expect(a.read(APIC_ESR)).toBe(APIC_ESR_SENDACC);
    a.write(APIC_ICR2, SET_APIC_DEST_FIELD(1));
    expect(a.write(APIC_ICR, 3)).toBe(0);
    a.write(APIC_ESR, 0);
    expect(a.read(APIC_ESR)).toBe(APIC_ESR_SENDILL);
    expect(counters.ipiSendErrors).toBe(2);
    expect(b.hasPending()).toBe(false);
  });

  it('accepts the highest-priority pending vector first and moves it to the ISR', () => {
    const [a] = apics(1);
    a!.bus.raise(0, LOCAL_TIMER_VECTOR, false);
    a!.bus.raise(0, RESCHEDULE_VECTOR, true);
    expect(a!.hasPending()).toBe(true);
    expect(a!.acceptHighest()).toBe(RESCHEDULE_VECTOR);
    expect(a!.bus.inServiceVectors(0)).toEqual([RESCHEDULE_VECTOR]);
    // The timer (lower class) waits until EOI.
    expect(a!.acceptHighest()).toBe(-1);
    a!.write(APIC_EOI, 0);
    expect(a!.acceptHighest()).toBe(LOCAL_TIMER_VECTOR);
  });

  it('holds back vectors at or below the TPR class', () => {
    const [a] = apics(1);
    a!.write(APIC_TASKPRI, 0xf0);
    a!.bus.raise(0, CALL_FUNCTION_VECTOR, true);
    expect(a!.acceptHighest()).toBe(-1);
    a!.write(APIC_TASKPRI, 0);
    expect(a!.acceptHighest()).toBe(CALL_FUNCTION_VECTOR);
  });

  it('sends through ICR to the ICR2 destination, and to all but self with the shorthand', () => {
    const cpus = apics(4);
    cpus[0]!.write(APIC_ICR2, SET_APIC_DEST_FIELD(2));
    expect(cpus[0]!.write(APIC_ICR, CALL_FUNCTION_VECTOR)).toBe(1);
    expect(cpus[2]!.acceptHighest()).toBe(CALL_FUNCTION_VECTOR);
    cpus[2]!.write(APIC_EOI, 0);
    expect(cpus[1]!.hasPending()).toBe(false);
    expect(cpus[1]!.write(APIC_ICR, APIC_DEST_ALLBUT | RESCHEDULE_VECTOR)).toBe(3);
    expect(cpus[1]!.hasPending()).toBe(false);
    for (const c of [0, 2, 3]) expect(cpus[c]!.acceptHighest()).toBe(RESCHEDULE_VECTOR);
  });

  it('accounts coalesced IPIs: the second send of a vector not yet taken is counted by its sender, the target takes one', () => {
    const words = new Int32Array(new SharedArrayBuffer(machineBlockBytes(3)));
    const target = new LocalApic(words, 0, new ApicBus(words, 3));
    const first = { ipisCoalesced: 0 };
    const second = { ipisCoalesced: 0 };
    for (const vector of [CALL_FUNCTION_VECTOR, 0x41]) {
      new ApicBus(words, 3, null, first).raise(0, vector, true);
      new ApicBus(words, 3, null, second).raise(0, vector, true);
    }
    expect(first.ipisCoalesced).toBe(0);
    expect(second.ipisCoalesced).toBe(2);
    expect(target.acceptHighest()).toBe(CALL_FUNCTION_VECTOR);
    expect(target.ipisAccepted).toBe(2);
    target.eoi();
    expect(target.acceptHighest()).toBe(0x41);
    target.eoi();
    expect(target.acceptHighest()).toBe(-1);
    // Sent 4 = taken 2 + coalesced 2: the conservation law (src/machine/conservation.ts).
    expect(target.ipisAccepted + first.ipisCoalesced + second.ipisCoalesced).toBe(4);
  });

  it('posts a top-class IPI in the polled word alone, and a lower one in the IRR words flagged there', () => {
    const words = new Int32Array(new SharedArrayBuffer(machineBlockBytes(2)));
    const bus = new ApicBus(words, 2);
    const b = vcpuBase(1);
    bus.raise(1, RESCHEDULE_VECTOR, true);
    expect(words[b + VCPU_BLOCK.pending]).toBe(1 << (RESCHEDULE_VECTOR - PENDING_VECTOR_BASE));
    expect(Array.from(words.subarray(b + VCPU_BLOCK.irr, b + VCPU_BLOCK.irr + 8))).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    words[b + VCPU_BLOCK.pending] = 0;
    bus.raise(1, 0x41, true);
    expect(words[b + VCPU_BLOCK.pending]).toBe(PENDING_IRR);
    expect(words[b + VCPU_BLOCK.irr + 2]).toBe(1 << 1);
    expect(bus.pendingVectors(1)).toEqual([0x41]);
  });

  it('does not count the timer as an IPI, and keeps it apart from an IPI of the same vector', () => {
    const [a] = apics(1);
    a!.bus.raise(0, LOCAL_TIMER_VECTOR, false);
    expect(a!.acceptHighest()).toBe(LOCAL_TIMER_VECTOR);
    expect(a!.ipisAccepted).toBe(0);
    a!.eoi();
    a!.bus.raise(0, LOCAL_TIMER_VECTOR, true);
    a!.bus.raise(0, LOCAL_TIMER_VECTOR, false);
    expect(a!.acceptHighest()).toBe(LOCAL_TIMER_VECTOR);
    expect(a!.ipisAccepted).toBe(1);
  });

  it('keeps the polled word up while priority holds a vector back, so the cores come back for it after EOI', () => {
    const words = new Int32Array(new SharedArrayBuffer(machineBlockBytes(1)));
    const a = new LocalApic(words, 0, new ApicBus(words, 1));
    a.bus.raise(0, CALL_FUNCTION_VECTOR, true);
    expect(a.acceptHighest()).toBe(CALL_FUNCTION_VECTOR);
    a.bus.raise(0, 0x41, true);
    // 0x41 is taken into the IRR but held back by 0xfb in service: the poll word says so.
    expect(a.acceptHighest()).toBe(-1);
    expect(Atomics.load(words, a.pendingIndex)).toBe(PENDING_LOCAL);
    expect(a.bus.pendingVectors(0)).toEqual([0x41]);
    a.eoi();
    expect(a.hasPending()).toBe(true);
    expect(a.acceptHighest()).toBe(0x41);
    a.eoi();
    expect(a.acceptHighest()).toBe(-1);
    expect(a.hasPending()).toBe(false);
  });

  it('reads back posted vectors in the IRR register before they are accepted', () => {
    const [a] = apics(1);
    a!.bus.raise(0, CALL_FUNCTION_VECTOR, true);
    expect(a!.read(APIC_IRR + 0x70)).toBe(1 << (CALL_FUNCTION_VECTOR & 31));
    expect(a!.acceptHighest()).toBe(CALL_FUNCTION_VECTOR);
    expect(a!.read(APIC_IRR + 0x70)).toBe(0);
  });

  it('sendFixed does exactly what the ICR2 and ICR writes do: registers, delivery, ESR, errors', () => {
    const cases: [number, number][] = [[1, CALL_FUNCTION_VECTOR], [2, 0x41], [0, RESCHEDULE_VECTOR], [3, CALL_FUNCTION_VECTOR], [1, 3], [1, APIC_DM_STARTUP | 0x12]];
    for (const [dest, vector] of cases) {
      const machine = (): { words: Int32Array; apic: LocalApic; counters: { ipiSendErrors: number } } => {
        const words = new Int32Array(new SharedArrayBuffer(machineBlockBytes(3)));
        const counters = { ipiSendErrors: 0 };
        return { words, apic: new LocalApic(words, 0, new ApicBus(words, 3), counters), counters };
      };
      const byWrites = machine();
      byWrites.apic.write(APIC_ICR2, SET_APIC_DEST_FIELD(dest));
      const sentByWrites = byWrites.apic.write(APIC_ICR, vector);
      const byCall = machine();
      expect(byCall.apic.sendFixed(dest, vector), `dest ${dest} vector 0x${vector.toString(16)}`).toBe(sentByWrites);
      expect(Array.from(byCall.words)).toEqual(Array.from(byWrites.words));
      expect(byCall.counters).toEqual(byWrites.counters);
      byWrites.apic.write(APIC_ESR, 0);
      byCall.apic.write(APIC_ESR, 0);
      expect(byCall.apic.read(APIC_ESR)).toBe(byWrites.apic.read(APIC_ESR));
    }
  });

  it('halt returns at once when an interrupt is already pending', () => {
    const [a] = apics(1);
    a!.bus.raise(0, RESCHEDULE_VECTOR, true);
    const t0 = Date.now();
    a!.halt(10_000);
    expect(Date.now() - t0).toBeLessThan(5_000);
  });
});
