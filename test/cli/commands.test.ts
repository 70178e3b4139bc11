/**
 * The command bodies in-process, with a fake machine runner where a run would boot workers:
 * `pvemu compare`'s table, JSON array, exit status and its handling of a backend whose run
 * fails; help and list texts. Unit tests, main thread, no workers.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cliMain, compareCommand, EXIT_FAILED, EXIT_OK, EXIT_USAGE, type MachineRunner } from '../../src/cli/commands.js';
import { InternalError, WatchdogError } from '../../src/lib/errors.js';
import { COST_KEYS } from '../../src/hw/cost.js';
import { describeBackends } from '../../src/hv/registry.js';
import type { MachineConfig } from '../../src/machine/config.js';
import { snapshotCounters, VcpuCounters } from '../../src/stats/counters.js';
import { LatencyHistogram } from '../../src/stats/histogram.js';
import { buildReport } from '../../src/report/build.js';
import type { Report } from '../../src/report/types.js';
import { captureIo } from '../helpers/cli-io.js';


/** A one-CPU report for `config`: 1000 ops in 1 s, with a self-check that passes unless told. */
function fakeReport(config: MachineConfig, passed = true): Report {
  const c = new VcpuCounters();
  c.ops = 1000;
  c.shootdowns = 10;
  c.traps = 3;
  const empty = new LatencyHistogram().encode();
  return buildReport(config, {
    elapsedNs: 1e9,
    perCpu: [{ cpu: 0, counters: snapshotCounters(c), shootdownLatency: empty, flushHandlerLatency: empty, shootdownCycles: empty, smpCallLatency: empty, stealNs: 0, workStartNs: 0, workEndNs: 0 }],
    selfCheck: { passed, message: passed ? 'ok' : 'page 0 read 0x41' },
    exitStatus: passed ? 0 : 1,
    console: '',
  });
}

/** A runner that records the configs it was given and answers per backend. */
function fakeRunner(behaviour: Partial<Record<string, 'fail-check' | 'watchdog' | 'bug'>> = {}): { run: MachineRunner; seen: MachineConfig[] } {
  const seen: MachineConfig[] = [];
  const run: MachineRunner = (config) => {
    seen.push(config);
    switch (behaviour[config.backend]) {
      case undefined: return Promise.resolve(fakeReport(config));
      case 'fail-check': return Promise.resolve(fakeReport(config, false));
      case 'watchdog': return Promise.reject(new WatchdogError('cpu 1 waited 5000 ms for a flush ack from cpu 0\n(cpu 0 was halted)'));
      case 'bug': return Promise.reject(new TypeError('x is undefined'));
    }
  };
  return { run, seen };
}

