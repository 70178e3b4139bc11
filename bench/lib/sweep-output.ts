/**
 * Writing a sweep result into its --out directory: the JSON always; the chart (sweep.svg) and
 * the HTML page (index.html) for a whole sweep — a shard's slice would chart lines with holes,
 * so shards leave the charts to merge. Also the stdout table of the rows. Main thread.
 */
import { statSync, writeFileSync } from 'node:fs';
import { checkOutputPath, makeDirs } from '../../src/cli/output-path.js';
import { join } from 'node:path';
import { ConfigError } from '../../src/lib/errors.js';
import { renderSweepSvg } from './chart.js';
import { sweepHtml } from './sweep-html.js';
import { resultFileName, type SweepResult, type SweepRow } from './sweep-result.js';
import { count, usFromNs, type Table } from './table.js';
import { describeStop, latencyUnit } from './sweep-spec.js';
import { UNRELIABLE_NOTE } from './machine-run.js';

export const CHART_FILE = 'sweep.svg';
export const HTML_FILE = 'index.html';

/**
 * Creates `dir` if needed; a path that exists and is not a directory, or that cannot be
 * created, is an --out error. Call it before the runs, so a typo costs no sweep.
 */
export function prepareOutDir(dir: string | undefined): string {
  if (dir === undefined) throw new ConfigError('--out', 'required: the directory to write the results JSON, chart and HTML page into');
  try {
    makeDirs(dir);
  } catch (err) {
    throw new ConfigError('--out', `cannot create directory ${JSON.stringify(dir)}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!statSync(dir).isDirectory()) throw new ConfigError('--out', `${JSON.stringify(dir)} is not a directory`);
  checkOutputPath(join(dir, resultFileName(null)), '--out');
  return dir;
}

/** Writes the result's files into `dir` (created if need be); returns their paths, JSON first. */
export async function writeSweepOutputs(dir: string, result: SweepResult): Promise<string[]> {
  makeDirs(dir);
  const json = join(dir, resultFileName(result.shard));
  writeFileSync(json, `${JSON.stringify(result, null, 2)}\n`);
  if (result.shard !== null) return [json];
  const svg = await renderSweepSvg(result);
  const chart = join(dir, CHART_FILE);
  const html = join(dir, HTML_FILE);
  writeFileSync(chart, svg);
  writeFileSync(html, sweepHtml(result, svg));
  return [json, chart, html];
}

function rowCells(r: SweepRow): string[] {
  const key = [r.backend, `${r.cpus}`, r.workload, `${r.rep}`];
  switch (r.status) {
    case 'ok': {
      // No shootdowns: no latency or cycles to show (the JSON's 0s mean "none recorded").
      const none = r.shootdowns === 0;
      return [...key, count(r.opsPerSec), count(r.shootdowns), none ? '-' : usFromNs(r.shootdownP50Ns), none ? '-' : usFromNs(r.shootdownP99Ns),
        none ? '-' : count(r.cyclesP50), none ? '-' : count(r.cyclesP99), count(r.ipis), r.selfCheckPassed ? (r.conservationOk ? 'pass' : 'CONSERVATION') : 'FAIL'];
    }
    case 'failed':
      return [...key, '-', '-', '-', '-', '-', '-', '-', `ERROR ${r.error.name}`];
    default: {
      const never: never = r;
      return never;
    }
  }
}

/** The rows as a bench table (latencies in host µs, or modelled in virtual time; cycles modelled). */
export function sweepTable(result: SweepResult): Table {
  const slice = result.shard === null ? '' : `, shard ${result.shard.index}/${result.shard.count}`;
  return {
    title: `sweep: ${result.rows.length} of ${result.totalRuns} runs${slice}, ${describeStop(result.spec)}; shootdown latency in ${latencyUnit(result.spec)}, cycles modelled`,
    header: ['backend', 'vCPUs', 'workload', 'rep', 'ops/s', 'shootdowns', 'p50', 'p99', 'cycles p50', 'cycles p99', 'IPIs', 'check'],
    rows: result.rows.map(rowCells),
  };
}

/**
 * What a reader of the table must know: failed runs with their errors, each run's own notes
 * (runNotes) with the host-overcommit one said once, and missing rows.
 */
export function sweepNotes(result: SweepResult): string[] {
  const overcommitted = (n: string): boolean => n.endsWith('overcommitted: vCPUs share cores');
  const unreliable = (n: string): boolean => n.includes(UNRELIABLE_NOTE);
  const notes: string[] = [];
  for (const r of result.rows) {
    if (r.status === 'failed') notes.push(`${r.backend}, ${r.cpus} vCPUs, ${r.workload}, rep ${r.rep}: run FAILED: ${r.error.name}: ${r.error.message}`);
    else notes.push(...r.notes.filter((n) => !overcommitted(n) && !unreliable(n)).map((n) => `${r.backend}, rep ${r.rep}: ${n}`));
  }
  const cores = [...new Set(result.sources.map((s) => s.host.availableParallelism))];
  const over = result.rows.filter((r) => r.status === 'ok' && r.notes.some(overcommitted));
  if (over.length > 0) notes.push(`${over.length} run(s) had more vCPUs than the host's ${cores.join('/')} cores: their vCPUs shared cores, so shootdowns waited for descheduled targets`);
  const doubted = result.rows.flatMap((r) => (r.status === 'ok' ? r.notes.filter(unreliable).map((n) => `${r.backend}, rep ${r.rep}: ${n}`) : []));
  if (doubted.length > 0) {
    notes.push(`${doubted.length} run(s) had host-time figures (ops/s, µs) that are unreliable (the reasons are in each row's notes in the JSON); the first: ${doubted[0]!}`);
  }
  if (result.interrupted !== undefined) {
    notes.push(`interrupted by ${result.interrupted.signal}: ${result.rows.length} of ${result.totalRuns} runs finished; the ${result.missing.length} left are listed as missing`);
  }
  if (result.missing.length > 0 && result.interrupted === undefined) notes.push(`${result.missing.length} of ${result.totalRuns} runs missing (no shard file had them): the result is incomplete`);
  return notes;
}
