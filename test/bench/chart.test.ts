/**
 * The sweep chart (bench/lib/chart.ts): line styles explained in the legend, each backend its
 * own marker and its own place beside the others at each vCPU count (so coinciding lines stay
 * visible), readable sizes, and a note where a latency panel has nothing to plot. Over the
 * fake sweep runner; renders with Vega's headless renderer. No workers.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { NO_SHOOTDOWNS_NOTE, renderSweepSvg, sweepChartSpec } from '../../bench/lib/chart.js';
import { runSweep } from '../../bench/lib/sweep-run.js';
import type { SweepSpec } from '../../bench/lib/sweep-spec.js';
import { fakeRunner } from './sweep-fixtures.js';

function sink(): Writable {
  return new Writable({ write(_chunk, _enc, done) { done(); } });
}

const backends = ['native', 'xen', 'vmi', 'shadow', 'kvm'];

async function sweep(cpus: number[]) {
  const spec: SweepSpec = { backends, cpus, workloads: ['tlb_flush1'], reps: 1, ops: 1000 };
  return runSweep(spec, null, { runner: fakeRunner().runner, stream: sink() });
}

/** The plain JSON of the spec, for looking into without Vega-Lite's types. */
function specJson(spec: unknown): string {
  return JSON.stringify(spec);
}

describe('the sweep chart', () => {
  it('explains p50 and p99 as line styles in the legend, and marks backends, not percentiles, by shape', async () => {
    const spec = sweepChartSpec(await sweep([1, 2, 4]));
    const json = specJson(spec);
    expect(json).toContain('"strokeDash":{"field":"percentile"');
    expect(json).toContain('"symbolType":"stroke"');
    expect(json).not.toMatch(/"shape":\{"field":"percentile"/);
    expect(json).toMatch(/"shape":\{"field":"backend"/);
  });

  it('gives each backend its own marker shape and its own x position at each vCPU count, so equal figures do not hide each other', async () => {
    const result = await sweep([2, 4]);
    const spec = sweepChartSpec(result) as unknown as { vconcat: { data: { values: { backend: string; cpus: number; slot: number }[] } }[] };
    const throughput = spec.vconcat[1]!.data.values;
    for (const cpus of [2, 4]) {
      const slots = throughput.filter((d) => d.cpus === cpus).map((d) => d.slot);
      expect(new Set(slots).size).toBe(backends.length);
    }
    const range = /"shape":\{"field":"backend","type":"nominal","title":"backend","scale":\{"domain":\[[^\]]*\],"range":(\[[^\]]*\])/.exec(specJson(spec))?.[1];
    expect(new Set(JSON.parse(range ?? '[]') as string[]).size).toBe(backends.length);
  });

  it('draws at a readable size: plots at least 320 px wide, text at least 12 px', async () => {
    const json = specJson(sweepChartSpec(await sweep([1, 2])));
    for (const [, width] of json.matchAll(/"width":(\d+)/g)) expect(Number(width)).toBeGreaterThanOrEqual(320);
    for (const [, size] of json.matchAll(/fontSize":(\d+)/gi)) expect(Number(size)).toBeGreaterThanOrEqual(12);
  });

  it('says in the latency panel why it is empty at --cpus 1, in the rendered SVG too', async () => {
    const result = await sweep([1]);
    expect(specJson(sweepChartSpec(result))).toContain(JSON.stringify(NO_SHOOTDOWNS_NOTE));
    const svg = await renderSweepSvg(result);
    for (const line of NO_SHOOTDOWNS_NOTE) expect(svg).toContain(line);
  });
});
