/**
 * pvemu's benchmark runner: `node dist/bench/main.js NAME [--json FILE] [options]` (or
 * `npm run bench -- NAME ...` after a build). Prints the host header, runs the case, prints its
 * tables, notes and target verdicts, and with --json writes the same figures as JSON.
 * Exit status: 0 when the case ran (a MISSED target is a finding, not a failure), 2 for bad
 * usage, 1 when the case itself failed or one of its correctness checks FAILED. Main thread.
 */
import { writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError } from '../src/lib/errors.js';
import { OPTIONS, describeOptions, parseBenchArgs, wantsHelp, type BenchOptions, type OptionName } from './lib/args.js';
import type { CaseResult } from './lib/bench-case.js';
import { benchHost, hostHeader, type BenchHost } from './lib/host.js';
import { formatTable } from './lib/table.js';
import { formatCheck, formatVerdict } from './lib/target.js';
import { benchCases, findBenchCase } from './cases/registry.js';
import { checkOutputPath, makeDirs } from '../src/cli/output-path.js';
import { HostUsageMeter } from '../src/lib/host-usage.js';
import { EXIT_SIGNAL, onStopSignal } from '../src/cli/stop-signal.js';
import { BenchInterrupted, benchStop } from './lib/stop.js';
import { hostUsageFigures, hostUsageText } from '../src/report/host-usage.js';
import type { HostUsageReport } from '../src/report/types.js';

const EXIT_USAGE = 2;
const EXIT_FAILED = 1;

function usage(): string {
  const names = Object.keys(benchCases);
  const width = Math.max(...names.map((n) => n.length));
  const optionNames = Object.keys(OPTIONS) as OptionName[];
  const optionWidth = Math.max(...optionNames.map((n) => `  --${n} ${OPTIONS[n].value}`.length)) + 2;
  return [
    'usage: node dist/bench/main.js NAME [--json FILE] [options]   (npm run bench -- NAME ...)',
    '',
    'cases:',
    ...Object.entries(benchCases).map(([name, c]) => `  ${name.padEnd(width)}  ${c.description}\n  ${''.padEnd(width)}  options: ${c.positional !== undefined ? `${c.positional} ` : ''}${describeOptions(c.options)}`),
    '',
    'options:',
    ...optionNames.map((n) => `  --${n} ${OPTIONS[n].value}`.padEnd(optionWidth) + OPTIONS[n].help),
    '',
    'Each case prints its target and whether it was MET or MISSED; a miss still exits 0.',
    'A correctness check (a conservation law, a self-check) that FAILED exits 1.',
  ].join('\n');
}

function print(lines: readonly string[]): void {
  process.stdout.write(`${lines.join('\n')}\n`);
}

interface JsonReport {
  bench: string;
  description: string;
  host: BenchHost;
  argv: string[];
  figures: object;
  targets: CaseResult['verdicts'];
  checks: NonNullable<CaseResult['checks']>;
  notes: string[];
  /** How much of the host the case got: load before and after, CPU against wall, other processes. */
  usage: HostUsageReport;
}

/**
 * Other processes using this many cores' worth of CPU during a case make its host-time figures
 * unreliable (a case's own threads vary, so only the others are judged here).
 */
const OTHERS_CORES_UNRELIABLE = 0.5;

async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h') {
    print([usage()]);
    return name === undefined ? EXIT_USAGE : 0;
  }
  const bench = findBenchCase(name);
  if (bench === undefined) {
    process.stderr.write(`bench: unknown case ${JSON.stringify(name)}; cases are ${Object.keys(benchCases).join(', ')} (npm run bench -- --help)\n`);
    return EXIT_USAGE;
  }
  if (wantsHelp(rest)) {
    print([usage()]);
    return 0;
  }
  let options: BenchOptions;
  try {
    options = parseBenchArgs(rest, name, bench.options, bench.positional);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`bench ${name}: ${e.message}\n`);
      return EXIT_USAGE;
    }
    throw e;
  }

  if (options.json !== undefined) {
    // Before the runs: a --json that cannot be written is one line now, not a lost result later.
    try {
      makeDirs(dirname(options.json));
      checkOutputPath(options.json);
    } catch (e) {
      const why = e instanceof ConfigError ? e.message : `--json: ${e instanceof Error ? e.message : String(e)}`;
      process.stderr.write(`bench ${name}: ${why}\n`);
      return EXIT_USAGE;
    }
  }

  const host = benchHost();
  print([...hostHeader(name, bench.description, host), '']);
  const meter = new HostUsageMeter();
  // Ctrl-C, SIGTERM: the machine running now stops early and no other starts; a sweep writes
  // the rows that finished. A second signal ends the process at once.
  const unsubscribe = onStopSignal((signal) => {
    process.stderr.write(`bench ${name}: ${signal}: stopping after the run under way (again to quit at once)\n`);
    benchStop.request(signal);
  });
  let result: CaseResult;
  try {
    result = await bench.run(options);
  } catch (e) {
    if (e instanceof BenchInterrupted) {
      process.stderr.write(`bench ${name}: interrupted by ${e.signal} before it had figures to show\n`);
      return EXIT_SIGNAL[e.signal];
    }
    // Bad input the case found once it looked (an --out that cannot be created, a merge input
    // that is not a sweep result): one line, as for a bad option.
    if (e instanceof ConfigError) {
      process.stderr.write(`bench ${name}: ${e.message}\n`);
      return EXIT_USAGE;
    }
    throw e;
  } finally {
    unsubscribe();
  }
  for (const table of result.tables) print([...formatTable(table), '']);
  if (result.notes.length > 0) print([...result.notes.map((n) => `note    ${n}`), '']);
  if (result.verdicts.length > 0) print(result.verdicts.map(formatVerdict));
  const checks = result.checks ?? [];
  if (checks.length > 0) print(checks.map(formatCheck));
  if (result.failure !== undefined) process.stderr.write(`bench ${name}: FAILED: ${result.failure}\n`);
  const hostUsage = hostUsageFigures(meter.finish());
  print([`host    ${hostUsageText(hostUsage)}`]);
  if ((hostUsage.othersCores ?? 0) >= OTHERS_CORES_UNRELIABLE) {
    print([`warning: host-time figures are unreliable on this case: other processes used ${hostUsage.othersCores!.toFixed(2)} of ${host.availableParallelism} host cores meanwhile`]);
  }

  if (options.json !== undefined) {
    const report: JsonReport = {
      bench: name,
      description: bench.description,
      host,
      argv: [...argv],
      figures: result.figures,
      targets: result.verdicts,
      checks,
      notes: result.notes,
      usage: hostUsage,
    };
    makeDirs(dirname(options.json));
    // NaN (a figure not measured) has no JSON form; write null for it.
    writeFileSync(options.json, `${JSON.stringify(report, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`);
    process.stderr.write(`bench: wrote ${options.json}\n`);
  }
  if (benchStop.signal !== undefined) {
    process.stderr.write(`bench ${name}: interrupted by ${benchStop.signal}; the figures above cover the runs that finished\n`);
    return EXIT_SIGNAL[benchStop.signal];
  }
  return result.failure === undefined && checks.every((c) => c.passed) ? 0 : EXIT_FAILED;
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (e: unknown) => {
    process.stderr.write(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = EXIT_FAILED;
  },
);
