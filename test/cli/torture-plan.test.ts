/**
 * The torture campaign's planner and judge (src/cli/torture-plan.ts), without any machine: the
 * same seed gives the same runs, every drawn configuration is one the Machine accepts and
 * modest enough to run in about a second, injections go only where they can act, and each
 * outcome gets the verdict docs/torture.md gives it. Unit tests, main thread, no workers.
 */
import { describe, expect, it } from 'vitest';
import { describeBackends } from '../../src/hv/registry.js';
import { Machine } from '../../src/machine/machine.js';
import type { MachineConfig } from '../../src/machine/config.js';
import {
  CALL_QUEUE_FLUSH_BACKENDS, campaignRunSeed, classify, describeConfig, describeInjection, findInjection, INJECTIONS, injectionNames,
  MATRIX_CPUS, NO_INJECTION, planCampaign, planMatrix, planRun, SHOOTDOWN_WORKLOADS, TORTURE_CPUS, TORTURE_HZ, TORTURE_MEM_MIB, VIRTUAL_CPUS, VIRTUAL_SECONDS,
  HOST_SECONDS, type InjectionKind, type PlannedRun, type RunOutcome,
} from '../../src/cli/torture-plan.js';
import { describeWorkloads, findWorkload } from '../../src/workloads/registry.js';

/** Draws enough for every backend, workload and injection to come up many times. */
const DRAWS = 400;

