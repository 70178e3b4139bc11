/**
 * Command-line options of the bench cases: one table of every option, each case naming the
 * ones it takes. A bad option is a ConfigError naming it (main prints one line and exits 2).
 * Main thread.
 */
import { parseBackendList, parseCommaList, parseIntOption, show } from '../../src/cli/options.js';
import type { ClockMode } from '../../src/machine/config.js';
import { ConfigError } from '../../src/lib/errors.js';
import { MAX_CPUS } from '../../src/lib/limits.js';
import { describeWorkloads, findWorkload } from '../../src/workloads/registry.js';

export interface BenchOptions {
  /** Seconds each machine run lasts (the case's own default when absent). */
  seconds?: number;
  /** Where to write the case's figures as JSON. */
  json?: string;
  /** Soak: how long it lasts, in minutes (fractions allowed). */
  minutes?: number;
  /** Load: physical CPUs of the overcommit scheduler for runs with more vCPUs; 0: no scheduler. */
  pcpus?: number;
  /** Backends to run, in the order given. */
  backends?: string[];
  /** vCPU counts to run, in the order given. */
  cpus?: number[];
  /** Workloads to run, in the order given. */
  workloads?: string[];
  /** Sweep: repetitions of every configuration. */
  reps?: number;
  /** Stop each machine run after this many operations in total (instead of --seconds). */
  ops?: number;
  /** Directory the sweep or merge writes its JSON, chart and HTML page into. */
  out?: string;
  /** Sweep: run only this slice of the expanded run list. */
  shard?: Shard;
  /** The positional arguments, for a case that takes them (merge: its input directories). */
  inputs?: string[];
  /** --clock: run the machines in host time (default) or virtual time. */
  clock?: ClockMode;
}

/** `--shard I/N`: the I-th (1-based) of N slices of a sweep. */
export interface Shard {
  index: number;
  count: number;
}

export type OptionName = Exclude<keyof BenchOptions, 'inputs'>;

interface OptionSpec {
  /** Placeholder for the value in help text. */
  value: string;
  help: string;
}

/** Most repetitions per configuration: more belongs in a soak, not a sweep. */
export const MAX_REPS = 1000;
/** Most slices a sweep can be cut into: far more than any CI matrix or job array allows. */
export const MAX_SHARDS = 10_000;

export const OPTIONS: Readonly<Record<OptionName, OptionSpec>> = Object.freeze({
  seconds: { value: 'S', help: 'seconds per machine run (0 < S <= 600)' },
  json: { value: 'FILE', help: 'also write the figures and host info to FILE as JSON' },
  minutes: { value: 'M', help: `how long a soak lasts, in minutes (0 < M <= ${24 * 60}; fractions allowed)` },
  pcpus: { value: 'P', help: `overcommit scheduler: runs with more than P vCPUs get P physical CPUs (0..${MAX_CPUS}; 0: none; default: the host's cores)` },
  backends: { value: 'A,B', help: 'backends, comma-separated (default: all registered)' },
  cpus: { value: 'N,M', help: `vCPU counts, comma-separated, each 1..${MAX_CPUS} (sweep default: 1,2,4,8)` },
  workloads: { value: 'W,V', help: 'workloads, comma-separated (default: the case\'s own; sweep: tlb_flush1)' },
  reps: { value: 'R', help: `repetitions of each configuration, 1..${MAX_REPS} (default 1)` },
  ops: { value: 'K', help: 'stop each machine run after K operations in total (instead of --seconds)' },
  out: { value: 'DIR', help: 'directory for the results JSON, the chart and the HTML page' },
  shard: { value: 'I/N', help: `run only the I-th of N slices of the sweep (1 <= I <= N <= ${MAX_SHARDS})` },
  clock: { value: 'MODE', help: 'host (default) or virtual: run the machines in virtual time, figures in modelled time (docs/virtual-time.md)' },
});

/** Longest machine run: a benchmark, not a soak (soaks are their own case: bench soak). */
const MAX_SECONDS = 600;
/** Longest soak: a day; longer belongs on a scheduler that can restart it. */
const MAX_MINUTES = 24 * 60;
const DECIMAL = /^(?:\d+(?:\.\d*)?|\.\d+)$/;

function isOptionName(name: string): name is OptionName {
  return Object.hasOwn(OPTIONS, name);
}

/** "--json FILE, --seconds S": the options a case takes, for messages and the case list. */
export function describeOptions(names: readonly OptionName[]): string {
  return names.map((n) => `--${n} ${OPTIONS[n].value}`).join(', ');
}

/** True if argv asks for help anywhere. */
export function wantsHelp(argv: readonly string[]): boolean {
  return argv.includes('--help') || argv.includes('-h');
}

/**
 * Parses `--name value` and `--name=value` for the options `allowed` names. Throws ConfigError
 * on an unknown option, one the case does not take, a missing or repeated value, a bad value, or
 * a stray argument. A case that takes positional arguments names their placeholder in
 * `positional` ("DIR..."); they land in `inputs`, and at least one is required.
 */
