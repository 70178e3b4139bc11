/**
 * `pvemu run` and `pvemu compare` option parsing: each bad input is one single-line
 * ConfigError naming its option; good inputs give the expected MachineConfig with defaults
 * filled. --cost files come from an in-memory OptionFiles, except in the tests of the real
 * file reader. Unit tests, main thread.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  parseBackendList,
  parseCompareOptions,
  parseIntOption,
  parsePositiveNumber,
  parseRunOptions,
  parseSize,
  wantsHelp,
  type OptionFiles,
} from '../../src/cli/options.js';
import { ConfigError } from '../../src/lib/errors.js';
import { defaultCostTable } from '../../src/hw/cost.js';
import { describeBackends } from '../../src/hv/registry.js';
import { defaultConfig } from '../../src/machine/config.js';
import { configError } from '../helpers/errors.js';

const MiB = 1024 * 1024;


/** --cost files by name; any other name fails to read the way a missing file does. */
const COST_FILES: Readonly<Record<string, string>> = {
  'good.json': '{"trap": 4000}',
  'empty.json': '{}',
  'invalid.json': '{"trap": 4000,',
  'unknown.json': '{"trap": 4000, "tarp": 1}',
  'string.json': '{"trap": "4000"}',
  'negative.json': '{"eoi": -5}',
  'fraction.json': '{"trap": 1.5}',
  'array.json': '[{"trap": 4000}]',
};

const files: OptionFiles = {
  readText(path) {
    const text = COST_FILES[path];
    if (text === undefined) throw new Error(`ENOENT: no such file or directory, open '${path}'`);
    return text;
  },
};

/** The bad --pcpus and --cost values both commands must refuse, the same way. */
const sharedBadCases: { argv: string[]; option: string; message?: string | RegExp }[] = [
  { argv: ['--pcpus', '0'], option: '--pcpus', message: '--pcpus: must be an integer from 1 to 4 (at most --cpus), got 0' },
  { argv: ['--pcpus', '5'], option: '--pcpus', message: '--pcpus: must be an integer from 1 to 4 (at most --cpus), got 5' },
  { argv: ['--cpus', '2', '--pcpus', '3'], option: '--pcpus', message: '--pcpus: must be an integer from 1 to 2 (at most --cpus), got 3' },
  { argv: ['--pcpus', '3', '--cpus', '2'], option: '--pcpus', message: '--pcpus: must be an integer from 1 to 2 (at most --cpus), got 3' },
  { argv: ['--pcpus', '1.5'], option: '--pcpus' },
  { argv: ['--pcpus', 'abc'], option: '--pcpus' },
  { argv: ['--pcpus', '-1'], option: '--pcpus', message: '--pcpus: must be an integer from 1 to 4 (at most --cpus), got -1' },
  { argv: ['--pcpus', ''], option: '--pcpus' },
  { argv: ['--pcpus'], option: '--pcpus', message: '--pcpus: missing value' },
  { argv: ['--cost'], option: '--cost', message: '--cost: missing value' },
  { argv: ['--cost', ''], option: '--cost', message: '--cost: must be a file path, got ""' },
  { argv: ['--cost', 'missing.json'], option: '--cost', message: `--cost: cannot read "missing.json": ENOENT: no such file or directory, open 'missing.json'` },
  { argv: ['--cost', 'invalid.json'], option: '--cost', message: /^--cost: "invalid\.json" is not valid JSON \(.+\)$/ },
  { argv: ['--cost', 'unknown.json'], option: '--cost', message: /^--cost: "unknown\.json": unknown cost "tarp"; known: trap, / },
  { argv: ['--cost', 'string.json'], option: '--cost', message: /^--cost: "string\.json": trap must be a whole number of cycles from 0 to \d+, got "4000"$/ },
  { argv: ['--cost', 'negative.json'], option: '--cost', message: /^--cost: "negative\.json": eoi must be a whole number of cycles from 0 to \d+, got -5$/ },
  { argv: ['--cost', 'fraction.json'], option: '--cost', message: /^--cost: "fraction\.json": trap must be a whole number of cycles from 0 to \d+, got 1\.5$/ },
  { argv: ['--cost', 'array.json'], option: '--cost', message: '--cost: "array.json" must hold a JSON object of cost names to cycles, got an array' },
  { argv: ['--clock', 'wall'], option: '--clock', message: '--clock: must be one of host, virtual, got wall' },
  { argv: ['--clock', ''], option: '--clock', message: '--clock: must be one of host, virtual, got ""' },
  { argv: ['--clock'], option: '--clock', message: '--clock: missing value' },
  { argv: ['--seed', '-1'], option: '--seed', message: '--seed: must be an integer from 0 to 4294967295, got -1' },
  { argv: ['--seed', '4294967296'], option: '--seed', message: '--seed: must be an integer from 0 to 4294967295, got 4294967296' },
  { argv: ['--seed', '1.5'], option: '--seed', message: '--seed: must be an integer from 0 to 4294967295, got 1.5' },
];

