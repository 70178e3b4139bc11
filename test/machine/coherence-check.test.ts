/**
 * --check on real machines (worker threads from the build output: build first). Every backend
 * keeps TLBs coherent on the flush-heavy workloads, and a vCPU that acknowledges shootdowns
 * without flushing (inject.dropFlushesCpu) is caught within the run on every backend.
 */
import { describe, expect, it } from 'vitest';
import { CoherenceError, ConfigError } from '../../src/lib/errors.js';
import { Machine } from '../../src/machine/machine.js';
import type { MachineConfig } from '../../src/machine/config.js';
import { testConfig } from '../helpers/machine.js';
import { runReport } from '../../src/report/build.js';
import { describeBackends } from '../../src/hv/registry.js';

const BACKENDS = describeBackends().map((b) => b.name);

function checked(backend: string, workload: string, ops: number): MachineConfig {
  return { ...testConfig(workload, 2, { ops }), backend, check: true };
}

describe('--check', () => {
  for (const backend of BACKENDS) {
    it(`finds no violation on ${backend} (tlb_flush1, mprotect, munmap at 2 vCPUs)`, async () => {
      for (const workload of ['tlb_flush1', 'mprotect', 'munmap']) {
        const report = await runReport(checked(backend, workload, 300));
        expect(report.check).toEqual({ enabled: true, violations: 0, first: [] });
        expect(report.selfCheck.passed).toBe(true);
      }
    }, 120_000);

    it(`catches a vCPU that drops its flushes on ${backend}`, async () => {
      // Two seconds of work rather than a number of operations: on a busy host (the suite's
      // other files beside it) an operation quota could be done by cpu 0 alone before cpu 1 had
      // used a stale entry at all.
      const cfg: MachineConfig = { ...testConfig('tlb_flush1', 2, { seconds: 2 }), backend, check: true, inject: { dropFlushesCpu: 1 } };
      const err = await runReport(cfg).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(CoherenceError);
      expect((err as Error).message).toMatch(
        new RegExp(`TLB coherence check \\(${backend}, tlb_flush1, 2 vCPUs\\): \\d+ violation\\(s\\); first: cpu 1 used a stale TLB entry for va 0x[0-9a-f]+ .*cached frame 0x[0-9a-f]+ flags 0x[0-9a-f]+, page tables now .*; entry filled at \\d+, and the flush that should have removed it completed: cpu \\d+'s flush of (0x[0-9a-f]+-0x[0-9a-f]+|the whole address space) \\(begun at \\d+\\)$`),
      );
    }, 60_000);
  }

  it('stops the run at the first violation: one counted, long before the run\'s 30 s', async () => {
    const cfg: MachineConfig = { ...testConfig('tlb_flush1', 2, { seconds: 30 }), check: true, inject: { dropFlushesCpu: 1 } };
    const t0 = Date.now();
    const err = await new Machine(cfg).run().then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(CoherenceError);
    expect((err as Error).message).toMatch(/\): 1 violation\(s\); first: cpu 1 used a stale TLB entry/);
    // Not a timing test: a run that went on would take its whole 30 s before it failed.
    expect(Date.now() - t0).toBeLessThan(25_000);
  }, 60_000);

  it('with check: count goes on after the first violation and counts them all', async () => {
    const cfg: MachineConfig = { ...testConfig('tlb_flush1', 2, { seconds: 1 }), check: 'count', inject: { dropFlushesCpu: 1 } };
    const err = await new Machine(cfg).run().then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(CoherenceError);
    const count = Number(/: (\d+) violation\(s\)/.exec((err as Error).message)?.[1]);
    expect(count).toBeGreaterThan(1);
  }, 60_000);

  it('refuses a check mode it does not know, naming check', () => {
    expect(() => new Machine({ ...testConfig('tlb_flush1', 2), check: 'all' as never })).toThrow(/^check: must be true, false or "count", got "all"$/);
  });

  it('leaves the report without a check section when off', async () => {
    const report = await runReport({ ...testConfig('tlb_flush1', 2, { ops: 200 }) });
    expect(report.check).toBeUndefined();
  }, 60_000);

  it('rejects a flush-dropping injection naming a vCPU the machine does not have', () => {
    expect(() => new Machine({ ...testConfig('tlb_flush1', 2), inject: { dropFlushesCpu: 2 } })).toThrow(ConfigError);
    expect(() => new Machine({ ...testConfig('tlb_flush1', 2), inject: { dropFlushesCpu: 1, dropFlushesAfter: -1 } })).toThrow(ConfigError);
  });
});