describe('the torture planner', () => {
  const plan = planCampaign(1, DRAWS);

  it('gives the same runs for the same seed and other runs for another', () => {
    expect(planCampaign(1, DRAWS)).toEqual(plan);
    const other = planCampaign(2, DRAWS);
    expect(other).not.toEqual(plan);
    // Not merely shifted: the two campaigns share (almost) no run seed.
    const seeds = new Set(plan.map((r) => r.runSeed));
    expect(other.filter((r) => seeds.has(r.runSeed)).length).toBeLessThan(3);
  });

  it('draws run i from its own seed alone, so --replay RUNSEED gives the same run', () => {
    for (const i of [0, 1, 17, DRAWS - 1]) {
      expect(plan[i]!.runSeed).toBe(campaignRunSeed(1, i));
      expect(planRun(plan[i]!.runSeed)).toEqual(plan[i]);
    }
  });

  it('draws only configurations the Machine accepts', () => {
    for (const run of plan) {
      expect(() => new Machine(run.config), `${run.runSeed}: ${describeConfig(run.config)}`).not.toThrow();
    }
  });

  it('draws within the campaign\'s ranges: vCPUs, Hz, RAM, length, check on, the short watchdog', () => {
    for (const { config: c } of plan) {
      const where = describeConfig(c);
      expect(c.check, where).toBe(true);
      expect(c.watchdogMs, where).toBe(2000);
      expect(TORTURE_HZ, where).toContain(c.hz);
      expect(TORTURE_MEM_MIB, where).toContain(c.memBytes / 2 ** 20);
      expect(c.seed, where).toBeTypeOf('number');
      if (c.clock === 'virtual') {
        // Overcommitted virtual runs need tens of modelled ms, minutes of host time.
        expect(VIRTUAL_CPUS, where).toContain(c.cpus);
        expect(c.pcpus, where).toBeUndefined();
        expect(c.seconds!, where).toBeGreaterThanOrEqual(VIRTUAL_SECONDS.min);
        expect(c.seconds!, where).toBeLessThanOrEqual(VIRTUAL_SECONDS.max);
      } else {
        expect(c.clock, where).toBe('host');
        expect(TORTURE_CPUS, where).toContain(c.cpus);
        if (c.pcpus !== undefined) expect(c.pcpus, where).toBeLessThan(c.cpus);
        // Per vCPU's share of a core of the planned 2-core host.
        const share = Math.ceil(c.cpus / Math.min(c.pcpus ?? c.cpus, 2));
        expect(c.seconds!, where).toBeGreaterThanOrEqual(HOST_SECONDS.min * share);
        expect(c.seconds!, where).toBeLessThanOrEqual(HOST_SECONDS.max * share);
      }
      const workload = findWorkload(c.workload)!;
      expect(Object.keys(c.params ?? {}).sort(), where).toEqual(workload.params.map((p) => p.name).sort());
      for (const p of workload.params) {
        const v = c.params![p.name]!;
        expect(v, `${where}: ${p.name}`).toBeGreaterThanOrEqual(p.min);
        expect(v, `${where}: ${p.name}`).toBeLessThanOrEqual(p.max);
        if (p.real !== true) expect(Number.isInteger(v), `${where}: ${p.name}`).toBe(true);
      }
      // The parameters that cost guest RAM stay well inside it at 8 vCPUs.
      if (c.workload === 'tlb_flush3') expect(c.params!['budget_mb']!, where).toBeLessThanOrEqual(c.memBytes / 2 ** 20 / 4);
      if (c.workload === 'fork_cow') expect(c.params!['pages']!, where).toBeLessThanOrEqual(64);
    }
  });

  it('covers every backend, every workload, every vCPU count, both clocks and overcommit, shootdown workloads most', () => {
    const count = (pred: (r: PlannedRun) => boolean): number => plan.filter(pred).length;
    for (const { name } of describeBackends()) expect(count((r) => r.config.backend === name), name).toBeGreaterThan(0);
    for (const { name } of describeWorkloads()) expect(count((r) => r.config.workload === name), name).toBeGreaterThan(0);
    for (const cpus of TORTURE_CPUS) expect(count((r) => r.config.cpus === cpus), `${cpus} vCPUs`).toBeGreaterThan(0);
    expect(count((r) => r.config.clock === 'virtual')).toBeGreaterThan(0);
    expect(count((r) => r.config.pcpus !== undefined)).toBeGreaterThan(0);
    const shootdown = Object.keys(SHOOTDOWN_WORKLOADS);
    const others = describeWorkloads().map((w) => w.name).filter((n) => !shootdown.includes(n));
    const perShootdown = count((r) => shootdown.includes(r.config.workload)) / shootdown.length;
    const perOther = count((r) => others.includes(r.config.workload)) / others.length;
    expect(perShootdown).toBeGreaterThan(2 * perOther);
  });

  it('names only registered workloads and backends in its tables', () => {
    for (const name of Object.keys(SHOOTDOWN_WORKLOADS)) expect(findWorkload(name), name).toBeDefined();
    const backends = describeBackends().map((b) => b.name);
    for (const name of CALL_QUEUE_FLUSH_BACKENDS) expect(backends).toContain(name);
    // Xen's remote flush is the hypervisor's mailbox, not the guest's call queues.
    expect(CALL_QUEUE_FLUSH_BACKENDS.has('xen')).toBe(false);
  });

  it('injects into most runs, each kind only where it applies and on a vCPU the machine has, or on all', () => {
    const plain = plan.filter((r) => r.injection === NO_INJECTION);
    expect(plain.length).toBeGreaterThan(DRAWS / 10);
    expect(plain.length).toBeLessThan(DRAWS / 2);
    for (const run of plain) expect(run.config.inject).toBeUndefined();
    for (const kind of INJECTIONS) {
      const mine = plan.filter((r) => r.injection === kind.name);
      expect(mine.length, kind.name).toBeGreaterThan(DRAWS / 25);
      for (const run of mine) {
        const where = `${describeInjection(run)} on ${describeConfig(run.config)}`;
        expect(kind.applies(run.config), where).toBe(true);
        // Only a bug in a CPU's own flushes, or in its own page-table stores, can show with one vCPU.
        if (kind.name !== 'firstPageFlush' && kind.name !== 'shadowSkipSync') expect(run.config.cpus, where).toBeGreaterThanOrEqual(2);
        // One fault, on a vCPU the machine has, or on every one (a bug in shared code).
        const cpus = Object.entries(run.config.inject!).filter(([key]) => key.endsWith('Cpu'));
        expect(cpus, where).toHaveLength(1);
        const at = cpus[0]![1];
        if (at !== 'all') expect(at, where).toBeLessThan(run.config.cpus);
      }
    }
  });

  it('keeps each protocol-step bug to where its stale entries get used', () => {
    const cfg = (over: Partial<MachineConfig>): MachineConfig => ({ ...planRun(5).config, inject: undefined, pcpus: undefined, cpus: 4, ...over });
    const kind = (name: string): InjectionKind => findInjection(name)!;
    const probe = { workload: 'munmap', params: { pages: 8, dwell: 2 } };
    // Acknowledging early: the kernel's call queues, and a target whose task uses the pages.
    expect(kind('ackBeforeFlush').applies(cfg({ backend: 'native', ...probe }))).toBe(true);
    expect(kind('ackBeforeFlush').applies(cfg({ backend: 'xen', ...probe }))).toBe(false);
    expect(kind('ackBeforeFlush').applies(cfg({ backend: 'native', workload: 'tlb_flush1', params: { region_mb: 4 } }))).toBe(false);
    // The lazy generation check: idle's sleepers, where native shootdowns skip lazy CPUs.
    expect(kind('lazyNoGenCheck').applies(cfg({ backend: 'kvm', workload: 'idle', params: { pages: 4 } }))).toBe(true);
    // One page: the next round's store gets back the frame MADV_DONTNEED freed.
    expect(kind('lazyNoGenCheck').applies(cfg({ backend: 'kvm', workload: 'idle', params: { pages: 1 } }))).toBe(false);
    expect(kind('lazyNoGenCheck').applies(cfg({ backend: 'xen', workload: 'idle', params: { pages: 4 } }))).toBe(false);
    // A first-page flush: multi-page ranges the TLB still holds when the task comes back.
    const firstPage = kind('firstPageFlush');
    expect(firstPage.applies(cfg({ backend: 'xen', cpus: 1, ...probe }))).toBe(true);
    expect(firstPage.applies(cfg({ backend: 'xen', workload: 'munmap', params: { pages: 1, dwell: 2 } }))).toBe(false);
    expect(firstPage.applies(cfg({ backend: 'native', workload: 'ebizzy', params: { chunks: 2, chunk_kb: 16, mmap_each: 1 } }))).toBe(true);
    expect(firstPage.applies(cfg({ backend: 'native', workload: 'ebizzy', params: { chunks: 2, chunk_kb: 4, mmap_each: 1 } }))).toBe(false);
    expect(firstPage.applies(cfg({ backend: 'native', workload: 'tlb_flush2', params: { region_kb: 512 } }))).toBe(false);
    expect(firstPage.applies(cfg({ backend: 'native', workload: 'tlb_flush1', params: { region_mb: 1 } }))).toBe(false);
    expect(firstPage.applies(cfg({ backend: 'native', workload: 'vmalloc', params: {} }))).toBe(true);
    // The hypervisors' resume flushes: overcommitted runs of their own backend.
    expect(kind('xenSkipFlushOnResume').applies(cfg({ backend: 'xen', pcpus: 2, ...probe }))).toBe(true);
    expect(kind('xenSkipFlushOnResume').applies(cfg({ backend: 'xen', ...probe }))).toBe(false);
    // The shadow's resync: any shootdown workload on shadow.
    expect(kind('shadowSkipSync').applies(cfg({ backend: 'shadow', workload: 'tlb_flush1', params: { region_mb: 4 } }))).toBe(true);
    expect(kind('shadowSkipSync').applies(cfg({ backend: 'native', workload: 'tlb_flush1', params: { region_mb: 4 } }))).toBe(false);
    expect(kind('shadowSkipSync').applies(cfg({ backend: 'shadow', workload: 'vmalloc', params: {} }))).toBe(false);
  });

  it('keeps noAck to where a withheld acknowledgement stops an initiator on another CPU', () => {
    const noAck = findInjection('noAck')!;
    const cfg = (over: Partial<MachineConfig>): MachineConfig => ({ ...planRun(5).config, inject: undefined, pcpus: undefined, cpus: 4, ...over });
    expect(noAck.applies(cfg({ backend: 'native', workload: 'tlb_flush1', params: { region_mb: 4 } }))).toBe(true);
    expect(noAck.applies(cfg({ backend: 'native', workload: 'tlb_flush1', params: { region_mb: 4 }, cpus: 1 }))).toBe(false);
    // Xen flushes through the hypervisor, not the call queues; membarrier uses them everywhere.
    expect(noAck.applies(cfg({ backend: 'xen', workload: 'tlb_flush1', params: { region_mb: 4 } }))).toBe(false);
    expect(noAck.applies(cfg({ backend: 'xen', workload: 'membarrier', params: { senders: 0 } }))).toBe(true);
    expect(noAck.applies(cfg({ backend: 'xen', workload: 'membarrier', params: { senders: 1 } }))).toBe(false);
    // Thread 0 alone initiates mprotect's shootdowns, and may run on the injected CPU.
    expect(noAck.applies(cfg({ backend: 'native', workload: 'mprotect', params: { pages: 4, dwell: 2 } }))).toBe(false);
    // ebizzy without mmap_each unmaps nothing.
    expect(noAck.applies(cfg({ backend: 'native', workload: 'ebizzy', params: { chunks: 2, chunk_kb: 4, mmap_each: 0 } }))).toBe(false);
    expect(findInjection('dropFlushes')!.applies(cfg({ backend: 'xen', workload: 'mprotect', params: { pages: 4, dwell: 2 } }))).toBe(true);
    expect(findInjection('dropFlushes')!.applies(cfg({ backend: 'xen', workload: 'touch', params: { pages: 4 } }))).toBe(false);
  });

  it('keeps the hypervisor-half faults to their backend, and KVM\'s flush on load to overcommitted runs', () => {
    const cfg = (over: Partial<MachineConfig>): MachineConfig => ({ ...planRun(5).config, inject: undefined, pcpus: undefined, cpus: 4, workload: 'tlb_flush1', params: { region_mb: 4 }, ...over });
    const dropIpis = findInjection('dropIpis')!;
    const xen = findInjection('xenIgnoreMailbox')!;
    const kvm = findInjection('kvmSkipFlushOnLoad')!;
    // A lost IPI strands a call-function request where noAck withholds its acknowledgement.
    expect(dropIpis.applies(cfg({ backend: 'kvm' }))).toBe(true);
    expect(dropIpis.applies(cfg({ backend: 'xen' }))).toBe(false);
    expect(dropIpis.applies(cfg({ backend: 'xen', workload: 'membarrier', params: { senders: 0 } }))).toBe(true);
    expect(xen.applies(cfg({ backend: 'xen' }))).toBe(true);
    expect(xen.applies(cfg({ backend: 'native' }))).toBe(false);
    expect(xen.applies(cfg({ backend: 'xen', workload: 'membarrier', params: { senders: 0 } }))).toBe(false);
    // The workloads whose threads share the pages thread 0 changes are where old entries are used.
    expect(xen.applies(cfg({ backend: 'xen', workload: 'mprotect', params: { pages: 4, dwell: 2 } }))).toBe(true);
    expect(kvm.applies(cfg({ backend: 'kvm', pcpus: 2, workload: 'munmap', params: { pages: 4, dwell: 2 } }))).toBe(true);
    // Only a preempted target gets FLUSH_TLB, and only the PV flush sets it.
    const forkCow = { workload: 'fork_cow', params: { pages: 8 } };
    expect(kvm.applies(cfg({ backend: 'kvm', pcpus: 2, ...forkCow }))).toBe(true);
    expect(kvm.applies(cfg({ backend: 'kvm', ...forkCow }))).toBe(false);
    expect(kvm.applies(cfg({ backend: 'kvm-nopvflush', pcpus: 2, ...forkCow }))).toBe(false);
    // tlb_flush1's threads never touch each other's pages: old entries of them go unused; idle's
    // sleepers flush by tlb_gen as they switch back to the mm.
    expect(kvm.applies(cfg({ backend: 'kvm', pcpus: 2 }))).toBe(false);
    expect(kvm.applies(cfg({ backend: 'kvm', pcpus: 2, workload: 'idle', params: { pages: 4 } }))).toBe(false);
  });

  it('plans the matrix: every kind where it applies × backend × shootdown workload × 2/4/8 vCPUs, alone and on half the pCPUs', () => {
    const matrix = planMatrix(5);
    expect(planMatrix(5).map((r) => r.runSeed)).toEqual(matrix.map((r) => r.runSeed));
    const cell = (r: PlannedRun): string => `${r.injection} ${r.config.backend} ${r.config.workload} ${r.config.cpus} ${r.config.pcpus ?? '-'}`;
    expect(new Set(matrix.map(cell)).size).toBe(matrix.length);
    for (const run of matrix) {
      const where = `${describeInjection(run)} on ${describeConfig(run.config)}`;
      expect(run.config.clock, where).toBe('host');
      expect(MATRIX_CPUS, where).toContain(run.config.cpus);
      expect([undefined, run.config.cpus / 2], where).toContain(run.config.pcpus);
      expect(Object.keys(SHOOTDOWN_WORKLOADS), where).toContain(run.config.workload);
      const kind = findInjection(run.injection);
      if (kind !== undefined) expect(kind.applies(run.config), where).toBe(true);
      expect(() => new Machine(run.config), where).not.toThrow();
    }
    const count = (name: string): number => matrix.filter((r) => r.injection === name).length;
    const backends = describeBackends().length;
    const workloads = Object.keys(SHOOTDOWN_WORKLOADS).length;
    // The control group and dropFlushes fill every cell; the others theirs alone.
    expect(count(NO_INJECTION)).toBe(backends * workloads * 6);
    expect(count('dropFlushes')).toBe(backends * workloads * 6);
    expect(count('lazyNoGenCheck')).toBe(CALL_QUEUE_FLUSH_BACKENDS.size * 6);
    // Every shootdown workload but vmalloc, whose kernel tables the shadow shares.
    expect(count('shadowSkipSync')).toBe((workloads - 1) * 6);
    // kvm and xen, overcommitted, on mprotect, munmap and fork_cow.
    expect(count('kvmSkipFlushOnLoad')).toBe(3 * 3);
    expect(count('xenSkipFlushOnResume')).toBe(3 * 3);
    // A cell's run is the same whichever kinds are allowed.
    const shadowOnly = planMatrix(5, ['shadowSkipSync']);
    expect(shadowOnly).toEqual(matrix.filter((r) => r.injection === 'shadowSkipSync'));
  });

  it('draws only the injections it is allowed', () => {
    for (const run of planCampaign(3, 50, ['noAck'])) expect(run.injection).toBe('noAck');
    for (const run of planCampaign(3, 50, [NO_INJECTION])) expect(run.config.inject).toBeUndefined();
    const mixed = planCampaign(3, 100, [NO_INJECTION, 'dropFlushes']).map((r) => r.injection);
    expect(new Set(mixed)).toEqual(new Set([NO_INJECTION, 'dropFlushes']));
    expect(injectionNames()).toEqual([NO_INJECTION, ...INJECTIONS.map((k) => k.name)]);
  });
});

