/**
 * A sweep's results, runs faked (sweep-fixtures.ts): every row validates against the published
 * schema, a run that throws is a failed row and the sweep goes on, 3 shards merged give the
 * unsharded sweep's rows, and merge refuses shards of another sweep, rows given twice and files
 * that are not sweep results, and lists the runs of a lost shard. No workers.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { findResultFiles, loadResult, mergeResults } from '../../bench/lib/sweep-merge.js';
import { writeSweepOutputs } from '../../bench/lib/sweep-output.js';
import type { SweepResult } from '../../bench/lib/sweep-result.js';
import { runSweep } from '../../bench/lib/sweep-run.js';
import { sweepSchemaProblem } from '../../bench/lib/sweep-schema.js';
import type { SweepSpec } from '../../bench/lib/sweep-spec.js';
import { configError } from '../helpers/errors.js';
import { fakeRunner } from './sweep-fixtures.js';

/** stderr for the sweep: not a terminal, so no bar; keeps the per-run lines for inspection. */
function sink(): Writable & { text: string } {
  const s = Object.assign(new Writable({ write(chunk, _enc, done) { s.text += String(chunk); done(); } }), { text: '' });
  return s;
}

const spec: SweepSpec = { backends: ['native', 'kvm'], cpus: [1, 2, 4], workloads: ['tlb_flush1'], reps: 2, ops: 1000 };
const keys = (r: SweepResult) => r.rows.map((x) => `${x.index}:${x.backend}/${x.cpus}/${x.workload}/${x.rep}`);