function expectOneLineError(err: ConfigError, option: string, message?: string | RegExp): void {
  expect(err.option).toBe(option);
  expect(err.message.startsWith(`${option}: `)).toBe(true);
  expect(err.message).not.toContain('\n');
  if (typeof message === 'string') expect(err.message).toBe(message);
  else if (message !== undefined) expect(err.message).toMatch(message);
}

describe('parseRunOptions rejects bad input', () => {
  const cases: { argv: string[]; option: string; message?: string | RegExp }[] = [
    { argv: ['--backend', 'nosuch'], option: '--backend', message: /^--backend: must be one of native, .*kvm-nopvflush, got nosuch$/ },
    { argv: ['--backends', 'native'], option: '--backends', message: '--backends: unknown option; run takes one --backend (pvemu compare runs several) (see pvemu run --help)' },
    { argv: ['--workload', 'nope'], option: '--workload', message: /^--workload: must be one of .*tlb_flush1.*, got nope$/ },
    { argv: ['--cpus', '0'], option: '--cpus', message: '--cpus: must be an integer from 1 to 64, got 0' },
    { argv: ['--cpus', '65'], option: '--cpus', message: '--cpus: must be an integer from 1 to 64, got 65' },
    { argv: ['--cpus', '2.5'], option: '--cpus' },
    { argv: ['--cpus', 'abc'], option: '--cpus' },
    { argv: ['--cpus', '-1'], option: '--cpus', message: '--cpus: must be an integer from 1 to 64, got -1' },
    { argv: ['--cpus', ''], option: '--cpus', message: '--cpus: must be an integer from 1 to 64, got ""' },
    { argv: ['--cpus', '4\n5'], option: '--cpus', message: '--cpus: must be an integer from 1 to 64, got "4\\n5"' },
    { argv: ['--cpus'], option: '--cpus', message: '--cpus: missing value' },
    { argv: ['--cpus', '--hz', '100'], option: '--cpus' },
    { argv: ['--mem', '1T'], option: '--mem', message: '--mem: must be from 16M to 768M, got 1T' },
    { argv: ['--mem', '4x'], option: '--mem' },
    { argv: ['--mem', '1K'], option: '--mem', message: '--mem: must be from 16M to 768M, got 1K' },
    { argv: ['--mem', '16777217'], option: '--mem', message: '--mem: must be a whole number of 4K pages, got 16777217' },
    { argv: ['--mem', '1e999'], option: '--mem' },
    { argv: ['--hz', '0'], option: '--hz', message: '--hz: must be an integer from 1 to 1000, got 0' },
    { argv: ['--hz', '5000'], option: '--hz', message: '--hz: must be an integer from 1 to 1000, got 5000' },
    { argv: ['--seconds', '-1'], option: '--seconds', message: '--seconds: must be a positive number no greater than 3600, got -1' },
    { argv: ['--seconds', 'abc'], option: '--seconds' },
    { argv: ['--seconds', '0'], option: '--seconds' },
    { argv: ['--seconds', '1e999'], option: '--seconds' },
    { argv: ['--seconds', '3601'], option: '--seconds' },
    { argv: ['--ops', '99999999999999999999'], option: '--ops', message: '--ops: must be an integer from 1 to 1073741824, got 99999999999999999999' },
    { argv: ['--ops', '0'], option: '--ops', message: '--ops: must be an integer from 1 to 1073741824, got 0' },
    { argv: ['--ops', '4x'], option: '--ops' },
    { argv: ['--ops', '2.5'], option: '--ops' },
    { argv: ['--seconds', '1', '--ops', '5'], option: '--seconds' },
    { argv: ['--watchdog-ms', '5'], option: '--watchdog-ms', message: '--watchdog-ms: must be an integer from 100 to 600000, got 5' },
    { argv: ['--watchdog-ms', '600001'], option: '--watchdog-ms' },
    { argv: ['--watchdog-ms', 'soon'], option: '--watchdog-ms' },
    { argv: ['--watchdog-ms', '250.5'], option: '--watchdog-ms' },
    { argv: ['--hz', '1e3x'], option: '--hz' },
    { argv: ['--json'], option: '--json' },
    { argv: ['--json', ''], option: '--json' },
    { argv: ['--bogus-option'], option: '--bogus-option', message: '--bogus-option: unknown option (see pvemu run --help)' },
    { argv: ['--bogus-option=3'], option: '--bogus-option' },
    { argv: ['-c', '4'], option: '-c' },
    { argv: ['stray'], option: 'stray' },
    { argv: ['--param', 'bad'], option: '--param' },
    { argv: ['--param', 'pages=abc'], option: '--param' },
    { argv: ['--param', 'pages='], option: '--param' },
    { argv: ['--param', 'pages=1', '--param', 'pages=2'], option: '--param', message: '--param: pages given twice' },
    { argv: ['--param', 'nosuch=3'], option: '--param', message: '--param: tlb_flush1 has parameters region_mb, got nosuch' },
    { argv: ['--workload', 'touch', '--param', 'pages=0'], option: '--param', message: '--param: pages must be an integer from 1 to 65536, got 0' },
    { argv: ['--workload', 'touch', '--param', 'pages=1.5'], option: '--param', message: '--param: pages must be an integer from 1 to 65536, got 1.5' },
    { argv: ['--workload', 'mprotect', '--param', 'pages=2.5'], option: '--param', message: /^--param: pages must be an integer from 1 to \d+, got 2\.5$/ },
    { argv: ['--workload', 'membarrier', '--param', 'senders=0.5'], option: '--param', message: /^--param: senders must be an integer from 0 to 64, got 0\.5$/ },
    ...sharedBadCases,
  ];

  it.each(cases)('$argv', ({ argv, option, message }) => {
    expectOneLineError(configError(() => parseRunOptions(argv, files)), option, message);
  });
});

