/**
 * Parsing and validation of `pvemu run` options into a MachineConfig. Pure: no I/O, no
 * process state, so it is unit-tested directly. Main thread (CLI).
 *
 * Every rejection is one ConfigError whose message starts with the option it concerns and
 * fits on one line ("--cpus: must be an integer from 1 to 64, got 0"); main.ts prints it as is.
 */
import { parseArgs } from 'node:util';
import { validateParams } from '../workloads/params.js';
import { ConfigError } from '../errors.js';
import { findBackend, describeBackends } from '../hv/registry.js';
import { formatBytes, MAX_RAM_BYTES, MIN_RAM_BYTES } from '../hw/memory.js';
import { PAGE_SIZE } from '../hw/paging.js';
import { defaultConfig, MAX_CPUS, MAX_HZ, MIN_HZ, type MachineConfig } from '../machine/config.js';
import { describeWorkloads, findWorkload } from '../workloads/registry.js';

/** Longest run --seconds accepts: an hour; longer belongs in a soak bench, not one CLI run. */
export const MAX_RUN_SECONDS = 3600;
/** Run length when neither --seconds nor --ops is given, in seconds. */
export const DEFAULT_RUN_SECONDS = 2;
/** --watchdog-ms bounds: under 100 ms a busy host trips it falsely; 10 minutes is plenty. */
export const MIN_WATCHDOG_MS = 100;
export const MAX_WATCHDOG_MS = 600_000;

export interface RunOptions {
  config: MachineConfig;
  /** Where to write the JSON report, if --json was given. */
  json?: string;
}

/** The options `pvemu run` takes, in parseArgs form. All take a value. */
const RUN_OPTIONS = {
  backend: { type: 'string' },
  workload: { type: 'string' },
  cpus: { type: 'string' },
  mem: { type: 'string' },
  hz: { type: 'string' },
  seconds: { type: 'string' },
  ops: { type: 'string' },
  'watchdog-ms': { type: 'string' },
  json: { type: 'string' },
  param: { type: 'string', multiple: true },
} as const;

/** Shows user text in a message on one line: as is when plain, JSON-quoted otherwise. */
export function show(text: string): string {
  return /^[\x21-\x7e]+$/.test(text) ? text : JSON.stringify(text);
}

const INTEGER = /^\d+$/;
const POSITIVE_NUMBER = /^(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?$/i;
const SIGNED_NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?$/i;
const SIZE = /^(\d+)(?:([KMGT])(?:i?B)?)?$/i;
const SIZE_UNITS: Readonly<Record<string, number>> = { K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };

/**
 * An integer from `min` to `max` written in plain decimal digits (no sign, point or exponent).
 */
export function parseIntOption(text: string, option: string, min: number, max: number): number {
  const value = INTEGER.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    const range =
      max >= Number.MAX_SAFE_INTEGER
        ? min === 1
          ? 'a positive integer'
          : `an integer of at least ${min}`
        : `an integer from ${min} to ${max}`;
    throw new ConfigError(option, `must be ${range}, got ${show(text)}`);
  }
  return value;
}

/** A finite number greater than 0 (and at most `max`, if given), decimal or exponent form. */
export function parsePositiveNumber(text: string, option: string, max?: number): number {
  const value = POSITIVE_NUMBER.test(text) ? Number(text) : Number.NaN;
  if (!Number.isFinite(value) || value <= 0 || (max !== undefined && value > max)) {
    const limit = max === undefined ? '' : ` no greater than ${max}`;
    throw new ConfigError(option, `must be a positive number${limit}, got ${show(text)}`);
  }
  return value;
}

/**
 * A byte count: plain bytes ("268435456") or a whole number with a binary unit K, M, G or T
 * ("65536K", "256M", "1G"; "256MiB" and "256MB" mean the same). Range is the caller's check.
 */
export function parseSize(text: string, option: string): number {
  const m = SIZE.exec(text);
  const digits = m?.[1];
  const unit = m?.[2];
  const bytes = digits === undefined ? Number.NaN : Number(digits) * (unit === undefined ? 1 : (SIZE_UNITS[unit.toUpperCase()] ?? Number.NaN));
  if (!Number.isSafeInteger(bytes)) {
    throw new ConfigError(option, `must be a size like 256M, 1G, 65536K or a byte count, got ${show(text)}`);
  }
  return bytes;
}

function parseMem(text: string): number {
  const bytes = parseSize(text, '--mem');
  if (bytes < MIN_RAM_BYTES || bytes > MAX_RAM_BYTES) {
    throw new ConfigError('--mem', `must be from ${formatBytes(MIN_RAM_BYTES)} to ${formatBytes(MAX_RAM_BYTES)}, got ${show(text)}`);
  }
  if (bytes % PAGE_SIZE !== 0) {
    throw new ConfigError('--mem', `must be a whole number of ${formatBytes(PAGE_SIZE)} pages, got ${show(text)}`);
  }
  return bytes;
}

function parseBackend(text: string): string {
  if (findBackend(text) === undefined) {
    const known = describeBackends().map((b) => b.name).join(', ');
    throw new ConfigError('--backend', `must be one of ${known}, got ${show(text)}`);
  }
  return text;
}

