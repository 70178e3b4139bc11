/**
 * What a benchmark case is and what it hands back: main prints the header, runs the case,
 * prints its tables, notes and verdicts, and writes its figures with --json. Main thread.
 */
import type { BenchOptions, OptionName } from './args.js';
import type { Table } from './table.js';
import type { Check, Verdict } from './target.js';

export interface BenchCase {
  /** One line for the case list and the header. */
  readonly description: string;
  /** Options it takes; every case takes json. */
  readonly options: readonly OptionName[];
  /** Placeholder of the positional arguments it takes ("DIR..."), if any: they arrive as `inputs`. */
  readonly positional?: string;
  run(options: BenchOptions): Promise<CaseResult>;
}

export interface CaseResult {
  tables: Table[];
  /** Things a reader must know to trust the figures (fallbacks, overcommit, failed self-checks). */
  notes: string[];
  verdicts: Verdict[];
  /** Correctness checks (absent: none); a FAILED one makes the runner exit 1. */
  checks?: Check[];
  /** The case's figures as plain data, written under "figures" in the JSON. */
  figures: object;
  /**
   * Why the case's own output is unusable (a merge missing shards), if it is: main prints it
   * and exits 1. A MISSED target is not this; it is a finding.
   */
  failure?: string;
}
