/**
 * A sweep's chart: shootdown latency (p50 solid, p99 dashed; host µs, log scale) against vCPU
 * count with one line per backend, and throughput against vCPU count, one column per workload.
 * Written as a Vega-Lite spec and rendered to SVG by Vega's headless renderer (no browser, no
 * canvas: text widths are estimated). A line joins the median of the repetitions at each vCPU
 * count; each repetition is also a point, so the spread shows. Main thread.
 */
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { chartableRows, type SweepResult } from './sweep-result.js';
import { describeStop } from './sweep-spec.js';

/** One facet's plot area, in px: four vCPU counts and five backends stay readable. */
const PLOT_WIDTH = 240;
const PLOT_HEIGHT = 180;
/** A log axis labelled at powers of ten only (1, 10, 100 µs ...): the 2s and 5s between crowd it. */
const LOG_AXIS = { values: [0.01, 0.1, 1, 10, 100, 1000, 10_000, 100_000, 1_000_000] as number[], format: ',' };

/** The Vega-Lite spec of `result`'s chart (exported for the HTML page and for tests). */
export function sweepChartSpec(result: SweepResult): TopLevelSpec {
  const rows = chartableRows(result.rows);
  // No shootdowns (one vCPU, or a workload without remote flushes) has no latency to plot, and a
  // log scale has no place for 0.
  const latency = rows.filter((r) => r.shootdowns > 0).flatMap((r) => [
    { backend: r.backend, cpus: r.cpus, workload: r.workload, rep: r.rep, percentile: 'p50', us: r.shootdownP50Ns / 1000 },
    { backend: r.backend, cpus: r.cpus, workload: r.workload, rep: r.rep, percentile: 'p99', us: r.shootdownP99Ns / 1000 },
  ]).filter((d) => d.us > 0);
  const throughput = rows.map((r) => ({ backend: r.backend, cpus: r.cpus, workload: r.workload, rep: r.rep, opsPerSec: r.opsPerSec }));
  // Ordinal x: the swept counts evenly spaced (a doubling series reads like a log2 axis) and a
  // single count still draws.
  // The whole swept series on every plot, even where a count has no point (1 vCPU: no shootdowns).
  const cpus = [...result.spec.cpus].sort((a, b) => a - b);
  const x = { field: 'cpus', type: 'ordinal', title: 'vCPUs', scale: { domain: cpus }, axis: { labelAngle: 0 } } as const;
  const color = { field: 'backend', type: 'nominal', title: 'backend', scale: { domain: result.spec.backends } } as const;
  const column = { field: 'workload', type: 'nominal', title: null, sort: result.spec.workloads } as const;
  const hosts = [...new Set(result.sources.map((s) => `${s.host.cpuModel}, ${s.host.availableParallelism} cores, Node ${s.host.node}`))];
  // Other work on the host is the first suspect for a noisy latency figure: say how busy it was.
  const load = Math.max(...result.sources.map((s) => s.host.loadAvg1m));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'pvemu sweep: TLB shootdown cost by backend and vCPU count',
      subtitle: [
        `${describeStop(result.spec)}, ${result.spec.reps} rep${result.spec.reps === 1 ? '' : 's'}; line = median of reps, points = each rep`,
        `host: ${hosts.join('; ')}; 1-min load average at start${result.sources.length > 1 ? ' (highest source)' : ''}: ${load.toFixed(2)}`,
      ],
      anchor: 'start',
    },
    // Legends above the plots: beside a concatenation they sit past its widest title, far off.
    config: { font: 'sans-serif', legend: { orient: 'top', direction: 'horizontal' } },
    resolve: { scale: { color: 'shared' } },
    vconcat: [
      {
        title: 'shootdown latency, host µs (log scale): p50 solid, p99 dashed',
        data: { values: latency },
        facet: { column },
        resolve: { scale: { y: 'independent' } },
        spec: {
          width: PLOT_WIDTH,
          height: PLOT_HEIGHT,
          encoding: { x, color },
          layer: [
            {
              mark: { type: 'line' },
              encoding: {
                y: { aggregate: 'median', field: 'us', type: 'quantitative', scale: { type: 'log' }, title: 'µs per shootdown', axis: LOG_AXIS },
                strokeDash: { field: 'percentile', type: 'nominal', title: 'percentile', sort: ['p50', 'p99'] },
              },
            },
            {
              mark: { type: 'point', filled: true, size: 30, opacity: 0.6 },
              encoding: { y: { field: 'us', type: 'quantitative', scale: { type: 'log' } }, shape: { field: 'percentile', type: 'nominal', title: 'percentile' } },
            },
          ],
        },
      },
      {
        title: 'throughput, workload ops/s (all vCPUs)',
        data: { values: throughput },
        facet: { column },
        resolve: { scale: { y: 'independent' } },
        spec: {
          width: PLOT_WIDTH,
          height: PLOT_HEIGHT,
          encoding: { x, color },
          layer: [
            { mark: { type: 'line' }, encoding: { y: { aggregate: 'median', field: 'opsPerSec', type: 'quantitative', title: 'ops/s' } } },
            { mark: { type: 'point', filled: true, size: 30, opacity: 0.6 }, encoding: { y: { field: 'opsPerSec', type: 'quantitative' } } },
          ],
        },
      },
    ],
  };
}

/** The chart as a standalone SVG document. */
export async function renderSweepSvg(result: SweepResult): Promise<string> {
  const view = new View(parse(compile(sweepChartSpec(result)).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