function parseWorkload(text: string): string {
  if (findWorkload(text) === undefined) {
    const known = describeWorkloads().map((w) => w.name).join(', ');
    throw new ConfigError('--workload', `must be one of ${known}, got ${show(text)}`);
  }
  return text;
}

const PARAM = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/;

/** `--param name=value`, repeatable; values are numbers the workload validates. */
function parseParams(texts: readonly string[]): Record<string, number> {
  const params = new Map<string, number>();
  for (const text of texts) {
    const m = PARAM.exec(text);
    const name = m?.[1];
    const valueText = m?.[2] ?? '';
    const value = SIGNED_NUMBER.test(valueText) ? Number(valueText) : Number.NaN;
    if (name === undefined || !Number.isFinite(value)) {
      throw new ConfigError('--param', `must be name=number (for example pages=64), got ${show(text)}`);
    }
    if (params.has(name)) throw new ConfigError('--param', `${name} given twice`);
    params.set(name, value);
  }
  // fromEntries defines own properties, so even a name like __proto__ stays plain data.
  return Object.fromEntries(params);
}

function isValueOption(name: string): name is keyof typeof RUN_OPTIONS {
  return Object.hasOwn(RUN_OPTIONS, name);
}

/**
 * parseArgs in strict mode refuses `--seconds -1` as ambiguous (the value looks like an
 * option). A negative number is clearly meant as the value, and deserves the range message
 * rather than a syntax one, so pass it inline (`--seconds=-1`) before parsing.
 */
function joinNegativeValues(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const next = argv[i + 1];
    if (arg === '--') {
      out.push(...argv.slice(i));
      break;
    }
    if (arg.startsWith('--') && !arg.includes('=') && isValueOption(arg.slice(2)) && next !== undefined && /^-[\d.]/.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}

/**
 * Turns a parseArgs strict-mode failure into a ConfigError naming the culprit. Node's messages
 * are multi-line and vary between versions, so rather than parse them, re-read the arguments
 * as tokens (non-strict mode never throws) and find the first one strict mode refused.
 */
function diagnose(args: string[], cause: unknown): ConfigError {
  const { tokens } = parseArgs({ args, options: RUN_OPTIONS, strict: false, allowPositionals: true, tokens: true });
  for (const token of tokens) {
    switch (token.kind) {
      case 'option':
        if (!isValueOption(token.name)) {
          return new ConfigError(token.rawName, 'unknown option (see pvemu run --help)');
        }
        if (token.value === undefined) return new ConfigError(token.rawName, 'missing value');
        if (!token.inlineValue && token.value.startsWith('-')) {
          return new ConfigError(token.rawName, `missing value (${show(token.value)} follows it)`);
        }
        break;
      case 'positional':
        return new ConfigError(show(token.value), 'unexpected argument (run takes only --options; see pvemu run --help)');
      case 'option-terminator':
        break;
      default: {
        const never: never = token;
        return never;
      }
    }
  }
  const message = cause instanceof Error ? cause.message : String(cause);
  return new ConfigError('run', message.replace(/\s*\n\s*/g, ' '));
}

/** parseArgs with `strict: true`, its failures turned into ConfigErrors. */
function strictParse(args: string[]) {
  try {
    return parseArgs({ args, options: RUN_OPTIONS, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw diagnose(args, err);
  }
}

/** True when argv asks for help (`--help` or `-h` before any `--`). */
export function wantsHelp(argv: readonly string[]): boolean {
  for (const arg of argv) {
    if (arg === '--') return false;
    if (arg === '--help' || arg === '-h') return true;
  }
  return false;
}

/** Parses `pvemu run` arguments (after the subcommand) into a validated MachineConfig. */
export function parseRunOptions(argv: readonly string[]): RunOptions {
  const values = strictParse(joinNegativeValues(argv));

  const config = defaultConfig();
  if (values.backend !== undefined) config.backend = parseBackend(values.backend);
  if (values.workload !== undefined) config.workload = parseWorkload(values.workload);
  if (values.cpus !== undefined) config.cpus = parseIntOption(values.cpus, '--cpus', 1, MAX_CPUS);
  if (values.mem !== undefined) config.memBytes = parseMem(values.mem);
  if (values.hz !== undefined) config.hz = parseIntOption(values.hz, '--hz', MIN_HZ, MAX_HZ);
  if (values['watchdog-ms'] !== undefined) {
    config.watchdogMs = parseIntOption(values['watchdog-ms'], '--watchdog-ms', MIN_WATCHDOG_MS, MAX_WATCHDOG_MS);
  }

  if (values.seconds !== undefined && values.ops !== undefined) {
    throw new ConfigError('--seconds', 'cannot be combined with --ops; give one stop condition');
  }
  delete config.seconds;
  if (values.ops !== undefined) {
    config.ops = parseIntOption(values.ops, '--ops', 1, Number.MAX_SAFE_INTEGER);
  } else {
    config.seconds = values.seconds === undefined ? DEFAULT_RUN_SECONDS : parsePositiveNumber(values.seconds, '--seconds', MAX_RUN_SECONDS);
  }

  if (values.param !== undefined) config.params = parseParams(values.param);
  validateParams(findWorkload(config.workload)!, config.params ?? {});

  const result: RunOptions = { config };
  if (values.json !== undefined) {
    if (values.json === '') throw new ConfigError('--json', 'must be a file path, got ""');
    result.json = values.json;
  }
  return result;
}
