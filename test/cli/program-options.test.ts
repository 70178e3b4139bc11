/**
 * `pvemu run|compare --program FILE.elf [--env NAME=VALUE]... [-- ARGS]` option parsing: the
 * file is read and validated before any worker starts, each misuse is one ConfigError line
 * naming its option, and a good program becomes MachineConfig.program with its arguments and
 * environment (unit tests, main thread). Then the CLI end to end in-process (cliMain, real
 * vCPU workers from the build output): guest/bin/args.elf prints the environment --env gave
 * it, under run and under compare on every backend.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cliMain, EXIT_OK } from '../../src/cli/commands.js';
import { parseCompareOptions, parseRunOptions, type OptionFiles } from '../../src/cli/options.js';
import { describeBackends } from '../../src/hv/registry.js';
import { ARG_MAX_BYTES } from '../../src/kernel/binfmt-elf.js';
import { expectedOutput, GUEST_DIR } from '../helpers/guest-programs.js';
import { configError } from '../helpers/errors.js';
import { captureIo } from '../helpers/cli-io.js';

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

describe('--env', () => {
  it('passes NAME=VALUE strings to the program\'s envp in the order given, values may be empty or hold \'=\'', () => {
    const { config } = parseRunOptions(['--program', 'bin/hello.elf', '--env', 'Z=1', '--env', 'A=', '--env', 'OPTS=a=b c', '--', 'x'], files);
    expect(config.program?.envp).toEqual(['Z=1', 'A=', 'OPTS=a=b c']);
    expect(config.program?.argv).toEqual(['bin/hello.elf', 'x']);
  });

  it('gives the program an empty environment without --env', () => {
    expect(parseRunOptions(['--program', 'bin/hello.elf'], files).config.program?.envp).toEqual([]);
  });

  it('rejects an empty NAME, no \'=\', a NUL, a NAME given twice, and --env without --program, each in one line naming --env', () => {
    const cases: [string[], RegExp][] = [
      [['--env', '=x'], /^--env: must be NAME=VALUE with a non-empty NAME before the first '=' and no NUL character, got =x$/],
      [['--env', 'PATH'], /^--env: must be NAME=VALUE .*, got PATH$/],
      [['--env', ''], /^--env: must be NAME=VALUE .*, got ""$/],
      [['--env', 'A=x\0y'], /^--env: must be NAME=VALUE .*no NUL character, got "A=x\\u0000y"$/],
      [['--env', 'A\0B=1'], /^--env: must be NAME=VALUE .*no NUL character/],
      [['--env', 'A=1', '--env', 'B=2', '--env', 'A=3'], /^--env: A given twice$/],
    ];
    for (const [env, message] of cases) {
      const err = configError(() => parseRunOptions(['--program', 'bin/hello.elf', ...env], files));
      expect(err.message).toMatch(message);
      expect(err.message).not.toContain('\n');
    }
    for (const parse of [parseRunOptions, parseCompareOptions]) {
      const err = configError(() => parse(['--env', 'A=1'], files));
      expect(err.message).toMatch(/^--env: .*--program FILE.elf/);
    }
  });

  it('refuses arguments and environment that would not fit exec\'s initial stack, naming the options that made it, before any worker starts', () => {
    const big = 'z'.repeat(ARG_MAX_BYTES);
    const half = 'z'.repeat(ARG_MAX_BYTES / 2);
    const cases: [string[], RegExp][] = [
      [['--env', `A=${big}`], /^--env: argv and envp need \d+ bytes of initial stack, more than the 131072 allowed$/],
      [['--', big], /^arguments after --: argv and envp need \d+ bytes/],
      [['--env', `A=${half}`, '--', half], /^--env and arguments after --: argv and envp need \d+ bytes/],
    ];
    for (const [argv, message] of cases) {
      expect(configError(() => parseRunOptions(['--program', 'bin/hello.elf', ...argv], files)).message).toMatch(message);
    }
    // Just under the limit is fine: the check is exec's, not a cruder one.
    const fits = 'z'.repeat(ARG_MAX_BYTES - 1024);
    expect(parseRunOptions(['--program', 'bin/hello.elf', '--env', `A=${fits}`], files).config.program?.envp).toEqual([`A=${fits}`]);
  });
});

describe('pvemu compare --program', () => {
  it('gives every backend the same program, arguments and environment, running until it exits', () => {
    const { config, backends } = parseCompareOptions(['--program', 'bin/hello.elf', '--backends', 'xen,kvm', '--cpus', '2', '--env', 'A=1', '--', '-n', '3'], files);
    expect(backends).toEqual(['xen', 'kvm']);
    expect(config.program?.argv).toEqual(['bin/hello.elf', '-n', '3']);
    expect(config.program?.envp).toEqual(['A=1']);
    expect(config.workload).toBe('hello.elf');
    expect(config.seconds).toBeUndefined();
    expect(parseCompareOptions(['--program', 'bin/hello.elf', '--seconds', '4'], files).config.seconds).toBe(4);
  });

  it('refuses what run refuses with --program: --workload, --ops, --param, and arguments after -- without it', () => {
    const cases: [string[], RegExp][] = [
      [['--program', 'bin/hello.elf', '--workload', 'ebizzy'], /^--program: cannot be combined with --workload/],
      [['--program', 'bin/hello.elf', '--ops', '10'], /^--ops: cannot be used with --program/],
      [['--program', 'bin/hello.elf', '--param', 'pages=4'], /^--param: cannot be used with --program/],
      [['--program', 'missing.elf'], /^--program: cannot read "missing.elf": ENOENT/],
      [['--cpus', '2', '--', 'x'], /^--: arguments after -- are for a program/],
    ];
    for (const [argv, message] of cases) {
      const err = configError(() => parseCompareOptions(argv, files));
      expect(err.message).toMatch(message);
      expect(err.message).not.toContain('\n');
    }
  });
});


const ARGS_ELF = `${GUEST_DIR}bin/args.elf`;

describe('the environment reaches the program (real machines)', () => {
  it('pvemu run --program args.elf --env GREETING=hello --env LANG=C -- one two prints what qemu-riscv32 printed for that environment', async () => {
    const io = captureIo();
    const status = await cliMain(['run', '--program', ARGS_ELF, '--cpus', '1', '--env', 'GREETING=hello', '--env', 'LANG=C', '--', 'one', 'two'], io);
    expect(io.stderr).toBe('');
    expect(status).toBe(EXIT_OK);
    // guest/expected/args.out is qemu's output for `GREETING=hello LANG=C args.elf one two`; the report follows it.
    expect(io.stdout.startsWith(expectedOutput('args'))).toBe(true);
    expect(io.stdout).toMatch(/self-check\s+PASS/);
  });

  it('pvemu compare --program runs it on every backend: one output block naming them all, then a row per backend', async () => {
    const io = captureIo();
    const status = await cliMain(['compare', '--program', ARGS_ELF, '--cpus', '1', '--env', 'ONLY=here', '--', 'x'], io);
    expect(io.stderr).toBe('');
    expect(status).toBe(EXIT_OK);
    const names = describeBackends().map((b) => b.name);
    const lines = io.stdout.split('\n');
    expect(lines[0]).toBe(`== args.elf stdout on ${names.join(', ')} ==`);
    expect(lines).toContain('envc=1');
    expect(lines).toContain('env: ONLY=here');
    const header = lines.findIndex((l) => l.startsWith('program ONLY=here args.elf x, 1 vCPU, until it exits per backend'));
    expect(header).toBeGreaterThan(0);
    expect(lines[header + 1]).toMatch(/^\s+backend\s+ops\/s\s+elapsed s\s+shootdowns\s/);
    const rows = lines.slice(header + 2, header + 2 + names.length);
    expect(rows.map((r) => r.trim().split(/\s+/)[0])).toEqual(names);
    for (const row of rows) expect(row).toMatch(/PASS: args\.elf: self-check passed$/);
    expect(lines[header + 2 + names.length]).toMatch(/^\s+pvemu \d+\.\d+\.\d+.*, run at .*; host load average /);
  });
});
