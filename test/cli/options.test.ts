/**
 * `pvemu run` option parsing: each bad input is one single-line ConfigError naming its option;
 * good inputs give the expected MachineConfig with defaults filled. Unit tests, main thread.
 */
import { describe, expect, it } from 'vitest';
import { parseIntOption, parsePositiveNumber, parseRunOptions, parseSize, wantsHelp } from '../../src/cli/options.js';
import { ConfigError } from '../../src/errors.js';
import { defaultConfig } from '../../src/machine/config.js';

const MiB = 1024 * 1024;

/** Runs `parse` and returns the ConfigError it throws (failing if it throws anything else). */
function configError(parse: () => unknown): ConfigError {
  try {
    parse();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    if (err instanceof ConfigError) return err;
  }
  throw new Error('expected a ConfigError, but parsing succeeded');
}

describe('parseRunOptions rejects bad input', () => {
  const cases: { argv: string[]; option: string; message?: string | RegExp }[] = [
    { argv: ['--backend', 'xen'], option: '--backend', message: /^--backend: must be one of .*native.*, got xen$/ },
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
    { argv: ['--ops', '0'], option: '--ops', message: '--ops: must be a positive integer, got 0' },
    { argv: ['--ops', '4x'], option: '--ops' },
    { argv: ['--ops', '2.5'], option: '--ops' },
    { argv: ['--seconds', '1', '--ops', '5'], option: '--seconds' },
    { argv: ['--watchdog-ms', '5'], option: '--watchdog-ms', message: '--watchdog-ms: must be an integer from 100 to 600000, got 5' },
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
    { argv: ['--workload', 'touch', '--param', 'pages=0'], option: '--param', message: '--param: pages must be from 1 to 65536, got 0' },
  ];

  it.each(cases)('$argv', ({ argv, option, message }) => {
    const err = configError(() => parseRunOptions(argv));
    expect(err.option).toBe(option);
    expect(err.message.startsWith(`${option}: `)).toBe(true);
    expect(err.message).not.toContain('\n');
    if (typeof message === 'string') expect(err.message).toBe(message);
    else if (message !== undefined) expect(err.message).toMatch(message);
  });
});

describe('parseRunOptions accepts good input', () => {
  it('fills every default when given nothing', () => {
    expect(parseRunOptions([])).toEqual({ config: { ...defaultConfig(), seconds: 2 } });
  });

  it('takes every option', () => {
    const { config, json } = parseRunOptions([
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
    ]);
    expect(json).toBe('out/report.json');
    expect(config).toEqual({
      backend: 'native',
      workload: 'mprotect',
      cpus: 8,
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
