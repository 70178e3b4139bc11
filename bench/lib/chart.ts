/**
 * A sweep's chart: shootdown latency (p50 solid, p99 dashed; host µs, or modelled µs in virtual time; log scale) against vCPU
 * count with one line per backend, and throughput against vCPU count, one column per workload.
 * Each backend has its colour and its marker shape, and sits a little apart from the others at
 * each vCPU count, so backends whose figures coincide still show.
 * Written as a Vega-Lite spec and rendered to SVG by Vega's headless renderer (no browser, no
 * canvas: text widths are estimated). A line joins the median of the repetitions at each vCPU
 * count; each repetition is also a point, so the spread shows. Main thread.
 */
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { chartableRows, type SweepResult } from './sweep-result.js';
import { describeStop, latencyUnit } from './sweep-spec.js';

/** One facet's plot area, in px: wide enough for eight vCPU counts with five backends side by side in each. */
const PLOT_WIDTH = 360;
const PLOT_HEIGHT = 240;
/** A log axis labelled at powers of ten only (1, 10, 100 µs ...): the 2s and 5s between crowd it. */
const LOG_AXIS = { values: [0.01, 0.1, 1, 10, 100, 1000, 10_000, 100_000, 1_000_000] as number[], format: ',' };
/**
 * Each backend's marker: with colour, a line stays identifiable where backends' figures
 * coincide, and in grey print. Filled shapes Vega draws; cycled past five backends.
 */
const SHAPES = ['circle', 'square', 'triangle-up', 'diamond', 'triangle-down', 'cross'] as const;
/** How much of a vCPU count's slot the backends spread over, side by side. */
const BACKEND_SPREAD = 0.5;
/** Text sizes in px: readable at the SVG's natural size. */
const FONT = { title: 18, subtitle: 13, header: 14, axisTitle: 13, label: 12, legend: 13 } as const;

/** Why a latency panel may be empty: one vCPU has no other CPU's TLB to shoot down. */
export const NO_SHOOTDOWNS_NOTE = ['no shootdowns to plot:', 'at 1 vCPU there is no', 'other CPU to flush'];
/** Why a workload's latency panel is empty with more vCPUs: it flushed no other CPU. */
const NO_REMOTE_FLUSH_NOTE = ['no shootdowns recorded:', 'this workload flushed', 'no other CPU'];

