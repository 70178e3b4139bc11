/**
 * The export table: which pv groups code outside the kernel core (workloads, drivers — "modules")
 * may bind, and under which licence. Any thread.
 *
 * Taken from Linux 2.6.24 (arch/x86/kernel/paravirt.c's EXPORT_SYMBOL lines): pv_cpu_ops, pv_mmu_ops and pv_irq_ops are
 * EXPORT_SYMBOL; pv_time_ops, pv_apic_ops and pv_info are EXPORT_SYMBOL_GPL; pv_init_ops is never
 * exported ("we shouldn't need to export pv_init_ops", seed RFC). pv_misc_ops (lazy mode) is the
 * kernel's own batching bracket and is not exported either.
 */
import { PvExportError } from '../lib/errors.js';
import { PV_GROUP_NAMES, type PvGroupKey, type PvOps } from './ops.js';

export type PvExport = 'EXPORT_SYMBOL' | 'EXPORT_SYMBOL_GPL' | 'not exported';
export type ModuleLicence = 'GPL' | 'proprietary';

export const PV_EXPORTS: Readonly<Record<PvGroupKey, PvExport>> = Object.freeze({
  info: 'EXPORT_SYMBOL_GPL',
  init: 'not exported',
  misc: 'not exported',
  time: 'EXPORT_SYMBOL_GPL',
  cpu: 'EXPORT_SYMBOL',
  irq: 'EXPORT_SYMBOL',
  apic: 'EXPORT_SYMBOL_GPL',
  mmu: 'EXPORT_SYMBOL',
});

export interface ModuleIdentity {
  name: string;
  licence: ModuleLicence;
}

/**
 * A module binds one pv group. Fails with a PvExportError naming the group when the table does
 * not export it, or exports it GPL-only to a module that is not GPL.
 */
export function bindPvGroup<K extends PvGroupKey>(ops: PvOps, group: K, module: ModuleIdentity): PvOps[K] {
  const name = PV_GROUP_NAMES[group];
  const exported = PV_EXPORTS[group];
  if (exported === 'not exported') {
    throw new PvExportError(`module ${module.name}: ${name} is not exported to modules`);
  }
  if (exported === 'EXPORT_SYMBOL_GPL' && module.licence !== 'GPL') {
    throw new PvExportError(`module ${module.name}: ${name} is EXPORT_SYMBOL_GPL and the module is ${module.licence}`);
  }
  return ops[group];
}
