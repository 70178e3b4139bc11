/**
 * Parsing and validation of `pvemu run` and `pvemu compare` options into a MachineConfig.
 * The inputs it reads are the --cost and --program files, through an `OptionFiles` the caller
 * may replace; otherwise pure (no process state), so it is unit-tested directly. Main thread
 * (CLI).
 *
 * Every rejection is one ConfigError whose message starts with the option it concerns and
 * fits on one line ("--cpus: must be an integer from 1 to 64, got 0"); main.ts prints it as is.
 */
import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { parseCostTable, type CostTable } from '../hw/cost.js';
import { validateParams } from '../workloads/params.js';
import { ConfigError } from '../lib/errors.js';
import { findBackend, describeBackends } from '../hv/registry.js';
import { formatBytes, MAX_RAM_BYTES, MIN_RAM_BYTES } from '../hw/memory.js';
import { PAGE_SIZE } from '../hw/paging.js';
import { CLOCK_MODES, defaultConfig, MAX_HZ, MAX_OPS, MAX_RUN_SECONDS, MAX_SEED, MAX_WATCHDOG_MS, MIN_HZ, MIN_WATCHDOG_MS, type ClockMode, type MachineConfig } from '../machine/config.js';
import type { ProgramImage } from '../vcpu/task-args.js';
import { MAX_CPUS } from '../lib/limits.js';
import { programImage } from '../machine/program-args.js';
import { describeWorkloads, findWorkload } from '../workloads/registry.js';
import { MAX_TRACE_EVENTS } from '../stats/trace-buffer.js';

/** Run length when neither --seconds nor --ops is given, in seconds. */
export const DEFAULT_RUN_SECONDS = 2;

export interface RunOptions {
  config: MachineConfig;
  /** Where to write the JSON report, if --json was given. */
  json?: string;
  /** Where to write the Chrome trace-event JSON, if --trace was given (config.trace is then set). */
  trace?: string;
}

export interface CompareOptions {
  /** The configuration every backend runs; its `backend` is replaced per run. */
  config: MachineConfig;
  /** Backends to run, in the order given (default: every registered backend). */
  backends: string[];
  /** Where to write the JSON array of reports, if --json was given. */
  json?: string;
}

/** How option parsing reads the files options name (--cost); tests substitute their own. */
export interface OptionFiles {
  /** The file's text; throws (any error) if it cannot be read. */
  readText(path: string): string;
  /** The file's bytes (--program); throws if it cannot be read. Absent: read from disk. */
  readBytes?(path: string): Uint8Array;
}

export const nodeFiles: OptionFiles = {
  readText: (path) => readFileSync(path, 'utf8'),
  readBytes: (path) => new Uint8Array(readFileSync(path)),
};

/**
 * The options of one machine configuration, shared by run and compare. Each takes a value but
 * --check, whose value is optional (`--check`, `--check=count`: see withCheckValue).
 */
const MACHINE_OPTIONS = {
  check: { type: 'string' },
  clock: { type: 'string' },
  seed: { type: 'string' },
  workload: { type: 'string' },
  program: { type: 'string' },
  env: { type: 'string', multiple: true },
  cpus: { type: 'string' },
  pcpus: { type: 'string' },
  mem: { type: 'string' },
  hz: { type: 'string' },
  seconds: { type: 'string' },
  ops: { type: 'string' },
  'watchdog-ms': { type: 'string' },
  cost: { type: 'string' },
  json: { type: 'string' },
  param: { type: 'string', multiple: true },
} as const;

/** The options `pvemu run` takes, in parseArgs form. */
const RUN_OPTIONS = {
  backend: { type: 'string' },
  ...MACHINE_OPTIONS,
  // run only: a trace is of one machine.
  trace: { type: 'string' },
  'trace-events': { type: 'string' },
} as const;
/** The options `pvemu compare` takes. */
const COMPARE_OPTIONS = { backends: { type: 'string' }, ...MACHINE_OPTIONS } as const;

/** A command's options in parseArgs form. */
export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

/** A command's name (for messages) and the options it takes. */
export interface CommandSpec<T extends OptionSpec> {
  name: string;
  options: T;
  /** For an unknown option: a hint naming the one meant ('' for none). */
  misnamed?(name: string): string;
}

