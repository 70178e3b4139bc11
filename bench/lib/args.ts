/**
 * Command-line options of the bench cases: one table of every option, each case naming the
 * ones it takes. A bad option is a ConfigError naming it (main prints one line and exits 2).
 * Main thread.
 */
import { parseBackendList, parseIntOption, show } from '../../src/cli/options.js';
import { ConfigError } from '../../src/errors.js';
import { MAX_CPUS } from '../../src/machine/config.js';
import { findWorkload, workloads as knownWorkloads } from '../../src/workloads/registry.js';

export interface BenchOptions {
  /** Seconds each machine run lasts (the case's own default when absent). */
  seconds?: number;
  /** Where to write the case's figures as JSON. */
  json?: string;
  /** How long a soak lasts, in minutes (fractions allowed). */
  minutes?: number;
  /** vCPU counts to run (`--cpus 1,2,4`), in the order given. */
  cpus?: number[];
  /** Backends to run (`--backends native,kvm`), in the order given. */
  backends?: string[];
  /** Workloads to run (`--workloads a,b`), in the order given. */
  workloads?: string[];
  /** Physical CPUs of the overcommit scheduler for runs with more vCPUs; 0: no scheduler. */
  pcpus?: number;
}

export type OptionName = keyof BenchOptions;

interface OptionSpec {
  /** Placeholder for the value in help text. */
  value: string;
  help: string;
}

export const OPTIONS: Readonly<Record<OptionName, OptionSpec>> = Object.freeze({
  seconds: { value: 'S', help: 'seconds per machine run (0 < S <= 600)' },
  json: { value: 'FILE', help: 'also write the figures and host info to FILE as JSON' },
  minutes: { value: 'M', help: `how long a soak lasts, in minutes (0 < M <= ${24 * 60}; fractions allowed)` },
  cpus: { value: 'N,N,...', help: `vCPU counts, comma-separated (each 1..${MAX_CPUS})` },
  backends: { value: 'B,B,...', help: 'backends, comma-separated (default: every backend)' },
  workloads: { value: 'W,W,...', help: 'workloads, comma-separated (default: the case\'s own)' },
  pcpus: { value: 'P', help: `overcommit scheduler: runs with more than P vCPUs get P physical CPUs (0..${MAX_CPUS}; 0: none; default: the host's cores)` },
});

/** Longest machine run: a benchmark, not a soak (DESIGN.md: soaks are their own scripts). */
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
 * a stray argument.
 */
export function parseBenchArgs(argv: readonly string[], caseName: string, allowed: readonly OptionName[]): BenchOptions {
  const options: BenchOptions = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
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
      case 'cpus':
        options.cpus = parseCpuList(value);
        break;
      case 'backends':
        options.backends = parseBackendList(value);
        break;
      case 'workloads':
        options.workloads = parseWorkloadList(value);
        break;
      case 'pcpus':
        options.pcpus = parseIntOption(value, '--pcpus', 0, MAX_CPUS);
        break;
      default: {
        const never: never = name;
        return never;
      }
    }
  }
  return options;
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

/** `--cpus 1,2,4`: vCPU counts, each once, in the order given. */
function parseCpuList(text: string): number[] {
  const parts = text.split(',');
  if (parts.some((p) => p === '')) {
    throw new ConfigError('--cpus', `must be a comma-separated list of integers from 1 to ${MAX_CPUS}, got ${show(text)}`);
  }
  const counts = parts.map((p) => parseIntOption(p, '--cpus', 1, MAX_CPUS));
  const twice = counts.find((n, i) => counts.indexOf(n) !== i);
  if (twice !== undefined) throw new ConfigError('--cpus', `${twice} given twice`);
  return counts;
}

/** `--workloads a,b`: known workload names, each once, in the order given. */
function parseWorkloadList(text: string): string[] {
  const known = Object.keys(knownWorkloads).join(', ');
  const names = text.split(',');
  if (names.some((n) => n === '')) {
    throw new ConfigError('--workloads', `must be a comma-separated list of ${known}, got ${show(text)}`);
  }
  const seen = new Set<string>();
  for (const name of names) {
    if (findWorkload(name) === undefined) throw new ConfigError('--workloads', `unknown workload ${show(name)}; known: ${known}`);
    if (seen.has(name)) throw new ConfigError('--workloads', `${name} given twice`);
    seen.add(name);
  }
  return names;
}