describe('parseRunOptions accepts good input', () => {
  it('fills every default when given nothing', () => {
    expect(parseRunOptions([])).toEqual({ config: { ...defaultConfig(), seconds: 2 } });
  });

  it('takes every option', () => {
    const { config, json } = parseRunOptions([
      '--pcpus', '2',
      '--cost', 'good.json',
      '--backend', 'native',
      '--workload', 'mprotect',
      '--cpus', '8',
      '--mem', '64M',
      '--hz', '1000',
      '--seconds', '0.5',
      '--watchdog-ms', '2000',
      '--json', 'out/report.json',
      '--param', 'pages=16',
      '--param', 'dwell=3',
    ], files);
    expect(json).toBe('out/report.json');
    expect(config).toEqual({
      backend: 'native',
      workload: 'mprotect',
      cpus: 8,
      pcpus: 2,
      costs: { ...defaultCostTable(), trap: 4000 },
      memBytes: 64 * MiB,
      hz: 1000,
      seconds: 0.5,
      watchdogMs: 2000,
      params: { pages: 16, dwell: 3 },
    });
  });

  it('uses --ops instead of the default seconds', () => {
    const { config } = parseRunOptions(['--ops', '1000']);
    expect(config.ops).toBe(1000);
    expect(config).not.toHaveProperty('seconds');
  });

  it('accepts --name=value and the range limits', () => {
    const { config } = parseRunOptions(['--cpus=64', '--hz=1', '--mem=768M', '--seconds=3600']);
    expect(config).toMatchObject({ cpus: 64, hz: 1, memBytes: 768 * MiB, seconds: 3600 });
    expect(parseRunOptions(['--cpus', '1', '--mem', '16M']).config).toMatchObject({ cpus: 1, memBytes: 16 * MiB });
  });
});