/** The Vega-Lite spec of `result`'s chart (exported for the HTML page and for tests). */
export function sweepChartSpec(result: SweepResult): TopLevelSpec {
  const rows = chartableRows(result.rows);
  // x is a slot, not the count itself: the swept counts evenly spaced (a doubling series reads
  // like a log2 axis; a single count still draws), and within each count's slot each backend a
  // little apart from the others, so lines that coincide stay visible side by side. The axis
  // labels the slots with their counts; every swept count has its slot, even one with no point
  // (1 vCPU: no shootdowns).
  const cpus = [...result.spec.cpus].sort((a, b) => a - b);
  const backends = result.spec.backends;
  const slot = (r: { cpus: number; backend: string }): number =>
    cpus.indexOf(r.cpus) + (backends.length > 1 ? (backends.indexOf(r.backend) / (backends.length - 1) - 0.5) * BACKEND_SPREAD : 0);
  // No shootdowns (one vCPU, or a workload without remote flushes) has no latency to plot, and a
  // log scale has no place for 0.
  const latency: object[] = rows.filter((r) => r.shootdowns > 0).flatMap((r) => [
    { backend: r.backend, cpus: r.cpus, slot: slot(r), workload: r.workload, rep: r.rep, percentile: 'p50', us: r.shootdownP50Ns / 1000 },
    { backend: r.backend, cpus: r.cpus, slot: slot(r), workload: r.workload, rep: r.rep, percentile: 'p99', us: r.shootdownP99Ns / 1000 },
  ]).filter((d) => d.us > 0);
  // A panel with no latency at all says why, rather than stand empty (or vanish from the facet).
  const plotted = new Set(latency.map((d) => (d as { workload: string }).workload));
  const onlyOne = cpus.every((c) => c === 1);
  for (const workload of result.spec.workloads) {
    if (!plotted.has(workload)) latency.push({ workload, note: onlyOne ? NO_SHOOTDOWNS_NOTE : NO_REMOTE_FLUSH_NOTE });
  }
  const throughput = rows.map((r) => ({ backend: r.backend, cpus: r.cpus, slot: slot(r), workload: r.workload, rep: r.rep, opsPerSec: r.opsPerSec }));
  const x = {
    field: 'slot',
    type: 'quantitative',
    title: 'vCPUs',
    scale: { domain: [-0.5, cpus.length - 0.5] as number[], nice: false, zero: false },
    axis: { values: cpus.map((_, i) => i), labelExpr: `${JSON.stringify(cpus.map(String))}[datum.value]`, grid: false },
  } as const;
  const color = { field: 'backend', type: 'nominal', title: 'backend', scale: { domain: backends } } as const;
  const shape = { field: 'backend', type: 'nominal', title: 'backend', scale: { domain: backends, range: backends.map((_, i) => SHAPES[i % SHAPES.length]!) } } as const;
  const column = { field: 'workload', type: 'nominal', title: null, sort: result.spec.workloads } as const;
  const hosts = [...new Set(result.sources.map((s) => `${s.host.cpuModel}, ${s.host.availableParallelism} cores, Node ${s.host.node}`))];
  // Other work on the host is the first suspect for a noisy latency figure: say how busy it was.
  const load = Math.max(...result.sources.map((s) => s.host.loadAvg1m));
  const points = { type: 'point', filled: true, size: 60, opacity: 0.85 } as const;
  const hasData = { filter: 'datum.note == null' } as const;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'pvemu sweep: TLB shootdown cost by backend and vCPU count',
      // Short lines: the SVG's width follows Vega's estimate of the longest, which runs long.
      subtitle: [
        `${describeStop(result.spec)}, ${result.spec.reps} rep${result.spec.reps === 1 ? '' : 's'}: a line joins the median of the reps,`,
        'a marker shows each rep; backends side by side at each vCPU count',
        `host: ${hosts.join('; ')}`,
        `1-min load average at start${result.sources.length > 1 ? ' (highest source)' : ''}: ${load.toFixed(2)}`,
        ...(result.interrupted !== undefined ? [`interrupted by ${result.interrupted.signal}: ${result.rows.length} of ${result.totalRuns} runs finished`] : []),
      ],
      anchor: 'start',
      fontSize: FONT.title,
      subtitleFontSize: FONT.subtitle,
    },
    // Legends above the plots: beside a concatenation they sit past its widest title, far off.
    config: {
      font: 'sans-serif',
      legend: { orient: 'top', direction: 'horizontal', labelFontSize: FONT.legend, titleFontSize: FONT.legend, symbolSize: 140, symbolStrokeWidth: 2 },
      axis: { labelFontSize: FONT.label, titleFontSize: FONT.axisTitle },
      header: { labelFontSize: FONT.header },
      concat: { spacing: 28 },
    },
    resolve: { scale: { color: 'shared', shape: 'shared' } },
    vconcat: [
      {
        title: { text: `shootdown latency, ${latencyUnit(result.spec)} per shootdown (log scale)`, fontSize: FONT.header },
        data: { values: latency },
        facet: { column },
        resolve: { scale: { y: 'independent' } },
        spec: {
          width: PLOT_WIDTH,
          height: PLOT_HEIGHT,
          layer: [
            {
              transform: [hasData],
              mark: { type: 'line', strokeWidth: 2 },
              encoding: {
                x, color,
                y: { aggregate: 'median', field: 'us', type: 'quantitative', scale: { type: 'log' }, title: 'µs per shootdown', axis: LOG_AXIS },
                // The legend draws this as line samples: solid p50, dashed p99.
                strokeDash: { field: 'percentile', type: 'nominal', title: 'latency', sort: ['p50', 'p99'], legend: plotted.size === 0 ? null : { symbolType: 'stroke', symbolStrokeColor: '#444', symbolSize: 400 } },
              },
            },
            {
              transform: [hasData],
              mark: points,
              encoding: { x, color, shape, detail: { field: 'percentile' }, y: { field: 'us', type: 'quantitative', scale: { type: 'log' } } },
            },
            {
              transform: [{ filter: 'datum.note != null' }],
              mark: { type: 'text', fontSize: FONT.legend, color: '#555', baseline: 'middle', lineHeight: FONT.legend + 5 },
              encoding: { text: { field: 'note' }, x: { value: PLOT_WIDTH / 2 }, y: { value: PLOT_HEIGHT / 2 } },
            },
          ],
        },
      },
      {
        title: { text: `throughput, workload ops per ${result.spec.clock === 'virtual' ? 'modelled ' : ''}second (all vCPUs)`, fontSize: FONT.header },
        data: { values: throughput },
        facet: { column },
        resolve: { scale: { y: 'independent' } },
        spec: {
          width: PLOT_WIDTH,
          height: PLOT_HEIGHT,
          encoding: { x, color },
          layer: [
            { mark: { type: 'line', strokeWidth: 2 }, encoding: { y: { aggregate: 'median', field: 'opsPerSec', type: 'quantitative', title: 'ops/s' } } },
            { mark: points, encoding: { shape, y: { field: 'opsPerSec', type: 'quantitative' } } },
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
