/**
 * The sweep's HTML page: what was swept and where, the chart (the same SVG as the chart file,
 * inline), then every row in a table — failed runs and failed self-checks included and marked,
 * since the chart leaves them out — and any runs missing from a merge. A static file with no
 * script, so it opens from a CI artifact as it is. Main thread.
 */
import { chartableRows, type SweepResult, type SweepRow } from './sweep-result.js';
import { describeRun, describeStop, latencyUnit } from './sweep-spec.js';
import { count as num, usFromNs as us } from './table.js';

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const HEADER = ['#', 'backend', 'vCPUs', 'workload', 'rep', 'ops', 'seconds', 'ops/s', 'shootdowns', 'p50 µs', 'p99 µs',
  'cycles p50', 'cycles p99', 'IPIs', 'self-check', 'conservation', 'notes'];
/** Columns of names and free text, left-aligned; the rest are figures. */
const TEXT_COLUMNS: ReadonlySet<number> = new Set(['backend', 'workload', 'self-check', 'notes'].map((h) => HEADER.indexOf(h)));

function rowCells(r: SweepRow): { cells: string[]; bad: boolean } {
  const key = [`${r.index}`, r.backend, `${r.cpus}`, r.workload, `${r.rep}`];
  switch (r.status) {
    case 'ok': {
      const check = r.selfCheckPassed ? 'pass' : `FAIL: ${r.selfCheckMessage}`;
      // No shootdowns: no latency or cycles to show (the JSON's 0s mean "none recorded").
      const none = r.shootdowns === 0;
      return {
        cells: [...key, num(r.ops), r.seconds.toFixed(2), num(r.opsPerSec), num(r.shootdowns), none ? '-' : us(r.shootdownP50Ns), none ? '-' : us(r.shootdownP99Ns),
          none ? '-' : num(r.cyclesP50), none ? '-' : num(r.cyclesP99), num(r.ipis), check, r.conservationOk ? 'ok' : 'VIOLATED', r.notes.join('; ')],
        bad: !r.selfCheckPassed || !r.conservationOk,
      };
    }
    case 'failed':
      return { cells: [...key, '', '', '', '', '', '', '', '', '', `run FAILED: ${r.error.name}: ${r.error.message}`, '', ''], bad: true };
    default: {
      const never: never = r;
      return never;
    }
  }
}

export function sweepHtml(result: SweepResult, svg: string): string {
  const s = result.spec;
  const charted = chartableRows(result.rows).length;
  const left = result.rows.length - charted;
  const rows = result.rows.map((r) => {
    const { cells, bad } = rowCells(r);
    return `<tr${bad ? ' class="bad"' : ''}>${cells.map((c, i) => `<td${TEXT_COLUMNS.has(i) ? ' class="text"' : ''}>${esc(c)}</td>`).join('')}</tr>`;
  });
  const sources = result.sources.map((src) => {
    const h = src.host;
    const slice = src.shard === null ? 'whole sweep' : `shard ${src.shard.index}/${src.shard.count}`;
    return `<li>${esc(slice)}${src.file !== undefined ? ` (${esc(src.file)})` : ''}: ${esc(h.cpuModel)}, ${h.cores} cores (${h.availableParallelism} available), ` +
      `${esc(h.platform)}/${esc(h.arch)}, Node ${esc(h.node)}, load avg ${h.loadAvg1m.toFixed(2)}; ${esc(src.startedAt)} to ${esc(src.finishedAt)}</li>`;
  });
  const missing = result.missing.length === 0
    ? ''
    : `<h2>Missing runs (${result.missing.length})</h2>\n<p class="bad">No shard file had these rows: the result is incomplete.</p>\n<ul>${result.missing.map((m) => `<li>#${m.index}: ${esc(describeRun(m))}</li>`).join('')}</ul>\n`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>pvemu sweep: ${esc(s.backends.join(', '))} × ${esc(s.cpus.join(','))} vCPUs × ${esc(s.workloads.join(', '))}</title>
<style>
  body { font-family: sans-serif; margin: 1.5em; color: #222; }
  table { border-collapse: collapse; font-size: 0.85em; }
  th, td { border: 1px solid #ccc; padding: 0.2em 0.5em; text-align: right; font-variant-numeric: tabular-nums; }
  td.text { max-width: 30em; }
  th { background: #f2f2f2; }
  .text { text-align: left; }
  tr.bad td { background: #fde8e8; }
  p.bad { color: #a00; }
</style>
</head>
<body>
<h1>pvemu sweep</h1>
<p>Backends ${esc(s.backends.join(', '))}; vCPUs ${esc(s.cpus.join(', '))}; workloads ${esc(s.workloads.join(', '))};
${s.reps} rep${s.reps === 1 ? '' : 's'}, ${esc(describeStop(s))}. ${result.rows.length} of ${result.totalRuns} runs here${result.shard === null ? '' : ` (shard ${result.shard.index}/${result.shard.count})`};
${charted} charted${left > 0 ? `, ${left} left out of the chart (run failed or self-check failed; marked below)` : ''}.
Shootdown latency is ${s.clock === 'virtual' ? 'modelled time (virtual time)' : 'host time'} on the initiator's critical path, in ${esc(latencyUnit(s))}; cycles are modelled from the cost table.</p>
<ul>
${sources.join('\n')}
</ul>
${svg}
${missing}<h2>Runs</h2>
<table>
<thead><tr>${HEADER.map((h, i) => `<th${TEXT_COLUMNS.has(i) ? ' class="text"' : ''}>${esc(h)}</th>`).join('')}</tr></thead>
<tbody>
${rows.join('\n')}
</tbody>
</table>
</body>
</html>
`;
}
