/**
 * Case `merge`: combines the JSON of a sweep's shards (`sweep --shard I/N`, run as a CI matrix,
 * a Slurm job array or Kubernetes Jobs) into the whole sweep's JSON, chart and HTML page in
 * --out DIR. Files from different sweeps or rows given twice are refused; runs no shard had are
 * listed in the result and fail the case (exit 1), so a lost shard is not mistaken for a
 * smaller sweep. Main thread.
 */
import type { BenchOptions } from '../lib/args.js';
import type { BenchCase, CaseResult } from '../lib/bench-case.js';
import { findResultFiles, loadResult, mergeResults } from '../lib/sweep-merge.js';
import { prepareOutDir, sweepNotes, sweepTable, writeSweepOutputs } from '../lib/sweep-output.js';

export const mergeCase: BenchCase = {
  description: 'merge sweep shards: DIR... holding sweep-shard-I-of-N.json files -> one JSON, SVG chart and HTML page in --out DIR',
  options: ['out', 'json'],
  positional: 'DIR...',
  async run(options: BenchOptions): Promise<CaseResult> {
    const out = prepareOutDir(options.out);
    const files = findResultFiles(options.inputs ?? []);
    const result = mergeResults(files.map(loadResult));
    const written = await writeSweepOutputs(out, result);
    for (const f of written) process.stderr.write(`bench: wrote ${f}\n`);
    return {
      tables: [sweepTable(result)],
      notes: [`merged ${files.length} file(s): ${files.join(', ')}`, ...sweepNotes(result)],
      verdicts: [],
      figures: { files: written, inputs: files, spec: result.spec, runs: result.rows.length, totalRuns: result.totalRuns, missing: result.missing },
      ...(result.missing.length > 0 ? { failure: `${result.missing.length} of ${result.totalRuns} runs missing (first: #${result.missing[0]?.index}); merged what there was into ${out}` } : {}),
    };
  },
};
