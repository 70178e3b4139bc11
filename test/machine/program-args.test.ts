/**
 * A program's argv and envp are checked against exec's initial stack on the main thread
 * (src/machine/program-args.ts): a Machine refuses, in its constructor and so before any vCPU
 * worker exists, a program exec could not start, with one ConfigError line instead of a vCPU's
 * InternalError after boot. Unit tests, main thread, no workers.
 */
import { describe, expect, it } from 'vitest';
import { ARG_MAX_BYTES, parseElf } from '../../src/kernel/binfmt-elf.js';
import { Machine } from '../../src/machine/machine.js';
import { checkExecArgs } from '../../src/machine/program-args.js';
import { configError } from '../helpers/errors.js';
import { programConfig } from '../helpers/guest-programs.js';

describe('checkExecArgs', () => {
  const image = parseElf(programConfig('args.elf', [], 1).program!.bytes);

  it('accepts what fits and renames a refusal after the caller\'s option, keeping exec\'s reason', () => {
    expect(() => checkExecArgs(image, ['args.elf', 'one'], ['A=1', `B=${'z'.repeat(ARG_MAX_BYTES - 1024)}`], '--env')).not.toThrow();
    expect(configError(() => checkExecArgs(image, ['p'], [`A=${'z'.repeat(ARG_MAX_BYTES)}`], '--env')).message)
      .toMatch(/^--env: argv and envp need \d+ bytes of initial stack, more than the 131072 allowed$/);
    expect(configError(() => checkExecArgs(image, ['p', 'a\0b'], [], 'arguments after --')).message)
      .toBe('arguments after --: argv[1] must not contain a NUL character');
  });
});

describe('Machine with a program', () => {
  it('refuses oversized envp, a NUL in argv and a file that is not an ELF in its constructor', () => {
    const good = programConfig('args.elf', ['one'], 1);
    const program = good.program!;
    const cases: [typeof program, RegExp][] = [
      [{ ...program, envp: [`BIG=${'z'.repeat(ARG_MAX_BYTES)}`] }, /^program args\.elf: argv and envp need \d+ bytes of initial stack/],
      [{ ...program, argv: ['bin/args.elf', 'x\0'] }, /^program args\.elf: argv\[1\] must not contain a NUL character$/],
      [{ ...program, bytes: new TextEncoder().encode('#!/bin/sh\n') }, /^program args\.elf: not an ELF file/],
    ];
    for (const [p, message] of cases) {
      expect(configError(() => new Machine({ ...good, program: p })).message).toMatch(message);
    }
    expect(() => new Machine(good)).not.toThrow();
  });
});
