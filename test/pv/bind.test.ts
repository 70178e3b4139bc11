import { describe, expect, it } from 'vitest';
import { buildPvOps } from '../../src/hv/bind.js';
import type { Backend } from '../../src/hv/backend.js';
import { nativeBackend } from '../../src/hv/native/index.js';
import { InternalError } from '../../src/lib/errors.js';
import type { CpuMask } from '../../src/pv/cpumask.js';
import type { FlushInfo } from '../../src/pv/ops.js';
import { testHardware, testGuest, testWaitPolicy } from '../helpers/hardware.js';

const guest = testGuest({ nativeFlushTlbOthers: (_m: CpuMask, _i: FlushInfo): void => {} });

describe('pv ops binding', () => {
  it('gives native a complete table: every group of pv_ops, every member a function', () => {
    const ops = buildPvOps(nativeBackend, { hw: testHardware(), guest, hvState: new SharedArrayBuffer(8), wait: testWaitPolicy() });
    for (const group of ['init', 'misc', 'time', 'cpu', 'irq', 'apic', 'mmu'] as const) {
      for (const [name, op] of Object.entries(ops[group])) expect(typeof op, `${group}.${name}`).toBe('function');
    }
    expect(ops.info.name).toBe('bare hardware');
    expect(ops.info.paravirtEnabled).toBe(false);
  });

  it('applies a partial override once and falls back to native for the rest', () => {
    let lazyEntered = 0;
    const partial: Backend = {
      name: 'partial',
      description: 'test backend overriding one op',
      create: () => ({ misc: { enterLazyMmu: () => { lazyEntered++; } } }),
    };
    const hw = testHardware();
    const ops = buildPvOps(partial, { hw, guest, hvState: new SharedArrayBuffer(8), wait: testWaitPolicy() });
    ops.misc.enterLazyMmu();
    expect(lazyEntered).toBe(1);
    // Native fallback: the IF flag really moves.
    ops.irq.irqDisable();
    expect(ops.irq.saveFl()).toBe(0);
    ops.irq.irqEnable();
    expect(ops.irq.saveFl()).toBe(0x200);
  });

  it('freezes every group so nothing can patch an op after boot', () => {
    const ops = buildPvOps(nativeBackend, { hw: testHardware(), guest, hvState: new SharedArrayBuffer(8), wait: testWaitPolicy() });
    expect(Object.isFrozen(ops)).toBe(true);
    expect(Object.isFrozen(ops.mmu)).toBe(true);
  });

  it('rejects an override of a member the group does not have, naming it', () => {
    const bad: Backend = {
      name: 'bad',
      description: 'overrides a member that does not exist',
      create: () => ({ mmu: { writeCr2: () => {} } as never }),
    };
    expect(() => buildPvOps(bad, { hw: testHardware(), guest, hvState: new SharedArrayBuffer(8), wait: testWaitPolicy() })).toThrow(InternalError);
    expect(() => buildPvOps(bad, { hw: testHardware(), guest, hvState: new SharedArrayBuffer(8), wait: testWaitPolicy() })).toThrow(/pv_mmu_ops has no member writeCr2/);
  });
});