/** What strictParse gives back for `T`: parseArgs's values, typed by the spec. */
export type ParsedValues<T extends OptionSpec> = ReturnType<
  typeof parseArgs<{ args: string[]; options: T; strict: true; allowPositionals: false; tokens: true }>
>['values'];

const RUN: CommandSpec<typeof RUN_OPTIONS> = {
  name: 'run',
  options: RUN_OPTIONS,
  misnamed: (name) => (name === 'backends' ? '; run takes one --backend (pvemu compare runs several)' : ''),
};
const COMPARE: CommandSpec<typeof COMPARE_OPTIONS> = {
  name: 'compare',
  options: COMPARE_OPTIONS,
  misnamed: (name) => (name === 'backend' ? '; compare takes --backends a,b,c' : ''),
};

/** The values of the shared machine options, as parseArgs gives them (both commands' fit). */
interface MachineValues {
  check?: string | undefined;
  clock?: string | undefined;
  seed?: string | undefined;
  workload?: string | undefined;
  program?: string | undefined;
  env?: string[] | undefined;
  cpus?: string | undefined;
  pcpus?: string | undefined;
  mem?: string | undefined;
  hz?: string | undefined;
  seconds?: string | undefined;
  ops?: string | undefined;
  'watchdog-ms'?: string | undefined;
  cost?: string | undefined;
  json?: string | undefined;
  param?: string[] | undefined;
}

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
    throw new ConfigError(option, `must be an integer from ${min} to ${max}, got ${show(text)}`);
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
    throw new ConfigError(option, `must be a size like 256M, 512M, 65536K or a byte count, got ${show(text)}`);
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

function knownBackends(): string {
  return describeBackends().map((b) => b.name).join(', ');
}

function parseBackend(text: string): string {
  if (findBackend(text) === undefined) {
    throw new ConfigError('--backend', `must be one of ${knownBackends()}, got ${show(text)}`);
  }
  return text;
}

/**
 * A comma-separated option value: each item parsed by `parseItem` (which throws for a bad one),
 * none empty, none twice, in the order given. `what` describes the items for the error line.
 */
export function parseCommaList<T>(text: string, flag: string, what: string, parseItem: (item: string) => T): T[] {
  const items = text.split(',');
  if (items.some((n) => n === '')) throw new ConfigError(flag, `must be a comma-separated list of ${what}, got ${show(text)}`);
  const out: T[] = [];
  for (const item of items) {
    const value = parseItem(item);
    if (out.includes(value)) throw new ConfigError(flag, `${item} given twice`);
    out.push(value);
  }
  return out;
}

/** `--backends a,b,c`: known names, each once, in the order given. */
export function parseBackendList(text: string): string[] {
  return parseCommaList(text, '--backends', knownBackends(), (name) => {
    if (findBackend(name) === undefined) throw new ConfigError('--backends', `unknown backend ${show(name)}; known: ${knownBackends()}`);
    return name;
  });
}

/** `--pcpus P`: physical CPUs for the overcommit scheduler, 1 to the vCPU count. */
function parsePcpus(text: string, cpus: number): number {
  const value = INTEGER.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < 1 || value > cpus) {
    throw new ConfigError('--pcpus', `must be an integer from 1 to ${cpus} (at most --cpus), got ${show(text)}`);
  }
  return value;
}

/** `--clock host|virtual`. */
function parseClock(text: string): ClockMode {
  const mode = CLOCK_MODES.find((m) => m === text);
  if (mode === undefined) throw new ConfigError('--clock', `must be one of ${CLOCK_MODES.join(', ')}, got ${show(text)}`);
  return mode;
}

