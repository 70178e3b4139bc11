import { describe, expect, it } from 'vitest';
import { bindPvGroup, PV_EXPORTS } from '../../src/pv/exports.js';
import type { PvOps } from '../../src/pv/ops.js';
import { PvExportError } from '../../src/lib/errors.js';

// bindPvGroup only reads the group it is asked for; a table of labelled stand-ins shows which.
const ops = {
  info: 'info', init: 'init', misc: 'misc', time: 'time', cpu: 'cpu', irq: 'irq', apic: 'apic', mmu: 'mmu',
} as unknown as PvOps;
const gplModule = { name: 'testmod', licence: 'GPL' as const };
const proprietary = { name: 'blob', licence: 'proprietary' as const };

describe('pv export table', () => {
  it('exports pv_irq_ops to any module, as the seed RFC did', () => {
    expect(bindPvGroup(ops, 'irq', proprietary)).toBe('irq');
    expect(bindPvGroup(ops, 'irq', gplModule)).toBe('irq');
  });

  it('never exports pv_init_ops, naming the group in the error', () => {
    expect(PV_EXPORTS.init).toBe('not exported');
    expect(() => bindPvGroup(ops, 'init', gplModule)).toThrow(PvExportError);
    expect(() => bindPvGroup(ops, 'init', gplModule)).toThrow(/pv_init_ops is not exported/);
  });

  it('refuses GPL-only groups to non-GPL modules and allows them to GPL ones', () => {
    expect(() => bindPvGroup(ops, 'apic', proprietary)).toThrow(/pv_apic_ops is EXPORT_SYMBOL_GPL/);
    expect(bindPvGroup(ops, 'apic', gplModule)).toBe('apic');
  });

  it('does not export pv_misc_ops (lazy mode is the kernel core\'s bracket)', () => {
    expect(() => bindPvGroup(ops, 'misc', gplModule)).toThrow(/pv_misc_ops/);
  });
});