export function parseBenchArgs(argv: readonly string[], caseName: string, allowed: readonly OptionName[], positional?: string): BenchOptions {
  const options: BenchOptions = {};
  const inputs: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (!arg.startsWith('--') && positional !== undefined) {
      inputs.push(arg);
      continue;
    }
    if (!arg.startsWith('--')) throw new ConfigError(JSON.stringify(arg), `unexpected argument (${caseName} takes ${describeOptions(allowed)})`);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const flag = `--${name}`;
    if (!isOptionName(name)) throw new ConfigError(flag, `unknown option (${caseName} takes ${describeOptions(allowed)})`);
    if (!allowed.includes(name)) throw new ConfigError(flag, `not an option of ${caseName} (it takes ${describeOptions(allowed)})`);
    if (options[name] !== undefined) throw new ConfigError(flag, 'given twice');
    let value: string | undefined;
    if (eq >= 0) {
      value = arg.slice(eq + 1);
    } else {
      value = argv[i + 1];
      i++;
    }
    if (value === undefined || value === '' || (eq < 0 && value.startsWith('--'))) {
      throw new ConfigError(flag, `missing value (${OPTIONS[name].value})`);
    }
    switch (name) {
      case 'seconds':
        options.seconds = parseSeconds(value);
        break;
      case 'json':
        options.json = value;
        break;
      case 'minutes':
        options.minutes = parseMinutes(value);
        break;
      case 'pcpus':
        options.pcpus = parseIntOption(value, '--pcpus', 0, MAX_CPUS);
        break;
      case 'backends':
        options.backends = parseBackendList(value);
        break;
      case 'cpus':
        options.cpus = parseCpuList(value);
        break;
      case 'workloads':
        options.workloads = parseWorkloadList(value);
        break;
      case 'reps':
        options.reps = parseIntOption(value, flag, 1, MAX_REPS);
        break;
      case 'ops':
        options.ops = parseIntOption(value, flag, 1, Number.MAX_SAFE_INTEGER);
        break;
      case 'out':
        options.out = value;
        break;
      case 'shard':
        options.shard = parseShard(value);
        break;
      case 'clock':
        if (value !== 'host' && value !== 'virtual') throw new ConfigError(flag, `must be host or virtual, got ${JSON.stringify(value)}`);
        options.clock = value;
        break;
      default: {
        const never: never = name;
        return never;
      }
    }
  }
  if (options.seconds !== undefined && options.ops !== undefined) {
    throw new ConfigError('--seconds', 'cannot be combined with --ops; give one stop condition');
  }
  if (positional !== undefined) {
    if (inputs.length === 0) throw new ConfigError(positional, `missing (${caseName} takes ${positional} ${describeOptions(allowed)})`);
    options.inputs = inputs;
  }
  return options;
}

/** `--cpus 1,2,4,8`: vCPU counts 1..MAX_CPUS, each once, in the order given. */
function parseCpuList(text: string): number[] {
  return parseCommaList(text, '--cpus', `integers from 1 to ${MAX_CPUS}`, (p) => parseIntOption(p, '--cpus', 1, MAX_CPUS));
}

/** `--workloads a,b`: known workload names, each once (the CLI's --backends rule for workloads). */
function parseWorkloadList(text: string): string[] {
  const known = describeWorkloads().map((w) => w.name).join(', ');
  return parseCommaList(text, '--workloads', known, (name) => {
    if (findWorkload(name) === undefined) throw new ConfigError('--workloads', `unknown workload ${show(name)}; known: ${known}`);
    return name;
  });
}

/** `--shard I/N`, 1 <= I <= N <= MAX_SHARDS. */
function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text);
  const index = Number(m?.[1] ?? Number.NaN);
  const count = Number(m?.[2] ?? Number.NaN);
  if (!(Number.isSafeInteger(index) && Number.isSafeInteger(count) && index >= 1 && index <= count && count <= MAX_SHARDS)) {
    throw new ConfigError('--shard', `must be I/N with 1 <= I <= N <= ${MAX_SHARDS} (for example 2/4), got ${show(text)}`);
  }
  return { index, count };
}

function parseSeconds(text: string): number {
  const s = DECIMAL.test(text) ? Number(text) : Number.NaN;
  if (!(s > 0 && s <= MAX_SECONDS)) {
    throw new ConfigError('--seconds', `must be a number above 0 and at most ${MAX_SECONDS}, got ${JSON.stringify(text)}`);
  }
  return s;
}

function parseMinutes(text: string): number {
  const m = DECIMAL.test(text) ? Number(text) : Number.NaN;
  if (!(m > 0 && m <= MAX_MINUTES)) {
    throw new ConfigError('--minutes', `must be a number above 0 and at most ${MAX_MINUTES}, got ${JSON.stringify(text)}`);
  }
  return m;
}
