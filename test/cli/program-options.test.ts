/**
 * `pvemu run --program FILE.elf [-- ARGS]` option parsing: the file is read and validated
 * before any worker starts, each misuse is one ConfigError line naming its option, and a good
 * program becomes MachineConfig.program with its arguments. Unit tests, main thread.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseRunOptions, type OptionFiles } from '../../src/cli/options.js';
import { GUEST_DIR } from '../helpers/guest-programs.js';
import { configError } from '../helpers/errors.js';

const hello = new Uint8Array(readFileSync(`${GUEST_DIR}bin/hello.elf`));
const files: OptionFiles = {
  readText: () => '',
  readBytes: (path) => {
    if (path === 'bin/hello.elf') return hello;
    if (path === 'notes.txt') return new TextEncoder().encode('# not an ELF file\n');
    throw new Error(`ENOENT: no such file or directory, open '${path}'`);
  },
};

describe('pvemu run --program', () => {
  it('reads the ELF, names the workload after it, passes the arguments after -- and sets no time limit by default', () => {
    const { config } = parseRunOptions(['--program', 'bin/hello.elf', '--cpus', '2', '--', '-t', '2', '--x'], files);
    expect(config.program?.name).toBe('hello.elf');
    expect(config.program?.argv).toEqual(['bin/hello.elf', '-t', '2', '--x']);
    expect(config.program?.bytes).toBe(hello);
    expect(config.workload).toBe('hello.elf');
    expect(config.cpus).toBe(2);
    expect(config.seconds).toBeUndefined();
    expect(config.ops).toBeUndefined();
  });

  it('keeps --seconds as the program\'s time limit', () => {
    expect(parseRunOptions(['--program', 'bin/hello.elf', '--seconds', '3'], files).config.seconds).toBe(3);
  });

  it('rejects a missing file, a file that is not a riscv32 ELF, and combinations with --workload, --ops, --param, each in one line', () => {
    const cases: [string[], RegExp][] = [
      [['--program', 'missing.elf'], /^--program: cannot read "missing.elf": ENOENT/],
      [['--program', 'notes.txt'], /^--program notes.txt: not an ELF file/],
      [['--program', 'bin/hello.elf', '--workload', 'ebizzy'], /^--program: cannot be combined with --workload/],
      [['--program', 'bin/hello.elf', '--ops', '10'], /^--ops: cannot be used with --program/],
      [['--program', 'bin/hello.elf', '--param', 'pages=4'], /^--param: cannot be used with --program/],
      [['--cpus', '2', '--', 'x'], /^--: arguments after -- are for a program/],
    ];
    for (const [argv, message] of cases) {
      const err = configError(() => parseRunOptions(argv, files));
      expect(err.message).toMatch(message);
      expect(err.message).not.toContain('\n');
    }
  });
});
