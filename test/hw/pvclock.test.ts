import { describe, expect, it } from 'vitest';
import { machineBlockBytes, PVCLOCK, VCPU_BLOCK, vcpuBase } from '../../src/hw/layout.js';
import { PvclockReader, PvclockWriter, timeScale } from '../../src/hw/pvclock.js';
import { hostNowNs } from '../../src/lib/host-clock.js';
import { TSC_KHZ } from '../../src/hw/clock.js';

describe('pvclock', () => {
  it('computes kvm_get_time_scale-style mul and shift that turn TSC cycles into ns', () => {
    for (const khz of [1_000_000, 2_000_000, 2_400_000, 3_000_000]) {
      const { mul, shift } = timeScale(khz);
      expect(mul).toBeLessThan(2 ** 32);
      const cycles = 1_000_000_000; // one second at 1 GHz worth of cycles
      const shifted = shift < 0 ? cycles / 2 ** -shift : cycles * 2 ** shift;
      expect(Math.abs((shifted * mul) / 2 ** 32 - (cycles * 1e6) / khz)).toBeLessThan(2);
    }
  });

  it('reads -1 before the first update and guest ns since boot after it', () => {
    const words = new Int32Array(new SharedArrayBuffer(machineBlockBytes(2)));
    const reader = new PvclockReader(words, 1);
    expect(reader.read()).toBe(-1);
    const writer = new PvclockWriter(words, hostNowNs());
    writer.update(1);
    const t = reader.read();
    expect(t).toBeGreaterThanOrEqual(0);
    expect(t).toBeLessThan(60e9);
    // Version is even (no update in progress) after an update.
    expect(Atomics.load(words, vcpuBase(1) + VCPU_BLOCK.pvclock + PVCLOCK.version) % 2).toBe(0);
  });

  it('never goes backwards on one vCPU and agrees between vCPUs updated at the same tick', () => {
    const words = new Int32Array(new SharedArrayBuffer(machineBlockBytes(2)));
    const writer = new PvclockWriter(words, hostNowNs());
    const r0 = new PvclockReader(words, 0);
    const r1 = new PvclockReader(words, 1);
    let last = 0;
    for (let i = 0; i < 2000; i++) {
      if (i % 100 === 0) { writer.update(0); writer.update(1); }
      const before = r0.read();
      const b = r1.read();
      const after = r0.read();
      expect(before).toBeGreaterThanOrEqual(last);
      expect(after).toBeGreaterThanOrEqual(before);
      last = after;
      // cpu 1's clock, read between two reads of cpu 0's, falls between them, give or take a
      // tick: both extrapolate the same host clock (however long the host paused in between).
      expect(b).toBeGreaterThanOrEqual(before - 4e6);
      expect(b).toBeLessThanOrEqual(after + 4e6);
    }
  });

  it('is at the TSC frequency the CPU reports', () => {
    expect(TSC_KHZ).toBe(2_000_000);
  });
});
