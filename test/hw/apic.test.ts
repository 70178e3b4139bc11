import { describe, expect, it } from 'vitest';
import {
  APIC_DEST_ALLBUT, APIC_EOI, APIC_ESR, APIC_ESR_SENDACC, APIC_ESR_SENDILL, APIC_ICR, APIC_ICR2, APIC_TASKPRI, ApicBus, CALL_FUNCTION_VECTOR, LocalApic,
  LOCAL_TIMER_VECTOR, RESCHEDULE_VECTOR, SET_APIC_DEST_FIELD,
} from '../../src/hw/apic.js';
import { machineBlockBytes } from '../../src/hw/layout.js';

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

  it('accounts coalesced IPIs: two sends of one vector before acceptance count as two handled', () => {
    const cpus = apics(3);
    cpus[1]!.bus.raise(0, CALL_FUNCTION_VECTOR, true);
    cpus[2]!.bus.raise(0, CALL_FUNCTION_VECTOR, true);
    expect(cpus[0]!.acceptHighest()).toBe(CALL_FUNCTION_VECTOR);
    expect(cpus[0]!.acceptHighest()).toBe(-1);
    expect(cpus[0]!.ipisAccepted).toBe(2);
  });

  it('halt returns at once when an interrupt is already pending', () => {
    const [a] = apics(1);
    a!.bus.raise(0, RESCHEDULE_VECTOR, true);
    const t0 = Date.now();
    a!.halt(10_000);
    expect(Date.now() - t0).toBeLessThan(5_000);
  });
});
