/**
 * Merging shards: reads sweep result files (given as files, or directories holding sweep.json /
 * sweep-shard-I-of-N.json), checks each against the schema, checks that all come from one sweep
 * (the same spec) and that every row is the run its index names, refuses rows given twice, and
 * combines them into the whole sweep's result, listing the runs no file had. Main thread.
 */
import { readFileSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { show } from '../../src/cli/options.js';
import { ConfigError } from '../../src/lib/errors.js';
import { RESULT_FILE, SWEEP_FORMAT, SWEEP_VERSION, type SweepResult, type SweepRow } from './sweep-result.js';
import { SWEEP_SCHEMA_PATH, sweepSchemaProblem } from './sweep-schema.js';
import { describeRun, expandSweep, specDifference, specKey } from './sweep-spec.js';

export interface LoadedResult {
  file: string;
  result: SweepResult;
}

/**
 * The result files `inputs` name: a file as it is, a directory's sweep*.json files (not its
 * subdirectories: a merged sweep.json written inside a shard directory would be read twice).
 * Each file once, whichever way it was named.
 */
export function findResultFiles(inputs: readonly string[]): string[] {
  const files = new Map<string, string>();
  for (const input of inputs) {
    let isDir: boolean;
    try {
      isDir = statSync(input).isDirectory();
    } catch {
      throw new ConfigError(show(input), 'no such file or directory');
    }
    const found = isDir
      ? readdirSync(input).filter((name) => RESULT_FILE.test(name)).sort().map((name) => join(input, name))
      : [input];
    if (found.length === 0) throw new ConfigError(show(input), 'holds no sweep.json or sweep-shard-I-of-N.json');
    for (const file of found) {
      const real = realpathSync(file);
      if (!files.has(real)) files.set(real, file);
    }
  }
  return [...files.values()];
}

/** Reads and checks one file; every problem is a ConfigError naming the file. */
export function loadResult(file: string): LoadedResult {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(show(file), `not readable JSON: ${(err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, ' ')}`);
  }
  const tag = typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  if (tag.format !== SWEEP_FORMAT || tag.version !== SWEEP_VERSION) {
    throw new ConfigError(show(file), `not a pvemu sweep result (format ${SWEEP_FORMAT} version ${SWEEP_VERSION})`);
  }
  const problem = sweepSchemaProblem(value);
  if (problem !== undefined) throw new ConfigError(show(file), `does not match ${SWEEP_SCHEMA_PATH}: ${problem}`);
  return { file, result: value as SweepResult };
}

/** Combines results of one sweep into the whole sweep's result (see the file comment). */
export function mergeResults(loaded: readonly LoadedResult[]): SweepResult {
  const first = loaded[0];
  if (first === undefined) throw new ConfigError('merge', 'no sweep results to merge');
  const spec = first.result.spec;
  const runs = expandSweep(spec);
  const rows = new Map<number, { row: SweepRow; file: string }>();
  for (const { file, result } of loaded) {
    if (specKey(result.spec) !== specKey(spec)) {
      throw new ConfigError(show(file), `is from another sweep than ${first.file} (${specDifference(result.spec, spec) ?? 'spec differs'})`);
    }
    for (const row of result.rows) {
      const run = runs[row.index];
      if (run === undefined || run.backend !== row.backend || run.cpus !== row.cpus || run.workload !== row.workload || run.rep !== row.rep) {
        throw new ConfigError(show(file), `row #${row.index} (${describeRun(row)}) is not run #${row.index} of its sweep (${run === undefined ? 'past the end' : describeRun(run)})`);
      }
      const seen = rows.get(row.index);
      if (seen !== undefined) {
        throw new ConfigError(show(file), `row #${row.index} (${describeRun(row)}) is also in ${seen.file}: give each shard once`);
      }
      rows.set(row.index, { row, file });
    }
  }
  return {
    format: SWEEP_FORMAT,
    version: SWEEP_VERSION,
    spec,
    totalRuns: runs.length,
    shard: null,
    // A source merged before keeps the file it first came from.
    sources: loaded.flatMap(({ file, result }) => result.sources.map((s) => ({ ...s, file: s.file ?? file }))),
    missing: runs.filter((r) => !rows.has(r.index)),
    rows: [...rows.values()].map((x) => x.row).sort((a, b) => a.index - b.index),
  };
}