/** `--cost FILE`: a JSON cost table; a file that cannot be read is a --cost error too. */
function parseCostFile(path: string, files: OptionFiles): CostTable {
  if (path === '') throw new ConfigError('--cost', 'must be a file path, got ""');
  let text: string;
  try {
    text = files.readText(path);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new ConfigError('--cost', `cannot read ${JSON.stringify(path)}: ${why.replace(/\s*\n\s*/g, ' ')}`);
  }
  return parseCostTable(text, path);
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

function isKnownOption(spec: OptionSpec, name: string): boolean {
  return Object.hasOwn(spec, name);
}

/** A known option that takes a value. */
function isValueOption(spec: OptionSpec, name: string): boolean {
  return isKnownOption(spec, name) && (spec as Record<string, { type: string }>)[name]!.type === 'string';
}

/** A known option that may be given more than once (--param, --env). */
function isRepeatable(spec: OptionSpec, name: string): boolean {
  return isKnownOption(spec, name) && (spec as Record<string, { multiple?: boolean }>)[name]!.multiple === true;
}

/**
 * parseArgs in strict mode refuses `--seconds -1` as ambiguous (the value looks like an
 * option). A negative number is clearly meant as the value, and deserves the range message
 * rather than a syntax one, so pass it inline (`--seconds=-1`) before parsing.
 */
function joinNegativeValues(spec: OptionSpec, argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const next = argv[i + 1];
    if (arg === '--') {
      out.push(...argv.slice(i));
      break;
    }
    if (arg.startsWith('--') && !arg.includes('=') && isValueOption(spec, arg.slice(2)) && next !== undefined && /^-[\d.]/.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}

/** The value a bare --check stands for. */
const CHECK_BARE = 'stop';

/**
 * --check takes an optional value: bare, it stops the run at the first violation; `--check=count`
 * counts them all. parseArgs has no optional values, so a bare --check (before any `--`) is
 * given its value here.
 */
function withCheckValue(spec: OptionSpec, argv: readonly string[]): string[] {
  if (!isKnownOption(spec, 'check')) return [...argv];
  const end = argv.indexOf('--');
  return argv.map((arg, i) => (arg === '--check' && (end < 0 || i < end) ? `--check=${CHECK_BARE}` : arg));
}

/** --check's value: bare (stop at the first violation) or count. */
function parseCheck(text: string): true | 'count' {
  if (text === CHECK_BARE) return true;
  if (text === 'count') return 'count';
  throw new ConfigError('--check', `takes no value, or =count to count every violation instead of stopping at the first; got ${show(text)}`);
}

/**
 * Turns a parseArgs strict-mode failure into a ConfigError naming the culprit. Node's messages
 * are multi-line and vary between versions, so rather than parse them, re-read the arguments
 * as tokens (non-strict mode never throws) and find the first one strict mode refused.
 */
function diagnose<T extends OptionSpec>(command: CommandSpec<T>, args: string[], cause: unknown): ConfigError {
  const { tokens } = parseArgs({ args, options: command.options, strict: false, allowPositionals: true, tokens: true });
  for (const token of tokens) {
    switch (token.kind) {
      case 'option':
        if (!isKnownOption(command.options, token.name)) {
          return new ConfigError(token.rawName, `unknown option${command.misnamed?.(token.name) ?? ''} (see pvemu ${command.name} --help)`);
        }
        if (!isValueOption(command.options, token.name)) {
          if (token.value !== undefined) return new ConfigError(token.rawName, 'takes no value');
          break;
        }
        if (token.value === undefined) return new ConfigError(token.rawName, 'missing value');
        if (!token.inlineValue && token.value.startsWith('-')) {
          return new ConfigError(token.rawName, `missing value (${show(token.value)} follows it)`);
        }
        break;
      case 'positional':
        return new ConfigError(show(token.value), `unexpected argument (${command.name} takes only --options; see pvemu ${command.name} --help)`);
      case 'option-terminator':
        break;
      default: {
        const never: never = token;
        return never;
      }
    }
  }
  const message = cause instanceof Error ? cause.message : String(cause);
  return new ConfigError(command.name, message.replace(/\s*\n\s*/g, ' '));
}

/**
 * parseArgs with `strict: true`, its failures turned into ConfigErrors; a single-valued option
 * given twice is one too (parseArgs would keep the last without a word). Every pvemu command's
 * options go through it.
 */
export function strictParse<T extends OptionSpec>(command: CommandSpec<T>, argv: readonly string[]): ParsedValues<T> {
  const args = withCheckValue(command.options, joinNegativeValues(command.options, argv));
  let parsed;
  try {
    parsed = parseArgs({ args, options: command.options, strict: true, allowPositionals: false, tokens: true });
  } catch (err) {
    throw diagnose(command, args, err);
  }
  const seen = new Set<string>();
  for (const token of parsed.tokens) {
    if (token.kind !== 'option' || isRepeatable(command.options, token.name)) continue;
    if (seen.has(token.name)) throw new ConfigError(token.rawName, 'given twice; it takes one value');
    seen.add(token.name);
  }
  return parsed.values;
}

/** True when argv asks for help (`--help` or `-h` before any `--`). */
export function wantsHelp(argv: readonly string[]): boolean {
  for (const arg of argv) {
    if (arg === '--') return false;
    if (arg === '--help' || arg === '-h') return true;
  }
  return false;
}

/**
 * The machine configuration both commands share, validated, with defaults filled; `backend`
 * stays the default (run sets its own; compare sets one per run).
 */
function parseMachineValues(values: MachineValues, files: OptionFiles): { config: MachineConfig; json?: string } {
  const config = defaultConfig();
  if (values.check !== undefined) config.check = parseCheck(values.check);
  if (values.workload !== undefined) config.workload = parseWorkload(values.workload);
  if (values.cpus !== undefined) config.cpus = parseIntOption(values.cpus, '--cpus', 1, MAX_CPUS);
  if (values.pcpus !== undefined) config.pcpus = parsePcpus(values.pcpus, config.cpus);
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
    config.ops = parseIntOption(values.ops, '--ops', 1, MAX_OPS);
  } else {
    config.seconds = values.seconds === undefined ? DEFAULT_RUN_SECONDS : parsePositiveNumber(values.seconds, '--seconds', MAX_RUN_SECONDS);
  }

  if (values.clock !== undefined) config.clock = parseClock(values.clock);
  if (values.seed !== undefined) config.seed = parseIntOption(values.seed, '--seed', 0, MAX_SEED);

  if (values.param !== undefined) config.params = parseParams(values.param);
  validateParams(findWorkload(config.workload)!, config.params ?? {});

  // Last: reading the file is the only I/O, and a bad option above is the likelier mistake.
  if (values.cost !== undefined) config.costs = parseCostFile(values.cost, files);

  if (values.json === undefined) return { config };
  if (values.json === '') throw new ConfigError('--json', 'must be a file path, got ""');
  return { config, json: values.json };
}

/**
 * Splits `[options] -- ARGS...` at the first `--`: ARGS are the program's arguments, not
 * pvemu's. `dashes` says whether there was one (`--` with nothing after it is still one).
 */
function splitProgramArgs(argv: readonly string[]): { options: readonly string[]; programArgs: string[]; dashes: boolean } {
  const at = argv.indexOf('--');
  return at < 0 ? { options: argv, programArgs: [], dashes: false } : { options: argv.slice(0, at), programArgs: argv.slice(at + 1), dashes: true };
}

/**
 * The options that only make sense with --program (its arguments, its environment) and those
 * that make none with it (a workload's own stop condition and parameters), before anything
 * else is parsed: a wrong combination is the likelier mistake than a bad value.
 */
function checkProgramCombination(values: MachineValues, dashes: boolean): void {
  if (values.program === undefined) {
    if (dashes) throw new ConfigError('--', 'arguments after -- are for a program; give --program FILE.elf');
    if (values.env !== undefined) throw new ConfigError('--env', 'sets a program\'s environment; give --program FILE.elf (a workload has none)');
    return;
  }
  if (values.workload !== undefined) throw new ConfigError('--program', 'cannot be combined with --workload; give one');
  if (values.ops !== undefined) throw new ConfigError('--ops', 'cannot be used with --program: the program\'s arguments set its work (--seconds limits its time)');
  if (values.param !== undefined) throw new ConfigError('--param', 'cannot be used with --program: pass the program its arguments after --');
}

/**
 * `--env NAME=VALUE`, repeatable: the program's environment, in the order given. execve
 * passes envp strings as they are; the checks are what getenv(3) and the shell need to find a
 * variable: a NAME before the first '=', and no NUL (it would end the C string early). A NAME
 * given twice is refused rather than passed twice, since getenv would see only the first.
 */
function parseEnv(texts: readonly string[]): string[] {
  const seen = new Set<string>();
  for (const text of texts) {
    const eq = text.indexOf('=');
    if (eq <= 0 || text.includes('\0')) {
      throw new ConfigError('--env', `must be NAME=VALUE with a non-empty NAME before the first '=' and no NUL character, got ${show(text)}`);
    }
    const name = text.slice(0, eq);
    if (seen.has(name)) throw new ConfigError('--env', `${show(name)} given twice`);
    seen.add(name);
  }
  return [...texts];
}

/** What to call the program's argument vectors in a message: the options that set them. */
function vectorsOption(programArgs: readonly string[], envp: readonly string[]): string {
  if (envp.length === 0) return programArgs.length === 0 ? '--program' : 'arguments after --';
  return programArgs.length === 0 ? '--env' : '--env and arguments after --';
}

/**
 * `--program FILE`: a static riscv32 ELF executable, read and validated here (parseElf) so a
 * bad file is one line before any worker starts, with its arguments (argv[0] is the path as
 * given) and --env's environment, which must fit exec's initial stack (ARG_MAX_BYTES).
 */
function parseProgram(path: string, args: readonly string[], envTexts: readonly string[], files: OptionFiles): ProgramImage {
  const envp = parseEnv(envTexts);
  if (path === '') throw new ConfigError('--program', 'must be a file path, got ""');
  let bytes: Uint8Array;
  try {
    bytes = (files.readBytes ?? nodeFiles.readBytes!)(path);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new ConfigError('--program', `cannot read ${JSON.stringify(path)}: ${why.replace(/\s*\n\s*/g, ' ')}`);
  }
  return programImage(path, bytes, args, envp, { file: '--program', vectors: vectorsOption(args, envp) });
}

/**
 * With --program: the program replaces the workload, and runs until it exits unless
 * --seconds gives it a time limit.
 */
function applyProgram(config: MachineConfig, values: MachineValues, programArgs: readonly string[], files: OptionFiles): void {
  if (values.program === undefined) return;
  const program = parseProgram(values.program, programArgs, values.env ?? [], files);
  config.program = program;
  config.workload = program.name;
  if (values.seconds === undefined) delete config.seconds;
}

/** Parses `pvemu run` arguments (after the subcommand) into a validated MachineConfig. */
export function parseRunOptions(argvIn: readonly string[], files: OptionFiles = nodeFiles): RunOptions {
  const { options, programArgs, dashes } = splitProgramArgs(argvIn);
  const values = strictParse(RUN, options);
  checkProgramCombination(values, dashes);
  const backend = values.backend === undefined ? undefined : parseBackend(values.backend);
  const result: RunOptions = parseMachineValues(values, files);
  if (backend !== undefined) result.config.backend = backend;
  if (values['trace-events'] !== undefined && values.trace === undefined) {
    throw new ConfigError('--trace-events', 'needs --trace FILE');
  }
  if (values.trace !== undefined) {
    if (values.trace === '') throw new ConfigError('--trace', 'must be a file path, got ""');
    result.config.trace = true;
    if (values['trace-events'] !== undefined) {
      result.config.traceEvents = parseIntOption(values['trace-events'], '--trace-events', 1, MAX_TRACE_EVENTS);
    }
    result.trace = values.trace;
  }
  applyProgram(result.config, values, programArgs, files);
  return result;
}

/** Parses `pvemu compare` arguments: the backends, and the configuration they all run. */
export function parseCompareOptions(argvIn: readonly string[], files: OptionFiles = nodeFiles): CompareOptions {
  const { options, programArgs, dashes } = splitProgramArgs(argvIn);
  const values = strictParse(COMPARE, options);
  checkProgramCombination(values, dashes);
  const backends = values.backends === undefined ? describeBackends().map((b) => b.name) : parseBackendList(values.backends);
  const { config, json } = parseMachineValues(values, files);
  applyProgram(config, values, programArgs, files);
  return json === undefined ? { config, backends } : { config, backends, json };
}