describe('pvemu compare', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pvemu-compare-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const all = describeBackends().map((b) => b.name);

  it('runs every backend by default, one after another, on the same configuration', async () => {
    const io = captureIo();
    const { run, seen } = fakeRunner();
    const status = await compareCommand(['--cpus', '2', '--pcpus', '1', '--workload', 'touch', '--ops', '100'], io, run);
    expect(status).toBe(EXIT_OK);
    expect(io.stderr).toBe('');
    expect(seen.map((c) => c.backend)).toEqual(all);
    for (const c of seen) expect(c).toMatchObject({ cpus: 2, pcpus: 1, workload: 'touch', ops: 100 });
    const lines = io.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3 + all.length);
    expect(lines[2 + all.length]).toMatch(/^\s+pvemu \d+\.\d+\.\d+/);
    expect(lines[0]).toMatch(/^workload touch, 2 vCPUs on 1 pCPU, 100 ops per backend/);
    for (const [i, name] of all.entries()) expect(lines[2 + i]).toMatch(new RegExp(`^\\s+${name}\\s+1000\\.0\\s+10\\s+0\\s+3\\s+0\\s.*PASS: ok$`));
    expect(io.progressText.trimEnd().split('\n')).toHaveLength(all.length);
  });

  it('reports a failed run in its row and in the JSON, carries on, and exits 1', async () => {
    const io = captureIo();
    const { run, seen } = fakeRunner({ xen: 'watchdog' });
    const json = join(dir, 'failed.json');
    const status = await compareCommand(['--backends', 'xen,native', '--json', json], io, run);
    expect(status).toBe(EXIT_FAILED);
    expect(seen.map((c) => c.backend)).toEqual(['xen', 'native']);
    expect(io.stdout).toMatch(/^\s+xen(\s+-){8}\s+ERROR: WatchdogError: cpu 1 waited 5000 ms for a flush ack from cpu 0; \(cpu 0 was halted\)$/m);
    expect(io.stdout).toMatch(/^\s+native\s.*PASS: ok$/m);
    expect(io.stderr).toBe('pvemu: compare: run failed on xen (WatchdogError)\n');
    const written: unknown = JSON.parse(readFileSync(json, 'utf8'));
    expect(written).toEqual([
      { backend: 'xen', error: { name: 'WatchdogError', message: 'cpu 1 waited 5000 ms for a flush ack from cpu 0; (cpu 0 was halted)' } },
      expect.objectContaining({ backend: 'native', ops: 1000, selfCheck: { passed: true, message: 'ok' } }),
    ]);
  });

  it('exits 1 when a self-check fails, naming the backend', async () => {
    const io = captureIo();
    const status = await compareCommand(['--backends', 'native,kvm'], io, fakeRunner({ kvm: 'fail-check' }).run);
    expect(status).toBe(EXIT_FAILED);
    expect(io.stdout).toMatch(/^\s+kvm\s.*FAIL: page 0 read 0x41$/m);
    expect(io.stderr).toBe('pvemu: compare: self-check failed on kvm\n');
  });

  it('stops on an error that is a bug in pvemu rather than a run failure', async () => {
    await expect(compareCommand(['--backends', 'native'], captureIo(), fakeRunner({ native: 'bug' }).run)).rejects.toThrow(TypeError);
  });

  it('refuses bad options before running anything', async () => {
    const io = captureIo();
    const { run, seen } = fakeRunner();
    await expect(compareCommand(['--backends', 'native,bochs'], io, run)).rejects.toThrow(/^--backends: unknown backend bochs; known: /);
    await expect(compareCommand(['--json', join(dir, 'no', 'such', 'dir.json')], io, run)).rejects.toThrow(/^--json: directory/);
    expect(seen).toEqual([]);
  });

  it('gives one line and exit 2 for bad input through cliMain', async () => {
    const io = captureIo();
    expect(await cliMain(['compare', '--backends', 'bochs'], io)).toBe(EXIT_USAGE);
    expect(io.stderr).toBe(`pvemu: --backends: unknown backend bochs; known: ${all.join(', ')}\n`);
  });

  it('keeps a run failure of a PvemuError class other than the watchdog in its row', async () => {
    const io = captureIo();
    const run: MachineRunner = (config) => Promise.reject(new InternalError(`${config.backend} broke`));
    expect(await compareCommand(['--backends', 'shadow'], io, run)).toBe(EXIT_FAILED);
    expect(io.stdout).toMatch(/ERROR: InternalError: shadow broke$/m);
  });
});

describe('help and list', () => {
  it('shows compare usage for help compare and compare --help', async () => {
    for (const argv of [['help', 'compare'], ['compare', '--help'], ['compare', '-h']]) {
      const io = captureIo();
      expect(await cliMain(argv, io)).toBe(EXIT_OK);
      expect(io.stdout).toMatch(/^Usage: pvemu compare \[options\]/);
      for (const option of ['--backends', '--workload', '--cpus', '--pcpus', '--seconds', '--ops', '--mem', '--hz', '--cost', '--param', '--json']) {
        expect(io.stdout).toContain(option);
      }
    }
  });

  it('lists compare among the commands', async () => {
    const io = captureIo();
    expect(await cliMain(['--help'], io)).toBe(EXIT_OK);
    expect(io.stdout).toMatch(/^\s+compare\s+/m);
  });

  it('shows --pcpus and --cost in run usage', async () => {
    const io = captureIo();
    expect(await cliMain(['help', 'run'], io)).toBe(EXIT_OK);
    expect(io.stdout).toMatch(/^\s+--pcpus P\s+/m);
    expect(io.stdout).toMatch(/^\s+--cost FILE\s+/m);
  });

  it('lists backends, workloads and every default cost with its source', async () => {
    const io = captureIo();
    expect(await cliMain(['list'], io)).toBe(EXIT_OK);
    for (const b of describeBackends()) expect(io.stdout).toMatch(new RegExp(`^\\s+${b.name}\\s+\\S`, 'm'));
    for (const key of COST_KEYS) expect(io.stdout).toMatch(new RegExp(`^\\s+${key}\\s+\\d+\\s+\\S`, 'm'));
  });
});
