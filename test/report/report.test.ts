/**
 * buildReport, formatReport, formatComparison and formatProgramOutputs over hand-made
 * RunResults. Unit tests, main thread.
 */
import { describe, expect, it } from 'vitest';
import { defaultCostTable } from '../../src/hw/cost.js';
import { defaultConfig, type MachineConfig } from '../../src/machine/config.js';
import type { RunResult } from '../../src/machine/result.js';
import { snapshotCounters, VcpuCounters } from '../../src/stats/counters.js';
import { LatencyHistogram } from '../../src/stats/histogram.js';
import { buildReport } from '../../src/report/build.js';
import { comparisonJson, formatComparison, formatProgramOutputs } from '../../src/report/compare.js';
import { formatReport } from '../../src/report/format.js';
import type { ComparisonEntry, HostInfo } from '../../src/report/types.js';

const host: HostInfo = { node: 'v20.0.0', platform: 'linux', arch: 'x64', cores: 8, cpuModel: 'Test CPU' };

function histogram(values: readonly number[]): string {
  const h = new LatencyHistogram();
  for (const v of values) h.record(v);
  return h.encode();
}

function repeat(value: number, times: number): number[] {
  return Array.from({ length: times }, () => value);
}

function twoCpuResult(): RunResult {
  const c0 = new VcpuCounters();
  c0.ops = 600;
  c0.shootdowns = 100;
  c0.shootdownTargets = 100;
  c0.shootdownIpis = 90;
  c0.shootdownDeferred = 10;
  c0.ipisSent = 95;
  c0.ipisHandled = 40;
  c0.flushRequestsHandled = 40;
  c0.tlbHits = 10_000;
  c0.tlbMisses = 50;
  c0.tlbWalks = 50;
  c0.tlbFlushesFull = 3;
  c0.tlbFlushesSingle = 120;
  c0.tlbFlushesGlobal = 1;
  c0.pageFaults = 20;
  c0.faultsDemandZero = 19;
  c0.faultsSegv = 1;
  c0.syscalls = 700;
  c0.contextSwitches = 5;
  c0.timerInterrupts = 250;
  c0.halts = 2;
  c0.traps = 7;
  c0.hypercalls = 11;
  c0.hypercallEntries = 40;
  c0.vmexitHypercall = 11;
  c0.vmexitCr3 = 3;
  c0.vmexitPtWrite = 4;
  c0.rejected = 1;
  c0.shadowSyncs = 12;
  c0.modeledCycles = 1_000_000;

  const c1 = new VcpuCounters();
  c1.ops = 400;
  c1.shootdowns = 60;
  c1.shootdownTargets = 60;
  c1.shootdownIpis = 40;
  c1.shootdownDeferred = 20;
  c1.ipisSent = 40;
  c1.ipisHandled = 95;
  c1.flushRequestsHandled = 90;
  c1.tlbHits = 5_000;
  c1.tlbMisses = 30;
  c1.tlbWalks = 31;
  c1.tlbFlushesFull = 2;
  c1.tlbFlushesSingle = 80;
  c1.pageFaults = 7;
  c1.faultsDemandZero = 7;
  c1.syscalls = 300;
  c1.contextSwitches = 4;
  c1.timerInterrupts = 249;
  c1.halts = 9;
  c1.hypercalls = 2;
  c1.hypercallEntries = 2;
  c1.vmexitHypercall = 2;
  c1.vmexitInvlpg = 5;
  c1.vmexitApic = 6;
  c1.vmexitHiddenFault = 8;
  c1.vmexitHalt = 9;
  c1.vmexitPreemption = 10;
  c1.deferredFlushes = 3;
  c1.hiddenFaults = 8;
  c1.modeledCycles = 250_000;

  return {
    elapsedNs: 2_000_000_000,
    // Deliberately out of order: the report sorts by CPU id.
    perCpu: [
      {
        cpu: 1,
        counters: snapshotCounters(c1),
        // 60 shootdowns: 50 at 1500 ns, 10 at 1900 ns.
        shootdownLatency: histogram([...repeat(1500, 50), ...repeat(1900, 10)]),
        flushHandlerLatency: histogram(repeat(300, 90)),
        // 60 shootdowns: 30 at 1000 cycles, 30 at 2000.
        shootdownCycles: histogram([...repeat(1000, 30), ...repeat(2000, 30)]),
        smpCallLatency: histogram([]),
        workStartNs: 0,
        workEndNs: 0,
        stealNs: 0,
      },
      {
        cpu: 0,
        counters: snapshotCounters(c0),
        // 100 shootdowns: 80 at 1000 ns, 19 at 1200 ns, 1 at 1800 ns.
        shootdownLatency: histogram([...repeat(1000, 80), ...repeat(1200, 19), 1800]),
        flushHandlerLatency: histogram([...repeat(200, 39), 1700]),
        // 100 shootdowns: 95 at 500 cycles, 5 at 1500.
        shootdownCycles: histogram([...repeat(500, 95), ...repeat(1500, 5)]),
        smpCallLatency: histogram([]),
        workStartNs: 0,
        workEndNs: 0,
        stealNs: 0,
      },
    ],
    selfCheck: { passed: true, message: 'all pages read back zero' },
    exitStatus: 0,
    console: '',
  };
}

