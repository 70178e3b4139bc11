/**
 * Building one vCPU's pv ops table: the complete native table, with a backend's overrides
 * applied once, group by group, then frozen — as Linux's paravirt backends patch pv_ops once at
 * boot. Runs on the vCPU's worker.
 */
import { InternalError } from '../lib/errors.js';
import type { Backend, BackendContext } from './backend.js';
import { createNativeOps } from './native/index.js';
import { PV_GROUP_NAMES, type PvGroupKey, type PvOps } from '../pv/ops.js';

export function buildPvOps(backend: Backend, ctx: BackendContext): PvOps {
  const native = createNativeOps(ctx);
  const overrides = backend.create(ctx, native);
  const groups = {} as Record<PvGroupKey, unknown>;
  for (const key of Object.keys(PV_GROUP_NAMES) as PvGroupKey[]) {
    const base = native[key] as unknown as Record<string, unknown>;
    const over = (overrides[key] ?? {}) as Record<string, unknown>;
    for (const member of Object.keys(over)) {
      if (!(member in base)) {
        throw new InternalError(`backend ${backend.name}: ${PV_GROUP_NAMES[key]} has no member ${member}`);
      }
    }
    groups[key] = Object.freeze({ ...base, ...over });
  }
  return Object.freeze(groups) as unknown as PvOps;
}
