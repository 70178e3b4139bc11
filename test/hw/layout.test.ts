import { describe, expect, it } from 'vitest';
import { MACHINE_CTL, PVCLOCK, STEAL_TIME, VCPU_BLOCK, machineBlockBytes, vcpuBase } from '../../src/hw/layout.js';

describe('machine block layout', () => {
  it('keeps every APIC word a sender writes in the block\'s first 64-byte line, and the owner\'s registers off it', () => {
    for (const word of [VCPU_BLOCK.pending, VCPU_BLOCK.irr + 7, VCPU_BLOCK.hvPending, VCPU_BLOCK.doorbell, VCPU_BLOCK.startup]) {
      expect(word).toBeLessThan(16);
    }
    for (const word of [VCPU_BLOCK.irrLatched, VCPU_BLOCK.isr, VCPU_BLOCK.tpr]) expect(word).toBeGreaterThanOrEqual(16);
  });

  it('keeps the KVM ABI record sizes: pvclock 32 bytes, steal time 64 bytes', () => {
    expect(PVCLOCK.WORDS * 4).toBe(32);
    expect(STEAL_TIME.WORDS * 4).toBe(64);
  });

  it('places each vCPU block on its own 64-byte lines, after the control block', () => {
    expect(MACHINE_CTL.WORDS % 16).toBe(0);
    expect(VCPU_BLOCK.WORDS % 16).toBe(0);
    expect(vcpuBase(0)).toBe(MACHINE_CTL.WORDS);
    expect(vcpuBase(3) - vcpuBase(2)).toBe(VCPU_BLOCK.WORDS);
    expect(machineBlockBytes(4)).toBe(vcpuBase(4) * 4);
  });

  it('gives every field of the vCPU block its own words (the diagram in layout.ts holds)', () => {
    const fields = Object.entries(VCPU_BLOCK).filter(([k]) => k !== 'WORDS' && k !== 'NAME') as [string, number][];
    const offsets = fields.map(([, o]) => o);
    expect(new Set(offsets).size).toBe(offsets.length);
    expect(VCPU_BLOCK.pending).toBe(0);
    expect(VCPU_BLOCK.stealTime - VCPU_BLOCK.pvclock).toBe(PVCLOCK.WORDS);
    expect(Math.max(...offsets)).toBeLessThan(VCPU_BLOCK.WORDS);
  });
});