describe('--seed', () => {
  it('is absent unless given, and takes any unsigned 32-bit integer, in run and compare', () => {
    expect(parseRunOptions([]).config).not.toHaveProperty('seed');
    expect(parseRunOptions(['--seed', '0']).config.seed).toBe(0);
    expect(parseRunOptions(['--seed', '4294967295']).config.seed).toBe(4294967295);
    expect(parseCompareOptions(['--seed', '7']).config.seed).toBe(7);
  });
});

describe('--clock', () => {
  it('is absent unless given (host time), and takes host or virtual', () => {
    expect(parseRunOptions([]).config).not.toHaveProperty('clock');
    expect(parseRunOptions(['--clock', 'host']).config.clock).toBe('host');
    expect(parseRunOptions(['--clock', 'virtual']).config.clock).toBe('virtual');
    expect(parseCompareOptions(['--clock', 'virtual']).config.clock).toBe('virtual');
  });

  it('takes virtual with --trace (the trace is then on the modelled clocks)', () => {
    const { config } = parseRunOptions(['--clock', 'virtual', '--trace', 't.json'], files);
    expect(config).toMatchObject({ clock: 'virtual', trace: true });
  });
});

describe('--pcpus and --cost', () => {
  it('leaves both absent unless given', () => {
    const { config } = parseRunOptions([]);
    expect(config).not.toHaveProperty('pcpus');
    expect(config).not.toHaveProperty('costs');
  });

  it('accepts --pcpus from 1 to --cpus, in either order', () => {
    expect(parseRunOptions(['--cpus', '8', '--pcpus', '1']).config.pcpus).toBe(1);
    expect(parseRunOptions(['--pcpus', '8', '--cpus', '8']).config.pcpus).toBe(8);
    expect(parseRunOptions(['--pcpus=4']).config.pcpus).toBe(4);
  });

  it('keeps every default for an empty cost file', () => {
    expect(parseRunOptions(['--cost', 'empty.json'], files).config.costs).toEqual(defaultCostTable());
  });

  describe('with real files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pvemu-options-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('reads a cost table from disk', () => {
      const path = join(dir, 'costs.json');
      writeFileSync(path, '{\n  "ipiSend": 1200,\n  "eoi": 0\n}\n');
      expect(parseRunOptions(['--cost', path]).config.costs).toEqual({ ...defaultCostTable(), ipiSend: 1200, eoi: 0 });
    });

    it('names --cost when the file is missing or a directory', () => {
      const missing = configError(() => parseRunOptions(['--cost', join(dir, 'nope.json')]));
      expectOneLineError(missing, '--cost', /^--cost: cannot read ".*nope\.json": ENOENT/);
      const directory = configError(() => parseRunOptions(['--cost', dir]));
      expectOneLineError(directory, '--cost', /^--cost: cannot read ".*": EISDIR/);
    });
  });
});