describe('sweep results', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pvemu-sweep-merge-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('record a run that throws as a failed row with its error on one line, and run the rest', async () => {
    const { runner, seen } = fakeRunner([3]);
    const err = sink();
    const result = await runSweep(spec, null, { runner, stream: err });
    expect(seen).toHaveLength(12);
    const failed = result.rows.filter((r) => r.status === 'failed');
    expect(failed).toEqual([{ index: 3, backend: 'native', cpus: 2, workload: 'tlb_flush1', rep: 2, status: 'failed',
      error: { name: 'WatchdogError', message: 'cpu 1 waited 5000 ms for cpu 0; (run 3)' } }]);
    expect(err.text).toContain('native, 2 vCPUs, tlb_flush1, rep 2 FAILED: WatchdogError');
    expect(sweepSchemaProblem(result)).toBeUndefined();
  });

  it('stopped by a signal mid-sweep, keep only the runs that finished, list the rest as missing, and say so', async () => {
    const { runner } = fakeRunner();
    let signal: 'SIGINT' | undefined;
    // The stop arrives while the fourth run is under way: that run is cut short, not a row.
    const stopping: typeof runner = (run, s, log) => {
      if (run.index === 3) signal = 'SIGINT';
      return runner(run, s, log);
    };
    const result = await runSweep(spec, null, { runner: stopping, stream: sink(), stopped: () => signal });
    expect(result.rows.map((r) => r.index)).toEqual([0, 1, 2]);
    expect(result.missing.map((r) => r.index)).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(result.interrupted).toEqual({ signal: 'SIGINT' });
    expect(sweepSchemaProblem(result)).toBeUndefined();
  });

  it('carry each completed run\'s figures from its report', async () => {
    const result = await runSweep(spec, null, { runner: fakeRunner().runner, stream: sink() });
    const row = result.rows[2];
    expect(row).toMatchObject({ index: 2, backend: 'native', cpus: 2, rep: 1, status: 'ok', ops: 1002, opsPerSec: 1002, shootdowns: 102, ipis: 102,
      selfCheckPassed: true, conservationOk: true });
    expect(row?.status === 'ok' ? row.shootdownP50Ns : 0).toBeGreaterThanOrEqual(2000);
  });

  it('fail the schema when a row lacks a figure or has a status it does not know', async () => {
    const result = await runSweep(spec, { index: 1, count: 4 }, { runner: fakeRunner().runner, stream: sink() });
    expect(sweepSchemaProblem(result)).toBeUndefined();
    const copy = JSON.parse(JSON.stringify(result)) as { rows: Record<string, unknown>[] };
    delete copy.rows[0]!.opsPerSec;
    expect(sweepSchemaProblem(copy)).toMatch(/^rows\/0/);
    const other = JSON.parse(JSON.stringify(result)) as { rows: Record<string, unknown>[] };
    other.rows[1]!.status = 'skipped';
    expect(sweepSchemaProblem(other)).toMatch(/^rows\/1/);
  });

  it('merged from 3 shards hold the same rows as the unsharded sweep, in index order', async () => {
    const whole = await runSweep(spec, null, { runner: fakeRunner().runner, stream: sink() });
    const shardDir = join(dir, 'shards');
    for (let i = 1; i <= 3; i++) {
      const part = await runSweep(spec, { index: i, count: 3 }, { runner: fakeRunner().runner, stream: sink() });
      expect(part.rows).toHaveLength(4);
      const files = await writeSweepOutputs(shardDir, part);
      expect(files).toEqual([join(shardDir, `sweep-shard-${i}-of-3.json`)]);
    }
    const merged = mergeResults(findResultFiles([shardDir]).map(loadResult));
    expect(keys(merged)).toEqual(keys(whole));
    expect(merged.rows).toEqual(whole.rows);
    expect(merged.missing).toEqual([]);
    expect(merged.shard).toBeNull();
    expect(merged.sources.map((s) => s.shard)).toEqual([1, 2, 3].map((index) => ({ index, count: 3 })));
    expect(sweepSchemaProblem(merged)).toBeUndefined();
  });

  it('merged without one shard lists that shard\'s runs as missing', async () => {
    const parts = [];
    for (const index of [1, 3]) parts.push({ file: `s${index}`, result: await runSweep(spec, { index, count: 3 }, { runner: fakeRunner().runner, stream: sink() }) });
    const merged = mergeResults(parts);
    expect(merged.rows).toHaveLength(8);
    expect(merged.missing.map((m) => m.index)).toEqual([1, 4, 7, 10]);
    expect(merged.missing[0]).toEqual({ index: 1, backend: 'native', cpus: 1, workload: 'tlb_flush1', rep: 2 });
  });

  it('refuse a shard given twice, naming the row and both files', async () => {
    const part = await runSweep(spec, { index: 2, count: 3 }, { runner: fakeRunner().runner, stream: sink() });
    const err = configError(() => mergeResults([{ file: 'a.json', result: part }, { file: 'b.json', result: part }]));
    expect(err.message).toBe('b.json: row #1 (native, 1 vCPU, tlb_flush1, rep 2) is also in a.json: give each shard once');
  });

  it('refuse shards of different sweeps, naming the field that differs', async () => {
    const a = await runSweep(spec, { index: 1, count: 2 }, { runner: fakeRunner().runner, stream: sink() });
    const b = await runSweep({ ...spec, cpus: [1, 2] }, { index: 2, count: 2 }, { runner: fakeRunner().runner, stream: sink() });
    const err = configError(() => mergeResults([{ file: 'a.json', result: a }, { file: 'b.json', result: b }]));
    expect(err.message).toBe('b.json: is from another sweep than a.json (cpus: [1,2] vs [1,2,4])');
  });

  it('refuse a row whose keys are not the run its index names', async () => {
    const a = await runSweep(spec, { index: 1, count: 2 }, { runner: fakeRunner().runner, stream: sink() });
    const edited = { ...a, rows: a.rows.map((r, i) => (i === 0 ? { ...r, cpus: 4 } : r)) };
    expect(configError(() => mergeResults([{ file: 'a.json', result: edited }])).message)
      .toBe('a.json: row #0 (native, 4 vCPUs, tlb_flush1, rep 1) is not run #0 of its sweep (native, 1 vCPU, tlb_flush1, rep 1)');
  });

  it('refuse input that is not a sweep result, with one line naming the file', () => {
    const junk = join(dir, 'sweep.json');
    writeFileSync(junk, '{"format": "pvemu-sweep", "version": 1, "rows": []}');
    expect(configError(() => loadResult(junk)).message).toMatch(/sweep\.json: does not match bench\/schema\/sweep\.schema\.json: \(top level\): must have required property/);
    writeFileSync(junk, '{"bench": "shootdown"}');
    expect(configError(() => loadResult(junk)).message).toMatch(/not a pvemu sweep result/);
    writeFileSync(junk, '{');
    expect(configError(() => loadResult(junk)).message).toMatch(/not readable JSON/);
    expect(configError(() => findResultFiles([join(dir, 'nothing-here')])).message).toMatch(/no such file or directory/);
    const empty = mkdtempSync(join(dir, 'empty-'));
    expect(configError(() => findResultFiles([empty])).message).toMatch(/holds no sweep\.json or sweep-shard-I-of-N\.json/);
  });

  it('write the whole sweep as JSON, an SVG chart naming every backend and workload, and an HTML page with both', async () => {
    const result = await runSweep({ ...spec, workloads: ['tlb_flush1', 'ebizzy'] }, null, { runner: fakeRunner([5]).runner, stream: sink() });
    const out = join(dir, 'whole');
    const files = await writeSweepOutputs(out, result);
    expect(files).toEqual(['sweep.json', 'sweep.svg', 'index.html'].map((f) => join(out, f)));
    expect(JSON.parse(readFileSync(files[0]!, 'utf8'))).toEqual(result);
    const svg = readFileSync(files[1]!, 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    for (const name of [...result.spec.backends, ...result.spec.workloads, 'p50', 'p99']) expect(svg).toContain(`>${name}<`);
    const html = readFileSync(files[2]!, 'utf8');
    expect(html).toContain(svg);
    expect(html.match(/<tr( class="bad")?><td/g)).toHaveLength(result.rows.length);
    expect(html).toContain('run FAILED: WatchdogError');
  });
});
