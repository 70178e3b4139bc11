/**
 * The sweep and merge cases end to end on real machines (vCPU workers; needs the build): a tiny
 * sweep (2 backends x 1,2 vCPUs x tlb_flush1, a few hundred ops per run) writes JSON that the
 * published schema accepts and a chart naming each backend; the same sweep run as 3 shards and
 * merged gives the same set of rows. SMP, main thread plus workers.
 */
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import { afterAll, describe, expect, it } from 'vitest';
import { mergeCase } from '../../bench/cases/merge.js';
import { sweepCase } from '../../bench/cases/sweep.js';
import type { BenchOptions } from '../../bench/lib/args.js';
import type { SweepResult } from '../../bench/lib/sweep-result.js';

const SCHEMA = JSON.parse(readFileSync(new URL('../../bench/schema/sweep.schema.json', import.meta.url), 'utf8')) as object;
const validate = new Ajv2020.default({ strict: true, strictRequired: false }).compile(SCHEMA);

/** Small enough for seconds per run on a busy 2-core host, big enough for shootdowns at 2 vCPUs. */
const TINY: BenchOptions = { backends: ['native', 'kvm'], cpus: [1, 2], workloads: ['tlb_flush1'], ops: 300 };

function readResult(path: string): SweepResult {
  const value: unknown = JSON.parse(readFileSync(path, 'utf8'));
  const valid = validate(value);
  expect(validate.errors ?? []).toEqual([]); // on failure, shows what the schema refused
  expect(valid).toBe(true);
  return value as SweepResult;
}

const key = (r: { backend: string; cpus: number; workload: string; rep: number }) => `${r.backend}/${r.cpus}/${r.workload}/${r.rep}`;

describe('bench sweep and merge on real machines', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pvemu-sweep-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('write schema-valid JSON and a chart naming every backend; 3 shards merged hold the unsharded rows', async () => {
    const wholeDir = join(dir, 'whole');
    const whole = await sweepCase.run({ ...TINY, out: wholeDir });
    expect(whole.tables[0]?.rows).toHaveLength(4);
    const result = readResult(join(wholeDir, 'sweep.json'));
    expect(result.rows.map((r) => r.status)).toEqual(['ok', 'ok', 'ok', 'ok']);
    for (const r of result.rows) {
      if (r.status !== 'ok') continue;
      expect(r.ops).toBeGreaterThanOrEqual(300);
      expect(r.selfCheckPassed).toBe(true);
      // At 2 vCPUs tlb_flush1 shoots down on every page; at 1 there is nobody to shoot.
      if (r.cpus === 2) expect(r.shootdowns).toBeGreaterThan(0);
      else expect(r.shootdowns).toBe(0);
    }
    const svg = readFileSync(join(wholeDir, 'sweep.svg'), 'utf8');
    for (const name of [...result.spec.backends, ...result.spec.workloads]) expect(svg).toContain(`>${name}<`);
    expect(readFileSync(join(wholeDir, 'index.html'), 'utf8')).toContain(svg);

    const shardDir = join(dir, 'shards');
    for (let index = 1; index <= 3; index++) await sweepCase.run({ ...TINY, shard: { index, count: 3 }, out: shardDir });
    const mergedDir = join(dir, 'merged');
    const merge = await mergeCase.run({ inputs: [shardDir], out: mergedDir });
    expect(merge.failure).toBeUndefined();
    const merged = readResult(join(mergedDir, 'sweep.json'));
    expect(merged.missing).toEqual([]);
    expect(merged.rows.map(key)).toEqual(result.rows.map(key));
    expect(merged.sources).toHaveLength(3);
    expect(readFileSync(join(mergedDir, 'sweep.svg'), 'utf8')).toContain('>kvm<');
  });
});