describe('parseCompareOptions', () => {
  const all = describeBackends().map((b) => b.name);

  const cases: { argv: string[]; option: string; message?: string | RegExp }[] = [
    { argv: ['--backends', ''], option: '--backends', message: `--backends: must be a comma-separated list of ${all.join(', ')}, got ""` },
    { argv: ['--backends', 'native,,kvm'], option: '--backends', message: /^--backends: must be a comma-separated list of .*, got native,,kvm$/ },
    { argv: ['--backends', 'native,'], option: '--backends' },
    { argv: ['--backends', 'native,bochs'], option: '--backends', message: `--backends: unknown backend bochs; known: ${all.join(', ')}` },
    { argv: ['--backends', 'native, kvm'], option: '--backends', message: `--backends: unknown backend " kvm"; known: ${all.join(', ')}` },
    { argv: ['--backends', 'NATIVE'], option: '--backends' },
    { argv: ['--backends', 'native,native'], option: '--backends', message: '--backends: native given twice' },
    { argv: ['--backends'], option: '--backends', message: '--backends: missing value' },
    { argv: ['--backend', 'native'], option: '--backend', message: '--backend: unknown option; compare takes --backends a,b,c (see pvemu compare --help)' },
    { argv: ['--trace', 'x.json'], option: '--trace', message: '--trace: unknown option (see pvemu compare --help)' },
    { argv: ['native'], option: 'native', message: 'native: unexpected argument (compare takes only --options; see pvemu compare --help)' },
    { argv: ['--workload', 'nope'], option: '--workload' },
    { argv: ['--cpus', '0'], option: '--cpus' },
    { argv: ['--seconds', '1', '--ops', '5'], option: '--seconds' },
    { argv: ['--ops', '-3'], option: '--ops', message: '--ops: must be an integer from 1 to 1073741824, got -3' },
    { argv: ['--json', ''], option: '--json' },
    { argv: ['--param', 'nosuch=1'], option: '--param' },
    ...sharedBadCases,
  ];

  it.each(cases)('rejects $argv', ({ argv, option, message }) => {
    expectOneLineError(configError(() => parseCompareOptions(argv, files)), option, message);
  });

  it('defaults to every registered backend and run\'s defaults', () => {
    expect(parseCompareOptions([])).toEqual({ backends: all, config: { ...defaultConfig(), seconds: 2 } });
  });

  it('keeps the backends in the order given, and the shared configuration', () => {
    const { backends, config, json } = parseCompareOptions([
      '--backends', 'kvm,native',
      '--workload', 'touch',
      '--cpus', '2',
      '--pcpus', '1',
      '--ops', '500',
      '--mem', '64M',
      '--hz', '100',
      '--cost', 'good.json',
      '--param', 'pages=8',
      '--json', 'cmp.json',
    ], files);
    expect(backends).toEqual(['kvm', 'native']);
    expect(json).toBe('cmp.json');
    expect(config).toEqual({
      backend: 'native',
      workload: 'touch',
      cpus: 2,
      pcpus: 1,
      ops: 500,
      memBytes: 64 * MiB,
      hz: 100,
      watchdogMs: defaultConfig().watchdogMs,
      costs: { ...defaultCostTable(), trap: 4000 },
      params: { pages: 8 },
    });
  });

  it('parses a backend list on its own', () => {
    expect(parseBackendList('native')).toEqual(['native']);
    expect(parseBackendList(all.join(','))).toEqual(all);
  });
});

describe('option value parsers', () => {
  it('parses sizes', () => {
    expect(parseSize('256M', '--mem')).toBe(256 * MiB);
    expect(parseSize('1G', '--mem')).toBe(1024 * MiB);
    expect(parseSize('65536K', '--mem')).toBe(64 * MiB);
    expect(parseSize('268435456', '--mem')).toBe(256 * MiB);
    expect(parseSize('256m', '--mem')).toBe(256 * MiB);
    expect(parseSize('256MiB', '--mem')).toBe(256 * MiB);
    for (const bad of ['', '4x', 'M', '1.5G', '-1M', ' 1M', '1 M', '99999999999999999999']) {
      expect(() => parseSize(bad, '--mem')).toThrow(ConfigError);
    }
  });

  it('parses integers strictly', () => {
    expect(parseIntOption('007', '--hz', 1, 1000)).toBe(7);
    for (const bad of ['', '4x', '1e3', '-1', '+1', '2.5', '0x10', ' 5']) {
      expect(() => parseIntOption(bad, '--hz', 1, 1000)).toThrow(ConfigError);
    }
  });

  it('parses positive numbers', () => {
    expect(parsePositiveNumber('0.25', '--seconds')).toBe(0.25);
    expect(parsePositiveNumber('.5', '--seconds')).toBe(0.5);
    expect(parsePositiveNumber('1e2', '--seconds', 3600)).toBe(100);
    for (const bad of ['', '0', '-1', 'abc', '1e999', 'Infinity', 'NaN', '1,5']) {
      expect(() => parsePositiveNumber(bad, '--seconds')).toThrow(ConfigError);
    }
  });

  it('finds help requests', () => {
    expect(wantsHelp(['--cpus', '2', '--help'])).toBe(true);
    expect(wantsHelp(['-h'])).toBe(true);
    expect(wantsHelp(['--cpus', '2'])).toBe(false);
    expect(wantsHelp(['--', '--help'])).toBe(false);
  });
});
