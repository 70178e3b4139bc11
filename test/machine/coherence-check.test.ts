/**
 * --check on real machines (worker threads from the build output: build first). Every backend
 * keeps TLBs coherent on the flush-heavy workloads, a vCPU that acknowledges shootdowns
 * without flushing (inject.dropFlushesCpu) is caught within the run on every backend, and so is
 * each broken protocol step the torture campaign injects (one representative run of each).
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

/** A run that must fail: the error it threw. */
async function failure(cfg: MachineConfig): Promise<Error> {
  const err = await new Machine(cfg).run().then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(Error);
  return err as Error;
}

describe('--check catches each injected protocol bug at its stale use', () => {
  const run = (backend: string, workload: string, cpus: number, params: Record<string, number>, inject: MachineConfig['inject'], pcpus?: number): MachineConfig => ({
    ...testConfig(workload, cpus, { seconds: 3, params }),
    backend,
    check: true,
    ...(pcpus !== undefined ? { pcpus } : {}),
    inject,
  });
  // Each stops with CoherenceError long before its 3 s: the workload makes the stale use at once
  // (two vCPUs may each find one before the first one's abort reaches the other).
  const STALE = /^TLB coherence check \(.*\): \d+ violation\(s\); first: cpu \d+ used a stale TLB entry/;

  it('a target that acknowledges before it flushes (native munmap: the probers use the pages)', async () => {
    const err = await failure(run('native', 'munmap', 2, { pages: 8, dwell: 2 }, { ackBeforeFlushCpu: 'all' }));
    expect(err).toBeInstanceOf(CoherenceError);
    expect(err.message).toMatch(STALE);
  }, 60_000);

  it('a lazy CPU switching back without comparing generations (kvm idle: the sleepers)', async () => {
    const err = await failure(run('kvm', 'idle', 2, { pages: 8 }, { lazyNoGenCheckCpu: 'all' }));
    expect(err).toBeInstanceOf(CoherenceError);
    expect(err.message).toMatch(STALE);
  }, 60_000);

  it('a flush of the first page where the range was needed (xen, one vCPU: its own munmap)', async () => {
    const err = await failure(run('xen', 'munmap', 1, { pages: 40, dwell: 2 }, { firstPageFlushCpu: 0 }));
    expect(err).toBeInstanceOf(CoherenceError);
    expect(err.message).toMatch(STALE);
  }, 60_000);

  it('xen acknowledging a descheduled vCPU\'s flushes without doing them as it schedules it again', async () => {
    const err = await failure(run('xen', 'mprotect', 4, { pages: 8, dwell: 2 }, { xenSkipFlushOnResumeCpu: 'all' }, 1));
    expect(err).toBeInstanceOf(CoherenceError);
    expect(err.message).toMatch(STALE);
  }, 60_000);

  it('a shadow that skips its resync: the fill from the stale shadow entry, named as such', async () => {
    const err = await failure(run('shadow', 'tlb_flush2', 1, { region_kb: 64 }, { shadowSkipSyncCpu: 0 }));
    expect(err).toBeInstanceOf(CoherenceError);
    expect(err.message).toMatch(/: 1 violation\(s\); first: cpu 0 filled a TLB entry for va 0x[0-9a-f]+ \(mm \d+\) from a shadow page table out of step with the guest's: shadow frame 0x[0-9a-f]+ flags 0x[0-9a-f]+, guest's tables .*, whose change \(committed at \d+, before the walk\) the shadow never took$/);
  }, 60_000);

  it('accepts "all" for a bug in shared code, and only a vCPU id for a per-CPU one', () => {
    const cfg = testConfig('munmap', 2);
    expect(() => new Machine({ ...cfg, inject: { ackBeforeFlushCpu: 'all', lazyNoGenCheckCpu: 1 } })).not.toThrow();
    expect(() => new Machine({ ...cfg, inject: { firstPageFlushCpu: 2 } })).toThrow(/^inject\.firstPageFlushCpu: must be a vCPU id from 0 to 1 or "all", got 2$/);
    expect(() => new Machine({ ...cfg, inject: { noAckCpu: 'all' as never } })).toThrow(/^inject\.noAckCpu: must be a vCPU id from 0 to 1, got "all"$/);
  });
});