function config(): MachineConfig {
  return { ...defaultConfig(), cpus: 2, workload: 'tlb_flush1' };
}

describe('buildReport', () => {
  it('sums counters over CPUs', () => {
    const r = buildReport(config(), twoCpuResult(), host);
    expect(r.backend).toBe('native');
    expect(r.workload).toBe('tlb_flush1');
    expect(r.cpus).toBe(2);
    expect(r.ops).toBe(1000);
    expect(r.shootdowns).toMatchObject({ count: 160, targets: 160, ipis: 130, deferred: 30 });
    expect(r.tlb).toEqual({ hits: 15_000, misses: 80, walks: 81, flushesFull: 5, flushesSingle: 200, flushesGlobal: 1 });
    expect(r.ipis).toEqual({ sent: 135, handled: 135, coalesced: 0, refused: 0 });
    expect(r.faults).toBe(27);
    expect(r.faultsDetail).toEqual({ demandZero: 26, segv: 1, machineChecks: 0, sigbus: 0 });
    expect(r.syscalls).toBe(1000);
    expect(r.contextSwitches).toBe(9);
    expect(r.timerInterrupts).toBe(499);
    expect(r.counters.halts).toBe(11);
    expect(r.selfCheck).toEqual({ passed: true, message: 'all pages read back zero' });
    expect(r.exitStatus).toBe(0);
    expect(r.host).toEqual(host);
  });

  it('records the whole configuration, defaults filled in: every cost, every parameter, check, trace and clock', () => {
    const r = buildReport(config(), twoCpuResult(), host);
    expect(r.config).toEqual({
      memBytes: 256 * 1024 * 1024, hz: 250, watchdogMs: 5000, seconds: 2,
      costs: defaultCostTable(), costsGiven: false, params: { region_mb: 128 }, check: false, trace: false, clock: 'host',
    });
    const traced = buildReport({ ...config(), check: true, trace: true, traceEvents: 1000, params: { region_mb: 4 } }, twoCpuResult(), host);
    expect(traced.config).toMatchObject({ check: true, trace: true, traceEvents: 1000, params: { region_mb: 4 } });
  });

  it('records which pvemu made it and when the run began', () => {
    const r = buildReport(config(), { ...twoCpuResult(), host: { startedAt: '2026-01-02T03:04:05.000Z', wallNs: 3e9, cpuNs: 5e9, loadBefore: 0.5, loadAfter: 1.5 } }, host);
    expect(r.pvemu.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(r.date).toBe('2026-01-02T03:04:05.000Z');
    expect(r.hostUsage).toMatchObject({ loadBefore: 0.5, loadAfter: 1.5, wallSeconds: 3, cpuSeconds: 5 });
    const text = formatReport(r);
    expect(text).toMatch(/pvemu\s+\d+\.\d+\.\d+.*, run at 2026-01-02T03:04:05\.000Z/);
    expect(text).toMatch(/host\s+load average 0\.50 before, 1\.50 after; process CPU 5\.00 s in 3\.00 s wall \(1\.7 cores\)/);
  });

  it('computes seconds and ops/s from elapsedNs', () => {
    const r = buildReport(config(), twoCpuResult(), host);
    expect(r.seconds).toBe(2);
    expect(r.opsPerSec).toBe(500);
    const none = buildReport(config(), { ...twoCpuResult(), elapsedNs: 0 }, host);
    expect(none.opsPerSec).toBe(0);
  });

  it('merges latency histograms across CPUs', () => {
    const r = buildReport(config(), twoCpuResult(), host);
    // 160 shootdowns, sorted: 80 x 1000, 19 x 1200, 50 x 1500, 1 x 1800, 10 x 1900 (all below
    // 2048 ns, which HDR keeps exactly). p50 is the 80th value (1000), p90 the 144th (1500),
    // p99 the 159th (1900).
    expect(r.shootdowns.latencyNs).toEqual({ p50: 1000, p90: 1500, p99: 1900, max: 1900 });
    expect(r.flushHandlerNs).toEqual({ p50: 300, p90: 300, p99: 300, max: 1700 });
  });

  it('sums modelled cycles and merges the per-shootdown cycle histograms', () => {
    const r = buildReport(config(), twoCpuResult(), host);
    expect(r.modeledCycles).toBe(1_250_000);
    // 160 shootdowns, sorted: 95 x 500, 30 x 1000, 5 x 1500, 30 x 2000 (all below 2048, kept
    // exactly). p50 is the 80th (500), p99 the 159th (2000); the mean is
    // (47500 + 30000 + 7500 + 60000) / 160 = 906.25, rounded to 906.
    expect(r.shootdowns.modeledCycles).toEqual({ p50: 500, p99: 2000, mean: 906 });
  });

  it('reports what the hypervisor did, summed over CPUs', () => {
    const r = buildReport(config(), twoCpuResult(), host);
    expect(r.hv).toEqual({
      traps: 7,
      hypercalls: 13,
      hypercallEntries: 42,
      vmexits: { hypercall: 13, cr3: 3, invlpg: 5, apic: 6, ptWrite: 4, hiddenFault: 8, halt: 9, preemption: 10 },
      rejected: 1,
      deferredFlushes: 3,
      shadowSyncs: 12,
      hiddenFaults: 8,
    });
  });

  it('records pcpus when given, and whether the cost table was given', () => {
    expect(buildReport(config(), twoCpuResult(), host).config).not.toHaveProperty('pcpus');
    expect(buildReport(config(), twoCpuResult(), host).config.costsGiven).toBe(false);
    const costs = { ...defaultCostTable(), trap: 5000 };
    const r = buildReport({ ...config(), pcpus: 1, costs }, twoCpuResult(), host);
    expect(r.config.pcpus).toBe(1);
    expect(r.config.costs).toEqual(costs);
    expect(r.config.costsGiven).toBe(true);
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
  });

  it('reports each CPU in CPU order', () => {
    const r = buildReport(config(), twoCpuResult(), host);
    expect(r.perCpu.map((c) => c.cpu)).toEqual([0, 1]);
    expect(r.perCpu[0]).toEqual({
      cpu: 0,
      ops: 600,
      shootdowns: 100,
      ipisSent: 95,
      ipisHandled: 40,
      flushRequestsHandled: 40,
      tlbHits: 10_000,
      tlbMisses: 50,
      faults: 20,
      halts: 2,
      contextSwitches: 5,
      shootdownLatencyNs: { p50: 1000, p99: 1200 },
    });
    expect(r.perCpu[1]?.shootdownLatencyNs).toEqual({ p50: 1500, p99: 1900 });
  });

  it('is plain JSON', () => {
    const r = buildReport({ ...config(), seconds: undefined, ops: 1000, params: { pages: 4 } }, twoCpuResult(), host);
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
    expect(r.config).toMatchObject({ memBytes: 256 * 1024 * 1024, hz: 250, watchdogMs: 5000, ops: 1000, params: { region_mb: 128, pages: 4 } });
    expect(r.config).not.toHaveProperty('seconds');
  });

  it('gives zero latencies when nothing was recorded', () => {
    const empty = new LatencyHistogram().encode();
    const result: RunResult = {
      elapsedNs: 1e9,
      perCpu: [{ cpu: 0, counters: snapshotCounters(new VcpuCounters()), shootdownLatency: empty, flushHandlerLatency: empty, shootdownCycles: empty, smpCallLatency: empty, stealNs: 0, workStartNs: 0, workEndNs: 0 }],
      selfCheck: { passed: false, message: 'page 3 read 0x41\nafter DONTNEED' },
      exitStatus: 1,
      console: '',
    };
    const r = buildReport({ ...config(), cpus: 1 }, result, host);
    expect(r.shootdowns.latencyNs).toEqual({ p50: 0, p90: 0, p99: 0, max: 0 });
    expect(r.shootdowns.modeledCycles).toEqual({ p50: 0, p99: 0, mean: 0 });
    expect(r.perCpu[0]?.shootdownLatencyNs).toEqual({ p50: 0, p99: 0 });
    const text = formatReport(r);
    expect(text).toContain('FAIL: page 3 read 0x41; after DONTNEED');
    expect(text).toContain('1 vCPU ');
  });
});

describe('formatReport', () => {
  const text = formatReport(buildReport(config(), twoCpuResult(), host));
  const lines = text.split('\n');

  it('names backend, workload and CPUs in its header', () => {
    expect(lines[0]).toContain('backend native');
    expect(lines[0]).toContain('workload tlb_flush1');
    expect(lines[0]).toContain('2 vCPUs');
  });

  it('shows the key figures', () => {
    expect(text).toMatch(/ops\/s\s+500\.0/);
    expect(text).toMatch(/shootdowns \(count, targets, IPIs, deferred\)\s+160, 160, 130, 30/);
    expect(text).toMatch(/shootdown latency p50\/p90\/p99\/max \(µs\)\s+1\.00 \/ 1\.50 \/ 1\.90 \/ 1\.90/);
    expect(text).toMatch(/TLB \(hits, misses, walks\)\s+15000, 80, 81/);
    expect(text).toMatch(/IPIs \(sent, handled, coalesced, refused\)\s+135, 135, 0, 0/);
    expect(text).toMatch(/faults \(total, demand-zero, SIGSEGV, SIGBUS\)\s+27, 26, 1, 0/);
    expect(text).toMatch(/self-check\s+PASS: all pages read back zero/);
  });

  it('shows modelled cycles and a compact hypervisor section', () => {
    expect(text).toMatch(/modelled cycles\/shootdown p50\/p99 \(mean\)\s+500 \/ 2000 \(906\)/);
    expect(text).toMatch(/modelled cycles \(total\)\s+1250000/);
    expect(text).toMatch(/hv traps, hypercalls \(entries\)\s+7, 13 \(42\)/);
    expect(text).toMatch(/hv VM exits\s+58 \(hypercall 13, cr3 3, invlpg 5, apic 6, pt-write 4, hidden-fault 8, halt 9, preemption 10\)$/m);
    expect(text).toMatch(/hv rejected, deferred flushes\s+1, 3/);
    expect(text).toMatch(/hv shadow syncs, hidden faults\s+12, 8/);
    expect(text).not.toContain('pCPU');
    expect(text).toMatch(/cost table\s+defaults/);
  });

  it('lists only the VM exit reasons that occurred, and 0 when none did', () => {
    const quiet = formatReport(buildReport({ ...config(), cpus: 1 }, { ...twoCpuResult(), perCpu: [] }, host));
    expect(quiet).toMatch(/hv VM exits\s+0$/m);
  });

  it('names pCPUs in the header and a given cost table by what it changed', () => {
    const costs = { ...defaultCostTable(), trap: 5000, eoi: 0 };
    const custom = formatReport(buildReport({ ...config(), pcpus: 1, costs }, twoCpuResult(), host));
    expect(custom.split('\n')[0]).toContain('2 vCPUs on 1 pCPU ');
    expect(custom).toMatch(/cost table\s+given: trap 5000, eoi 0 \(others default\)/);
    const same = formatReport(buildReport({ ...config(), costs: defaultCostTable() }, twoCpuResult(), host));
    expect(same).toMatch(/cost table\s+given \(same as the defaults\)/);
  });

  it('aligns the per-CPU table', () => {
    const header = lines.findIndex((l) => l.trimStart().startsWith('cpu'));
    expect(header).toBeGreaterThan(0);
    const table = lines.slice(header, header + 3);
    expect(table[1]).toMatch(/^\s+0\s+600\s+100\s/);
    expect(table[2]).toMatch(/^\s+1\s+400\s+60\s/);
    // Right-aligned: every row ends at the same column.
    expect(new Set(table.map((l) => l.length)).size).toBe(1);
    expect(table[1]).toMatch(/1\.00\s+1\.20$/);
  });
});

describe('formatComparison', () => {
  const cfg: MachineConfig = { ...config(), seconds: undefined, ops: 1000 };
  const native = buildReport({ ...cfg, backend: 'native' }, twoCpuResult(), host);
  const failing = buildReport({ ...cfg, backend: 'vmi' }, {
    ...twoCpuResult(),
    selfCheck: { passed: false, message: 'page 3 read 0x41\nafter DONTNEED' },
  }, host);
  const entries: ComparisonEntry[] = [
    { kind: 'report', report: native },
    { kind: 'failed', failure: { backend: 'xen', error: { name: 'WatchdogError', message: 'cpu 1 waited 5000 ms for cpu 0' } } },
    { kind: 'report', report: failing },
  ];
  const text = formatComparison(cfg, entries, host);
  const lines = text.trimEnd().split('\n');

  it('names the shared configuration in its header', () => {
    expect(lines[0]).toBe('workload tlb_flush1, 2 vCPUs, 1000 ops per backend (256M RAM, 250 Hz; host linux/x64, 8 cores, Node v20.0.0)');
    const overcommitted = formatComparison({ ...cfg, pcpus: 1, costs: defaultCostTable() }, entries, host);
    expect(overcommitted.split('\n')[0]).toContain('2 vCPUs on 1 pCPU, 1000 ops per backend (256M RAM, 250 Hz, cost table given;');
  });

  it('has one row per backend, in order, with the figures of its report, then which pvemu ran them', () => {
    expect(lines).toHaveLength(6);
    expect(lines[5]).toMatch(/^\s+pvemu \d+\.\d+\.\d+.*, run at /);
    expect(lines[1]).toMatch(/^\s+backend\s+ops\/s\s+shootdowns\s+IPIs\s+traps\s+hypercalls\s+cycles\/shootdown p50\s+host p50 µs\s+host p99 µs\s+self-check$/);
    expect(lines[2]).toMatch(/^\s+native\s+500\.0\s+160\s+135\s+7\s+13\s+500\s+1\.00\s+1\.90\s+PASS: all pages read back zero$/);
    expect(lines[3]).toMatch(/^\s+xen(\s+-){8}\s+ERROR: WatchdogError: cpu 1 waited 5000 ms for cpu 0$/);
    expect(lines[4]).toMatch(/^\s+vmi\s.*FAIL: page 3 read 0x41; after DONTNEED$/);
  });

  it('aligns every column up to the self-check', () => {
    const checkColumn = (lines[1] ?? '').indexOf('self-check');
    for (const line of lines.slice(2, 5)) {
      expect(line.slice(checkColumn)).toMatch(/^(PASS|FAIL|ERROR)/);
      expect(line[checkColumn - 1]).toBe(' ');
    }
  });

  it('gives the JSON entry of each: the report, or the failure', () => {
    expect(entries.map(comparisonJson)).toEqual([
      native,
      { backend: 'xen', error: { name: 'WatchdogError', message: 'cpu 1 waited 5000 ms for cpu 0' } },
      failing,
    ]);
  });
});

describe('formatComparison of a program', () => {
  const cfg: MachineConfig = {
    ...config(),
    seconds: undefined,
    workload: 'args.elf',
    program: { name: 'args.elf', bytes: new Uint8Array(0), argv: ['guest/bin/args.elf', 'one', 'two words'], envp: ['LANG=C', 'X=a b'] },
  };
  const report = (backend: string, stdout: string) => buildReport({ ...cfg, backend }, { ...twoCpuResult(), stdout }, host);
  const entries: ComparisonEntry[] = [
    { kind: 'report', report: report('native', 'argc=3\n') },
    { kind: 'failed', failure: { backend: 'xen', error: { name: 'InternalError', message: 'boom' } } },
    { kind: 'report', report: report('kvm', 'argc=3\n') },
    { kind: 'report', report: report('vmi', 'argc=4') },
    { kind: 'report', report: report('shadow', '') },
  ];

  it('names the program as env(1) would start it, and its stop condition', () => {
    const lines = formatComparison(cfg, entries, host).split('\n');
    expect(lines[0]).toBe('program LANG=C "X=a b" args.elf one "two words", 2 vCPUs, until it exits per backend (256M RAM, 250 Hz; host linux/x64, 8 cores, Node v20.0.0)');
    expect(formatComparison({ ...cfg, seconds: 5 }, entries, host).split('\n')[0]).toContain(', until it exits (at most 5 s) per backend');
  });

  it('adds an elapsed column after ops/s, with a dash for a failed run', () => {
    const lines = formatComparison(cfg, entries, host).split('\n');
    expect(lines[1]).toMatch(/^\s+backend\s+ops\/s\s+elapsed s\s+shootdowns\s/);
    expect(lines[2]).toMatch(/^\s+native\s+500\.0\s+2\.000\s+160\s/);
    expect(lines[3]).toMatch(/^\s+xen(\s+-){9}\s+ERROR: InternalError: boom$/);
  });

  it('prints each distinct output once, headed by the backends that printed it, and nothing for a workload', () => {
    expect(formatProgramOutputs(entries)).toBe('== args.elf stdout on native, kvm ==\nargc=3\n== args.elf stdout on vmi ==\nargc=4\n');
    const workload: ComparisonEntry[] = [{ kind: 'report', report: buildReport(config(), twoCpuResult(), host) }];
    expect(formatProgramOutputs(workload)).toBe('');
  });
});
