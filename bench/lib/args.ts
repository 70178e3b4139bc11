/**
 * Command-line options of the bench cases: one table of every option, each case naming the
 * ones it takes. A bad option is a ConfigError naming it (main prints one line and exits 2).
 * Main thread.
 */
import { ConfigError } from '../../src/errors.js';

export interface BenchOptions {
  /** Seconds each machine run lasts (the case's own default when absent). */
  seconds?: number;
  /** Where to write the case's figures as JSON. */
  json?: string;
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
});

/** Longest machine run: a benchmark, not a soak (DESIGN.md: soaks are their own scripts). */
const MAX_SECONDS = 600;
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