describe('the torture verdicts', () => {
  const base = planRun(11).config;
  const run = (injection: string, inject?: MachineConfig['inject']): PlannedRun => ({
    runSeed: 11,
    injection,
    config: { ...base, cpus: 2, ...(inject !== undefined ? { inject } : { inject: undefined }) },
  });
  const returned = (passed: boolean, ops = 100, perCpu = [{ callRequestsHandled: 5, flushes: 50, shootdownDeferred: 2 }, { callRequestsHandled: 5, flushes: 50, shootdownDeferred: 0 }]): RunOutcome =>
    ({ kind: 'returned', hostMs: 900, ops, selfCheck: { passed, message: passed ? 'ok' : 'tlb_flush1: thread 1: 0x10001000 read 7' }, perCpu });
  const threw = (name: string, message = 'it broke'): RunOutcome => ({ kind: 'threw', hostMs: 1234, error: { name, message } });

  it('passes a clean run without injection and calls anything else unexpected', () => {
    expect(classify(run(NO_INJECTION), returned(true))).toEqual({ verdict: 'passed' });
    expect(classify(run(NO_INJECTION), returned(false)).verdict).toBe('unexpected');
    expect(classify(run(NO_INJECTION), threw('CoherenceError')).verdict).toBe('unexpected');
    expect(classify(run(NO_INJECTION), threw('WatchdogError', 'watchdog: cpu 1 waited 2001 ms')).verdict).toBe('unexpected');
    expect(classify(run(NO_INJECTION), { kind: 'hang', hostMs: 26000, limitMs: 26000 })).toMatchObject({ verdict: 'unexpected', why: expect.stringMatching(/hang/) });
  });

  it('counts dropped flushes caught by --check or by the self-check, with the detection time', () => {
    const drop = run('dropFlushes', { dropFlushesCpu: 1 });
    expect(classify(drop, threw('CoherenceError'))).toEqual({ verdict: 'caught', detector: 'check', detectionMs: 1234 });
    expect(classify(drop, returned(false))).toEqual({ verdict: 'caught', detector: 'self-check', detectionMs: 900 });
    expect(classify(drop, threw('SelfCheckError'))).toEqual({ verdict: 'caught', detector: 'self-check', detectionMs: 1234 });
    expect(classify(drop, returned(true))).toEqual({ verdict: 'missed' });
    // A self-check that failed for want of any operation saw no bug: the run was too short.
    expect(classify(drop, returned(false, 0)).verdict).toBe('unexpected');
    for (const name of ['InternalError', 'ConservationError', 'WatchdogError']) expect(classify(drop, threw(name)).verdict, name).toBe('unexpected');
    expect(classify(drop, { kind: 'crashed', hostMs: 10, status: 134, signal: null, stderr: 'FATAL ERROR: heap out of memory' }).verdict).toBe('unexpected');
  });

  it('says when a missed fault never acted', () => {
    const late = run('dropFlushes', { dropFlushesCpu: 1, dropFlushesAfter: 100 });
    expect(classify(late, returned(true))).toEqual({ verdict: 'missed', inert: 'cpu 1 was asked for 50 flushes, none past the first 100: none was dropped' });
    const noAck = run('noAck', { noAckCpu: 1 });
    expect(classify(noAck, returned(true, 100, [{ callRequestsHandled: 3, flushes: 9, shootdownDeferred: 0 }, { callRequestsHandled: 0, flushes: 9, shootdownDeferred: 0 }])))
      .toEqual({ verdict: 'missed', inert: 'cpu 1 was sent no call-function request' });
    expect(classify(noAck, returned(true))).toEqual({ verdict: 'missed' });
  });

  it('counts a withheld acknowledgement caught only by a watchdog naming the injected CPU', () => {
    const noAck = run('noAck', { noAckCpu: 1 });
    expect(classify(noAck, threw('WatchdogError', 'watchdog: cpu 0 waited 2003 ms for call-function acknowledgement from cpu 1; cpu 1 is running')))
      .toEqual({ verdict: 'caught', detector: 'watchdog', detectionMs: 1234 });
    expect(classify(run('noAck', { noAckCpu: 2 }), threw('WatchdogError', 'watchdog: cpu 0 waited 2003 ms for cpu 12')).verdict).toBe('unexpected');
    expect(classify(noAck, threw('CoherenceError')).verdict).toBe('unexpected');
    const lost = run('dropIpis', { dropIpisCpu: 1, dropIpisAfter: 3 });
    expect(classify(lost, threw('WatchdogError', 'watchdog: cpu 0 waited 2003 ms for call-function acknowledgement from cpu 1'))).toMatchObject({ verdict: 'caught', detector: 'watchdog' });
    // A run that passed held the IPI conservation law: it lost nothing, and the note says so.
    expect(classify(lost, returned(true))).toEqual({ verdict: 'missed', inert: 'the IPI conservation law held: cpu 1 lost no IPI (it took no more than the first 3, which still pass)' });
  });

  it('counts a xen mailbox nobody serves caught by the watchdog, or by --check when the target was parked', () => {
    const xen = run('xenIgnoreMailbox', { xenIgnoreMailboxCpu: 1 });
    expect(classify(xen, threw('WatchdogError', 'watchdog: cpu 0 waited 2004 ms in the Xen INVLPG_MULTI hypercall for cpu 1 to flush its TLB')))
      .toMatchObject({ verdict: 'caught', detector: 'watchdog' });
    expect(classify(xen, threw('CoherenceError'))).toMatchObject({ verdict: 'caught', detector: 'check' });
    // A parked target's requests stay posted to the end, where Xen's audit names the CPU.
    expect(classify(xen, threw('ConservationError', 'conservation violated (xen, tlb_flush2, 4 vCPUs): xen flush requests not served: cpu 3 posted 5, served 5, owes 0x0; cpu 1 posted 839, served 0, owes 0x2')))
      .toMatchObject({ verdict: 'caught', detector: 'conservation' });
    expect(classify(xen, threw('ConservationError', 'conservation violated (xen, tlb_flush2, 4 vCPUs): xen flush requests not served: cpu 11 posted 839, served 0, owes 0x2')).verdict).toBe('unexpected');
    expect(classify(xen, threw('ConservationError', 'conservation violated (xen, tlb_flush2, 4 vCPUs): IPIs sent 5 = handled 4')).verdict).toBe('unexpected');
    expect(classify(run('dropFlushes', { dropFlushesCpu: 1 }), threw('ConservationError', 'xen flush requests not served: cpu 1 posted 3, served 0, owes 0x2')).verdict).toBe('unexpected');
    expect(classify(xen, threw('WatchdogError', 'watchdog: cpu 0 made no progress for 4100 ms'))).toMatchObject({ verdict: 'unexpected' });
    const kvm = run('kvmSkipFlushOnLoad', { kvmSkipFlushOnLoadCpu: 1 });
    expect(classify(kvm, threw('CoherenceError'))).toMatchObject({ verdict: 'caught', detector: 'check' });
    expect(classify(kvm, threw('WatchdogError', 'watchdog: cpu 1 waited 2004 ms'))).toMatchObject({ verdict: 'unexpected' });
    // cpu 0 deferred two targets in returned()'s counts: a request was left somewhere.
    expect(classify(kvm, returned(true))).toEqual({ verdict: 'missed' });
    expect(classify(kvm, returned(true, 100, [{ callRequestsHandled: 5, flushes: 50, shootdownDeferred: 0 }, { callRequestsHandled: 5, flushes: 50, shootdownDeferred: 0 }])))
      .toEqual({ verdict: 'missed', inert: 'no shootdown deferred a target: no FLUSH_TLB request was ever left' });
  });
});
